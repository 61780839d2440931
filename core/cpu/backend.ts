// The "cpu" backend (fast) and the registration of both CPU backends. "cpu" reuses the
// reference kernels of ref.ts except where a faster one exists: the WebAssembly SIMD + worker
// matmul from core/cpu/fast/mod.ts when that module is present, else a cache-friendly
// TypeScript matmul (kernels.ts). Storage is plain Float32Array/Int32Array on both.

import { type Backend, registerBackend } from "../backend.ts";
import { arr, createRefBackend } from "./ref.ts";
import { fastKernels } from "./kernels.ts";

type MatmulF32 = (
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  batch: number,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
) => void;

/** The fast matmul from core/cpu/fast/mod.ts if that module exists and loads. */
async function loadFastMatmul(): Promise<MatmulF32 | undefined> {
  if (Deno.env.get("GLYPHGRAD_NO_WASM") === "1") return undefined;
  try {
    const url = new URL("./fast/mod.ts", import.meta.url).href;
    const mod = await import(url);
    return typeof mod.matmulF32 === "function" ? mod.matmulF32 as MatmulF32 : undefined;
  } catch {
    return undefined;
  }
}

const fastMatmul = await loadFastMatmul();

/** True when the WebAssembly matmul of core/cpu/fast/ is in use by "cpu". */
export const hasWasmMatmul = fastMatmul !== undefined;

export function createCpuBackend(): Backend {
  const ref = createRefBackend();
  const be: Backend = { ...ref, ...fastKernels(), name: "cpu" };
  if (fastMatmul) {
    const mm = fastMatmul;
    be.matmul = (a, b, out, batch, M, N, K, transA, transB) =>
      mm(
        arr(a) as Float32Array,
        arr(b) as Float32Array,
        arr(out) as Float32Array,
        batch,
        M,
        N,
        K,
        transA,
        transB,
      );
  }
  return be;
}

registerBackend("cpu-ref", createRefBackend);
registerBackend("cpu", createCpuBackend);
