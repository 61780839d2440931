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
  const { M, K } = s;
  packBlocks(kern, mem, src, MR, M, transA ? 1 : K, transA ? M : 1, s, s.mTiles, dst, t0, t1);
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
  const { N, K } = s;
  packBlocks(kern, mem, src, NR, N, transB ? K : 1, transB ? 1 : N, s, s.nPanels, dst, p0, p1);
}

/**
 * Pack blocks [t0, t1) of width w (MR tiles of A or NR panels of B) along a dimension of
 * `extent` floats, stored with stride sW between its elements and sK along K, for each of
 * the nKb k-blocks; `count` blocks make one k-block of the packed layout at dst.
 */
function packBlocks(
  kern: KernelExports,
  mem: Float32Array,
  src: number,
  w: number,
  extent: number,
  sW: number,
  sK: number,
  s: GemmShape,
  count: number,
  dst: number,
  t0: number,
  t1: number,
): void {
  const { K, kcp, nKb } = s;
  if (sW !== 1 && sK !== 1) throw new Error(`packBlocks: the gather pack needs sK == 1, got ${sK}`);
  const fn = sW === 1 ? kern[`pack${w}c`] : kern[`pack${w}g`];
  for (let kb = 0; kb < nKb; kb++) {
    const k0 = kb * kcp;
    for (let t = t0; t < t1; t++) {
      const m0 = t * w, d = dst + (kb * count + t) * kcp * w;
      const at = src + k0 * sK + m0 * sW;
      packPanel(fn, mem, w, Math.min(w, extent - m0), Math.min(kcp, K - k0), kcp, at, sW, sK, d);
    }
  }
}
