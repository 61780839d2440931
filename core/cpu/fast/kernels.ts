// Generates the WebAssembly SIMD kernels at run time: the register-blocked GEMM
// macro-kernel (MR x NR tile of f32x4 accumulators over packed panels of A and B).

import {
  and,
  brIf,
  buildModule,
  type Code,
  emitFor,
  f32Load,
  f32Store,
  f32x4Add,
  f32x4ExtractLane,
  f32x4MaddFor,
  type FuncDef,
  get,
  I32,
  i32,
  i32x4Shuffle,
  if_,
  inc,
  loop,
  ltS,
  mul,
  ne,
  nz,
  set,
  sub,
  V128,
  v128Load,
  v128Splat32,
  v128Store,
  v128Zero,
} from "./wasm_emit.ts";
import { type ElementwiseExports, elementwiseFuncs } from "./elementwise_kernels.ts";
import { type NormExports, normFuncs } from "./norm_kernels.ts";

/**
 * Micro-tile rows (MR) and columns (NR, a multiple of 4), and k-loop unroll (KU). MR = 5
 * is 4 rows read as one vector (rotation scheme, see gemmFunc) plus one broadcast row: 10
 * accumulators, 2 B vectors, the A vector and the broadcast make 14 of the 15 xmm registers
 * V8 allocates on x64, with 4 loads and 3 shuffles per 10 FMAs (6 x 8 with a broadcast per
 * row needed 8 loads, each with an explicit bounds check, per 12 FMAs).
 */
export const MR = 5;
export const NR = 8;
export const KU = 4;

/**
 * Limits of the shared memory every instance imports (pages of 64 KiB): 4 GiB with 32-bit
 * addresses, 16 GiB (V8's limit) with memory64.
 */
export function memLimits(mem64: boolean): { min: number; max: number } {
  return { min: 64, max: mem64 ? 262144 : 65536 };
}

const probe64 = emitFor(true, () => buildModule([], memLimits(true)));
const addressBits = new WeakMap<WebAssembly.Memory, boolean>();

/** True when `memory` is 64-bit addressed (it links to a memory64 import). */
export function isMemory64(memory: WebAssembly.Memory): boolean {
  let wide = addressBits.get(memory);
  if (wide === undefined) {
    try {
      new WebAssembly.Instance(new WebAssembly.Module(probe64 as BufferSource), {
        env: { mem: memory },
      });
      wide = true;
    } catch {
      wide = false;
    }
    addressBits.set(memory, wide);
  }
  return wide;
}

/**
 * gemm(pa, pb, c, ldcBytes, kc, mTiles, nPanels, accumulate):
 * for each NR-wide panel of packed B ([kc][NR] floats, panels consecutive) and each
 * MR-tall tile of packed A ([kc][MR] floats, tiles consecutive), compute the MR x NR
 * product and store it at c (row stride ldcBytes), adding to what is there when
 * accumulate != 0. kc must be a positive multiple of KU; mTiles, nPanels >= 1.
 *
 * Rows come in groups of 4 read with one v128 load per k and rotated by one lane (a
 * shuffle) per row: accumulator r of a group then holds in lane i the sum for row
 * (i + r) % 4 and column i of its vector, and the store shuffles rows back in place.
 * Rows past the last group (MR % 4) are broadcast from memory. Each output element is one
 * FMA chain over k from zero, plus the old value when accumulating, in every variant.
 */
function gemmFunc(fma: boolean): FuncDef {
  const NV = NR / 4, groups = Math.floor(MR / 4);
  // params 0..7
  const pa = 0, pb = 1, c = 2, ldc = 3, kc = 4, mTiles = 5, nPanels = 6, accum = 7;
  // i32 locals
  const jr = 8, ir = 9, a = 10, b = 11, k = 12, ai = 13, cij = 14, cj = 15, pbj = 16, row = 17;
  const firstV = 18;
  const acc = (r: number, v: number) => firstV + r * NV + v;
  const bv = (v: number) => firstV + MR * NV + v;
  const av = firstV + MR * NV + NV, out = av + 1;
  const nI32 = firstV - 8, nV128 = MR * NV + NV + 2;

  const madd = f32x4MaddFor(fma);

  const kStep: Code[] = [];
  for (let u = 0; u < KU; u++) {
    for (let v = 0; v < NV; v++) kStep.push(set(bv(v), v128Load(get(b), (u * NR + 4 * v) * 4)));
    for (let r = 0; r < MR; r++) {
      const off = (u * MR + r) * 4;
      if (r >= 4 * groups) kStep.push(set(av, v128Splat32(get(a), off)));
      else if (r % 4 === 0) kStep.push(set(av, v128Load(get(a), off)));
      else kStep.push(set(av, i32x4Shuffle(get(av), get(av), [1, 2, 3, 0])));
      for (let v = 0; v < NV; v++) {
        kStep.push(set(acc(r, v), madd(get(av), get(bv(v)), get(acc(r, v)))));
      }
    }
  }
  // Row r, vector v of the tile: in a group, lane i comes from accumulator (r - i) mod 4.
  const tileRow = (r: number, v: number): Code => {
    if (r >= 4 * groups) return get(acc(r, v));
    const g = r - (r % 4), from = (d: number) => get(acc(g + (((r - d) % 4) + 4) % 4, v));
    const lo = i32x4Shuffle(from(0), from(1), [0, 5, 0, 0]);
    const hi = i32x4Shuffle(from(2), from(3), [0, 0, 2, 7]);
    return i32x4Shuffle(lo, hi, [0, 1, 6, 7]);
  };
  const zero: Code[] = [];
  const store: Code[] = [set(row, get(cij))];
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NV; v++) {
      zero.push(set(acc(r, v), v128Zero()));
      store.push(
        set(out, tileRow(r, v)),
        if_(nz(get(accum)), set(out, f32x4Add(get(out), v128Load(get(row), 16 * v)))),
        v128Store(get(row), get(out), 16 * v),
      );
    }
    store.push(inc(row, get(ldc)));
  }
  const body: Code = [
    set(pbj, get(pb)),
    set(cj, get(c)),
    set(jr, i32(0)),
    loop(
      set(ai, get(pa)),
      set(cij, get(cj)),
      set(ir, i32(0)),
      loop(
        zero,
        set(a, get(ai)),
        set(b, get(pbj)),
        set(k, get(kc)),
        loop(
          kStep,
          inc(a, i32(MR * 4 * KU)),
          inc(b, i32(NR * 4 * KU)),
          set(k, sub(get(k), i32(KU))),
          brIf(0, ne(get(k), i32(0))),
        ),
        store,
        inc(ai, mul(get(kc), i32(MR * 4))),
        inc(cij, mul(get(ldc), i32(MR))),
        inc(ir, i32(1)),
        brIf(0, ltS(get(ir), get(mTiles))),
      ),
      inc(pbj, mul(get(kc), i32(NR * 4))),
      inc(cj, i32(NR * 4)),
      inc(jr, i32(1)),
      brIf(0, ltS(get(jr), get(nPanels))),
    ),
  ];
  return {
    name: "gemm",
    params: new Array(8).fill(I32),
    results: [],
    locals: [...new Array(nI32).fill(I32), ...new Array(nV128).fill(V128)],
    body,
  };
}

/**
 * pack{W}{c|g}(src, dst, kv, strideW, strideK): copy a full-width panel, for k < kv and
 * j < W: dst[k * W + j] = src[k * strideK + j * strideW] (byte strides). The "c" variant
 * assumes strideW == 4 (contiguous rows, SIMD copies). The "g" variant gathers W rows of
 * any strideW whose elements are contiguous along k (strideK == 4): four k at a time, one
 * v128 load per row and 4 x 4 transposes by shuffles (rows past a multiple of 4 are
 * stored lane by lane), then the last kv % 4 element by element.
 */
function packFunc(W: number, contiguous: boolean): FuncDef {
  const src = 0, dst = 1, kv = 2, strideW = 3, strideK = 4;
  const k = 5, p = 6, d = 7, q = 8;
  const step: Code[] = [];
  if (contiguous) {
    for (let j = 0; j + 4 <= W; j += 4) {
      step.push(v128Store(get(d), v128Load(get(p), 4 * j), 4 * j));
    }
    for (let j = W - (W % 4); j < W; j++) {
      step.push(f32Store(get(d), f32Load(get(p), 4 * j), 4 * j));
    }
  } else {
    step.push(set(q, get(p)));
    for (let j = 0; j < W; j++) {
      step.push(f32Store(get(d), f32Load(get(q)), 4 * j));
      if (j + 1 < W) step.push(inc(q, get(strideW)));
    }
  }
  const loopBy = (count: number, n: number, body: Code[], pStep: Code): Code =>
    if_(
      nz(get(count)),
      set(k, get(count)),
      loop(
        body,
        inc(p, pStep),
        inc(d, i32(n * W * 4)),
        set(k, sub(get(k), i32(n))),
        brIf(0, ne(get(k), i32(0))),
      ),
    );
  const init = [set(p, get(src)), set(d, get(dst))];
  if (contiguous) {
    return {
      name: `pack${W}c`,
      params: [I32, I32, I32, I32, I32],
      results: [],
      locals: [I32, I32, I32, I32],
      body: [init, loopBy(kv, 1, step, get(strideK))],
    };
  }
  // k4: the count of a loop; row(j) holds k..k+3 of row j; t(0..3) are transpose temps
  const k4 = 9, row = (j: number) => 10 + j, t = (i: number) => 10 + W + i;
  const quad: Code[] = [set(q, get(p))];
  for (let j = 0; j < W; j++) {
    quad.push(set(row(j), v128Load(get(q))));
    if (j + 1 < W) quad.push(inc(q, get(strideW)));
  }
  for (let j0 = 0; j0 < W; j0 += 4) {
    if (j0 + 4 > W) {
      for (let j = j0; j < W; j++) {
        for (let u = 0; u < 4; u++) {
          quad.push(f32Store(get(d), f32x4ExtractLane(get(row(j)), u), 4 * (u * W + j)));
        }
      }
      continue;
    }
    const r = (i: number) => get(row(j0 + i));
    quad.push(
      set(t(0), i32x4Shuffle(r(0), r(1), [0, 4, 1, 5])),
      set(t(1), i32x4Shuffle(r(2), r(3), [0, 4, 1, 5])),
      set(t(2), i32x4Shuffle(r(0), r(1), [2, 6, 3, 7])),
      set(t(3), i32x4Shuffle(r(2), r(3), [2, 6, 3, 7])),
    );
    for (let u = 0; u < 4; u++) {
      const lo = t(u < 2 ? 0 : 2), hi = t(u < 2 ? 1 : 3);
      const lanes = u % 2 === 0 ? [0, 1, 4, 5] : [2, 3, 6, 7];
      quad.push(v128Store(get(d), i32x4Shuffle(get(lo), get(hi), lanes), 4 * (u * W + j0)));
    }
  }
  return {
    name: `pack${W}g`,
    params: [I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, I32, ...new Array(W + 4).fill(V128)],
    body: [
      init,
      set(k4, sub(get(kv), and(get(kv), i32(3)))),
      loopBy(k4, 4, quad, i32(16)),
      set(k4, and(get(kv), i32(3))),
      loopBy(k4, 1, step, get(strideK)),
    ],
  };
}

/** The kernel module's bytes; relaxed-SIMD FMA when `fma`, memory64 addresses when `mem64`. */
export function kernelModuleBytes(fma: boolean, mem64 = false): Uint8Array {
  return emitFor(mem64, () => {
    const packs = [MR, NR].flatMap((w) => [packFunc(w, true), packFunc(w, false)]);
    const funcs = [gemmFunc(fma), ...packs, ...elementwiseFuncs(), ...normFuncs()];
    return buildModule(funcs, memLimits(mem64));
  });
}

/** Signature of the packing kernels (byte addresses and strides). */
export type PackFn = (
  src: number,
  dst: number,
  kv: number,
  strideW: number,
  strideK: number,
) => void;

/** The exports every kernel instance has. */
export interface KernelExports extends ElementwiseExports, NormExports {
  gemm(
    pa: number,
    pb: number,
    c: number,
    ldcBytes: number,
    kc: number,
    mTiles: number,
    nPanels: number,
    accumulate: number,
  ): void;
  [pack: `pack${number}${"c" | "g"}`]: PackFn;
}

/** Module bytes for this engine: FMA if relaxed SIMD validates, else plain SIMD; null if none. */
export function chooseKernelBytes(mem64 = false): { bytes: Uint8Array; fma: boolean } | null {
  for (const fma of [true, false]) {
    const bytes = kernelModuleBytes(fma, mem64);
    if (WebAssembly.validate(bytes as BufferSource)) return { bytes, fma };
  }
  return null;
}
