// The GEMM kernel written for V8's 256-bit revectorizer (`--experimental-wasm-revectorize`):
// pairs of f32x4 operations that V8 can prove independent are fused into AVX2 operations,
// doubling the FMA width of WebAssembly's 128-bit SIMD. V8 only pairs two memory accesses
// when no trap check lies between them, and without the embedder's trap handler (Deno has
// none) every access at a run-time address carries one; accesses at constant addresses
// inside the memory's declared minimum carry none. So this kernel reads B, and writes its
// tile, at constant addresses: each thread owns a slot (REVEC_SLOT_BYTES at a fixed place,
// reserved by memory.ts) holding two packed B panels side by side ([kc][16] floats) and the
// tile's 5 x 16 results, and the k loop is unrolled completely (one function per kc, which
// matmul.ts keeps <= KC_MAX = 64). A and C keep run-time addresses: A as one v128 load per k
// for rows 0-3 (lane broadcasts) and a load-splat for row 4, which V8 fuses as they are.
//
// Same arithmetic as kernels.ts's gemm: each output element is one FMA chain over k from
// zero, then the old value of C added when accumulating, so both kernels give the same bits
// and which one runs (revec on, or not) never changes a result. Without the V8 flag this
// kernel is correct but slow (its 20 accumulators spill), which is why pool.ts probes it.

import {
  brIf,
  buildModule,
  type Code,
  emitFor,
  f32x4Add,
  f32x4MaddFor,
  type FuncDef,
  get,
  I32,
  i32,
  i32x4Shuffle,
  ifElse,
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
import { memLimits, MR, NR } from "./kernels.ts";

/** Bytes of one thread's slot: B panel pair (64 x 16 floats) then the 5 x 16 tile. */
export const REVEC_SLOT_BYTES = 8192;
/** Threads that get a slot (more threads use the plain kernel for everything). */
export const REVEC_SLOTS = 64;
/** The largest unrolled k: the K block of matmul.ts (KC_MAX) must not exceed it. */
export const REVEC_KC_MAX = 64;
/** Columns of one call's tile: two NR-wide panels of packed B. */
const NC = 2 * NR;
const NV = NC / 4;

/**
 * g16k{kc}(pa, pb, c, ldcBytes, mTiles, nPairs, accumulate): like kernels.ts's gemm with
 * kc fixed, over nPairs pairs of consecutive packed B panels (2 * nPairs panels).
 */
function pairFunc(kc: number, fma: boolean, cb: number): FuncDef {
  const ct = cb + REVEC_KC_MAX * NC * 4;
  const pa = 0, pb = 1, c = 2, ldc = 3, mTiles = 4, nPairs = 5, accum = 6;
  const jr = 7, ir = 8, ai = 9, cij = 10, cj = 11, pbj = 12, row = 13, p = 14, d = 15, k = 16;
  const firstV = 17;
  const acc = (r: number, v: number) => firstV + r * NV + v;
  const bv = (v: number) => firstV + MR * NV + v;
  const av = firstV + MR * NV + NV, sv = av + 1, x = sv + 1;
  const madd = f32x4MaddFor(fma);

  // copy panels jr, jr + 1 ([kc][NR] each, consecutive) into the slot as [kc][2 * NR]
  const panelBytes = kc * NR * 4;
  const copy: Code = [
    set(p, get(pbj)),
    set(d, i32(cb)),
    set(k, i32(kc)),
    loop(
      v128Store(get(d), v128Load(get(p), 0), 0),
      v128Store(get(d), v128Load(get(p), 16), 16),
      v128Store(get(d), v128Load(get(p), panelBytes), 32),
      v128Store(get(d), v128Load(get(p), panelBytes + 16), 48),
      inc(p, i32(NR * 4)),
      inc(d, i32(NC * 4)),
      set(k, sub(get(k), i32(1))),
      brIf(0, ne(get(k), i32(0))),
    ),
  ];
  const tile: Code[] = [];
  for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) tile.push(set(acc(r, v), v128Zero()));
  for (let kk = 0; kk < kc; kk++) {
    for (let v = 0; v < NV; v++) {
      tile.push(set(bv(v), v128Load(i32(0), cb + (kk * NC + 4 * v) * 4)));
    }
    tile.push(set(av, v128Load(get(ai), kk * MR * 4)));
    for (let r = 0; r < MR; r++) {
      tile.push(
        set(
          sv,
          r < 4
            ? i32x4Shuffle(get(av), get(av), [r, r, r, r])
            : v128Splat32(get(ai), (kk * MR + r) * 4),
        ),
      );
      for (let v = 0; v < NV; v++) {
        tile.push(set(acc(r, v), madd(get(sv), get(bv(v)), get(acc(r, v)))));
      }
    }
  }
  // the tile goes to the slot (constant addresses: V8 pairs these stores), then to C
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NV; v++) {
      tile.push(v128Store(i32(0), get(acc(r, v)), ct + (r * NC + 4 * v) * 4));
    }
  }
  const toC = (add: boolean): Code[] => {
    const out: Code[] = [set(row, get(cij))];
    for (let r = 0; r < MR; r++) {
      for (let v = 0; v < NV; v++) {
        const t = v128Load(i32(0), ct + (r * NC + 4 * v) * 4);
        out.push(
          set(x, add ? f32x4Add(t, v128Load(get(row), 16 * v)) : t),
          v128Store(get(row), get(x), 16 * v),
        );
      }
      if (r + 1 < MR) out.push(inc(row, get(ldc)));
    }
    return out;
  };
  const body: Code = [
    set(pbj, get(pb)),
    set(cj, get(c)),
    set(jr, i32(0)),
    loop(
      copy,
      set(ai, get(pa)),
      set(cij, get(cj)),
      set(ir, i32(0)),
      loop(
        tile,
        ifElse(nz(get(accum)), toC(true), toC(false)),
        inc(ai, i32(kc * MR * 4)),
        inc(cij, mul(get(ldc), i32(MR))),
        inc(ir, i32(1)),
        brIf(0, ltS(get(ir), get(mTiles))),
      ),
      inc(pbj, i32(2 * panelBytes)),
      inc(cj, i32(NC * 4)),
      inc(jr, i32(1)),
      brIf(0, ltS(get(jr), get(nPairs))),
    ),
  ];
  return {
    name: `g16k${kc}`,
    params: new Array(7).fill(I32),
    results: [],
    locals: [...new Array(firstV - 7).fill(I32), ...new Array(MR * NV + NV + 3).fill(V128)],
    body,
  };
}

/** Byte address of thread slot `slot` (reserved by memory.ts from `base`). */
export function revecSlotAddress(base: number, slot: number): number {
  return base + slot * REVEC_SLOT_BYTES;
}

/** The module of pair kernels for kc = 4, 8, ..., REVEC_KC_MAX using the slot at `cb`. */
export function revecModuleBytes(fma: boolean, mem64: boolean, cb: number): Uint8Array {
  return emitFor(mem64, () => {
    const funcs: FuncDef[] = [];
    for (let kc = 4; kc <= REVEC_KC_MAX; kc += 4) funcs.push(pairFunc(kc, fma, cb));
    return buildModule(funcs, memLimits(mem64));
  });
}

/** Signature of one pair kernel (byte addresses; kc is in its name). */
export type PairFn = (
  pa: number,
  pb: number,
  c: number,
  ldcBytes: number,
  mTiles: number,
  nPairs: number,
  accumulate: number,
) => void;
