// Picks the compute backend for training: "cpu" (the fast CPU backend), "cpu-ref" (reference
// kernels), "webgpu" (Dawn), or "auto": a hardware GPU when one is present, else the CPU.

import "../../core/cpu/backend.ts";
import { setBackend } from "../../core/backend.ts";
import type { BackendChoice } from "../config.ts";

/** Activate a backend and return the name of the one in use. */
export async function useBackend(choice: BackendChoice): Promise<string> {
  if (choice === "cpu" || choice === "cpu-ref") {
    setBackend(choice);
    return choice;
  }
  let webgpu: typeof import("../../core/webgpu/mod.ts");
  try {
    webgpu = await import("../../core/webgpu/mod.ts");
  } catch (e) {
    if (choice === "auto") {
      setBackend("cpu");
      return "cpu";
    }
    throw new Error(`backend webgpu: cannot load core/webgpu (${(e as Error).message})`);
  }
  try {
    await webgpu.initWebGPU({ requireHardware: choice === "auto" });
    setBackend("webgpu");
    return "webgpu";
  } catch (e) {
    if (choice === "auto") {
      setBackend("cpu");
      return "cpu";
    }
    throw new Error(
      `backend webgpu: ${(e as Error).message.split("\n")[0]} (use --backend cpu instead)`,
    );
  }
}
