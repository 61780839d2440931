// Picks the compute backend for training: "cpu" (the fast CPU backend), "cpu-ref" (reference
// kernels), "webgpu" (Dawn), or "auto": a hardware GPU when one is present, else the CPU; and
// the matmul precision, falling back to f32 (with the reason) where f16 is not available.

import "../../core/cpu/backend.ts";
import { setBackend } from "../../core/backend.ts";
import type { BackendChoice, Precision } from "../config.ts";
import { startWatchdog } from "../../core/webgpu/watchdog.ts";

/** The backend in use and one line saying which paths it runs (for the log). */
export interface BackendInUse {
  name: string;
  paths: string;
}

/** Activate a backend with the requested matmul precision; says what is actually in use. */
export async function useBackend(
  choice: BackendChoice,
  precision: Precision = "f32",
): Promise<BackendInUse> {
  const cpuOnly = (name: string, why = "") => {
    setBackend(name);
    const p = precision === "f16"
      ? `precision f32 (f16 asked for: ${why || `the ${name} backend computes in f32`})`
      : "precision f32";
    return { name, paths: p };
  };
  if (choice === "cpu" || choice === "cpu-ref") return cpuOnly(choice);
  let webgpu: typeof import("../../core/webgpu/mod.ts");
  try {
    webgpu = await import("../../core/webgpu/mod.ts");
  } catch (e) {
    if (choice === "auto") return cpuOnly("cpu", "no WebGPU");
    throw new Error(`backend webgpu: cannot load core/webgpu (${(e as Error).message})`);
  }
  try {
    const be = await webgpu.initWebGPU({ requireHardware: choice === "auto", matmul: precision });
    startWatchdog(); // the command's entry point stops it (tasks/pipeline.ts)
    setBackend("webgpu");
    return { name: "webgpu", paths: webgpu.describePaths(be) };
  } catch (e) {
    if (choice === "auto") return cpuOnly("cpu", "no hardware GPU adapter");
    throw new Error(
      `backend webgpu: ${(e as Error).message.split("\n")[0]} (use --backend cpu instead)`,
    );
  }
}
