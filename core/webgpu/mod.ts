// Entry point of the WebGPU backend: `await initWebGPU()` opens the device, probes the matmul
// tile (cached per adapter), builds the backend and registers it as "webgpu", so that
// `setBackend("webgpu")` works afterwards. Device start-up is async, hence this explicit step.
import { registerBackend } from "../backend.ts";
import {
  type AdapterInfo,
  adapterInfo,
  NO_ADAPTER_HELP,
  openDevice,
  webgpuAvailable,
} from "./device.ts";
import { createWebGPUBackend, type WebGPUBackend, type WebGPUOptions } from "./backend.ts";
import { Runtime } from "./runtime.ts";
import { subgroupReductionsWork } from "./selftest.ts";
import { chooseTile } from "./tune.ts";
import { TILES } from "./kernels_matmul.ts";

export type { AdapterInfo, WebGPUBackend, WebGPUOptions };
export { adapterInfo, NO_ADAPTER_HELP, webgpuAvailable };

let instance: Promise<WebGPUBackend> | undefined;

export interface InitOptions extends WebGPUOptions {
  /** Probe matmul tiles (default true; false uses the first candidate). */
  probe?: boolean;
  /** Fail unless the adapter is hardware (for `--backend auto` speed decisions). */
  requireHardware?: boolean;
}

/** Optional paths that passed their self-test on this device (see selftest.ts). */
async function checkedPaths(rt: Runtime, opts: InitOptions): Promise<WebGPUOptions> {
  if (opts.subgroups === false) return { subgroupsWhyNot: "turned off" };
  const sg = await subgroupReductionsWork(rt);
  return sg.ok ? { subgroups: true } : { subgroups: false, subgroupsWhyNot: sg.why };
}

async function build(opts: InitOptions): Promise<WebGPUBackend> {
  const ctx = await openDevice();
  if (opts.requireHardware && ctx.info.software) {
    ctx.device.destroy();
    throw new Error(`webgpu: only a software adapter (${ctx.info.name}) exists; use --backend cpu`);
  }
  const rt = new Runtime(ctx);
  const tile = opts.probe === false ? TILES[0] : (await chooseTile(rt, ctx.info)).tile;
  const be = createWebGPUBackend(rt, tile, { ...opts, ...(await checkedPaths(rt, opts)) });
  registerBackend("webgpu", () => be);
  return be;
}

/** Open the device once per process and register backend "webgpu" (idempotent). */
export function initWebGPU(opts: InitOptions = {}): Promise<WebGPUBackend> {
  instance ??= build(opts).catch((e) => {
    instance = undefined;
    throw e;
  });
  return instance;
}

/** A one-line description of the paths in use (adapter, matmul tile and precision, features). */
export function describePaths(be: WebGPUBackend): string {
  const p = be.paths;
  const a = p.adapter;
  return `webgpu: ${a.name} (${a.driver}; ${a.backend}${a.software ? "; software" : ""}), ` +
    `matmul ${p.matmul} tile ${p.matmulTile}, shader-f16 ${p.f16Available ? "yes" : "no"}, ` +
    `subgroups ${p.subgroups}, ` +
    `subgroup-matrix ${p.subgroupMatrix ? "available (no kernel uses it yet)" : "no"}`;
}

/**
 * Resolve `--backend auto|cpu|webgpu` to a registered backend name. "auto" takes WebGPU only on
 * a hardware adapter (never lavapipe for speed), else "cpu"; "webgpu" with no adapter throws
 * the one-line install hint.
 */
export async function resolveBackend(
  which: string,
  opts: InitOptions = {},
): Promise<"cpu" | "cpu-ref" | "webgpu"> {
  if (which === "cpu" || which === "cpu-ref") return which;
  if (which === "webgpu") {
    await initWebGPU(opts);
    return "webgpu";
  }
  if (which !== "auto") {
    throw new Error(`unknown backend "${which}": use --backend auto, cpu, cpu-ref or webgpu`);
  }
  const info = await adapterInfo();
  if (!info || info.software) return "cpu";
  try {
    await initWebGPU(opts);
    return "webgpu";
  } catch {
    return "cpu";
  }
}

/**
 * Compile the heavy kernels once in a child process (fills the driver's shader cache; see
 * warmup.ts). Returns false when the child failed or timed out; callers go on either way.
 */
export async function warmShaders(timeoutMs = 300_000): Promise<boolean> {
  const url = new URL("./warmup.ts", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", url.pathname],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const status = await child.status;
  clearTimeout(timer);
  return status.success;
}
