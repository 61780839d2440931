// Packing of matmul operands into the panel layouts the GEMM kernel reads:
// A -> per K block, MR-row tiles laid out [kcp][MR]; B -> per K block, NR-column
// panels laid out [kcp][NR]. Padding (rows, columns, k beyond the edge) is zero.

import { MR, NR } from "./kernels.ts";

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
 * Pack A (one batch item) of logical shape [M, K] (stored [K, M] when transA)
 * from src[srcOff...] into dst[dstOff...] (nKb * mTiles * kcp * MR floats).
 */
export function packA(
  src: Float32Array,
  srcOff: number,
  transA: boolean,
  s: GemmShape,
  dst: Float32Array,
  dstOff: number,
): void {
  const { M, K, kcp, nKb, mTiles } = s;
  let d = dstOff;
  for (let kb = 0; kb < nKb; kb++) {
    const k0 = kb * kcp;
    const kv = Math.min(kcp, K - k0);
    for (let t = 0; t < mTiles; t++, d += kcp * MR) {
      const m0 = t * MR;
      const rv = Math.min(MR, M - m0);
      if (rv < MR || kv < kcp) dst.fill(0, d, d + kcp * MR);
      if (kv <= 0) continue;
      if (transA) {
        for (let k = 0; k < kv; k++) {
          const base = srcOff + (k0 + k) * M + m0;
          const o = d + k * MR;
          for (let r = 0; r < rv; r++) dst[o + r] = src[base + r];
        }
      } else {
        for (let r = 0; r < rv; r++) {
          const base = srcOff + (m0 + r) * K + k0;
          for (let k = 0; k < kv; k++) dst[d + k * MR + r] = src[base + k];
        }
      }
    }
  }
}

/**
 * Pack B (one batch item) of logical shape [K, N] (stored [N, K] when transB)
 * from src[srcOff...] into dst[dstOff...] (nKb * nPanels * kcp * NR floats).
 */
export function packB(
  src: Float32Array,
  srcOff: number,
  transB: boolean,
  s: GemmShape,
  dst: Float32Array,
  dstOff: number,
): void {
  const { N, K, kcp, nKb, nPanels } = s;
  let d = dstOff;
  for (let kb = 0; kb < nKb; kb++) {
    const k0 = kb * kcp;
    const kv = Math.min(kcp, K - k0);
    for (let p = 0; p < nPanels; p++, d += kcp * NR) {
      const n0 = p * NR;
      const cv = Math.min(NR, N - n0);
      if (cv < NR || kv < kcp) dst.fill(0, d, d + kcp * NR);
      if (kv <= 0) continue;
      if (transB) {
        for (let j = 0; j < cv; j++) {
          const base = srcOff + (n0 + j) * K + k0;
          for (let k = 0; k < kv; k++) dst[d + k * NR + j] = src[base + k];
        }
      } else {
        for (let k = 0; k < kv; k++) {
          const base = srcOff + (k0 + k) * N + n0;
          const o = d + k * NR;
          for (let j = 0; j < cv; j++) dst[o + j] = src[base + j];
        }
      }
    }
  }
}
