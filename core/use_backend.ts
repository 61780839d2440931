// The one resolver of a user's backend name (`--backend auto|cpu|cpu-ref|webgpu`), used by the
// pipeline's train stage and `deno task eval`: it starts WebGPU when asked (loaded lazily, so
// the CPU backends work where the webgpu package is missing) and makes the choice active. Kept
// apart from registry.ts so that core/webgpu/mod.ts -> registry.ts is not a circle.

import { type BackendName, setBackend } from "./registry.ts";

/** What a user may ask for: a backend name, or "auto" (a hardware GPU if present, else cpu). */
export type BackendChoice = "auto" | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "cpu", "cpu-ref", "webgpu"];

/** The backend in use and one line saying which paths it runs (for logs). */
export interface BackendInUse {
  name: BackendName;
  paths: string;
}

/**
 * Resolve a backend choice and make it active. "auto" takes WebGPU only on a hardware adapter
 * (never a software one such as lavapipe), else "cpu"; "webgpu" that cannot start throws one
 * line with the fix. `precision` "f16" asks for f16 matmul operands (WebGPU only; the CPU
 * backends say why they compute in f32).
 */
export async function useBackend(
  choice: string,
  opts: { precision?: "f32" | "f16" } = {},
): Promise<BackendInUse> {
  const precision = opts.precision ?? "f32";
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new Error(`unknown backend "${choice}": use one of ${BACKEND_CHOICES.join(", ")}`);
  }
  const cpuOnly = (name: "cpu" | "cpu-ref", why = ""): BackendInUse => {
    setBackend(name);
    const p = precision === "f16"
      ? `precision f32 (f16 asked for: ${why || `the ${name} backend computes in f32`})`
      : "precision f32";
    return { name, paths: p };
  };
  if (choice === "cpu" || choice === "cpu-ref") return cpuOnly(choice);
  let webgpu: typeof import("./webgpu/mod.ts");
  try {
    webgpu = await import("./webgpu/mod.ts");
  } catch (e) {
    if (choice === "auto") return cpuOnly("cpu", "no WebGPU");
    throw new Error(`backend webgpu: cannot load core/webgpu (${(e as Error).message})`);
  }
  try {
    const be = await webgpu.initWebGPU({ requireHardware: choice === "auto", matmul: precision });
    setBackend("webgpu");
    return { name: "webgpu", paths: webgpu.describePaths(be) };
  } catch (e) {
    if (choice === "auto") return cpuOnly("cpu", "no hardware GPU adapter");
    throw new Error(
      `backend webgpu: ${(e as Error).message.split("\n")[0]} (use --backend cpu instead)`,
    );
  }
}
