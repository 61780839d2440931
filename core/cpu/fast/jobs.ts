// The kinds of parallel job and how any thread runs one chunk of the current job: the
// job's kind and parameters are read from the control block, the kernels are this
// thread's own instances on the shared memory.

import { chooseKernelBytes, isMemory64, type KernelExports } from "./kernels.ts";
import { packAChunk, packBChunk, readJob, runChunk } from "./gemm_job.ts";
import { KIND } from "./control.ts";
import { attnChunk } from "./attention_job.ts";
import { rowsChunk } from "./rows_job.ts";
import { threadPairs } from "./revec.ts";

export const GEMM = 0, ATTN_FWD = 1, ATTN_BWD = 2, ROWS = 3, PACK_B = 4, PACK_A = 5;

let kernels: KernelExports | null = null;
let fma = false;

/** This thread's GEMM/pack kernels on `memory` (compiled on first use). */
export function threadKernels(memory: WebAssembly.Memory): KernelExports {
  if (kernels === null) {
    const chosen = chooseKernelBytes(isMemory64(memory));
    if (chosen === null) {
      throw new Error("fast kernels: this engine has no WebAssembly SIMD; use the cpu-ref backend");
    }
    fma = chosen.fma;
    const mod = new WebAssembly.Module(chosen.bytes as BufferSource);
    kernels = new WebAssembly.Instance(mod, { env: { mem: memory } })
      .exports as unknown as KernelExports;
  }
  return kernels;
}

/** Whether this thread's kernels use relaxed-SIMD FMA. */
export function threadFma(memory: WebAssembly.Memory): boolean {
  threadKernels(memory);
  return fma;
}

/** Run chunk `chunk` of the job currently described in `ctl`. */
export function runChunkAny(ctl: Int32Array, memory: WebAssembly.Memory, chunk: number): void {
  const kind = ctl[KIND];
  if (kind === GEMM) {
    const k = threadKernels(memory); // compiles on first use and sets `fma`, read next
    runChunk(k, threadPairs(memory, fma), memory, readJob(ctl), chunk);
  } else if (kind === PACK_B) packBChunk(threadKernels(memory), memory, readJob(ctl), chunk);
  else if (kind === PACK_A) packAChunk(threadKernels(memory), memory, readJob(ctl), chunk);
  else if (kind === ROWS) rowsChunk(ctl, memory, threadKernels(memory), chunk);
  else if (kind === ATTN_FWD || kind === ATTN_BWD) {
    attnChunk(ctl, memory, kind === ATTN_BWD, threadFma(memory), chunk);
  } else throw new Error(`fast kernels: unknown job kind ${kind}`);
}
