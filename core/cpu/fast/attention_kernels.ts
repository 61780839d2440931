// Generates the WebAssembly SIMD causal-attention kernels for one head size (padded to a
// multiple of 4; the d loops are fully unrolled), compiled and cached per thread and per
// size. One call handles one (batch, head) pair: rows are strided by rs bytes.

import {
  add,
  brIf,
  buildModule,
  type Code,
  emitFor,
  expF32,
  F32,
  F32_OP,
  f32Const,
  f32Load,
  f32Store,
  f32x4Add,
  f32x4Mul,
  f32x4RelaxedMadd,
  f32x4Splat,
  fop,
  type FuncDef,
  get,
  hsum,
  I32,
  i32,
  inc,
  loop,
  ltS,
  mul,
  set,
  shl,
  V128,
  v128Load,
  v128Store,
  v128Zero,
} from "./wasm_emit.ts";
import { isMemory64, memLimits } from "./kernels.ts";

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
  ): void;
}

type Madd = (a: Code, b: Code, c: Code) => Code;

function fwdFunc(D4: number, madd: Madd): FuncDef {
  // params
  const q = 0, k = 1, v = 2, o = 3, m = 4, l = 5, T = 6, rs = 7, scale = 8, scr = 9;
  // locals: i32
  const t = 10, s = 11, qt = 12, ks = 13;
  // f32
  const mx = 14, sum = 15, x = 16, tmp = 17, n = 18;
  // v128
  const dotv = 19, pv = 20, qv = (i: number) => 21 + i, acc = (i: number) => 21 + D4 + i;
  const dots: Code[] = [set(dotv, f32x4Mul(get(qv(0)), v128Load(get(ks), 0)))];
  for (let i = 1; i < D4; i++) {
    dots.push(set(dotv, madd(get(qv(i)), v128Load(get(ks), 16 * i), get(dotv))));
  }
  const loadQ: Code[] = [], zeroAcc: Code[] = [], addPV: Code[] = [], storeO: Code[] = [];
  for (let i = 0; i < D4; i++) {
    loadQ.push(set(qv(i), v128Load(get(qt), 16 * i)));
    zeroAcc.push(set(acc(i), v128Zero()));
    addPV.push(set(acc(i), madd(get(pv), v128Load(get(ks), 16 * i), get(acc(i)))));
    storeO.push(v128Store(get(qt), f32x4Mul(get(acc(i)), get(pv)), 16 * i));
  }
  const sAddr = add(get(scr), shl(get(s), i32(2))); // scr + s * 4
  return {
    name: "fwd",
    params: [I32, I32, I32, I32, I32, I32, I32, I32, F32, I32],
    results: [],
    locals: [I32, I32, I32, I32, F32, F32, F32, F32, F32, ...new Array(2 + 2 * D4).fill(V128)],
    body: [
      set(t, i32(0)),
      loop(
        // scores of row t against keys 0..t, and their max
        set(qt, add(get(q), mul(get(t), get(rs)))),
        loadQ,
        set(mx, f32Const(-Infinity)),
        set(ks, get(k)),
        set(s, i32(0)),
        loop(
          dots,
          set(x, fop(F32_OP.mul, hsum(dotv), get(scale))),
          f32Store(sAddr, get(x)),
          set(mx, fop(F32_OP.max, get(mx), get(x))),
          inc(ks, get(rs)),
          inc(s, i32(1)),
          [ltS(get(t), get(s)), 0x45, 0x0d, 0], // br_if (s <= t)
        ),
        // p = exp(score - max); o_t = sum p v / sum p
        set(sum, f32Const(0)),
        zeroAcc,
        set(ks, get(v)),
        set(s, i32(0)),
        loop(
          set(x, expF32(fop(F32_OP.sub, f32Load(sAddr), get(mx)), tmp, n)),
          set(sum, fop(F32_OP.add, get(sum), get(x))),
          set(pv, f32x4Splat(get(x))),
          addPV,
          inc(ks, get(rs)),
          inc(s, i32(1)),
          [ltS(get(t), get(s)), 0x45, 0x0d, 0],
        ),
        set(pv, f32x4Splat(fop(F32_OP.div, f32Const(1), get(sum)))),
        set(qt, add(get(o), mul(get(t), get(rs)))),
        storeO,
        f32Store(add(get(m), shl(get(t), i32(2))), get(mx)),
        f32Store(add(get(l), shl(get(t), i32(2))), get(sum)),
        inc(t, i32(1)),
        brIf(0, ltS(get(t), get(T))),
      ),
    ],
  };
}

function bwdFunc(D4: number, madd: Madd): FuncDef {
  const q = 0, k = 1, v = 2, o = 3, g = 4, dq = 5, dk = 6, dv = 7, lse = 8, T = 9, rs = 10;
  const scale = 11;
  // i32 locals
  const t = 12, s = 13, ks = 15, rowT = 16; // local 14 is spare
  // f32 locals
  const delta = 17, lt = 18, p = 19, ds = 20, tmp = 21, n = 22, dp = 23;
  // v128 locals
  const dotv = 24, dpv = 25, pv = 26, dsv = 27;
  const qv = (i: number) => 28 + i, gv = (i: number) => 28 + D4 + i;
  const dqa = (i: number) => 28 + 2 * D4 + i;
  const at = (base: number, off: number): Code => add(get(base), get(off));
  const loadQG: Code[] = [], zero: Code[] = [], dlt: Code[] = [];
  const dots: Code[] = [
    set(dotv, f32x4Mul(get(qv(0)), v128Load(at(k, ks), 0))),
    set(dpv, f32x4Mul(get(gv(0)), v128Load(at(v, ks), 0))),
  ];
  const upd: Code[] = [], storeDq: Code[] = [];
  for (let i = 0; i < D4; i++) {
    loadQG.push(set(qv(i), v128Load(at(q, rowT), 16 * i)));
    loadQG.push(set(gv(i), v128Load(at(g, rowT), 16 * i)));
    zero.push(set(dqa(i), v128Zero()));
    const prod = f32x4Mul(get(gv(i)), v128Load(at(o, rowT), 16 * i));
    dlt.push(set(dotv, i === 0 ? prod : f32x4Add(get(dotv), prod)));
    if (i > 0) {
      dots.push(set(dotv, madd(get(qv(i)), v128Load(at(k, ks), 16 * i), get(dotv))));
      dots.push(set(dpv, madd(get(gv(i)), v128Load(at(v, ks), 16 * i), get(dpv))));
    }
    upd.push(
      v128Store(at(dv, ks), madd(get(pv), get(gv(i)), v128Load(at(dv, ks), 16 * i)), 16 * i),
    );
    upd.push(set(dqa(i), madd(get(dsv), v128Load(at(k, ks), 16 * i), get(dqa(i)))));
    upd.push(
      v128Store(at(dk, ks), madd(get(dsv), get(qv(i)), v128Load(at(dk, ks), 16 * i)), 16 * i),
    );
    storeDq.push(
      v128Store(at(dq, rowT), f32x4Add(get(dqa(i)), v128Load(at(dq, rowT), 16 * i)), 16 * i),
    );
  }
  return {
    name: "bwd",
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32],
    results: [],
    locals: [
      ...new Array(5).fill(I32),
      ...new Array(7).fill(F32),
      ...new Array(4 + 3 * D4).fill(V128),
    ],
    body: [
      set(t, i32(0)),
      loop(
        set(rowT, mul(get(t), get(rs))),
        loadQG,
        dlt,
        set(delta, hsum(dotv)),
        set(lt, f32Load(add(get(lse), shl(get(t), i32(2))))),
        zero,
        set(ks, i32(0)),
        set(s, i32(0)),
        loop(
          dots,
          set(dp, hsum(dpv)),
          set(p, expF32(fop(F32_OP.sub, fop(F32_OP.mul, hsum(dotv), get(scale)), get(lt)), tmp, n)),
          set(
            ds,
            fop(
              F32_OP.mul,
              fop(F32_OP.mul, get(p), fop(F32_OP.sub, get(dp), get(delta))),
              get(scale),
            ),
          ),
          set(pv, f32x4Splat(get(p))),
          set(dsv, f32x4Splat(get(ds))),
          upd,
          inc(ks, get(rs)),
          inc(s, i32(1)),
          [ltS(get(t), get(s)), 0x45, 0x0d, 0],
        ),
        storeDq,
        inc(t, i32(1)),
        brIf(0, ltS(get(t), get(T))),
      ),
    ],
  };
}

/** Module bytes for head size 4 * D4 (memory64 addresses when `mem64`). */
export function attnModuleBytes(D4: number, fma: boolean, mem64 = false): Uint8Array {
  const madd: Madd = fma ? f32x4RelaxedMadd : (a, b, c) => f32x4Add(f32x4Mul(a, b), c);
  return emitFor(
    mem64,
    () => buildModule([fwdFunc(D4, madd), bwdFunc(D4, madd)], memLimits(mem64)),
  );
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
