// Generated WebAssembly SIMD elementwise and row kernels: row max, sum of exp, scaled exp
// (for softmax / cross-entropy), GELU (tanh form) forward and backward. Each processes
// n4 groups of 4 floats; callers handle the n % 4 tail in TypeScript.

import {
  brIf,
  c32,
  type Code,
  F32,
  F32_OP,
  f32Load,
  f32x4Add,
  f32x4Const,
  f32x4Div,
  f32x4ExtractLane,
  f32x4Mul,
  f32x4Pmax,
  f32x4Splat,
  f32x4Sub,
  fop,
  type FuncDef,
  get,
  I32,
  i32,
  if_,
  inc,
  loop,
  memoryFill,
  ne,
  nz,
  set,
  sub,
  V128,
  v128Load,
  v128Store,
  vecExp,
} from "./wasm_emit.ts";

/** Loop `body` n4 times (n4 = local index, counted down), skipping when n4 == 0. */
function times(n4: number, ...body: Code[]): Code {
  return if_(ne(get(n4), i32(0)), loop(body, set(n4, sub(get(n4), i32(1))), brIf(0, nz(get(n4)))));
}

function hReduce(v: number, op: number): Code {
  const l = (i: number) => f32x4ExtractLane(get(v), i);
  return fop(op, fop(op, l(0), l(1)), fop(op, l(2), l(3)));
}

/** rowMax(x, n4) -> f32: max of x[0 .. 4 n4) (n4 >= 1). */
function rowMax(): FuncDef {
  const x = 0, n4 = 1, acc = 2;
  return {
    name: "rowMax",
    params: [I32, I32],
    results: [F32],
    locals: [V128],
    body: [
      set(acc, v128Load(get(x))),
      times(n4, set(acc, f32x4Pmax(get(acc), v128Load(get(x)))), inc(x, i32(16))),
      hReduce(acc, F32_OP.max),
    ],
  };
}

/** rowSumExp(x, n4, shift) -> f32: sum of exp(x - shift). */
function rowSumExp(): FuncDef {
  const x = 0, n4 = 1, shift = 2, acc = 3, sh = 4, e = 5, t = 6, n = 7;
  const ve = vecExp(8);
  return {
    name: "rowSumExp",
    params: [I32, I32, F32],
    results: [F32],
    locals: new Array(5 + ve.count).fill(V128),
    body: [
      ve.init,
      set(sh, f32x4Splat(get(shift))),
      set(acc, f32x4Const(0)),
      times(
        n4,
        set(e, f32x4Sub(v128Load(get(x)), get(sh))),
        set(acc, f32x4Add(get(acc), ve.exp(get(e), t, n))),
        inc(x, i32(16)),
      ),
      hReduce(acc, F32_OP.add),
    ],
  };
}

/** expScale(x, out, n4, shift, scale): out = exp(x - shift) * scale. */
function expScale(): FuncDef {
  const x = 0, out = 1, n4 = 2, shift = 3, scale = 4, sh = 5, sc = 6, e = 7, t = 8, n = 9;
  const ve = vecExp(10);
  return {
    name: "expScale",
    params: [I32, I32, I32, F32, F32],
    results: [],
    locals: new Array(5 + ve.count).fill(V128),
    body: [
      ve.init,
      set(sh, f32x4Splat(get(shift))),
      set(sc, f32x4Splat(get(scale))),
      times(
        n4,
        set(e, f32x4Sub(v128Load(get(x)), get(sh))),
        v128Store(get(out), f32x4Mul(ve.exp(get(e), t, n), get(sc))),
        inc(x, i32(16)),
        inc(out, i32(16)),
      ),
    ],
  };
}

const GELU_C = Math.sqrt(2 / Math.PI), GELU_A = 0.044715;

/**
 * The constants of the GELU kernels in v128 locals from `first` on, set once before the loop
 * (V8 materialises a v128.const inside a loop on every iteration).
 */
function geluConsts(first: number) {
  const values = [0.5, 1, 2, GELU_C, GELU_A, 3 * GELU_A];
  const at = (x: number) => get(first + values.indexOf(x));
  return {
    count: values.length,
    init: values.map((x, i) => set(first + i, f32x4Const(x))) as Code,
    half: at(0.5),
    one: at(1),
    two: at(2),
    c: at(GELU_C),
    a: at(GELU_A),
    a3: at(3 * GELU_A),
  };
}
type GeluConsts = ReturnType<typeof geluConsts>;

/** tanh(u) for the v128 in local u as 1 - 2 / (exp(2u) + 1); clobbers t, n. */
function tanhV(
  u: number,
  t: number,
  n: number,
  ve: ReturnType<typeof vecExp>,
  k: GeluConsts,
): Code {
  const e2 = ve.exp(f32x4Add(get(u), get(u)), t, n);
  return f32x4Sub(k.one, f32x4Div(k.two, f32x4Add(e2, k.one)));
}

/** geluTanh(x, out, n4): out = 0.5 x (1 + tanh(c (x + a x^3))). */
function gelu(): FuncDef {
  const x = 0, out = 1, n4 = 2, v = 3, u = 4, t = 5, n = 6;
  const ve = vecExp(7), k = geluConsts(7 + ve.count);
  return {
    name: "geluTanh",
    params: [I32, I32, I32],
    results: [],
    locals: new Array(4 + ve.count + k.count).fill(V128),
    body: [
      ve.init,
      k.init,
      times(
        n4,
        set(v, v128Load(get(x))),
        set(
          u,
          f32x4Mul(
            k.c,
            f32x4Add(get(v), f32x4Mul(k.a, f32x4Mul(get(v), f32x4Mul(get(v), get(v))))),
          ),
        ),
        v128Store(
          get(out),
          f32x4Mul(f32x4Mul(k.half, get(v)), f32x4Add(k.one, tanhV(u, t, n, ve, k))),
        ),
        inc(x, i32(16)),
        inc(out, i32(16)),
      ),
    ],
  };
}

/**
 * geluTanhBwd(x, g, out, n4): out = g * (0.5 (1 + th) + 0.5 x (1 - th^2) c (1 + 3 a x^2)),
 * th = tanh(c (x + a x^3)).
 */
function geluBwd(): FuncDef {
  const x = 0, g = 1, out = 2, n4 = 3, v = 4, u = 5, th = 6, t = 7, n = 8, x2 = 9;
  const ve = vecExp(10), k = geluConsts(10 + ve.count);
  return {
    name: "geluTanhBwd",
    params: [I32, I32, I32, I32],
    results: [],
    locals: new Array(6 + ve.count + k.count).fill(V128),
    body: [
      ve.init,
      k.init,
      times(
        n4,
        set(v, v128Load(get(x))),
        set(x2, f32x4Mul(get(v), get(v))),
        set(u, f32x4Mul(k.c, f32x4Add(get(v), f32x4Mul(k.a, f32x4Mul(get(v), get(x2)))))),
        set(th, tanhV(u, t, n, ve, k)),
        v128Store(
          get(out),
          f32x4Mul(
            v128Load(get(g)),
            f32x4Add(
              f32x4Mul(k.half, f32x4Add(k.one, get(th))),
              f32x4Mul(
                f32x4Mul(f32x4Mul(k.half, get(v)), f32x4Sub(k.one, f32x4Mul(get(th), get(th)))),
                f32x4Mul(k.c, f32x4Add(k.one, f32x4Mul(k.a3, get(x2)))),
              ),
            ),
          ),
        ),
        inc(x, i32(16)),
        inc(g, i32(16)),
        inc(out, i32(16)),
      ),
    ],
  };
}

/** rowDot(a, b, n4) -> f32: sum of a * b (b = a gives the sum of squares). */
function rowDot(): FuncDef {
  const a = 0, b = 1, n4 = 2, acc = 3;
  return {
    name: "rowDot",
    params: [I32, I32, I32],
    results: [F32],
    locals: [V128],
    body: [
      set(acc, f32x4Const(0)),
      times(
        n4,
        set(acc, f32x4Add(get(acc), f32x4Mul(v128Load(get(a)), v128Load(get(b))))),
        inc(a, i32(16)),
        inc(b, i32(16)),
      ),
      hReduce(acc, F32_OP.add),
    ],
  };
}

/** rowSum(x, n4) -> f32. */
function rowSum(): FuncDef {
  const x = 0, n4 = 1, acc = 2;
  return {
    name: "rowSum",
    params: [I32, I32],
    results: [F32],
    locals: [V128],
    body: [
      set(acc, f32x4Const(0)),
      times(n4, set(acc, f32x4Add(get(acc), v128Load(get(x)))), inc(x, i32(16))),
      hReduce(acc, F32_OP.add),
    ],
  };
}

/**
 * sumSeq(x, n) -> f32: x[0] + x[1] + ... + x[n-1] added one by one in float32 (the order of the
 * TypeScript reduce, so the same bits; a gradient norm's sum of squares goes through it).
 */
function sumSeq(): FuncDef {
  const x = 0, n = 1, acc = 2;
  return {
    name: "sumSeq",
    params: [I32, I32],
    results: [F32],
    locals: [F32],
    body: [
      times(n, set(acc, fop(F32_OP.add, get(acc), f32Load(get(x)))), inc(x, i32(4))),
      get(acc),
    ],
  };
}

/**
 * sumRows(x, out, dim, p4): out[j] = x[0, j] + x[1, j] + ... + x[dim-1, j] for j < 4 p4, x
 * [dim, 4 p4] (row by row in float32: the TypeScript reduce's order; e.g. a bias gradient).
 */
function sumRows(): FuncDef {
  const x = 0, out = 1, dim = 2, p4 = 3, j = 4, o = 5;
  return {
    name: "sumRows",
    params: [I32, I32, I32, I32],
    results: [],
    locals: [I32, I32],
    body: [
      set(j, get(p4)),
      set(o, get(out)),
      times(j, v128Store(get(o), f32x4Const(0)), inc(o, i32(16))),
      times(
        dim,
        set(j, get(p4)),
        set(o, get(out)),
        times(
          j,
          v128Store(get(o), f32x4Add(v128Load(get(o)), v128Load(get(x)))),
          inc(x, i32(16)),
          inc(o, i32(16)),
        ),
      ),
    ],
  };
}

/** fillZero(ptr, bytes): zero `bytes` bytes from byte address ptr (memory.fill: a memset). */
function fillZero(): FuncDef {
  return {
    name: "fillZero",
    params: [I32, I32],
    results: [],
    locals: [],
    body: memoryFill(get(0), c32(0), get(1)),
  };
}

/** subScalar(x, out, n4, c): out = x - c. */
function subScalar(): FuncDef {
  const x = 0, out = 1, n4 = 2, c = 3, cv = 4;
  return {
    name: "subScalar",
    params: [I32, I32, I32, F32],
    results: [],
    locals: [V128],
    body: [
      set(cv, f32x4Splat(get(c))),
      times(
        n4,
        v128Store(get(out), f32x4Sub(v128Load(get(x)), get(cv))),
        inc(x, i32(16)),
        inc(out, i32(16)),
      ),
    ],
  };
}

/** softmaxBwd(y, g, out, n4, s): out = y (g - s); logSoftmaxBwd: out = g - exp(y) s. */
function softmaxBwd(log: boolean): FuncDef {
  const y = 0, g = 1, out = 2, n4 = 3, sc = 4, sv = 5, t = 6, n = 7, e = 8;
  const ve = vecExp(9);
  const value: Code = log
    ? f32x4Sub(v128Load(get(g)), f32x4Mul(ve.exp(get(e), t, n), get(sv)))
    : f32x4Mul(v128Load(get(y)), f32x4Sub(v128Load(get(g)), get(sv)));
  return {
    name: log ? "logSoftmaxBwd" : "softmaxBwd",
    params: [I32, I32, I32, I32, F32],
    results: [],
    locals: new Array(4 + ve.count).fill(V128),
    body: [
      log ? ve.init : [],
      set(sv, f32x4Splat(get(sc))),
      times(
        n4,
        log ? set(e, v128Load(get(y))) : [],
        v128Store(get(out), value),
        inc(y, i32(16)),
        inc(g, i32(16)),
        inc(out, i32(16)),
      ),
    ],
  };
}

const BINARY_OPS = { add: f32x4Add, sub: f32x4Sub, mul: f32x4Mul, div: f32x4Div } as const;
export type BinaryOpName = keyof typeof BINARY_OPS;

/**
 * binary_{op}(a, b, out, rows, p4): out[r, j] = a[r, j] op b[j] for r < rows, j < 4 p4
 * (b is one period of 4 p4 floats repeated over the rows; rows = 1 for same-shape operands).
 */
function binary(op: BinaryOpName): FuncDef {
  const a = 0, b = 1, out = 2, rows = 3, p4 = 4, j = 5, bj = 6;
  return {
    name: `binary_${op}`,
    params: [I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32],
    body: times(
      rows,
      set(j, get(p4)),
      set(bj, get(b)),
      times(
        j,
        v128Store(get(out), BINARY_OPS[op](v128Load(get(a)), v128Load(get(bj)))),
        inc(a, i32(16)),
        inc(bj, i32(16)),
        inc(out, i32(16)),
      ),
    ),
  };
}

/** All elementwise kernel definitions (added to the main kernel module). */
export function elementwiseFuncs(): FuncDef[] {
  return [
    rowMax(),
    rowSumExp(),
    expScale(),
    gelu(),
    geluBwd(),
    rowDot(),
    rowSum(),
    sumSeq(),
    sumRows(),
    fillZero(),
    subScalar(),
    softmaxBwd(false),
    softmaxBwd(true),
    ...(Object.keys(BINARY_OPS) as BinaryOpName[]).map(binary),
  ];
}

/** Exports of the elementwise kernels (byte addresses). */
export interface ElementwiseExports {
  rowMax(x: number, n4: number): number;
  rowSumExp(x: number, n4: number, shift: number): number;
  expScale(x: number, out: number, n4: number, shift: number, scale: number): void;
  geluTanh(x: number, out: number, n4: number): void;
  geluTanhBwd(x: number, g: number, out: number, n4: number): void;
  rowDot(a: number, b: number, n4: number): number;
  rowSum(x: number, n4: number): number;
  sumSeq(x: number, n: number): number;
  sumRows(x: number, out: number, dim: number, p4: number): void;
  fillZero(ptr: number, bytes: number): void;
  subScalar(x: number, out: number, n4: number, c: number): void;
  softmaxBwd(y: number, g: number, out: number, n4: number, s: number): void;
  logSoftmaxBwd(y: number, g: number, out: number, n4: number, s: number): void;
  [binary: `binary_${string}`]: (
    a: number,
    b: number,
    out: number,
    rows: number,
    p4: number,
  ) => void;
}
