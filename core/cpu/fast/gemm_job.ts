// One parallel GEMM job: the addresses and blocking that every thread needs, stored
// in Int32 slots of the shared control block, and the work of one chunk: a GEMM chunk
// packs and multiplies a batch item's range of MR-row tiles (all N columns, all K
// blocks); a PACK_B chunk packs a range of B's NR-column panels, a PACK_A chunk a range of
// A's tiles (before N-split GEMM chunks, which share all of A).

import { type KernelExports, MR, NR } from "./kernels.ts";
import { readParams, writeParams } from "./control.ts";
import { type GemmShape, packATiles, packBPanels } from "./pack.ts";
import type { PairFn } from "./revec_kernels.ts";

/** This thread's revectorized pair kernels by name (revec.ts), or null. */
export type PairKernels = Record<string, PairFn> | null;

/**
 * The GEMM of kernels.ts over nt tiles and np panels, the panel pairs on the pair kernel for
 * this kc when the thread has one (same bits), an odd last panel on the plain kernel.
 */
function gemm(
  k: KernelExports,
  pairs: PairKernels,
  pa: number,
  pb: number,
  c: number,
  ldc: number,
  kc: number,
  nt: number,
  np: number,
  acc: number,
): void {
  const fn = pairs === null ? undefined : pairs[`g16k${kc}`];
  const np2 = fn === undefined ? 0 : np >> 1;
  if (np2 > 0) fn!(pa, pb, c, ldc, nt, np2, acc);
  if (np > 2 * np2) {
    k.gemm(pa, pb + 2 * np2 * kc * NR * 4, c + 2 * np2 * NR * 4, ldc, kc, nt, np - 2 * np2, acc);
  }
}

export interface GemmJob {
  aSrc: number; // A as given (byte address), batch stride M*K floats
  bSrc: number; // B as given (byte address), batch stride K*N floats
  transA: number;
  transB: number;
  M: number;
  N: number;
  K: number;
  pa: number; // packed A, byte address
  pb: number; // packed B, byte address
  c: number; // output, byte address
  ldcBytes: number; // output row stride
  edge: number; // direct output with M % MR != 0: per-batch MR-row scratch (bytes), else 0
  kcp: number; // padded K block length
  nKb: number; // K blocks
  mTiles: number;
  nPanels: number;
  tilesPerChunk: number;
  chunksPerBatch: number;
  panelsPerChunk: number; // PACK_B jobs and N-split GEMM chunks
  splitN: number; // 1: GEMM chunks are ranges of B panels (A packed beforehand), else of A tiles
  aBatchBytes: number;
  bBatchBytes: number;
  cBatchBytes: number;
}

const FIELDS: (keyof GemmJob)[] = [
  "aSrc",
  "bSrc",
  "transA",
  "transB",
  "M",
  "N",
  "K",
  "pa",
  "pb",
  "c",
  "ldcBytes",
  "edge",
  "kcp",
  "nKb",
  "mTiles",
  "nPanels",
  "tilesPerChunk",
  "chunksPerBatch",
  "panelsPerChunk",
  "splitN",
  "aBatchBytes",
  "bBatchBytes",
  "cBatchBytes",
];

export function writeJob(ctl: Int32Array, job: GemmJob): void {
  writeParams(ctl, FIELDS.map((f) => job[f]));
}

/** This thread's last job read and its parameter slots (a job's chunks share them). */
let lastJob: GemmJob | null = null;
const lastParams = new Float64Array(FIELDS.length);

/** The job in the control block; the same object again while its parameters are unchanged. */
export function readJob(ctl: Int32Array): GemmJob {
  const p = readParams(ctl, FIELDS.length);
  let same = lastJob !== null;
  for (let i = 0; same && i < FIELDS.length; i++) same = p[i] === lastParams[i];
  if (same) return lastJob!;
  const j = {} as GemmJob;
  for (let i = 0; i < FIELDS.length; i++) j[FIELDS[i]] = p[i];
  lastParams.set(p);
  return lastJob = j;
}

function shape(j: GemmJob): GemmShape {
  return { M: j.M, N: j.N, K: j.K, kcp: j.kcp, nKb: j.nKb, mTiles: j.mTiles, nPanels: j.nPanels };
}

/** Pack and compute GEMM chunk `chunk` of the job with this thread's kernels. */
export function runChunk(
  k: KernelExports,
  pairs: PairKernels,
  memory: WebAssembly.Memory,
  j: GemmJob,
  chunk: number,
): void {
  if (j.splitN === 1) return runPanelChunk(k, pairs, memory, j, chunk);
  const mem = new Float32Array(memory.buffer);
  const b = Math.floor(chunk / j.chunksPerBatch);
  const t0 = (chunk % j.chunksPerBatch) * j.tilesPerChunk;
  const nt = Math.min(j.tilesPerChunk, j.mTiles - t0);
  const paBatch = j.pa + b * j.aBatchBytes;
  packATiles(
    k,
    mem,
    (j.aSrc / 4) + b * j.M * j.K,
    j.transA === 1,
    shape(j),
    paBatch / 4,
    t0,
    t0 + nt,
  );
  const aBlock = j.mTiles * j.kcp * MR * 4;
  const bBlock = j.nPanels * j.kcp * NR * 4;
  const pa = paBatch + t0 * j.kcp * MR * 4;
  const pb = j.pb + b * j.bBatchBytes;
  const c = j.c + b * j.cBatchBytes + t0 * MR * j.ldcBytes;
  // with direct output the last, partial row tile goes to the edge scratch and is copied
  const edgeTile = j.edge !== 0 && t0 + nt === j.mTiles;
  const ntMain = edgeTile ? nt - 1 : nt;
  const edge = j.edge + b * MR * j.ldcBytes;
  for (let kb = 0; kb < j.nKb; kb++) {
    const acc = kb > 0 ? 1 : 0;
    if (ntMain > 0) {
      gemm(
        k,
        pairs,
        pa + kb * aBlock,
        pb + kb * bBlock,
        c,
        j.ldcBytes,
        j.kcp,
        ntMain,
        j.nPanels,
        acc,
      );
    }
    if (edgeTile) {
      const paLast = pa + ntMain * j.kcp * MR * 4 + kb * aBlock;
      gemm(k, pairs, paLast, pb + kb * bBlock, edge, j.ldcBytes, j.kcp, 1, j.nPanels, acc);
    }
  }
  if (edgeTile) {
    const rows = j.M - (j.mTiles - 1) * MR, dst = (c + ntMain * MR * j.ldcBytes) / 4;
    mem.copyWithin(dst, edge / 4, edge / 4 + rows * j.N);
  }
}

/**
 * N-split GEMM chunk: pack a range of B's panels, then multiply all of (already packed) A
 * by them. Used when A's tiles fit in L2 and B is the big operand (e.g. X^T dY).
 */
function runPanelChunk(
  k: KernelExports,
  pairs: PairKernels,
  memory: WebAssembly.Memory,
  j: GemmJob,
  chunk: number,
): void {
  const mem = new Float32Array(memory.buffer);
  const { b, p0, p1 } = packPanelChunk(k, mem, j, chunk);
  const np = p1 - p0;
  const pbBatch = j.pb + b * j.bBatchBytes;
  const aBlock = j.mTiles * j.kcp * MR * 4;
  const bBlock = j.nPanels * j.kcp * NR * 4;
  const pa = j.pa + b * j.aBatchBytes, pb = pbBatch + p0 * j.kcp * NR * 4;
  const c = j.c + b * j.cBatchBytes + p0 * NR * 4;
  const edgeTile = j.edge !== 0, ntMain = edgeTile ? j.mTiles - 1 : j.mTiles;
  const edge = j.edge + b * MR * j.ldcBytes + p0 * NR * 4;
  for (let kb = 0; kb < j.nKb; kb++) {
    const acc = kb > 0 ? 1 : 0, pak = pa + kb * aBlock, pbk = pb + kb * bBlock;
    if (ntMain > 0) gemm(k, pairs, pak, pbk, c, j.ldcBytes, j.kcp, ntMain, np, acc);
    if (edgeTile) {
      gemm(k, pairs, pak + ntMain * j.kcp * MR * 4, pbk, edge, j.ldcBytes, j.kcp, 1, np, acc);
    }
  }
  if (edgeTile) {
    const rows = j.M - ntMain * MR, cols = np * NR;
    for (let r = 0; r < rows; r++) {
      const from = (edge + r * j.ldcBytes) / 4;
      mem.copyWithin((c + (ntMain * MR + r) * j.ldcBytes) / 4, from, from + cols);
    }
  }
}

/** Pack chunk `chunk` of B's panels (PACK_B job). */
export function packBChunk(
  k: KernelExports,
  memory: WebAssembly.Memory,
  j: GemmJob,
  chunk: number,
): void {
  packPanelChunk(k, new Float32Array(memory.buffer), j, chunk);
}

/** Pack chunk `chunk` of A's tiles (PACK_A job, before N-split GEMM chunks). */
export function packAChunk(
  k: KernelExports,
  memory: WebAssembly.Memory,
  j: GemmJob,
  chunk: number,
): void {
  const perBatch = Math.ceil(j.mTiles / j.tilesPerChunk);
  const b = Math.floor(chunk / perBatch), t0 = (chunk % perBatch) * j.tilesPerChunk;
  const t1 = Math.min(j.mTiles, t0 + j.tilesPerChunk);
  const src = (j.aSrc / 4) + b * j.M * j.K, mem = new Float32Array(memory.buffer);
  packATiles(k, mem, src, j.transA === 1, shape(j), (j.pa + b * j.aBatchBytes) / 4, t0, t1);
}

/** Pack B's panels of chunk `chunk` (batch item b, panels [p0, p1)); returns where they were. */
function packPanelChunk(
  k: KernelExports,
  mem: Float32Array,
  j: GemmJob,
  chunk: number,
): { b: number; p0: number; p1: number } {
  const perBatch = Math.ceil(j.nPanels / j.panelsPerChunk);
  const b = Math.floor(chunk / perBatch), p0 = (chunk % perBatch) * j.panelsPerChunk;
  const p1 = Math.min(j.nPanels, p0 + j.panelsPerChunk);
  const src = (j.bSrc / 4) + b * j.K * j.N;
  packBPanels(k, mem, src, j.transB === 1, shape(j), (j.pb + b * j.bBatchBytes) / 4, p0, p1);
  return { b, p0, p1 };
}
