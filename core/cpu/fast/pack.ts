// Packing of matmul operands (already in shared memory) into the panel layouts the GEMM
// kernel reads: A -> per K block, MR-row tiles laid out [kcp][MR]; B -> per K block,
// NR-column panels laid out [kcp][NR]. Full panels are copied by the wasm pack kernels;
// edge panels by a plain loop. Padding (rows, columns, k beyond the edge) is zero.

import { type KernelExports, MR, NR } from "./kernels.ts";

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
  kern: KernelExports,
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
    const fn = kern[`pack${W}${sW === 1 ? "c" : "g"}`];
    fn(src * 4, dst * 4, kv, sW * 4, sK * 4);
    return;
  }
  for (let k = 0; k < kv; k++) {
    for (let j = 0; j < w; j++) mem[dst + k * W + j] = mem[src + k * sK + j * sW];
  }
}

/**
 * Pack A (one batch item, logical [M, K], stored [K, M] when transA) from float index
 * src of `mem` to float index dst (nKb * mTiles * kcp * MR floats).
 */
export function packA(
  kern: KernelExports,
  mem: Float32Array,
  src: number,
  transA: boolean,
  s: GemmShape,
  dst: number,
): void {
  const { M, K, kcp, nKb, mTiles } = s;
  const sW = transA ? 1 : K, sK = transA ? M : 1;
  for (let kb = 0, d = dst; kb < nKb; kb++) {
    const k0 = kb * kcp;
    for (let t = 0; t < mTiles; t++, d += kcp * MR) {
      const m0 = t * MR;
      const at = src + k0 * sK + m0 * sW;
      packPanel(kern, mem, MR, Math.min(MR, M - m0), Math.min(kcp, K - k0), kcp, at, sW, sK, d);
    }
  }
}

/**
 * Pack B (one batch item, logical [K, N], stored [N, K] when transB) from float index
 * src of `mem` to float index dst (nKb * nPanels * kcp * NR floats).
 */
export function packB(
  kern: KernelExports,
  mem: Float32Array,
  src: number,
  transB: boolean,
  s: GemmShape,
  dst: number,
): void {
  const { N, K, kcp, nKb, nPanels } = s;
  const sW = transB ? K : 1, sK = transB ? 1 : N;
  for (let kb = 0, d = dst; kb < nKb; kb++) {
    const k0 = kb * kcp;
    for (let p = 0; p < nPanels; p++, d += kcp * NR) {
      const n0 = p * NR;
      const at = src + k0 * sK + n0 * sW;
      packPanel(kern, mem, NR, Math.min(NR, N - n0), Math.min(kcp, K - k0), kcp, at, sW, sK, d);
    }
  }
}
