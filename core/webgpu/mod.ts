// Entry point of the WebGPU backend: `await initWebGPU()` opens the device, probes the matmul
// tile (cached per adapter), self-tests the optional paths, builds the backend and registers it
// as "webgpu", so that `setBackend("webgpu")` works afterwards. Device start-up is async, hence
// this explicit step.
import { registerBackend } from "../registry.ts";
import {
  type AdapterInfo,
  adapterInfo,
  NO_ADAPTER_HELP,
  openDevice,
  webgpuAvailable,
} from "./device.ts";
import { createWebGPUBackend, type WebGPUBackend, type WebGPUOptions } from "./backend.ts";
import { Runtime } from "./runtime.ts";
import { subgroupMatrixWorks, subgroupReductionsWork } from "./selftest.ts";
import { chooseTile } from "./tune.ts";
import { type Tile, TILES } from "./kernels_matmul.ts";

export type { AdapterInfo, WebGPUBackend, WebGPUOptions };
export { adapterInfo, NO_ADAPTER_HELP, webgpuAvailable };

export interface InitOptions extends WebGPUOptions {
  /** Probe matmul tiles (default true; false uses the first candidate). */
  probe?: boolean;
  /** Fail unless the adapter is hardware (for `--backend auto` speed decisions). */
  requireHardware?: boolean;
}

/** What start-up settles once per process: the device, the matmul tile, the checked paths. */
interface Started {
  rt: Runtime;
  tile: Tile;
  checked: WebGPUOptions;
  backends: Map<string, WebGPUBackend>;
}
let started: Promise<Started> | undefined;

/** Optional paths that passed their self-test on this device (see selftest.ts). */
async function checkedPaths(rt: Runtime, opts: InitOptions): Promise<WebGPUOptions> {
  const off = (name: string) => Deno.env.get(`GLYPHGRAD_WEBGPU_${name}`) === "0";
  const out: WebGPUOptions = {};
  if (opts.subgroups === false || off("SUBGROUPS")) {
    out.subgroupsWhyNot = "turned off (GLYPHGRAD_WEBGPU_SUBGROUPS=0 or subgroups: false)";
  } else {
    const sg = await subgroupReductionsWork(rt);
    if (sg.ok) out.subgroups = true;
    else out.subgroupsWhyNot = sg.why;
  }
  if (off("SUBGROUP_MATRIX")) {
    out.subgroupMatrixWhyNot = "turned off (GLYPHGRAD_WEBGPU_SUBGROUP_MATRIX=0)";
  } else {
    const sm = await subgroupMatrixWorks(rt);
    if (sm.ok) out.subgroupMatrix = { cfg: sm.cfg, syntax: sm.syntax };
    else out.subgroupMatrixWhyNot = sm.why;
  }
  return out;
}

async function start(opts: InitOptions): Promise<Started> {
  const ctx = await openDevice();
  if (opts.requireHardware && ctx.info.software) {
    ctx.device.destroy();
    throw new Error(`webgpu: only a software adapter (${ctx.info.name}) exists; use --backend cpu`);
  }
  const rt = new Runtime(ctx);
  const tile = opts.probe === false ? TILES[0] : (await chooseTile(rt, ctx.info)).tile;
  return { rt, tile, checked: await checkedPaths(rt, opts), backends: new Map() };
}

/**
 * Open the device once per process (tile probe and self-tests run then) and register backend
 * "webgpu" for the requested matmul path; later calls reuse the device and switch the path.
 */
export async function initWebGPU(opts: InitOptions = {}): Promise<WebGPUBackend> {
  started ??= start(opts).catch((e) => {
    started = undefined;
    throw e;
  });
  const s = await started;
  const key = opts.matmul ?? "f32";
  let be = s.backends.get(key);
  if (!be) {
    be = createWebGPUBackend(s.rt, s.tile, { ...s.checked, matmul: opts.matmul });
    s.backends.set(key, be);
  }
  const chosen = be;
  registerBackend("webgpu", () => chosen);
  return chosen;
}

/** A one-line description of the paths in use (adapter, matmul tile and precision, features). */
export function describePaths(be: WebGPUBackend): string {
  const p = be.paths;
  const a = p.adapter;
  return `webgpu: ${a.name} (${a.driver}; ${a.backend}${a.software ? "; software" : ""}), ` +
    `matmul ${p.matmul}${
      p.matmulNote ? ` (${p.matmulNote})` : ""
    } tile ${p.matmulTile}, shader-f16 ${p.f16Available ? "yes" : "no"}, ` +
    `subgroups ${p.subgroups}, ` +
    `subgroup-matrix ${p.subgroupMatrix}`;
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
