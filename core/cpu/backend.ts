// The "cpu" backend (fast); core/backend.ts registers it and "cpu-ref" as built-ins. "cpu"
// reuses the reference kernels of ref.ts except where a faster one exists: the WebAssembly SIMD + worker
// matmul from core/cpu/fast/mod.ts when that module is present, else a cache-friendly
// TypeScript matmul (kernels.ts). Storage is plain Float32Array/Int32Array on both.

import type { Backend } from "../backend.ts";
import { arr, cpuStorage, createRefBackend } from "./ref.ts";
import { fastKernels, type MatmulFn } from "./kernels.ts";

interface FastModule {
  matmulF32: MatmulFn;
  allocF32?: (n: number) => Float32Array;
  freeF32?: (a: Float32Array) => void;
  warmupFast?: (timeoutMs?: number) => Promise<number>;
}

/** core/cpu/fast/mod.ts if that module exists and loads (GLYPHGRAD_NO_WASM=1 skips it). */
async function loadFast(): Promise<FastModule | undefined> {
  try {
    if (Deno.env.get("GLYPHGRAD_NO_WASM") === "1") return undefined;
    const url = new URL("./fast/mod.ts", import.meta.url).href;
    const mod = await import(url);
    return typeof mod.matmulF32 === "function" ? mod as FastModule : undefined;
  } catch {
    return undefined;
  }
}

const fast = await loadFast();

/** True when the WebAssembly matmul of core/cpu/fast/ is in use by "cpu". */
export const hasWasmMatmul = fast !== undefined;

/** Start the fast kernels' worker threads now (else they start on the first big matmul). */
export async function warmupCpu(timeoutMs = 10000): Promise<void> {
  if (fast?.warmupFast) await fast.warmupFast(timeoutMs);
}

export function createCpuBackend(): Backend {
  const ref = createRefBackend();
  if (!fast) return { ...ref, ...fastKernels(), name: "cpu" };
  const { allocF32, freeF32 } = fast;
  const scratch = allocF32 ?? ((n: number) => new Float32Array(n));
  const release = freeF32 ?? (() => {});
  const be: Backend = { ...ref, ...fastKernels(fast.matmulF32, scratch, release), name: "cpu" };
  if (allocF32 && freeF32) {
    // f32 storage lives in the shared wasm memory, so the kernels use it without copies
    be.alloc = (size, dtype) => {
      if (dtype !== "f32" || size === 0) return ref.alloc(size, dtype);
      const data = allocF32(size).fill(0);
      return cpuStorage(data);
    };
    be.free = (s) => {
      const data = arr(s);
      if (data instanceof Float32Array && data.length > 0) freeF32(data);
    };
  }
  return be;
}

export { createRefBackend };
