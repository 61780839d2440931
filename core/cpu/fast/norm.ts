// LayerNorm forward/backward, the AdamW update, RoPE, broadcasting add/sub/mul/div and sums on
// the generated SIMD kernels (main thread; these are memory-bound). Same contracts as the
// backend's kernels. Arrays from allocF32 are used in place, others staged.

import { allocBytes, freeBytes, isShared, memBuffer, scratchBytes } from "./memory.ts";
import { mainKernels } from "./pool.ts";
import { layerNormRowsBackward, layerNormRowsForward } from "../ref.ts";

interface Operand {
  arr: Float32Array;
  len: number;
  out: boolean; // written by the kernel (copied back when staged)
  zero?: boolean; // zero-filled before the kernel runs (accumulated outputs)
}

function validate(name: string, ops: Operand[]): void {
  for (const o of ops) {
    if (!(o.arr instanceof Float32Array) || o.arr.length < o.len) {
      throw new Error(`${name}: an array has fewer than the ${o.len} elements the shapes need`);
    }
  }
}

/** Run `body` with the float index of each operand in shared memory; copies outputs back. */
function staged(name: string, ops: Operand[], body: (at: number[]) => void): void {
  validate(name, ops);
  const sizes = ops.map((o) => isShared(o.arr) ? 0 : Math.ceil(o.len / 16) * 16);
  const base = scratchBytes(4 * sizes.reduce((a, b) => a + b, 0) + 64) / 4;
  const mem = new Float32Array(memBuffer());
  let next = base;
  const at = ops.map((o, i) => {
    let p: number;
    if (isShared(o.arr)) p = o.arr.byteOffset / 4;
    else {
      p = next;
      next += sizes[i];
      if (!o.out) mem.set(o.arr.subarray(0, o.len), p);
    }
    if (o.zero) mem.fill(0, p, p + o.len);
    return p;
  });
  body(at);
  ops.forEach((o, i) => {
    if (o.out && !isShared(o.arr)) o.arr.set(mem.subarray(at[i], at[i] + o.len));
  });
}

function dims(name: string, N: number, C: number): void {
  for (const [n, v] of [["N", N], ["C", C]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`${name}: ${n} must be a non-negative integer, got ${v}`);
    }
  }
}

/** out = (x - mean) * rstd * w + b per row of x [N, C]; saves mean[N], rstd[N]. */
export function layerNormForwardF32(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  out: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
  eps: number,
): void {
  const name = "layerNormForwardF32";
  dims(name, N, C);
  if (N === 0 || C === 0) return;
  const ops: Operand[] = [
    { arr: x, len: N * C, out: false },
    { arr: w, len: C, out: false },
    { arr: b, len: C, out: false },
    { arr: out, len: N * C, out: true },
    { arr: mean, len: N, out: true },
    { arr: rstd, len: N, out: true },
  ];
  if (C % 4 !== 0) {
    validate(name, ops);
    layerNormRowsForward(x, w, b, out, mean, rstd, N, C, eps);
    return;
  }
  const k = mainKernels();
  staged(
    name,
    ops,
    (p) => k.lnFwd(4 * p[0], 4 * p[1], 4 * p[2], 4 * p[3], 4 * p[4], 4 * p[5], N, C / 4, eps),
  );
}

/**
 * LayerNorm backward: dx [N, C]; dw, db [C] = sum over rows of dout * xhat and dout
 * (overwritten), from dout, x, w and the forward's mean and rstd.
 */
export function layerNormBackwardF32(
  dout: Float32Array,
  x: Float32Array,
  w: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  dx: Float32Array,
  dw: Float32Array,
  db: Float32Array,
  N: number,
  C: number,
): void {
  const name = "layerNormBackwardF32";
  dims(name, N, C);
  if (C === 0) return;
  const ops: Operand[] = [
    { arr: dout, len: N * C, out: false },
    { arr: x, len: N * C, out: false },
    { arr: w, len: C, out: false },
    { arr: mean, len: N, out: false },
    { arr: rstd, len: N, out: false },
    { arr: dx, len: N * C, out: true },
    { arr: dw, len: C, out: true, zero: true },
    { arr: db, len: C, out: true, zero: true },
  ];
  if (C % 4 !== 0) {
    validate(name, ops);
    layerNormRowsBackward(dout, x, w, mean, rstd, dx, dw, db, N, C);
    return;
  }
  const k = mainKernels();
  staged(name, ops, (p) => {
    const [g, xa, wa, ma, ra, dxa, dwa, dba] = p.map((i) => 4 * i);
    k.lnBwd(g, xa, wa, ma, ra, dxa, dwa, dba, N, C / 4);
  });
}

/**
 * One AdamW step into fresh outputs: m' = b1 m + (1-b1) g; v' = b2 v + (1-b2) g^2;
 * p' = p - lr (m'/(1-b1^step) / (sqrt(v'/(1-b2^step)) + eps) + weightDecay p).
 */
export function adamwF32(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  pOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): void {
  const name = "adamwF32";
  dims(name, n, 1);
  if (!(Number.isInteger(step) && step >= 1)) {
    throw new Error(`${name}: step counts from 1, got ${step}`);
  }
  const bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
  const n4 = n >> 2, k = mainKernels();
  const ops: Operand[] = [
    { arr: p, len: n, out: false },
    { arr: g, len: n, out: false },
    { arr: m, len: n, out: false },
    { arr: v, len: n, out: false },
    { arr: pOut, len: n, out: true },
    { arr: mOut, len: n, out: true },
    { arr: vOut, len: n, out: true },
  ];
  staged(name, ops, (a) => {
    const [pa, ga, ma, va, po, mo, vo] = a.map((i) => 4 * i);
    k.adamw(pa, ga, ma, va, po, mo, vo, n4, lr, beta1, beta2, eps, weightDecay, bc1, bc2);
    const mem = new Float32Array(memBuffer());
    for (let i = 4 * n4; i < n; i++) {
      const gi = mem[a[1] + i], pi = mem[a[0] + i];
      const mi = beta1 * mem[a[2] + i] + (1 - beta1) * gi;
      const vi = beta2 * mem[a[3] + i] + (1 - beta2) * gi * gi;
      mem[a[5] + i] = mi;
      mem[a[6] + i] = vi;
      mem[a[4] + i] = pi - lr * ((mi / bc1) / (Math.sqrt(vi / bc2) + eps) + weightDecay * pi);
    }
  });
}

/** Per (D, base): the float index of the cached tables and the rows they hold. */
const ropeTables = new Map<string, { at: number; rows: number }>();

/**
 * Float indices of the cached cos, sin and -sin tables ([rows][D/2] each, rows >= T) for
 * (D, base). One table per (D, base), regrown to the next power of two when a longer T comes:
 * a table per T (as before) pinned up to `context` small blocks at scattered heap addresses.
 */
function ropeTable(T: number, D: number, base: number): { cos: number; sin: number; neg: number } {
  const key = `${D}:${base}`;
  let tab = ropeTables.get(key);
  const half = D / 2;
  if (tab === undefined || tab.rows < T) {
    if (tab !== undefined) freeBytes(4 * tab.at);
    const rows = Math.max(16, 2 ** Math.ceil(Math.log2(T)));
    const n = rows * half, at = allocBytes(4 * 3 * n) / 4;
    const mem = new Float32Array(memBuffer());
    for (let t = 0; t < rows; t++) {
      for (let j = 0; j < half; j++) {
        const theta = t * Math.pow(base, (-2 * j) / D);
        mem[at + t * half + j] = Math.cos(theta);
        mem[at + n + t * half + j] = Math.sin(theta);
        mem[at + 2 * n + t * half + j] = -Math.sin(theta);
      }
    }
    ropeTables.set(key, tab = { at, rows });
  }
  const n = tab.rows * half;
  return { cos: tab.at, sin: tab.at + n, neg: tab.at + 2 * n };
}

/**
 * Rotary position embedding (rotate-half) of x [B, T, H, D], position = time index t:
 * theta_j = t * base^(-2j/D), out[j] = x[j] cos - x[j+D/2] sin, out[j+D/2] = x[j+D/2] cos +
 * x[j] sin; `inverse` rotates by -theta (the backward pass).
 */
export function ropeF32(
  x: Float32Array,
  out: Float32Array,
  B: number,
  T: number,
  H: number,
  D: number,
  base: number,
  inverse: boolean,
): void {
  const name = "ropeF32";
  for (const [n, v] of [["B", B], ["T", T], ["H", H], ["D", D]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`${name}: ${n} must be a non-negative integer, got ${v}`);
    }
  }
  if (D % 2 !== 0) throw new Error(`${name}: D must be even, got ${D}`);
  if (!(base > 0)) throw new Error(`${name}: base must be positive, got ${base}`);
  const n = B * T * H * D;
  const ops: Operand[] = [{ arr: x, len: n, out: false }, { arr: out, len: n, out: true }];
  if (n === 0) return validate(name, ops);
  const half = D / 2, tab = ropeTable(T, D, base);
  const sn = inverse ? tab.neg : tab.sin;
  if (half % 4 !== 0) {
    validate(name, ops);
    const mem = new Float32Array(memBuffer());
    for (let r = 0; r < B * T * H; r++) {
      const t = Math.floor(r / H) % T, o = r * D;
      for (let j = 0; j < half; j++) {
        const c = mem[tab.cos + t * half + j], s = mem[sn + t * half + j];
        const x1 = x[o + j], x2 = x[o + j + half];
        out[o + j] = x1 * c - x2 * s;
        out[o + j + half] = x2 * c + x1 * s;
      }
    }
    return;
  }
  const k = mainKernels();
  staged(name, ops, (p) => {
    k.rope(4 * p[0], 4 * p[1], 4 * tab.cos, 4 * sn, B, T, H, half / 4);
  });
}

const JS_OPS = {
  add: (x: number, y: number) => x + y,
  sub: (x: number, y: number) => x - y,
  mul: (x: number, y: number) => x * y,
  div: (x: number, y: number) => x / y,
};

/**
 * out[i] = a[i] op b[i % period] for i < n, op in add/sub/mul/div: same-shape operands
 * (period = n) or b broadcast along the leading axes (e.g. a bias of `period` = C floats
 * added to every row of a [N, C] matrix). n must be a multiple of period.
 */
export function binaryF32(
  op: "add" | "sub" | "mul" | "div",
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  n: number,
  period: number = n,
): void {
  const name = "binaryF32";
  if (!(op in JS_OPS)) throw new Error(`${name}: op must be add, sub, mul or div, got ${op}`);
  dims(name, n, period);
  if (n === 0) return;
  if (period === 0 || n % period !== 0) {
    throw new Error(`${name}: n (${n}) must be a positive multiple of period (${period})`);
  }
  const ops: Operand[] = [
    { arr: a, len: n, out: false },
    { arr: b, len: period, out: false },
    { arr: out, len: n, out: true },
  ];
  if (period % 4 !== 0) {
    validate(name, ops);
    const f = JS_OPS[op];
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i % period]);
    return;
  }
  const k = mainKernels();
  staged(name, ops, (p) => {
    k[`binary_${op}`](4 * p[0], 4 * p[1], 4 * p[2], n / period, period / 4);
  });
}

/**
 * out[o, i] = sum over d of x[o, d, i] for x viewed as [outer, dim, inner], added in float32
 * in the order d = 0, 1, ... (the TypeScript reduce's order: the same bits). SIMD over i when
 * inner is a multiple of 4, one scalar chain when inner is 1; other inners return false (the
 * caller runs the TypeScript reduce).
 */
export function reduceSumF32(
  x: Float32Array,
  out: Float32Array,
  outer: number,
  dim: number,
  inner: number,
): boolean {
  const name = "reduceSumF32";
  dims(name, outer, dim);
  dims(name, inner, 0);
  if (inner !== 1 && inner % 4 !== 0) return false;
  const ops: Operand[] = [
    { arr: x, len: outer * dim * inner, out: false },
    { arr: out, len: outer * inner, out: true },
  ];
  const k = mainKernels();
  staged(name, ops, (p) => {
    if (inner === 1) {
      const mem = new Float32Array(memBuffer());
      for (let o = 0; o < outer; o++) mem[p[1] + o] = k.sumSeq(4 * (p[0] + o * dim), dim);
      return;
    }
    for (let o = 0; o < outer; o++) {
      k.sumRows(4 * (p[0] + o * dim * inner), 4 * (p[1] + o * inner), dim, inner / 4);
    }
  });
  return true;
}

/**
 * Zero a Float32Array; a view of the shared memory by `memory.fill` (a memset: TypedArray#fill
 * on a SharedArrayBuffer goes element by element, ~2x slower here). Returns the view.
 */
export function zeroF32(view: Float32Array): Float32Array {
  if (view.length === 0) return view;
  if (!isShared(view)) return view.fill(0);
  mainKernels().fillZero(view.byteOffset, view.byteLength);
  return view;
}
