// Fast CPU kernels for the "cpu" backend: WebAssembly SIMD generated at run time from
// TypeScript, run on the main thread plus worker threads sharing one wasm memory.
// All entry points are synchronous. See README.md in this folder for the design.

import { poolInfo, poolStats, readyPool, setRevec, setThreads, shutdownPool } from "./pool.ts";
import type { RevecMode } from "./revec.ts";

export { matmulF32 } from "./matmul.ts";
export { attentionBackwardF32, attentionForwardF32 } from "./attention.ts";
export {
  crossEntropyBackwardF32,
  crossEntropyForwardF32,
  geluTanhBwdF32,
  geluTanhF32,
  softmaxBackwardF32,
  softmaxF32,
} from "./elementwise.ts";
export {
  adamwF32,
  binaryF32,
  layerNormBackwardF32,
  layerNormForwardF32,
  reduceSumF32,
  ropeF32,
  zeroF32,
} from "./norm.ts";
export {
  allocF32,
  fastMemory64,
  fastMemoryStats,
  freeF32,
  isShared,
  setFastMemory64,
  setFastPoison,
} from "./memory.ts";

/**
 * Threads used by parallel kernels (main + workers), SIMD and relaxed-SIMD FMA in use, and
 * whether the GEMM runs on the revectorized pair kernels (revec.ts) and why.
 */
export function fastInfo(): {
  threads: number;
  simd: boolean;
  fma: boolean;
  revec: boolean;
  revecHow: string;
} {
  return poolInfo();
}

/**
 * GEMM kernels: "auto" (time the revectorized pair kernel once and use it when V8 fuses it,
 * i.e. under --v8-flags=--experimental-wasm-revectorize), "on" or "off". Same bits either way.
 */
export function setFastRevec(mode: RevecMode): void {
  setRevec(mode);
}

/** Use n threads in total from now on (1 = main thread only); restarts the pool. */
export function setFastThreads(n: number): void {
  setThreads(n);
}

/** Stop the worker threads (restarted lazily when needed). Call at the end of tests. */
export function shutdownFast(): void {
  shutdownPool();
}

/**
 * Start the worker threads now and wait until they can take work; returns the thread
 * count. Optional: without it, workers start on the first large job and join when ready.
 */
export function warmupFast(timeoutMs?: number): Promise<number> {
  return readyPool(timeoutMs);
}

/**
 * Counters of the jobs run so far: jobs, parallelJobs, chunks, chunksOnMain (the rest ran
 * on workers) and mainWaitMs (time the main thread waited for workers); `reset` zeroes them.
 */
export function fastStats(reset = false): {
  jobs: number;
  parallelJobs: number;
  chunks: number;
  chunksOnMain: number;
  mainWaitMs: number;
} {
  return poolStats(reset);
}
