// Picks the compute backend for training through the core's one resolver (core/use_backend.ts:
// "cpu", "cpu-ref", "webgpu" or "auto") and starts the WebGPU watchdog when the GPU is in use.

import { type BackendInUse, useBackend as resolve } from "../../core/use_backend.ts";
import type { BackendChoice, Precision } from "../config.ts";
import { startWatchdog } from "../../core/webgpu/watchdog.ts";

export type { BackendInUse };

/** Activate a backend with the requested matmul precision; says what is actually in use. */
export async function useBackend(
  choice: BackendChoice,
  precision: Precision = "f32",
): Promise<BackendInUse> {
  const inUse = await resolve(choice, { precision });
  if (inUse.name === "webgpu") startWatchdog(); // the command's entry point stops it
  return inUse;
}
