// One parallel GEMM job: the addresses and blocking that every thread needs, stored
// in Int32 slots of the shared control block, and the work of one chunk (a batch
// item's range of MR-row tiles, all N columns, all K blocks).

import { type KernelExports, MR, NR } from "./kernels.ts";

import { JOB_SLOT } from "./control.ts";

export interface GemmJob {
  pa: number; // packed A, byte address
  pb: number; // packed B, byte address
  c: number; // output, byte address
  ldcBytes: number; // output row stride
  kcp: number; // padded K block length
  nKb: number; // K blocks
  mTiles: number;
  nPanels: number;
  tilesPerChunk: number;
  chunksPerBatch: number;
  aBatchBytes: number;
  bBatchBytes: number;
  cBatchBytes: number;
}

const FIELDS: (keyof GemmJob)[] = [
  "pa",
  "pb",
  "c",
  "ldcBytes",
  "kcp",
  "nKb",
  "mTiles",
  "nPanels",
  "tilesPerChunk",
  "chunksPerBatch",
  "aBatchBytes",
  "bBatchBytes",
  "cBatchBytes",
];

export function writeJob(ctl: Int32Array, job: GemmJob): void {
  FIELDS.forEach((f, i) => (ctl[JOB_SLOT + i] = job[f] | 0));
}

export function readJob(ctl: Int32Array): GemmJob {
  const j = {} as GemmJob;
  FIELDS.forEach((f, i) => (j[f] = ctl[JOB_SLOT + i] >>> 0));
  return j;
}

/** Compute chunk `chunk` of the job with this thread's kernel instance. */
export function runChunk(k: KernelExports, j: GemmJob, chunk: number): void {
  const b = Math.floor(chunk / j.chunksPerBatch);
  const t0 = (chunk % j.chunksPerBatch) * j.tilesPerChunk;
  const nt = Math.min(j.tilesPerChunk, j.mTiles - t0);
  const aBlock = j.mTiles * j.kcp * MR * 4;
  const bBlock = j.nPanels * j.kcp * NR * 4;
  const pa = j.pa + b * j.aBatchBytes + t0 * j.kcp * MR * 4;
  const pb = j.pb + b * j.bBatchBytes;
  const c = j.c + b * j.cBatchBytes + t0 * MR * j.ldcBytes;
  for (let kb = 0; kb < j.nKb; kb++) {
    k.gemm(pa + kb * aBlock, pb + kb * bBlock, c, j.ldcBytes, j.kcp, nt, j.nPanels, kb > 0 ? 1 : 0);
  }
}
