// Generated WebAssembly SIMD kernels for LayerNorm forward/backward (rows of C = 4 * C4
// floats) and the AdamW update (4 floats at a time; callers handle the tail).

import {
  add,
  brIf,
  type Code,
  F32,
  F32_OP,
  f32Const,
  f32Store,
  f32x4Add,
  f32x4Div,
  f32x4Mul,
  f32x4Splat,
  f32x4Sqrt,
  f32x4Sub,
  fop,
  type FuncDef,
  get,
  hsum,
  I32,
  i32,
  if_,
  inc,
  loop,
  ltS,
  mul,
  ne,
  nz,
  set,
  shl,
  sub,
  toF32,
  V128,
  v128Load,
  v128Store,
  v128Zero,
} from "./wasm_emit.ts";

/** Loop `body` over j = 0, 16, ..., 16 * (C4 - 1) (byte offsets in local j). */
function overRow(C4: number, j: number, ...body: Code[]): Code {
  return [
    set(j, i32(0)),
    loop(body, inc(j, i32(16)), brIf(0, ltS(get(j), shl(get(C4), i32(4))))),
  ];
}
const at = (base: number, j: number): Code => add(get(base), get(j));

/** lnFwd(x, w, b, out, mean, rstd, N, C4, eps): LayerNorm of N rows, C4 >= 1. */
function lnFwd(): FuncDef {
  const x = 0, w = 1, b = 2, out = 3, mean = 4, rstd = 5, N = 6, C4 = 7, eps = 8;
  const r = 9, j = 10, m = 11, rs = 12, acc = 13, mv = 14, d = 15, rsv = 16;
  const C = (): Code => toF32(mul(get(C4), i32(4))); // f32.convert_i32_s(C4 * 4)
  return {
    name: "lnFwd",
    params: [I32, I32, I32, I32, I32, I32, I32, I32, F32],
    results: [],
    locals: [I32, I32, F32, F32, V128, V128, V128, V128],
    body: if_(ne(get(N), i32(0)), [
      set(r, get(N)),
      loop(
        set(acc, v128Zero()),
        overRow(C4, j, set(acc, f32x4Add(get(acc), v128Load(at(x, j))))),
        set(m, fop(F32_OP.div, hsum(acc), C())),
        set(mv, f32x4Splat(get(m))),
        set(acc, v128Zero()),
        overRow(
          C4,
          j,
          set(d, f32x4Sub(v128Load(at(x, j)), get(mv))),
          set(acc, f32x4Add(get(acc), f32x4Mul(get(d), get(d)))),
        ),
        set(
          rs,
          fop(
            F32_OP.div,
            f32Const(1),
            [fop(F32_OP.add, fop(F32_OP.div, hsum(acc), C()), get(eps)), 0x91],
          ),
        ),
        set(rsv, f32x4Splat(get(rs))),
        overRow(
          C4,
          j,
          v128Store(
            at(out, j),
            f32x4Add(
              f32x4Mul(
                f32x4Mul(f32x4Sub(v128Load(at(x, j)), get(mv)), get(rsv)),
                v128Load(at(w, j)),
              ),
              v128Load(at(b, j)),
            ),
          ),
        ),
        f32Store(get(mean), get(m)),
        f32Store(get(rstd), get(rs)),
        inc(mean, i32(4)),
        inc(rstd, i32(4)),
        inc(x, mul(get(C4), i32(16))),
        inc(out, mul(get(C4), i32(16))),
        set(r, sub(get(r), i32(1))),
        brIf(0, nz(get(r))),
      ),
    ]),
  };
}

/**
 * lnBwd(g, x, w, mean, rstd, dx, dw, db, N, C4): dx of N rows; dw, db (zeroed by the
 * caller) accumulate sum over rows of g * xhat and g.
 */
function lnBwd(): FuncDef {
  const g = 0, x = 1, w = 2, mean = 3, rstd = 4, dx = 5, dw = 6, db = 7, N = 8, C4 = 9;
  const r = 10, j = 11, sg = 12, sgx = 13, rs = 14;
  const a1 = 15, a2 = 16, mv = 17, rsv = 18, xh = 19, gv = 20, gw = 21;
  const C = (): Code => toF32(mul(get(C4), i32(4)));
  const xhat: Code = f32x4Mul(f32x4Sub(v128Load(at(x, j)), get(mv)), get(rsv));
  return {
    name: "lnBwd",
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, F32, F32, F32, ...new Array(7).fill(V128)],
    body: if_(ne(get(N), i32(0)), [
      set(r, get(N)),
      loop(
        set(mv, f32x4Splat([get(mean), 0x2a, 2, 0])), // f32.load mean
        set(rs, [get(rstd), 0x2a, 2, 0]), // f32.load rstd
        set(rsv, f32x4Splat(get(rs))),
        set(a1, v128Zero()),
        set(a2, v128Zero()),
        overRow(
          C4,
          j,
          set(xh, xhat),
          set(gv, v128Load(at(g, j))),
          set(gw, f32x4Mul(get(gv), v128Load(at(w, j)))),
          set(a1, f32x4Add(get(a1), get(gw))),
          set(a2, f32x4Add(get(a2), f32x4Mul(get(gw), get(xh)))),
          v128Store(at(dw, j), f32x4Add(v128Load(at(dw, j)), f32x4Mul(get(gv), get(xh)))),
          v128Store(at(db, j), f32x4Add(v128Load(at(db, j)), get(gv))),
        ),
        set(sg, fop(F32_OP.div, hsum(a1), C())),
        set(sgx, fop(F32_OP.div, hsum(a2), C())),
        set(a1, f32x4Splat(get(sg))),
        set(a2, f32x4Splat(get(sgx))),
        overRow(
          C4,
          j,
          v128Store(
            at(dx, j),
            f32x4Mul(
              f32x4Sub(
                f32x4Sub(f32x4Mul(v128Load(at(g, j)), v128Load(at(w, j))), get(a1)),
                f32x4Mul(xhat, get(a2)),
              ),
              get(rsv),
            ),
          ),
        ),
        inc(mean, i32(4)),
        inc(rstd, i32(4)),
        inc(g, mul(get(C4), i32(16))),
        inc(x, mul(get(C4), i32(16))),
        inc(dx, mul(get(C4), i32(16))),
        set(r, sub(get(r), i32(1))),
        brIf(0, nz(get(r))),
      ),
    ]),
  };
}

/**
 * adamw(p, g, m, v, pOut, mOut, vOut, n4, lr, b1, b2, eps, wd, bc1, bc2): m' = b1 m +
 * (1 - b1) g; v' = b2 v + (1 - b2) g^2; p' = p - lr (m'/bc1 / (sqrt(v'/bc2) + eps) + wd p).
 */
function adamw(): FuncDef {
  const p = 0, g = 1, m = 2, v = 3, po = 4, mo = 5, vo = 6, n4 = 7;
  const lr = 8, b1 = 9, b2 = 10, eps = 11, wd = 12, bc1 = 13, bc2 = 14;
  const j = 15;
  const [vlr, vb1, vc1, vb2, vc2, veps, vwd, vbc1, vbc2, gv, mi, vi, pv] = [
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    26,
    27,
    28,
  ];
  const splat = (l: number, val: Code) => set(l, f32x4Splat(val));
  return {
    name: "adamw",
    params: [I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32],
    results: [],
    locals: [I32, ...new Array(13).fill(V128)],
    body: if_(ne(get(n4), i32(0)), [
      splat(vlr, get(lr)),
      splat(vb1, get(b1)),
      splat(vc1, fop(F32_OP.sub, f32Const(1), get(b1))),
      splat(vb2, get(b2)),
      splat(vc2, fop(F32_OP.sub, f32Const(1), get(b2))),
      splat(veps, get(eps)),
      splat(vwd, get(wd)),
      splat(vbc1, get(bc1)),
      splat(vbc2, get(bc2)),
      set(j, i32(0)),
      loop(
        set(gv, v128Load(at(g, j))),
        set(pv, v128Load(at(p, j))),
        set(mi, f32x4Add(f32x4Mul(get(vb1), v128Load(at(m, j))), f32x4Mul(get(vc1), get(gv)))),
        set(
          vi,
          f32x4Add(
            f32x4Mul(get(vb2), v128Load(at(v, j))),
            f32x4Mul(f32x4Mul(get(vc2), get(gv)), get(gv)),
          ),
        ),
        v128Store(at(mo, j), get(mi)),
        v128Store(at(vo, j), get(vi)),
        v128Store(
          at(po, j),
          f32x4Sub(
            get(pv),
            f32x4Mul(
              get(vlr),
              f32x4Add(
                f32x4Div(
                  f32x4Div(get(mi), get(vbc1)),
                  f32x4Add(f32x4Sqrt(f32x4Div(get(vi), get(vbc2))), get(veps)),
                ),
                f32x4Mul(get(vwd), get(pv)),
              ),
            ),
          ),
        ),
        inc(j, i32(16)),
        set(n4, sub(get(n4), i32(1))),
        brIf(0, nz(get(n4))),
      ),
    ]),
  };
}

/**
 * rope(x, out, cs, sn, B, T, H, half4): rotate-half rotary embedding of x [B, T, H, D],
 * D = 8 * half4, with tables cs, sn [T][D/2] (sn negated for the inverse rotation):
 * out[j] = x[j] c - x[j + D/2] s, out[j + D/2] = x[j + D/2] c + x[j] s.
 */
function rope(): FuncDef {
  const x = 0, out = 1, cs = 2, sn = 3, B = 4, T = 5, H = 6, half4 = 7;
  const b = 8, t = 9, h = 10, j = 11, hb = 12, row = 13;
  const c = 14, s = 15, x1 = 16, x2 = 17;
  const lo = (base: number): Code => add(add(get(base), get(row)), get(j));
  const tab = (base: number): Code => add(get(base), get(j));
  return {
    name: "rope",
    params: [I32, I32, I32, I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, I32, I32, V128, V128, V128, V128],
    body: if_(ne(mul(mul(mul(get(B), get(T)), get(H)), get(half4)), i32(0)), [
      set(hb, mul(get(half4), i32(16))), // bytes in half a row
      set(row, i32(0)),
      set(b, get(B)),
      loop(
        set(t, i32(0)),
        loop(
          set(h, get(H)),
          loop(
            set(j, i32(0)),
            loop(
              set(c, v128Load(tab(cs))),
              set(s, v128Load(tab(sn))),
              set(x1, v128Load(lo(x))),
              set(x2, v128Load(add(lo(x), get(hb)))),
              v128Store(lo(out), f32x4Sub(f32x4Mul(get(x1), get(c)), f32x4Mul(get(x2), get(s)))),
              v128Store(
                add(lo(out), get(hb)),
                f32x4Add(f32x4Mul(get(x2), get(c)), f32x4Mul(get(x1), get(s))),
              ),
              inc(j, i32(16)),
              brIf(0, ltS(get(j), get(hb))),
            ),
            inc(row, mul(get(hb), i32(2))),
            set(h, sub(get(h), i32(1))),
            brIf(0, nz(get(h))),
          ),
          inc(cs, get(hb)),
          inc(sn, get(hb)),
          inc(t, i32(1)),
          brIf(0, ltS(get(t), get(T))),
        ),
        set(cs, sub(get(cs), mul(get(T), get(hb)))),
        set(sn, sub(get(sn), mul(get(T), get(hb)))),
        set(b, sub(get(b), i32(1))),
        brIf(0, nz(get(b))),
      ),
    ]),
  };
}

/** All norm/optimizer kernel definitions (added to the main kernel module). */
export function normFuncs(): FuncDef[] {
  return [lnFwd(), lnBwd(), adamw(), rope()];
}

/** Exports of these kernels (byte addresses). */
export interface NormExports {
  rope(
    x: number,
    out: number,
    cs: number,
    sn: number,
    B: number,
    T: number,
    H: number,
    half4: number,
  ): void;
  lnFwd(
    x: number,
    w: number,
    b: number,
    out: number,
    mean: number,
    rstd: number,
    N: number,
    C4: number,
    eps: number,
  ): void;
  lnBwd(
    g: number,
    x: number,
    w: number,
    mean: number,
    rstd: number,
    dx: number,
    dw: number,
    db: number,
    N: number,
    C4: number,
  ): void;
  adamw(
    p: number,
    gr: number,
    m: number,
    v: number,
    pOut: number,
    mOut: number,
    vOut: number,
    n4: number,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    wd: number,
    bc1: number,
    bc2: number,
  ): void;
}
