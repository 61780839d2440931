// Every differentiable op as a pure function on Tensors: the forward (one or more backend
// kernels into fresh outputs) and, right beside it, its vector-Jacobian product, recorded on the
// autodiff tape only when an input is tracked. Inputs are never written to.

import type { Backend, BinaryOp, DType, UnaryOp } from "./backend.ts";
import { fromStorage, numel, Tensor, tidy } from "./tensor.ts";
import { activeTape, needsGrad, record, recordOrFree } from "./tape.ts";

// ---- helpers -----------------------------------------------------------------------------

/** A zero-filled tensor (for kernels that accumulate into or leave parts of their output). */
function alloc(be: Backend, shape: readonly number[], dtype: DType = "f32"): Tensor {
  return fromStorage(be, be.alloc(numel(shape), dtype), shape);
}

/**
 * An output tensor whose contents are undefined until the kernel it is passed to writes every
 * element (skips the zero fill: ~700 MB a training step on the `bench core` small config).
 */
function output(be: Backend, shape: readonly number[], dtype: DType = "f32"): Tensor {
  return fromStorage(be, be.alloc(numel(shape), dtype, false), shape);
}

function same(...ts: Tensor[]): Backend {
  const be = ts[0].backend;
  for (const t of ts) {
    if (t.backend !== be) {
      throw new Error(
        `tensors live on different backends (${be.name}, ${t.backend.name}); move one`,
      );
    }
  }
  return be;
}

function needF32(name: string, ...ts: Tensor[]): void {
  for (const t of ts) if (t.dtype !== "f32") throw new Error(`${name}: expects f32, got ${t}`);
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array(r);
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    }
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Strides to read `shape` as if broadcast to `out` (0 on broadcast axes). */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = stridesOf(shape);
  const r = out.length, off = r - shape.length;
  const res = new Array(r).fill(0);
  for (let i = 0; i < shape.length; i++) res[i + off] = shape[i] === 1 ? 0 : st[i];
  return res;
}

/** A number operand as a scalar tensor on the other operand's backend. */
function toTensor(x: Tensor | number, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  const s = alloc(like.backend, []);
  like.backend.fill(s.storage, 1, x);
  return s;
}

/** Free the scalar tensor made for a number operand unless the tape saved it. */
function dropTemp(out: Tensor, b: Tensor | number, B: Tensor, a: Tensor): Tensor {
  if (typeof b === "number" && !needsGrad([a])) B.dispose();
  return out;
}

/**
 * Run an op built from other ops. Outside autodiff its temporaries are freed at once (a tidy
 * scope); under a tape they are kept, since the backward pass needs them.
 */
export function composite<T extends Tensor>(fn: () => T): T {
  return activeTape() ? fn() : tidy(fn);
}

/** Sum a broadcast gradient back down to `shape`. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((s, i) => s === shape[i])) return g;
  return composite(() => sumToImpl(g, shape));
}

function sumToImpl(g: Tensor, shape: readonly number[]): Tensor {
  const off = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < off || (shape[i - off] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes, true), shape);
}

// ---- shape ops -----------------------------------------------------------------------------

/** Same data, new shape (one dimension may be -1). Shares storage: no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const sh = [...shape];
  const neg = sh.indexOf(-1);
  if (neg >= 0) {
    const rest = sh.reduce((a, b, i) => (i === neg ? a : a * b), 1);
    sh[neg] = rest ? x.size / rest : 0;
  }
  const out = x.view(sh);
  record(out, [x], (g) => [reshape(g, x.shape)]);
  return out;
}

function copyOf(x: Tensor): Tensor {
  const be = x.backend, out = output(be, x.shape, x.dtype);
  be.copyStrided(x.storage, out.storage, [x.size], [1], 0, [1], 0);
  return out;
}

/** A copy with new storage (the result is independent of x's lifetime). */
export function clone(x: Tensor): Tensor {
  const out = copyOf(x);
  record(out, [x], (g) => [g]);
  return out;
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm}] is not a permutation of ${x.rank} axes`);
  }
  const be = x.backend;
  const shape = perm.map((p) => x.shape[p]);
  const st = stridesOf(x.shape);
  const out = output(be, shape, x.dtype);
  be.copyStrided(x.storage, out.storage, shape, perm.map((p) => st[p]), 0, stridesOf(shape), 0);
  const inv = new Array(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  record(out, [x], (g) => [permute(g, inv)]);
  return out;
}

/** Swap the last two axes. */
export function transpose(x: Tensor): Tensor {
  const p = x.shape.map((_, i) => i);
  [p[x.rank - 2], p[x.rank - 1]] = [p[x.rank - 1], p[x.rank - 2]];
  return permute(x, p);
}

/** Broadcast x to `shape` (a copy). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const sh = broadcastShapes(x.shape, shape);
  if (sh.length !== shape.length || sh.some((s, i) => s !== shape[i])) {
    throw new Error(`expand: [${x.shape}] cannot be broadcast to [${shape}]`);
  }
  const be = x.backend, out = output(be, sh, x.dtype);
  be.copyStrided(x.storage, out.storage, sh, broadcastStrides(x.shape, sh), 0, stridesOf(sh), 0);
  record(out, [x], (g) => [sumTo(g, x.shape)]);
  return out;
}

/** x[..., start:end, ...] along `axis`. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis(axis, x.rank);
  if (!(0 <= start && start <= end && end <= x.shape[a])) {
    throw new Error(`slice: [${start}, ${end}) is outside axis ${a} of size ${x.shape[a]}`);
  }
  const be = x.backend;
  const shape = [...x.shape];
  shape[a] = end - start;
  const st = stridesOf(x.shape);
  const out = output(be, shape, x.dtype);
  be.copyStrided(x.storage, out.storage, shape, st, start * st[a], stridesOf(shape), 0);
  record(out, [x], (g) => [padSlice(g, x.shape, a, start)]);
  return out;
}

/** Zeros of `shape` with g written at [start, start + g.shape[axis]) along axis. */
function padSlice(g: Tensor, shape: readonly number[], axis: number, start: number): Tensor {
  const be = g.backend, out = alloc(be, shape, g.dtype);
  const st = stridesOf(shape);
  be.copyStrided(g.storage, out.storage, [...g.shape], stridesOf(g.shape), 0, st, start * st[axis]);
  record(out, [g], (gg) => [slice(gg, axis, start, start + g.shape[axis])]);
  return out;
}

export function concat(xs: Tensor[], axis: number): Tensor {
  if (!xs.length) throw new Error("concat: no tensors given");
  const be = same(...xs);
  const a = normAxis(axis, xs[0].rank);
  const shape = [...xs[0].shape];
  shape[a] = 0;
  for (const x of xs) {
    if (x.rank !== shape.length || x.shape.some((s, i) => i !== a && s !== shape[i])) {
      throw new Error(`concat: [${x.shape}] does not match [${xs[0].shape}] off axis ${a}`);
    }
    shape[a] += x.shape[a];
  }
  const out = alloc(be, shape, xs[0].dtype);
  const st = stridesOf(shape);
  const starts: number[] = [];
  let pos = 0;
  for (const x of xs) {
    starts.push(pos);
    be.copyStrided(x.storage, out.storage, [...x.shape], stridesOf(x.shape), 0, st, pos * st[a]);
    pos += x.shape[a];
  }
  record(out, xs, (g) => xs.map((x, i) => slice(g, a, starts[i], starts[i] + x.shape[a])));
  return out;
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return reshape(x, x.shape);
  const be = x.backend, out = output(be, x.shape, dtype);
  be.cast(x.storage, out.storage, x.size);
  return out;
}

// ---- elementwise -----------------------------------------------------------------------------

function unary(op: UnaryOp, x: Tensor, a = 0, b = 0): Tensor {
  needF32(op, x);
  const be = x.backend, out = output(be, x.shape);
  be.unary(op, x.storage, out.storage, x.size, a, b);
  return out;
}

function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  needF32(op, a, b);
  const be = same(a, b);
  const shape = broadcastShapes(a.shape, b.shape);
  const out = output(be, shape);
  be.binary(
    op,
    a.storage,
    b.storage,
    out.storage,
    shape,
    broadcastStrides(a.shape, shape),
    broadcastStrides(b.shape, shape),
  );
  return out;
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  const B = toTensor(b, a), out = binary("add", a, B);
  record(out, [a, B], (g) => [sumTo(g, a.shape), sumTo(g, B.shape)]);
  return dropTemp(out, b, B, a);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  const B = toTensor(b, a), out = binary("sub", a, B);
  record(out, [a, B], (g) => [sumTo(g, a.shape), sumTo(neg(g), B.shape)]);
  return dropTemp(out, b, B, a);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return scale(a, b);
  const out = binary("mul", a, b);
  record(out, [a, b], (g) => [sumTo(mul(g, b), a.shape), sumTo(mul(g, a), b.shape)]);
  return out;
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return scale(a, 1 / b);
  const out = binary("div", a, b);
  record(out, [a, b], (g) => [
    sumTo(div(g, b), a.shape),
    sumTo(neg(div(mul(g, out), b)), b.shape),
  ]);
  return out;
}

/** a^b; with a number exponent the base's gradient only. */
export function pow(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") {
    const out = unary("powScalar", a, b);
    record(out, [a], (g) => [mul(g, scale(unary("powScalar", a, b - 1), b))]);
    return out;
  }
  const out = binary("pow", a, b);
  record(out, [a, b], (g) => [
    sumTo(mul(g, mul(b, binary("pow", a, sub(b, 1)))), a.shape),
    sumTo(mul(g, mul(out, log(a))), b.shape),
  ]);
  return out;
}

export function maximum(a: Tensor, b: Tensor | number): Tensor {
  const B = toTensor(b, a), out = binary("max", a, B);
  record(out, [a, B], (g) => {
    const m = binary("gt", B, a); // 1 where b wins (ties go to a)
    return [sumTo(mul(g, scale(m, -1, 1)), a.shape), sumTo(mul(g, m), B.shape)];
  });
  return dropTemp(out, b, B, a);
}

export function minimum(a: Tensor, b: Tensor | number): Tensor {
  return composite(() => neg(maximum(neg(a), typeof b === "number" ? -b : neg(b))));
}

/** x * a + b with numbers a, b. */
export function scale(x: Tensor, a: number, b = 0): Tensor {
  const out = unary("affine", x, a, b);
  record(out, [x], (g) => [scale(g, a)]);
  return out;
}

export function neg(x: Tensor): Tensor {
  const out = unary("neg", x);
  record(out, [x], (g) => [neg(g)]);
  return out;
}

export function exp(x: Tensor): Tensor {
  const out = unary("exp", x);
  record(out, [x], (g) => [mul(g, out)]);
  return out;
}

export function log(x: Tensor): Tensor {
  const out = unary("log", x);
  record(out, [x], (g) => [div(g, x)]);
  return out;
}

export function sqrt(x: Tensor): Tensor {
  const out = unary("sqrt", x);
  record(out, [x], (g) => [div(scale(g, 0.5), out)]);
  return out;
}

export function rsqrt(x: Tensor): Tensor {
  const out = unary("rsqrt", x);
  // d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 out^3
  record(out, [x], (g) => [mul(g, scale(unary("powScalar", out, 3), -0.5))]);
  return out;
}

export function tanh(x: Tensor): Tensor {
  const out = unary("tanh", x);
  record(out, [x], (g) => [mul(g, scale(mul(out, out), -1, 1))]);
  return out;
}

export function relu(x: Tensor): Tensor {
  const out = unary("relu", x);
  record(out, [x], (g) => [mul(g, unary("step", x))]);
  return out;
}

export function abs(x: Tensor): Tensor {
  const out = unary("abs", x);
  record(out, [x], (g) => [mul(g, unary("sign", x))]);
  return out;
}

export function gelu(x: Tensor, mode: "tanh" | "erf" = "tanh"): Tensor {
  const out = unary(mode === "tanh" ? "geluTanh" : "geluErf", x);
  record(out, [x], (g) => [binary(mode === "tanh" ? "geluTanhBwd" : "geluErfBwd", x, g)]);
  return out;
}

/** Where mask (i32 or f32, broadcastable to x) is nonzero, `value`; elsewhere x. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  needF32("maskedFill", x);
  const be = same(x, mask);
  let m = mask.dtype === "i32" ? mask : nonzeroI32(mask);
  if (m.size !== x.size || m.rank !== x.rank) {
    const e = expandRaw(m, x.shape);
    if (m !== mask) m.dispose();
    m = e;
  }
  const out = output(be, x.shape);
  be.maskedFill(x.storage, m.storage, out.storage, x.size, value);
  const temp = m !== mask;
  if (temp && !needsGrad([x])) {
    m.dispose();
    return out;
  }
  record(out, [x], (g) => {
    const gout = output(be, x.shape);
    be.maskedFill(g.storage, m.storage, gout.storage, x.size, 0);
    return [gout];
  }, [m]);
  return out;
}

/** i32 tensor: 1 where the f32 mask is nonzero, else 0 (temporaries freed). */
function nonzeroI32(mask: Tensor): Tensor {
  const be = mask.backend, z = alloc(be, []), isZero = alloc(be, mask.shape);
  be.binary(
    "eq",
    mask.storage,
    z.storage,
    isZero.storage,
    [...mask.shape],
    stridesOf(mask.shape),
    mask.shape.map(() => 0),
  );
  const nz = alloc(be, mask.shape);
  be.unary("affine", isZero.storage, nz.storage, mask.size, -1, 1);
  const out = alloc(be, mask.shape, "i32");
  be.cast(nz.storage, out.storage, mask.size);
  for (const t of [z, isZero, nz]) t.dispose();
  return out;
}

function expandRaw(x: Tensor, shape: readonly number[]): Tensor {
  const be = x.backend, out = alloc(be, shape, x.dtype);
  be.copyStrided(
    x.storage,
    out.storage,
    [...shape],
    broadcastStrides(x.shape, shape),
    0,
    stridesOf(shape),
    0,
  );
  return out;
}

// ---- reductions ------------------------------------------------------------------------------

function axesOf(x: Tensor, axis?: number | number[]): number[] {
  if (axis === undefined) return x.shape.map((_, i) => i);
  const list = (Array.isArray(axis) ? axis : [axis]).map((a) => normAxis(a, x.rank));
  return [...new Set(list)].sort((p, q) => p - q);
}

function reduceRaw(op: "sum" | "max", x: Tensor, axes: number[]): Tensor {
  // reduce runs of consecutive axes, last run first, each as [outer, dim, inner]
  const be = x.backend;
  let cur = x, shape = [...x.shape];
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = a + 1;
    else runs.push([a, a + 1]);
  }
  for (let r = runs.length - 1; r >= 0; r--) {
    const [s, e] = runs[r];
    const outer = numel(shape.slice(0, s)), dim = numel(shape.slice(s, e));
    const inner = numel(shape.slice(e));
    const nshape = [...shape.slice(0, s), ...shape.slice(e)];
    const out = output(be, nshape);
    be.reduce(op, cur.storage, out.storage, outer, dim, inner);
    if (cur !== x) cur.dispose();
    cur = out;
    shape = nshape;
  }
  return cur === x ? copyOf(x) : cur;
}

function keepShape(x: Tensor, axes: number[]): number[] {
  return x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
}

/** Forward of sum or max over `axis`: out ([kept shape] view when keepdims) and the kept shape. */
function reduceTo(
  op: "sum" | "max",
  x: Tensor,
  axis: number | number[] | undefined,
  keepdims: boolean,
): { out: Tensor; kshape: number[] } {
  needF32(op, x);
  const axes = axesOf(x, axis);
  const kshape = keepShape(x, axes);
  const r = reduceRaw(op, x, axes);
  const out = keepdims ? r.view(kshape) : r;
  if (keepdims) r.dispose();
  return { out, kshape };
}

export function sum(x: Tensor, axis?: number | number[], keepdims = false): Tensor {
  const { out, kshape } = reduceTo("sum", x, axis, keepdims);
  record(out, [x], (g) => [expand(reshape(g, kshape), x.shape)]);
  return out;
}

export function mean(x: Tensor, axis?: number | number[], keepdims = false): Tensor {
  const axes = axesOf(x, axis);
  const n = axes.reduce((a, i) => a * x.shape[i], 1);
  return composite(() => scale(sum(x, axes, keepdims), 1 / n));
}

/** Max over axes; the gradient goes to every element equal to the max. */
export function max(x: Tensor, axis?: number | number[], keepdims = false): Tensor {
  const { out, kshape } = reduceTo("max", x, axis, keepdims);
  record(out, [x], (g) => {
    const mask = binary("eq", x, reshape(out, kshape));
    return [mul(mask, reshape(g, kshape))];
  });
  return out;
}

// ---- linear algebra ----------------------------------------------------------------------

export interface MatmulOpts {
  transA?: boolean;
  transB?: boolean;
}

/** Batched matmul with equal batch dims (rank >= 2 each). */
function bmm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const be = same(a, b);
  const r = a.rank;
  const M = transA ? a.shape[r - 1] : a.shape[r - 2];
  const K = transA ? a.shape[r - 2] : a.shape[r - 1];
  const Kb = transB ? b.shape[r - 1] : b.shape[r - 2];
  const N = transB ? b.shape[r - 2] : b.shape[r - 1];
  if (K !== Kb) throw new Error(`matmul: inner sizes differ ([${a.shape}] x [${b.shape}])`);
  const batchShape = a.shape.slice(0, r - 2);
  const out = output(be, [...batchShape, M, N]);
  be.matmul(a.storage, b.storage, out.storage, numel(batchShape), M, N, K, transA, transB);
  record(out, [a, b], (g, needs) => [
    !needs[0] ? null : transA ? bmm(b, g, transB, true) : bmm(g, b, false, !transB),
    !needs[1] ? null : transB ? bmm(g, a, true, transA) : bmm(a, g, !transA, false),
  ]);
  return out;
}

/**
 * Matrix product of the last two axes, leading axes broadcast. A 2-D right operand with a
 * batched left one (the x @ W case) is done as one big matmul without copies.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOpts = {}): Tensor {
  return composite(() => matmulImpl(a, b, opts));
}

function matmulImpl(a: Tensor, b: Tensor, opts: MatmulOpts): Tensor {
  needF32("matmul", a, b);
  const transA = !!opts.transA, transB = !!opts.transB;
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`matmul: operands need rank >= 2 ([${a.shape}], [${b.shape}])`);
  }
  if (b.rank === 2 && a.rank > 2 && !transA) {
    const K = a.shape[a.rank - 1];
    const flat = bmm(reshape(a, [-1, K]), b, false, transB);
    return reshape(flat, [...a.shape.slice(0, -1), flat.shape[1]]);
  }
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const bs = broadcastShapes(ba, bb);
  const A = ba.length === bs.length && ba.every((s, i) => s === bs[i])
    ? a
    : expand(a, [...bs, ...a.shape.slice(-2)]);
  const B = bb.length === bs.length && bb.every((s, i) => s === bs[i])
    ? b
    : expand(b, [...bs, ...b.shape.slice(-2)]);
  return bmm(A, B, transA, transB);
}

// ---- embedding, softmax, loss ------------------------------------------------------------

/** Rows of table [V, D] picked by i32 ids of any shape: [...ids.shape, D]. */
export function gather(table: Tensor, ids: Tensor): Tensor {
  needF32("gather", table);
  if (ids.dtype !== "i32") throw new Error(`gather: ids must be i32, got ${ids}`);
  if (table.rank !== 2) throw new Error(`gather: table must be [V, D], got [${table.shape}]`);
  const be = same(table, ids);
  const [V, D] = table.shape;
  const out = output(be, [...ids.shape, D]);
  be.gather(table.storage, ids.storage, out.storage, ids.size, D, V);
  record(out, [table], (g) => {
    const dt = alloc(be, [V, D]);
    be.scatterAdd(g.storage, ids.storage, dt.storage, ids.size, D, V);
    return [dt];
  }, [ids]);
  return out;
}

function lastAxisOp(x: Tensor, axis: number, fn: (x: Tensor) => Tensor): Tensor {
  const a = normAxis(axis, x.rank);
  if (a === x.rank - 1) return fn(x);
  const p = x.shape.map((_, i) => i);
  [p[a], p[x.rank - 1]] = [p[x.rank - 1], p[a]];
  return composite(() => permute(fn(permute(x, p)), p));
}

function softmaxImpl(x: Tensor, logMode: boolean): Tensor {
  needF32("softmax", x);
  const be = x.backend;
  const cols = x.shape[x.rank - 1], rows = x.size / Math.max(cols, 1);
  const out = output(be, x.shape);
  be.softmax(x.storage, out.storage, rows, cols, logMode);
  record(out, [x], (g) => {
    const dx = output(be, x.shape);
    be.softmaxBackward(out.storage, g.storage, dx.storage, rows, cols, logMode);
    return [dx];
  });
  return out;
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return lastAxisOp(x, axis, (t) => softmaxImpl(t, false));
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return lastAxisOp(x, axis, (t) => softmaxImpl(t, true));
}

/**
 * Mean cross-entropy of logits [..., V] against i32 targets [...] (same leading shape); rows
 * whose target is ignoreIndex are left out of the mean. Fused: no softmax tensor is kept.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex = -1): Tensor {
  needF32("crossEntropy", logits);
  if (targets.dtype !== "i32") throw new Error(`crossEntropy: targets must be i32, got ${targets}`);
  const V = logits.shape[logits.rank - 1], N = logits.size / V;
  if (targets.size !== N) {
    throw new Error(
      `crossEntropy: ${targets.size} targets for ${N} rows of logits [${logits.shape}]`,
    );
  }
  const be = same(logits, targets);
  const out = output(be, []), lse = output(be, [N]);
  be.crossEntropyForward(
    logits.storage,
    targets.storage,
    out.storage,
    lse.storage,
    N,
    V,
    ignoreIndex,
  );
  return recordOrFree(out, [logits], [lse], (g) => {
    const dl = output(be, logits.shape);
    const [l, t] = [logits.storage, targets.storage];
    be.crossEntropyBackward(l, t, lse.storage, g.storage, dl.storage, N, V, ignoreIndex);
    return [dl];
  }, [targets]);
}

// ---- normalisation -------------------------------------------------------------------------

export function layerNorm(x: Tensor, w: Tensor, b: Tensor, eps = 1e-5): Tensor {
  needF32("layerNorm", x, w, b);
  const be = same(x, w, b);
  const C = x.shape[x.rank - 1], N = x.size / C;
  if (w.size !== C || b.size !== C) throw new Error(`layerNorm: weight/bias must have ${C} values`);
  const out = output(be, x.shape), mu = output(be, [N]), rs = output(be, [N]);
  be.layerNormForward(
    x.storage,
    w.storage,
    b.storage,
    out.storage,
    mu.storage,
    rs.storage,
    N,
    C,
    eps,
  );
  return recordOrFree(out, [x, w, b], [mu, rs], (g) => {
    const dx = output(be, x.shape), dw = alloc(be, w.shape), db = alloc(be, b.shape);
    be.layerNormBackward(
      g.storage,
      x.storage,
      w.storage,
      mu.storage,
      rs.storage,
      dx.storage,
      dw.storage,
      db.storage,
      N,
      C,
    );
    return [dx, dw, db];
  });
}

export function rmsNorm(x: Tensor, w: Tensor, eps = 1e-5): Tensor {
  needF32("rmsNorm", x, w);
  const be = same(x, w);
  const C = x.shape[x.rank - 1], N = x.size / C;
  if (w.size !== C) throw new Error(`rmsNorm: weight must have ${C} values`);
  const out = output(be, x.shape), rs = output(be, [N]);
  be.rmsNormForward(x.storage, w.storage, out.storage, rs.storage, N, C, eps);
  return recordOrFree(out, [x, w], [rs], (g) => {
    const dx = alloc(be, x.shape), dw = alloc(be, w.shape);
    be.rmsNormBackward(g.storage, x.storage, w.storage, rs.storage, dx.storage, dw.storage, N, C);
    return [dx, dw];
  });
}

// ---- attention, rope, dropout ------------------------------------------------------------

/**
 * Causal self-attention on q, k, v [B, T, H, D] (heads in the third axis, the layout of
 * reshape(x @ Wq, [B, T, H, D])); returns [B, T, H, D]. Scale 1/sqrt(D). Memory O(T) per head.
 */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  needF32("causalAttention", q, k, v);
  const be = same(q, k, v);
  if (q.rank !== 4) throw new Error(`causalAttention: q must be [B, T, H, D], got [${q.shape}]`);
  for (const t of [k, v]) {
    if (t.shape.some((s, i) => s !== q.shape[i])) {
      throw new Error(`causalAttention: q [${q.shape}], k [${k.shape}], v [${v.shape}] must match`);
    }
  }
  const [B, T, H, D] = q.shape;
  const s = { B, T, H, D, scale: 1 / Math.sqrt(D) };
  const out = output(be, q.shape), lse = output(be, [B, H, T]);
  be.attentionForward(q.storage, k.storage, v.storage, out.storage, lse.storage, s);
  return recordOrFree(out, [q, k, v], [lse], (g) => {
    const dq = alloc(be, q.shape), dk = alloc(be, q.shape), dv = alloc(be, q.shape);
    be.attentionBackward(
      q.storage,
      k.storage,
      v.storage,
      out.storage,
      lse.storage,
      g.storage,
      dq.storage,
      dk.storage,
      dv.storage,
      s,
    );
    return [dq, dk, dv];
  });
}

/**
 * Rotary position embedding (rotate-half) of x [B, T, H, D] at positions 0..T-1, or at
 * `positions` ([B * T] row-major, each in [0, 2^24)): a continuation scored after a prefix.
 */
export function rope(x: Tensor, opts: { base?: number; positions?: Int32Array } = {}): Tensor {
  needF32("rope", x);
  if (x.rank !== 4 || x.shape[3] % 2) {
    throw new Error(`rope: x must be [B, T, H, D] with D even, got [${x.shape}]`);
  }
  const be = x.backend, base = opts.base ?? 10000;
  const [B, T, H, D] = x.shape;
  let pos: Tensor | undefined, span = T;
  if (opts.positions) {
    const p = opts.positions;
    if (p.length !== B * T || p.some((v) => !(v >= 0 && v < 2 ** 24))) {
      throw new Error(`rope: positions must be ${B * T} integers in [0, 2^24) (one per [B, T])`);
    }
    pos = alloc(be, [B, T], "i32");
    be.upload(pos.storage, p);
    span = Math.max(T, ...p.map((v) => v + 1));
  }
  const shape = { B, T, H, D, base, inverse: false, span };
  const out = output(be, x.shape);
  be.rope(x.storage, out.storage, pos?.storage ?? null, shape);
  if (!needsGrad([x])) {
    pos?.dispose();
    return out;
  }
  record(out, [x], (g) => {
    const dx = output(be, x.shape);
    be.rope(g.storage, dx.storage, pos?.storage ?? null, { ...shape, inverse: true });
    return [dx];
  }, pos ? [pos] : []);
  return out;
}

/** Inverted dropout with a deterministic mask from (seed, element index). p = 0: identity. */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return reshape(x, x.shape);
  needF32("dropout", x);
  const be = x.backend, out = output(be, x.shape);
  be.dropout(x.storage, out.storage, x.size, p, seed);
  record(out, [x], (g) => {
    const dx = output(be, x.shape);
    be.dropout(g.storage, dx.storage, x.size, p, seed);
    return [dx];
  });
  return out;
}

// ---- checks --------------------------------------------------------------------------------

/** f32 scalar: 1 if every element of x is finite, else 0 (no readback). */
export function allFinite(x: Tensor): Tensor {
  const be = x.backend, out = alloc(be, []);
  be.allFinite(x.storage, out.storage, x.size);
  return out;
}
