// Generates the WebAssembly SIMD causal-attention kernels for one head size (padded to a
// multiple of 4), compiled and cached per thread and per size. One call of fwd/bwd handles
// one (batch, head) pair (rows strided by rs bytes), block by block of BQ query rows: the
// block's scores against keys 0..end of block are held transposed (key-major, BQ query lanes
// per key, so the softmax is plain f32x4 work) in a per-head scratch of O(T) floats, and
// every product (scores, P V, P^T dO, dS^T Q, dS K) runs in one register-tiled micro-kernel
// generator (`tileGemm`: an MT x NT tile of f32x4 accumulators, A splat, B rows).

import {
  add,
  brIf,
  buildModule,
  type Code,
  emitFor,
  F32,
  F32_OP,
  f32Const,
  f32Load,
  f32Store,
  f32x4Add,
  f32x4Const,
  f32x4Div,
  f32x4MaddFor,
  f32x4Max,
  f32x4Mul,
  f32x4Splat,
  f32x4Sub,
  fop,
  type FuncDef,
  get,
  hsum,
  I32,
  i32,
  i32x4Splat,
  inc,
  isWide,
  loop,
  ltS,
  mul,
  set,
  shl,
  sub,
  uleb,
  V128,
  v128Load,
  v128Splat32,
  v128Store,
  v128Zero,
  vecExp,
} from "./wasm_emit.ts";
import { isMemory64, memLimits } from "./kernels.ts";

/** Query rows per block (a multiple of 4: the lanes of the transposed scores). */
export const BQ = 16;
const BV = BQ / 4;
/**
 * Lane vectors per key in one iteration of the softmax loops: all BV. Measured (one thread):
 * forward 3.1 / 9.4 ms on the bench / small shapes with 4, 3.3 / 9.7 with 2, 3.3-3.8 / 10.1
 * with 1; the backward did not change.
 */
const VG = BV;

/** Floats of scratch one head needs (Q^T and dO^T blocks, 4 lane vectors, 2 T x BQ tiles). */
export function attnScratchFloats(T: number, D4: number): number {
  return BQ * (8 * D4 + 4 + 2 * T);
}

/** Exports of an attention module (all addresses in bytes). */
export interface AttnExports {
  /** o = softmax(scale q k^T, causal) v for one head; writes row max m[t] and sum l[t]. */
  fwd(
    q: number,
    k: number,
    v: number,
    o: number,
    m: number,
    l: number,
    T: number,
    rs: number,
    scale: number,
    scr: number,
  ): void;
  /** Adds dq, dk, dv of one head given o, dout g and lse. */
  bwd(
    q: number,
    k: number,
    v: number,
    o: number,
    g: number,
    dq: number,
    dk: number,
    dv: number,
    lse: number,
    T: number,
    rs: number,
    scale: number,
    scr: number,
  ): void;
}

type Madd = (a: Code, b: Code, c: Code) => Code;

// ---- SIMD ops only the attention kernels use ----
const simdOp = (op: number): Code => [0xfd, uleb(op)];
const i32x4GeS = (a: Code, b: Code): Code => [a, b, simdOp(0x3f)];
const v128And = (a: Code, b: Code): Code => [a, b, simdOp(0x4e)];
/** Lanes of a where mask is all ones, of b elsewhere. */
const v128Bitselect = (a: Code, b: Code, mask: Code): Code => [a, b, mask, simdOp(0x52)];
const i32x4Const = (xs: number[]): Code => [
  simdOp(0x0c),
  ...new Uint8Array(new Int32Array(xs).buffer),
];
/** An integer local as i32 (wrapped from i64 in memory64 modules). */
const asI32 = (x: Code): Code => (isWide() ? [x, 0xa7] : x);
const select = (a: Code, b: Code, cond: Code): Code => [a, b, cond, 0x1b];
const not = (cond: Code): Code => [cond, 0x45]; // i32.eqz
const call = (fn: number, args: Code[]): Code => [args, 0x10, uleb(fn)];

/**
 * One register-tiled product C[m, 0..4 nVec) (= or +=) sum_k A[m, k] B[k, 0..4 nVec):
 * A element (m, k) at a + m am + k ak (splat-loaded), B row k at b + k bs, C row m at
 * c + m cs (byte strides; each static or a parameter), m < M, k < K (K static: fully unrolled;
 * a runtime am needs a static K and ak). Parameters in order: a, b, c, M, then am, ak, bs, cs,
 * K where those are not static. Rows in tiles of mt (remainders by powers of two), columns in
 * tiles of nt vectors, the runtime k loop unrolled ku times.
 */
interface GemmSpec {
  name: string;
  nVec: number;
  am: number | null;
  ak: number | null;
  bs: number | null;
  cs: number | null;
  k: number | null;
  mode: "store" | "add";
  mt: number;
  nt: number;
  ku: number;
}

function tileGemm(s: GemmSpec, madd: Madd): FuncDef {
  if (s.am === null && (s.k === null || s.ak === null)) {
    throw new Error(`tileGemm ${s.name}: a runtime A row stride needs a static K and k stride`);
  }
  const names = ["a", "b", "c", "M"];
  if (s.am === null) names.push("am");
  if (s.ak === null) names.push("ak");
  if (s.bs === null) names.push("bs");
  if (s.cs === null) names.push("cs");
  if (s.k === null) names.push("K");
  const P = (n: string) => names.indexOf(n);
  const np = names.length;
  const m0 = np, ap = np + 1, bp = np + 2, kc = np + 3, cr = np + 4;
  const ar = (r: number) => np + 5 + r;
  const firstV = np + 5 + s.mt;
  const acc = (r: number, v: number) => firstV + r * s.nt + v;
  const bv = (v: number) => firstV + s.mt * s.nt + v;
  const sp = firstV + s.mt * s.nt + s.nt;
  const stride = (st: number | null, n: string): Code => (st === null ? get(P(n)) : i32(st));

  /** The A address base and static offset of tile row r, k step u (within an unroll group). */
  const aAt = (r: number, u: number): [Code, number] =>
    s.am === null
      ? [get(ar(r)), u * (s.ak ?? 0)]
      : [get(ap), r * s.am + (s.ak === null ? 0 : u * s.ak)];
  /** The B address base and static offset of k step u. */
  const bAt = (u: number): [Code, number] => (s.bs === null ? [get(bp), 0] : [get(bp), u * s.bs]);

  const tile = (rows: number): Code[] => {
    const out: Code[] = [];
    // row pointers of this tile
    if (s.am === null) {
      out.push(set(ar(0), add(get(P("a")), mul(get(m0), get(P("am"))))));
      for (let r = 1; r < rows; r++) out.push(set(ar(r), add(get(ar(r - 1)), get(P("am")))));
    }
    out.push(set(cr, add(get(P("c")), mul(get(m0), stride(s.cs, "cs")))));
    for (let n0 = 0; n0 < s.nVec; n0 += s.nt) {
      const w = Math.min(s.nt, s.nVec - n0);
      const cAt = (r: number, v: number): [Code, number] =>
        s.cs === null
          ? [r === 0 ? get(cr) : add(get(cr), mul(i32(r), get(P("cs")))), 16 * (n0 + v)]
          : [get(cr), r * s.cs + 16 * (n0 + v)];
      for (let r = 0; r < rows; r++) {
        for (let v = 0; v < w; v++) {
          const [base, off] = cAt(r, v);
          out.push(set(acc(r, v), s.mode === "add" ? v128Load(base, off) : v128Zero()));
        }
      }
      const step = (u: number): Code[] => {
        const code: Code[] = [];
        const [bb, bo] = bAt(u);
        for (let v = 0; v < w; v++) code.push(set(bv(v), v128Load(bb, bo + 16 * (n0 + v))));
        for (let r = 0; r < rows; r++) {
          const [ab, ao] = aAt(r, u);
          code.push(set(sp, v128Splat32(ab, ao)));
          for (let v = 0; v < w; v++) {
            code.push(set(acc(r, v), madd(get(sp), get(bv(v)), get(acc(r, v)))));
          }
        }
        if (s.bs === null) code.push(inc(bp, get(P("bs"))));
        if (s.ak === null) code.push(inc(ap, get(P("ak"))));
        return code;
      };
      /** Move A (and a static-stride B) on by `units` k steps. */
      const advance = (units: number): Code[] => {
        const code: Code[] = s.ak === null ? [] : [inc(ap, i32(units * s.ak))];
        if (s.bs !== null) code.push(inc(bp, i32(units * s.bs)));
        return code;
      };
      if (s.am !== null) out.push(set(ap, add(get(P("a")), mul(get(m0), i32(s.am)))));
      out.push(set(bp, get(P("b"))));
      if (s.k !== null) {
        for (let u = 0; u < s.k; u++) out.push(step(u)); // static offsets: pointers stay
      } else {
        const units: Code[] = [];
        for (let u = 0; u < s.ku; u++) units.push(step(u));
        out.push(
          set(kc, get(P("K"))),
          blockLoop(
            ltS(get(kc), i32(s.ku)),
            units,
            advance(s.ku),
            set(kc, sub(get(kc), i32(s.ku))),
          ),
          blockLoop(ltS(get(kc), i32(1)), step(0), advance(1), set(kc, sub(get(kc), i32(1)))),
        );
      }
      for (let r = 0; r < rows; r++) {
        for (let v = 0; v < w; v++) {
          const [base, off] = cAt(r, v);
          out.push(v128Store(base, get(acc(r, v)), off));
        }
      }
    }
    return out;
  };

  const body: Code[] = [
    set(m0, i32(0)),
    blockLoop(ltS(get(P("M")), add(get(m0), i32(s.mt))), tile(s.mt), inc(m0, i32(s.mt))),
  ];
  for (let size = 1 << Math.floor(Math.log2(Math.max(1, s.mt - 1))); size >= 1; size >>= 1) {
    if (size >= s.mt) continue;
    body.push([
      ltS(get(P("M")), add(get(m0), i32(size))),
      0x45, // i32.eqz: at least `size` rows left
      0x04,
      0x40,
      tile(size),
      inc(m0, i32(size)),
      0x0b,
    ]);
  }
  const nV = s.mt * s.nt + s.nt + 1;
  return {
    name: s.name,
    params: names.map(() => I32),
    results: [],
    locals: [...new Array(5 + s.mt).fill(I32), ...new Array(nV).fill(V128)],
    body,
  };
}

/** `while (!exit) { body }` as block + loop. */
function blockLoop(exit: Code, ...body: Code[]): Code {
  return [0x02, 0x40, loop(brIf(1, exit), body, [0x0c, 0]), 0x0b];
}

// Function indices inside the module (fwd and bwd call the products).
const DOT = 0, PVT = 1, RANK_ADD = 2;

/**
 * The three products of a head size. Tiles (rows x f32x4 columns) measured on the two bench
 * shapes (one thread, 29 Nov): 2 x 4 for the scores beat 6 x 2 (small forward 11.3 vs 13.6
 * ms); 6 x 2 for the rank updates was the best of the tried 4 x 3, 3 x 4, 6 x 2; a k unroll
 * of 8 gained nothing over 4. P V and dS K are computed transposed ([d][query lane], the
 * same 2 x 4 tile as the scores) and transposed back: faster than row tiles of 4 x 2.
 */
function gemmSpecs(D4: number): GemmSpec[] {
  const Dp = 4 * D4;
  return [
    // scores^T [key, query lane] = K rows . (Q block)^T
    {
      name: "dot",
      nVec: BV,
      am: null,
      ak: 4,
      bs: BQ * 4,
      cs: BQ * 4,
      k: Dp,
      mode: "store",
      mt: 2,
      nt: 4,
      ku: 1,
    },
    // O^T [d, query lane] = V^T P^T (and dQ^T = K^T dS^T): A = V rows read down a column
    {
      name: "pvT",
      nVec: BV,
      am: 4,
      ak: null,
      bs: BQ * 4,
      cs: BQ * 4,
      k: null,
      mode: "store",
      mt: 2,
      nt: 4,
      ku: 4,
    },
    // dV (dK) rows += P^T dO (dS^T Q)
    {
      name: "rankAdd",
      nVec: D4,
      am: BQ * 4,
      ak: 4,
      bs: null,
      cs: null,
      k: null,
      mode: "add",
      mt: 6,
      nt: 2,
      ku: 4,
    },
  ];
}

/** Byte offsets inside a head's scratch: Q^T, dO^T blocks, lane vectors, the score tiles. */
function layout(D4: number) {
  const blockT = 16 * D4 * BQ; // Dp x BQ floats
  const vec = (i: number) => 2 * blockT + i * BQ * 4;
  return { qt: 0, gt: blockT, vec, st: vec(4) };
}

/** Lanes [4v, 4v + 1, 4v + 2, 4v + 3] of query rows in the block. */
const laneIds = (v: number): Code => i32x4Const([4 * v, 4 * v + 1, 4 * v + 2, 4 * v + 3]);

/** Start of a query block (fwd and bwd): nr = min(BQ, T - i0) rows, tk = i0 + nr keys. */
function blockHead(T: number, i0: number, nr: number, tk: number): Code {
  const left = sub(get(T), get(i0));
  return [
    set(nr, select(i32(BQ), left, ltS(i32(BQ), left))),
    set(tk, add(get(i0), get(nr))),
  ];
}

/**
 * Walk the keys of the block: keys j < i0 (all lanes live) run `body(null)`, then the diagonal
 * keys i0 <= j < i0 + nr run `body(mask)`, mask(vi) giving the lanes r >= j - i0 of lane vector
 * vi (jj = j - i0 counts along; `keep` holds its splat; `step` moves to the next key).
 */
function keyWalk(
  jj: number,
  i0: number,
  nr: number,
  keep: number,
  body: (mask: ((vi: number) => Code) | null) => Code,
  step: Code,
): Code {
  return [
    set(jj, sub(i32(0), get(i0))),
    blockLoop(not(ltS(get(jj), i32(0))), body(null), step, inc(jj, i32(1))),
    loop(
      set(keep, i32x4Splat(asI32(get(jj)))),
      body((vi) => i32x4GeS(laneIds(vi), get(keep))),
      step,
      inc(jj, i32(1)),
      brIf(0, ltS(get(jj), get(nr))),
    ),
  ];
}

/** f32 lanes of a (0-3) and b (4-7) picked by `lanes` (i8x16.shuffle). */
const shuffle32 = (a: Code, b: Code, lanes: number[]): Code => [
  a,
  b,
  simdOp(0x0d),
  lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
];

/**
 * 4 x 4 transpose of the vectors in v128 locals tmp[0..3] (rows): the code that fills
 * tmp[4..7], and the four column vectors as expressions.
 */
function transpose4(tmp: number[]): [Code, Code[]] {
  const code = [
    set(tmp[4], shuffle32(get(tmp[0]), get(tmp[1]), [0, 4, 1, 5])),
    set(tmp[5], shuffle32(get(tmp[0]), get(tmp[1]), [2, 6, 3, 7])),
    set(tmp[6], shuffle32(get(tmp[2]), get(tmp[3]), [0, 4, 1, 5])),
    set(tmp[7], shuffle32(get(tmp[2]), get(tmp[3]), [2, 6, 3, 7])),
  ];
  return [code, [
    shuffle32(get(tmp[4]), get(tmp[6]), [0, 1, 4, 5]),
    shuffle32(get(tmp[4]), get(tmp[6]), [2, 3, 6, 7]),
    shuffle32(get(tmp[5]), get(tmp[7]), [0, 1, 4, 5]),
    shuffle32(get(tmp[5]), get(tmp[7]), [2, 3, 6, 7]),
  ]];
}

/** A query-block operand to transpose: row r at addr(row pointer), scaled by an f32 local. */
interface Source {
  addr: (row: Code) => Code;
  /** byte offset of its [d][BQ] block in the scratch */
  dst: number;
  /** f32 parameter and its f32x4 splat (v128 local) to scale by, or null */
  scale: [number, number] | null;
}

/** p1..p3 = the three rows after p (integer locals i = [p, p1, p2, p3, ..., rs]). */
function rowPointers(i: number[]): Code {
  const [p, p1, p2, p3, , , , rs] = i;
  return [
    set(p1, add(get(p), get(rs))),
    set(p2, add(get(p1), get(rs))),
    set(p3, add(get(p2), get(rs))),
  ];
}

/**
 * The block's rows r < nr, four at a time (`four`, which starts with rowPointers) while four
 * are left, then one at a time (`one`, row pointer p); sp = scratch + 4 r
 * follows. Integer locals i = [p, p1, p2, p3, r, sp, nr, rs].
 */
function rowGroups(i: number[], four: Code[], one: Code[]): Code {
  const [p, , , , r, sp, nr, rs] = i;
  return [
    blockLoop(
      ltS(get(nr), add(get(r), i32(4))),
      four,
      inc(p, shl(get(rs), i32(2))),
      inc(sp, i32(16)),
      inc(r, i32(4)),
    ),
    blockLoop(not(ltS(get(r), get(nr))), one, inc(p, get(rs)), inc(sp, i32(4)), inc(r, i32(1))),
  ];
}

/**
 * Transpose the block's nr rows (row pointer p, stride rs) of each source into [d][lane] at
 * scratch sp (sp = scratch + 4 r), four rows at a time with 4 x 4 shuffles, then row by row;
 * lanes nr..BQ-1 are zeroed. Integer locals i = [p, p1, p2, p3, r, sp, nr, rs]; v128 locals
 * tmp[0..7] are clobbered. The caller sets p, r = 0 and sp = scratch.
 */
function transposeBlock(D4: number, srcs: Source[], i: number[], tmp: number[]): Code {
  const [p, p1, p2, p3, r, sp] = i;
  const rows = [p, p1, p2, p3].map((x) => get(x));
  const four: Code[] = [rowPointers(i)];
  const one: Code[] = [], pad: Code[] = [];
  for (const s of srcs) {
    for (let dv = 0; dv < D4; dv++) {
      for (let k = 0; k < 4; k++) four.push(set(tmp[k], v128Load(s.addr(rows[k]), 16 * dv)));
      const [shuffles, cols] = transpose4(tmp);
      four.push(shuffles);
      cols.forEach((c, k) => {
        const val = s.scale === null ? c : f32x4Mul(c, get(s.scale[1]));
        four.push(v128Store(get(sp), val, s.dst + (4 * dv + k) * BQ * 4));
      });
    }
    for (let d = 0; d < 4 * D4; d++) {
      const x = f32Load(s.addr(get(p)), 4 * d);
      const val = s.scale === null ? x : fop(F32_OP.mul, x, get(s.scale[0]));
      one.push(f32Store(get(sp), val, s.dst + d * BQ * 4));
      pad.push(f32Store(get(sp), f32Const(0), s.dst + d * BQ * 4));
    }
  }
  return [
    rowGroups(i, four, one),
    blockLoop(not(ltS(get(r), i32(BQ))), pad, inc(sp, i32(4)), inc(r, i32(1))),
  ];
}

/**
 * The reverse of transposeBlock for one [d][lane] block at scratch offset `src`: rows r < nr
 * (row pointer p, stride rs; row address addr(p)) are set to, or with `accumulate` added to, column
 * r of the block, times lane r of the f32 vector at `scale` (a scratch offset) if given.
 * Same locals as transposeBlock; the caller sets p, r = 0 and sp = scratch.
 */
function untransposeBlock(
  D4: number,
  addr: (row: Code) => Code,
  accumulate: boolean,
  src: number,
  scale: number | null,
  i: number[],
  tmp: number[],
): Code {
  const [p, p1, p2, p3, , sp] = i;
  const rows = [p, p1, p2, p3].map((x) => addr(get(x)));
  const four: Code[] = [rowPointers(i)];
  const one: Code[] = [];
  for (let dv = 0; dv < D4; dv++) {
    for (let k = 0; k < 4; k++) {
      const x = v128Load(get(sp), src + (4 * dv + k) * BQ * 4);
      four.push(set(tmp[k], scale === null ? x : f32x4Mul(x, v128Load(get(sp), scale))));
    }
    const [shuffles, cols] = transpose4(tmp);
    four.push(shuffles);
    cols.forEach((c, k) => {
      const val = accumulate ? f32x4Add(v128Load(rows[k], 16 * dv), c) : c;
      four.push(v128Store(rows[k], val, 16 * dv));
    });
  }
  for (let d = 0; d < 4 * D4; d++) {
    const x = f32Load(get(sp), src + d * BQ * 4);
    const val = scale === null ? x : fop(F32_OP.mul, x, f32Load(get(sp), scale));
    const row = addr(get(p));
    one.push(f32Store(row, accumulate ? fop(F32_OP.add, f32Load(row, 4 * d), val) : val, 4 * d));
  }
  return rowGroups(i, four, one);
}

function fwdFunc(D4: number, madd: Madd): FuncDef {
  const L = layout(D4);
  // params
  const q = 0, k = 1, v = 2, o = 3, m = 4, l = 5, T = 6, rs = 7, scale = 8, scr = 9;
  // integer locals
  const i0 = 10, nr = 11, tk = 12, r = 13, p = 14, sp = 15, jj = 16, st = 17;
  const p1 = 18, p2 = 19, p3 = 20;
  // v128 locals
  const ninf = 21, t = 22, rr = 23, keep = 24, x = 25, scv = 26;
  const tmp = [27, 28, 29, 30, 31, 32, 33, 34];
  const mx = [...Array(VG).keys()].map((i) => 35 + i), sum = mx.map((i) => i + VG);
  const ve = vecExp(35 + 2 * VG, madd);
  const transpose = transposeBlock(
    D4,
    [{ addr: (row) => row, dst: L.qt, scale: [scale, scv] }],
    [p, p1, p2, p3, r, sp, nr, rs],
    tmp,
  );
  const softmax: Code[] = [];
  for (let g0 = 0; g0 < BV; g0 += VG) {
    const walk = (body: (mask: ((vi: number) => Code) | null) => Code[]): Code => [
      set(p, add(get(st), i32(16 * g0))),
      keyWalk(jj, i0, nr, keep, body, inc(p, i32(BQ * 4))),
    ];
    const group = [...Array(VG).keys()];
    const score = (i: number) => v128Load(get(p), 16 * i);
    softmax.push(
      group.map((i) => set(mx[i], get(ninf))),
      walk((mask) =>
        group.map((i) =>
          set(
            mx[i],
            f32x4Max(
              get(mx[i]),
              mask === null ? score(i) : v128Bitselect(score(i), get(ninf), mask(g0 + i)),
            ),
          )
        )
      ),
      group.map((i) => set(sum[i], v128Zero())),
      walk((mask) =>
        group.map((i) => {
          const e = ve.exp(f32x4Sub(score(i), get(mx[i])), t, rr);
          return [
            set(x, mask === null ? e : v128And(e, mask(g0 + i))),
            v128Store(get(p), get(x), 16 * i),
            set(sum[i], f32x4Add(get(sum[i]), get(x))),
          ];
        })
      ),
      group.map((i) => [
        v128Store(get(scr), get(mx[i]), L.vec(0) + 16 * (g0 + i)),
        v128Store(get(scr), get(sum[i]), L.vec(1) + 16 * (g0 + i)),
        v128Store(get(scr), f32x4Div(f32x4Const(1), get(sum[i])), L.vec(2) + 16 * (g0 + i)),
      ]),
    );
  }
  const rowAt = (base: number) => add(get(base), mul(get(i0), get(rs)));
  return {
    name: "fwd",
    params: [I32, I32, I32, I32, I32, I32, I32, I32, F32, I32],
    results: [],
    locals: [...new Array(11).fill(I32), ...new Array(14 + 2 * VG + ve.count).fill(V128)],
    body: [
      ve.init,
      set(ninf, f32x4Const(-Infinity)),
      set(scv, f32x4Splat(get(scale))),
      set(st, add(get(scr), i32(L.st))),
      set(i0, i32(0)),
      loop(
        blockHead(T, i0, nr, tk),
        // Q block, scaled, transposed into [d, lane]; lanes past the last row are zero
        set(r, i32(0)),
        set(p, rowAt(q)),
        set(sp, get(scr)),
        transpose,
        call(DOT, [get(k), get(scr), get(st), get(tk), get(rs)]),
        softmax,
        // row max and sum out; O rows = P V / sum
        set(r, i32(0)),
        set(p, mul(get(i0), i32(4))),
        set(sp, get(scr)),
        loop(
          f32Store(add(get(m), get(p)), f32Load(get(sp), L.vec(0))),
          f32Store(add(get(l), get(p)), f32Load(get(sp), L.vec(1))),
          inc(p, i32(4)),
          inc(sp, i32(4)),
          inc(r, i32(1)),
          brIf(0, ltS(get(r), get(nr))),
        ),
        // O^T = V^T P^T into the Q^T block (free now), then O rows = its columns / sum
        call(PVT, [get(v), get(st), add(get(scr), i32(L.qt)), i32(4 * D4), get(rs), get(tk)]),
        set(r, i32(0)),
        set(p, rowAt(o)),
        set(sp, get(scr)),
        untransposeBlock(
          D4,
          (row) => row,
          false,
          L.qt,
          L.vec(2),
          [p, p1, p2, p3, r, sp, nr, rs],
          tmp,
        ),
        inc(i0, i32(BQ)),
        brIf(0, ltS(get(i0), get(T))),
      ),
    ],
  };
}

function bwdFunc(D4: number, madd: Madd): FuncDef {
  const L = layout(D4);
  const q = 0, k = 1, v = 2, o = 3, g = 4, dq = 5, dk = 6, dv = 7, lse = 8, T = 9, rs = 10;
  const scale = 11, scr = 12;
  // integer locals
  const i0 = 13, nr = 14, tk = 15, r = 16, p = 17, sp = 18, jj = 19, st = 20, dpt = 21, pd = 22;
  const p1 = 23, p2 = 24, p3 = 25;
  // v128 locals
  const scv = 26, t = 27, rr = 28, keep = 29, x = 30;
  const tmp = [31, 32, 33, 34, 35, 36, 37, 38];
  const lsv = [...Array(VG).keys()].map((i) => 39 + i), dlv = lsv.map((i) => i + VG);
  const ve = vecExp(39 + 2 * VG, madd);
  const transpose = transposeBlock(
    D4,
    [
      { addr: (row) => add(get(q), row), dst: L.qt, scale: [scale, scv] },
      { addr: (row) => add(get(g), row), dst: L.gt, scale: null },
    ],
    [p, p1, p2, p3, r, sp, nr, rs],
    tmp,
  );
  // delta = dO . O of the row (into lane vector 0), lse of the row (lane vector 1); zero pad
  let dot: Code = f32x4Mul(v128Load(add(get(g), get(p))), v128Load(add(get(o), get(p))));
  for (let i = 1; i < D4; i++) {
    dot = madd(v128Load(add(get(g), get(p)), 16 * i), v128Load(add(get(o), get(p)), 16 * i), dot);
  }
  const rowStats: Code[] = [
    set(r, i32(0)),
    set(p, mul(get(i0), get(rs))),
    set(sp, get(scr)),
    loop(
      set(x, dot),
      f32Store(get(sp), hsum(x), L.vec(0)),
      f32Store(get(sp), f32Load(add(get(lse), mul(add(get(i0), get(r)), i32(4)))), L.vec(1)),
      inc(p, get(rs)),
      inc(sp, i32(4)),
      inc(r, i32(1)),
      brIf(0, ltS(get(r), get(nr))),
    ),
    blockLoop(
      not(ltS(get(r), i32(BQ))),
      f32Store(get(sp), f32Const(0), L.vec(0)),
      f32Store(get(sp), f32Const(0), L.vec(1)),
      inc(sp, i32(4)),
      inc(r, i32(1)),
    ),
  ];
  const grads: Code[] = [];
  for (let g0 = 0; g0 < BV; g0 += VG) {
    const group = [...Array(VG).keys()];
    grads.push(
      group.map((i) => [
        set(dlv[i], v128Load(get(scr), L.vec(0) + 16 * (g0 + i))),
        set(lsv[i], v128Load(get(scr), L.vec(1) + 16 * (g0 + i))),
      ]),
      set(p, add(get(st), i32(16 * g0))),
      set(pd, add(get(dpt), i32(16 * g0))),
      // P = exp(S - lse) (masked), dS = P (dP - delta) scale
      keyWalk(jj, i0, nr, keep, (mask) =>
        group.map((i) => {
          const e = ve.exp(f32x4Sub(v128Load(get(p), 16 * i), get(lsv[i])), t, rr);
          const dp = v128Load(get(pd), 16 * i);
          return [
            set(x, mask === null ? e : v128And(e, mask(g0 + i))),
            v128Store(get(p), get(x), 16 * i),
            v128Store(
              get(pd),
              f32x4Mul(f32x4Mul(get(x), f32x4Sub(dp, get(dlv[i]))), get(scv)),
              16 * i,
            ),
          ];
        }), [inc(p, i32(BQ * 4)), inc(pd, i32(BQ * 4))]),
    );
  }
  const rowAt = (base: number) => add(get(base), mul(get(i0), get(rs)));
  return {
    name: "bwd",
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, I32],
    results: [],
    locals: [...new Array(13).fill(I32), ...new Array(13 + 2 * VG + ve.count).fill(V128)],
    body: [
      ve.init,
      set(scv, f32x4Splat(get(scale))),
      set(st, add(get(scr), i32(L.st))),
      set(dpt, add(get(st), mul(get(T), i32(BQ * 4)))),
      set(i0, i32(0)),
      loop(
        blockHead(T, i0, nr, tk),
        set(r, i32(0)),
        set(p, mul(get(i0), get(rs))),
        set(sp, get(scr)),
        transpose,
        rowStats,
        call(DOT, [get(k), get(scr), get(st), get(tk), get(rs)]),
        call(DOT, [get(v), add(get(scr), i32(L.gt)), get(dpt), get(tk), get(rs)]),
        grads,
        call(RANK_ADD, [get(st), rowAt(g), get(dv), get(tk), get(rs), get(rs), get(nr)]),
        call(RANK_ADD, [get(dpt), rowAt(q), get(dk), get(tk), get(rs), get(rs), get(nr)]),
        // dQ^T = K^T dS^T into the Q^T block (free now), added to the dq rows
        call(PVT, [get(k), get(dpt), add(get(scr), i32(L.qt)), i32(4 * D4), get(rs), get(tk)]),
        set(r, i32(0)),
        set(p, mul(get(i0), get(rs))),
        set(sp, get(scr)),
        untransposeBlock(
          D4,
          (row) => add(get(dq), row),
          true,
          L.qt,
          null,
          [p, p1, p2, p3, r, sp, nr, rs],
          tmp,
        ),
        inc(i0, i32(BQ)),
        brIf(0, ltS(get(i0), get(T))),
      ),
    ],
  };
}

/** Module bytes for head size 4 * D4 (memory64 addresses when `mem64`). */
export function attnModuleBytes(D4: number, fma: boolean, mem64 = false): Uint8Array {
  const madd: Madd = f32x4MaddFor(fma);
  return emitFor(mem64, () =>
    buildModule(
      [...gemmSpecs(D4).map((s) => tileGemm(s, madd)), fwdFunc(D4, madd), bwdFunc(D4, madd)],
      memLimits(mem64),
    ));
}

const cache = new Map<string, AttnExports>();

/** This thread's attention kernels for head size 4 * D4 on `memory` (compiled once). */
export function attnKernels(memory: WebAssembly.Memory, D4: number, fma: boolean): AttnExports {
  const mem64 = isMemory64(memory);
  const key = `${D4}:${fma}:${mem64}`;
  let ex = cache.get(key);
  if (ex === undefined) {
    const mod = new WebAssembly.Module(attnModuleBytes(D4, fma, mem64) as BufferSource);
    ex = new WebAssembly.Instance(mod, { env: { mem: memory } }).exports as unknown as AttnExports;
    cache.set(key, ex);
  }
  return ex;
}
