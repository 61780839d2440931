// Packing of matmul operands (already in shared memory) into the panel layouts the GEMM
// kernel reads: A -> per K block, MR-row tiles laid out [kcp][MR]; B -> per K block,
// NR-column panels laid out [kcp][NR]. Full panels are copied by the wasm pack kernels;
// edge panels by a plain loop. Padding (rows, columns, k beyond the edge) is zero.

import { type KernelExports, MR, NR, type PackFn } from "./kernels.ts";

/** Blocking of one matmul: K split in nKb blocks of kcp (padded) each. */
export interface GemmShape {
  M: number;
  N: number;
  K: number;
  kcp: number;
  nKb: number;
  mTiles: number;
  nPanels: number;
}

/**
 * Copy one panel of width W (w valid columns) and kcp rows (kv valid) from the logical
 * matrix at float index src (element (k, j) at src + k * sK + j * sW) to float index dst.
 */
function packPanel(
  fn: PackFn,
  mem: Float32Array,
  W: number,
  w: number,
  kv: number,
  kcp: number,
  src: number,
  sW: number,
  sK: number,
  dst: number,
): void {
  if (w < W || kv < kcp) mem.fill(0, dst, dst + kcp * W);
  if (kv <= 0) return;
  if (w === W) {
    fn(src * 4, dst * 4, kv, sW * 4, sK * 4);
    return;
  }
  for (let k = 0; k < kv; k++) {
    for (let j = 0; j < w; j++) mem[dst + k * W + j] = mem[src + k * sK + j * sW];
  }
}

/**
 * Pack tiles [t0, t1) of A (one batch item, logical [M, K], stored [K, M] when transA) from
 * float index src of `mem` into the packed layout at float index dst (nKb * mTiles * kcp * MR
 * floats for the whole item).
 */
export function packATiles(
  kern: KernelExports,
  mem: Float32Array,
  src: number,
  transA: boolean,
  s: GemmShape,
  dst: number,
  t0: number,
  t1: number,
): void {
  const { M, K, kcp, nKb, mTiles } = s;
  const sW = transA ? 1 : K, sK = transA ? M : 1;
  const fn = sW === 1 ? kern[`pack${MR}c`] : kern[`pack${MR}g`];
  for (let kb = 0; kb < nKb; kb++) {
    const k0 = kb * kcp;
    for (let t = t0; t < t1; t++) {
      const m0 = t * MR, d = dst + (kb * mTiles + t) * kcp * MR;
      const at = src + k0 * sK + m0 * sW;
      packPanel(fn, mem, MR, Math.min(MR, M - m0), Math.min(kcp, K - k0), kcp, at, sW, sK, d);
    }
  }
}

/**
 * Pack panels [p0, p1) of B (one batch item, logical [K, N], stored [N, K] when transB) from
 * float index src of `mem` into the packed layout at float index dst (nKb * nPanels * kcp *
 * NR floats for the whole item).
 */
export function packBPanels(
  kern: KernelExports,
  mem: Float32Array,
  src: number,
  transB: boolean,
  s: GemmShape,
  dst: number,
  p0: number,
  p1: number,
): void {
  const { N, K, kcp, nKb, nPanels } = s;
  const sW = transB ? K : 1, sK = transB ? 1 : N;
  const fn = sW === 1 ? kern[`pack${NR}c`] : kern[`pack${NR}g`];
  for (let kb = 0; kb < nKb; kb++) {
    const k0 = kb * kcp;
    for (let p = p0; p < p1; p++) {
      const n0 = p * NR, d = dst + (kb * nPanels + p) * kcp * NR;
      const at = src + k0 * sK + n0 * sW;
      packPanel(fn, mem, NR, Math.min(NR, N - n0), Math.min(kcp, K - k0), kcp, at, sW, sK, d);
    }
  }
}
