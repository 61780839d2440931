// matmulF32: batched out[b] = op(a[b]) @ op(b[b]) on the generated SIMD kernel.
// Steps: pack A and B into panels in shared memory, split MR-row tiles into chunks
// run by the main thread and the workers, then copy the (padded) result out.

import { KU, MR, NR } from "./kernels.ts";
import { REVEC_KC_MAX } from "./revec_kernels.ts";
import { type GemmShape, packATiles, packBPanels } from "./pack.ts";
import { isShared, memBuffer, scratchBytes } from "./memory.ts";
import { mainKernels, poolInfo, runJob } from "./pool.ts";
import { GEMM, PACK_A, PACK_B } from "./jobs.ts";
import { type GemmJob, writeJob } from "./gemm_job.ts";

/**
 * Largest K block (floats). Each output element is one FMA chain per K block, the blocks'
 * sums added in order; 64 is the longest k loop the revectorized pair kernel unrolls
 * (revec_kernels.ts), and both kernels must block K alike to give the same bits.
 */
export const KC_MAX = REVEC_KC_MAX;
/** Below this many flops a matmul runs on the main thread only. */
export const PARALLEL_MIN_FLOPS = 8e6;
/** Per-core L2 cache size assumed for blocking decisions (bytes). */
const L2_BYTES = 512 * 1024;
/**
 * Size (floats) from which the operand packed before the GEMM job (B, or A for the N-split)
 * is packed by all threads as a job of its own (about 50 us of packing on one thread).
 */
const PARALLEL_PACK_MIN = 1 << 17;

function check(name: string, arr: Float32Array, need: number): void {
  if (!(arr instanceof Float32Array)) throw new Error(`matmulF32: ${name} must be a Float32Array`);
  if (arr.length < need) {
    throw new Error(`matmulF32: ${name} has ${arr.length} elements, the shapes need ${need}`);
  }
}

/** The K blocking and tile counts for an M x N x K product. */
export function gemmShape(M: number, N: number, K: number): GemmShape {
  const nKb = Math.max(1, Math.ceil(K / KC_MAX));
  const kcp = Math.ceil(Math.ceil(K / nKb) / KU) * KU;
  return { M, N, K, kcp, nKb, mTiles: Math.ceil(M / MR), nPanels: Math.ceil(N / NR) };
}

/**
 * out[b] = op(a[b]) @ op(b[b]) for b < batch; a is [batch, M, K] ([batch, K, M] when
 * transA), b is [batch, K, N] ([batch, N, K] when transB), out [batch, M, N] is
 * overwritten. Synchronous. Inputs are never modified. Arrays from allocF32 are used
 * in place (no copies) for any operand; the output is written in place when N % 8 == 0.
 */
export function matmulF32(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  batch: number,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
): void {
  for (const [name, v] of [["batch", batch], ["M", M], ["N", N], ["K", K]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`matmulF32: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  check("a", a, batch * M * K);
  check("b", b, batch * K * N);
  check("out", out, batch * M * N);
  if (batch === 0 || M === 0 || N === 0) return;
  if (K === 0) {
    out.fill(0, 0, batch * M * N);
    return;
  }
  const s = gemmShape(M, N, K);
  const aBatch = s.nKb * s.mTiles * s.kcp * MR;
  const bBatch = s.nKb * s.nPanels * s.kcp * NR;
  const Mp = s.mTiles * MR, Np = s.nPanels * NR;
  // Direct output: rows of out are written in place (a partial last row tile goes through
  // a small edge scratch); otherwise into a padded scratch C copied out at the end.
  const direct = isShared(out) && N % NR === 0;
  const edge = direct && M % MR !== 0;
  const cBatch = direct ? 0 : Mp * Np;
  const aLen = batch * M * K, bLen = batch * K * N;
  const aIn = isShared(a), bIn = isShared(b);
  // Scratch (floats): [copy of a][copy of b][packed A][packed B][padded C][edge tiles].
  const sizes = [
    aIn ? 0 : aLen,
    bIn ? 0 : bLen,
    batch * aBatch,
    batch * bBatch,
    batch * cBatch,
    edge ? batch * MR * N : 0,
  ];
  const base = scratchBytes(4 * sizes.reduce((x, y) => x + Math.ceil(y / 16) * 16, 0)) / 4;
  const at: number[] = [];
  sizes.reduce((o, n) => (at.push(o), o + Math.ceil(n / 16) * 16), base);
  const mem = new Float32Array(memBuffer());
  const aSrc = aIn ? a.byteOffset / 4 : at[0], bSrc = bIn ? b.byteOffset / 4 : at[1];
  if (!aIn) mem.set(a.length === aLen ? a : a.subarray(0, aLen), aSrc);
  if (!bIn) mem.set(b.length === bLen ? b : b.subarray(0, bLen), bSrc);
  const flops = 2 * batch * M * N * K;
  const threads = flops >= PARALLEL_MIN_FLOPS ? poolInfo().threads : 1;
  // Enough chunks that a thread descheduled mid-chunk delays the end little (>= 8 per
  // thread), yet >= 4 tiles each so that streaming B per chunk stays cheap.
  let tilesPerChunk = 16;
  const chunksOf = (t: number) => batch * Math.ceil(s.mTiles / t);
  while (tilesPerChunk > 4 && chunksOf(tilesPerChunk) < 8 * threads) {
    tilesPerChunk = Math.ceil(tilesPerChunk / 2);
  }
  while (tilesPerChunk > 1 && chunksOf(tilesPerChunk) < 2 * threads) {
    tilesPerChunk = Math.ceil(tilesPerChunk / 2);
  }
  while (batch * Math.ceil(s.mTiles / tilesPerChunk) > 0xffff) tilesPerChunk *= 2;
  // N-split when all of A's tiles (one K block) fit in L2 with room to spare and M <= N:
  // chunks are then ranges of B panels and A is packed once, up front (e.g. the weight
  // gradients X^T dY with M = d_model <= 256).
  const splitN = s.mTiles * s.kcp * MR * 4 <= 0.6 * L2_BYTES && M <= N;
  let panelsPerChunk = splitN ? 32 : Math.max(8, Math.ceil(batch * s.nPanels / (4 * threads)));
  if (splitN) {
    const pChunks = (p: number) => batch * Math.ceil(s.nPanels / p);
    while (panelsPerChunk > 2 && pChunks(panelsPerChunk) < 8 * threads) {
      panelsPerChunk = Math.ceil(panelsPerChunk / 2);
    }
    while (pChunks(panelsPerChunk) > 0xffff) panelsPerChunk *= 2;
  }
  const chunksPerBatch = splitN
    ? Math.ceil(s.nPanels / panelsPerChunk)
    : Math.ceil(s.mTiles / tilesPerChunk);
  const job: GemmJob = {
    aSrc: 4 * aSrc,
    bSrc: 4 * bSrc,
    transA: transA ? 1 : 0,
    transB: transB ? 1 : 0,
    M,
    N,
    K,
    pa: 4 * at[2],
    pb: 4 * at[3],
    c: direct ? out.byteOffset : 4 * at[4],
    ldcBytes: 4 * (direct ? N : Np),
    edge: edge ? 4 * at[5] : 0,
    kcp: s.kcp,
    nKb: s.nKb,
    mTiles: s.mTiles,
    nPanels: s.nPanels,
    tilesPerChunk,
    chunksPerBatch,
    panelsPerChunk,
    splitN: splitN ? 1 : 0,
    aBatchBytes: 4 * aBatch,
    bBatchBytes: 4 * bBatch,
    cBatchBytes: 4 * (direct ? M * N : cBatch),
  };
  const write = (ctl: Int32Array) => writeJob(ctl, job);
  // B's panels are shared by every M-split chunk: pack them first (in parallel when B is
  // large); with the N-split, A is the shared operand and is packed here instead.
  const bChunks = batch * Math.ceil(s.nPanels / panelsPerChunk);
  const aChunks = batch * Math.ceil(s.mTiles / tilesPerChunk);
  if (splitN && threads > 1 && batch * aBatch >= PARALLEL_PACK_MIN && aChunks > 1) {
    runJob(PACK_A, write, aChunks, true);
  } else if (splitN) {
    const kern = mainKernels();
    for (let i = 0; i < batch; i++) {
      packATiles(kern, mem, aSrc + i * M * K, transA, s, at[2] + i * aBatch, 0, s.mTiles);
    }
  } else if (threads > 1 && batch * bBatch >= PARALLEL_PACK_MIN && bChunks > 1) {
    runJob(PACK_B, write, bChunks, true);
  } else {
    const kern = mainKernels();
    for (let i = 0; i < batch; i++) {
      packBPanels(kern, mem, bSrc + i * K * N, transB, s, at[3] + i * bBatch, 0, s.nPanels);
    }
  }
  runJob(GEMM, write, batch * chunksPerBatch, threads > 1);
  if (direct) return;
  const c0 = at[4];
  if (N === Np) {
    for (let i = 0; i < batch; i++) {
      out.set(mem.subarray(c0 + i * cBatch, c0 + i * cBatch + M * N), i * M * N);
    }
    return;
  }
  for (let i = 0; i < batch; i++) {
    for (let m = 0; m < M; m++) {
      const src = c0 + i * cBatch + m * Np;
      out.set(mem.subarray(src, src + N), (i * M + m) * N);
    }
  }
}
