// The op test suite, parameterised by backend name so every backend runs the same checks:
// `runOpSuite("cpu-ref")`, `runOpSuite("cpu")`, `runOpSuite("webgpu")`. For every op, on random
// shapes and values (fast-check):
// - the reverse-mode gradient agrees with central differences via the adjoint identity
//   <t, vjp(c)> = <(L(x + e t) - L(x - e t)) / 2e, c>, evaluated in float64 on the host;
// - on a backend other than "cpu-ref", forward values and gradients match "cpu-ref";
// - the op never modifies its inputs.

import fc from "fast-check";
import { assert, assertArrayClose, assertArrayEquals } from "./assert.ts";
import { setBackend } from "../core/registry.ts";
import { valueAndGrad } from "../core/autodiff.ts";
import * as ops from "../core/ops.ts";
import { Rng } from "../core/rng.ts";
import { type Tensor, tensor, tidy } from "../core/tensor.ts";

interface Input {
  data: Float32Array | Int32Array;
  shape: number[];
  diff: boolean; // differentiate w.r.t. this input
}

interface Case {
  inputs: Input[];
  fn: (xs: Tensor[]) => Tensor;
  eps?: number;
}

interface OpSpec {
  name: string;
  gen: (rng: Rng) => Case;
}

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

function randF(rng: Rng, shape: number[], lo = -1, hi = 1): Input {
  const a = new Float32Array(numel(shape));
  for (let i = 0; i < a.length; i++) a[i] = lo + (hi - lo) * rng.uniform();
  return { data: a, shape, diff: true };
}

/** Values with |x| in [0.2, 1] and random sign (away from kinks at 0). */
function awayFromZero(rng: Rng, shape: number[]): Input {
  const x = randF(rng, shape, 0.2, 1);
  for (let i = 0; i < x.data.length; i++) if (rng.uniform() < 0.5) x.data[i] = -x.data[i];
  return x;
}

/** Distinct values (spaced 0.05 apart, shuffled) so max has a unique winner. */
function distinct(rng: Rng, shape: number[]): Input {
  const n = numel(shape), a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (i - n / 2) * 0.05;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return { data: a, shape, diff: true };
}

function ints(rng: Rng, shape: number[], lo: number, hi: number): Input {
  const a = new Int32Array(numel(shape));
  for (let i = 0; i < a.length; i++) a[i] = lo + rng.int(hi - lo);
  return { data: a, shape, diff: false };
}

const dim = (rng: Rng, lo = 1, hi = 5) => lo + rng.int(hi - lo + 1);
const shapeOf = (rng: Rng, rank = 1 + rng.int(3)) => Array.from({ length: rank }, () => dim(rng));

/** Broadcast partner: some axes set to 1, maybe fewer leading axes. */
function broadcastPartner(rng: Rng, shape: number[]): number[] {
  const drop = rng.int(shape.length);
  return shape.slice(drop).map((s) => (rng.uniform() < 0.3 ? 1 : s));
}

function unaryCase(fn: (x: Tensor) => Tensor, gen = randF): (rng: Rng) => Case {
  return (rng) => ({ inputs: [gen(rng, shapeOf(rng))], fn: ([x]) => fn(x) });
}

function binaryCase(fn: (a: Tensor, b: Tensor) => Tensor, lo = -1, hi = 1): (rng: Rng) => Case {
  return (rng) => {
    const s = shapeOf(rng);
    const a = randF(rng, s, lo, hi), b = randF(rng, broadcastPartner(rng, s), lo, hi);
    return rng.uniform() < 0.5
      ? { inputs: [a, b], fn: ([x, y]) => fn(x, y) }
      : { inputs: [b, a], fn: ([x, y]) => fn(x, y) };
  };
}

export const OP_SPECS: OpSpec[] = [
  { name: "add", gen: binaryCase(ops.add) },
  { name: "sub", gen: binaryCase(ops.sub) },
  { name: "mul", gen: binaryCase(ops.mul) },
  { name: "div", gen: binaryCase(ops.div, 0.5, 2) },
  { name: "pow (tensor exponent)", gen: binaryCase(ops.pow, 0.5, 2) },
  {
    name: "pow (scalar exponent)",
    gen: unaryCase((x) => ops.pow(x, 2.5), (r, s) => randF(r, s, 0.5, 2)),
  },
  {
    name: "maximum",
    gen: (rng) => {
      const b = distinct(rng, [6]); // offset half a grid step: never within 0.025 of a
      b.data.forEach((v, i) => (b.data[i] = v + 0.025));
      return { inputs: [distinct(rng, [6]), b], fn: ([x, y]) => ops.maximum(x, y) };
    },
  },
  { name: "scale", gen: unaryCase((x) => ops.scale(x, -1.5, 0.25)) },
  { name: "neg", gen: unaryCase(ops.neg) },
  { name: "exp", gen: unaryCase(ops.exp) },
  { name: "log", gen: unaryCase(ops.log, (r, s) => randF(r, s, 0.5, 2)) },
  { name: "sqrt", gen: unaryCase(ops.sqrt, (r, s) => randF(r, s, 0.5, 2)) },
  { name: "rsqrt", gen: unaryCase(ops.rsqrt, (r, s) => randF(r, s, 0.5, 2)) },
  { name: "tanh", gen: unaryCase(ops.tanh) },
  { name: "relu", gen: unaryCase(ops.relu, awayFromZero) },
  { name: "abs", gen: unaryCase(ops.abs, awayFromZero) },
  { name: "gelu tanh", gen: unaryCase((x) => ops.gelu(x, "tanh"), (r, s) => randF(r, s, -3, 3)) },
  { name: "gelu erf", gen: unaryCase((x) => ops.gelu(x, "erf"), (r, s) => randF(r, s, -3, 3)) },
  {
    name: "sum over axes",
    gen: (rng) => {
      const s = shapeOf(rng, 1 + rng.int(4));
      const axes = s.map((_, i) => i).filter(() => rng.uniform() < 0.5);
      const keep = rng.uniform() < 0.5;
      return {
        inputs: [randF(rng, s)],
        fn: ([x]) => ops.sum(x, axes.length ? axes : undefined, keep),
      };
    },
  },
  {
    name: "mean over an axis",
    gen: (rng) => {
      const s = shapeOf(rng, 1 + rng.int(3));
      const ax = rng.int(s.length), keep = rng.uniform() < 0.5;
      return { inputs: [randF(rng, s)], fn: ([x]) => ops.mean(x, ax, keep) };
    },
  },
  {
    name: "max over an axis",
    gen: (rng) => {
      const s = shapeOf(rng, 1 + rng.int(3));
      const keep = rng.uniform() < 0.5;
      return { inputs: [distinct(rng, s)], fn: ([x]) => ops.max(x, -1, keep), eps: 1e-3 };
    },
  },
  {
    name: "reshape",
    gen: (rng) => {
      const s = shapeOf(rng, 3);
      return { inputs: [randF(rng, s)], fn: ([x]) => ops.reshape(x, [s[0] * s[1], -1]) };
    },
  },
  {
    name: "permute",
    gen: (rng) => {
      const s = shapeOf(rng, 1 + rng.int(4));
      const perm = s.map((_, i) => i);
      for (let i = perm.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      return { inputs: [randF(rng, s)], fn: ([x]) => ops.permute(x, perm) };
    },
  },
  {
    name: "slice",
    gen: (rng) => {
      const s = shapeOf(rng, 1 + rng.int(3)).map((d) => d + 1);
      const ax = rng.int(s.length), a = rng.int(s[ax]), b = a + 1 + rng.int(s[ax] - a);
      return { inputs: [randF(rng, s)], fn: ([x]) => ops.slice(x, ax, a, b) };
    },
  },
  {
    name: "concat",
    gen: (rng) => {
      const s = shapeOf(rng, 1 + rng.int(3));
      const ax = rng.int(s.length), s2 = [...s];
      s2[ax] = dim(rng);
      return {
        inputs: [randF(rng, s), randF(rng, s2), randF(rng, s)],
        fn: (xs) => ops.concat(xs, ax),
      };
    },
  },
  {
    name: "expand",
    gen: (rng) => {
      const s = shapeOf(rng, 3);
      return { inputs: [randF(rng, broadcastPartner(rng, s))], fn: ([x]) => ops.expand(x, s) };
    },
  },
  {
    name: "matmul (batched, transposes)",
    gen: (rng) => {
      const B = dim(rng, 1, 3), M = dim(rng, 1, 6), N = dim(rng, 1, 6), K = dim(rng, 1, 6);
      const tA = rng.uniform() < 0.5, tB = rng.uniform() < 0.5;
      const batched = rng.uniform() < 0.5;
      const pre = batched ? [B] : [];
      const a = randF(rng, [...pre, ...(tA ? [K, M] : [M, K])]);
      const b = randF(rng, [...pre, ...(tB ? [N, K] : [K, N])]);
      return { inputs: [a, b], fn: ([x, y]) => ops.matmul(x, y, { transA: tA, transB: tB }) };
    },
  },
  {
    name: "matmul (batched x 2-D weight)",
    gen: (rng) => {
      const s = [dim(rng, 1, 3), dim(rng, 1, 4), dim(rng, 1, 6)], N = dim(rng, 1, 6);
      const tB = rng.uniform() < 0.5;
      return {
        inputs: [randF(rng, s), randF(rng, tB ? [N, s[2]] : [s[2], N])],
        fn: ([x, w]) => ops.matmul(x, w, { transB: tB }),
      };
    },
  },
  {
    name: "matmul (broadcast batch)",
    gen: (rng) => {
      const M = dim(rng), K = dim(rng), N = dim(rng);
      return {
        inputs: [randF(rng, [2, 1, M, K]), randF(rng, [3, K, N])],
        fn: ([x, y]) => ops.matmul(x, y),
      };
    },
  },
  {
    name: "gather",
    gen: (rng) => {
      const V = dim(rng, 2, 7), D = dim(rng);
      return {
        inputs: [randF(rng, [V, D]), ints(rng, [dim(rng), dim(rng)], 0, V)],
        fn: ([t, ids]) => ops.gather(t, ids),
      };
    },
  },
  {
    name: "maskedFill",
    gen: (rng) => {
      const s = shapeOf(rng, 2);
      return {
        inputs: [randF(rng, s), ints(rng, broadcastPartner(rng, s), 0, 2)],
        fn: ([x, m]) => ops.maskedFill(x, m, -3),
      };
    },
  },
  {
    name: "softmax",
    gen: (rng) => {
      const s = shapeOf(rng, 1 + rng.int(3));
      const ax = rng.int(s.length);
      return { inputs: [randF(rng, s, -3, 3)], fn: ([x]) => ops.softmax(x, ax) };
    },
  },
  {
    name: "logSoftmax",
    gen: (rng) => {
      const s = shapeOf(rng, 1 + rng.int(3));
      return { inputs: [randF(rng, s, -3, 3)], fn: ([x]) => ops.logSoftmax(x, -1) };
    },
  },
  {
    name: "crossEntropy with ignoreIndex",
    gen: (rng) => {
      const N = dim(rng, 1, 6), V = dim(rng, 2, 7);
      const tg = ints(rng, [N], -1, V); // -1 = ignored
      return {
        inputs: [randF(rng, [N, V], -3, 3), tg],
        fn: ([l, t]) => ops.crossEntropy(l, t, -1),
      };
    },
  },
  {
    name: "layerNorm",
    gen: (rng) => {
      const s = [...shapeOf(rng, 1 + rng.int(2)), dim(rng, 2, 8)], C = s[s.length - 1];
      return {
        inputs: [randF(rng, s, -2, 2), randF(rng, [C], 0.5, 1.5), randF(rng, [C])],
        fn: ([x, w, b]) => ops.layerNorm(x, w, b),
        eps: 1e-3, // rows with small variance are strongly curved
      };
    },
  },
  {
    name: "rmsNorm",
    gen: (rng) => {
      const s = [...shapeOf(rng, 1 + rng.int(2)), dim(rng, 2, 8)], C = s[s.length - 1];
      return {
        inputs: [randF(rng, s, -2, 2), randF(rng, [C], 0.5, 1.5)],
        fn: ([x, w]) => ops.rmsNorm(x, w),
        eps: 1e-3,
      };
    },
  },
  {
    name: "causalAttention",
    gen: (rng) => {
      const s = [dim(rng, 1, 2), dim(rng, 1, 6), dim(rng, 1, 3), dim(rng, 1, 5)];
      return {
        inputs: [randF(rng, s, -2, 2), randF(rng, s, -2, 2), randF(rng, s)],
        fn: ([q, k, v]) => ops.causalAttention(q, k, v),
      };
    },
  },
  {
    name: "rope",
    gen: (rng) => {
      const s = [dim(rng, 1, 2), dim(rng, 1, 6), dim(rng, 1, 3), 2 * dim(rng, 1, 4)];
      return { inputs: [randF(rng, s)], fn: ([x]) => ops.rope(x) };
    },
  },
  {
    name: "rope at positions",
    gen: (rng) => {
      const s = [dim(rng, 1, 2), dim(rng, 1, 6), dim(rng, 1, 3), 2 * dim(rng, 1, 4)];
      const positions = Int32Array.from({ length: s[0] * s[1] }, () => rng.int(200));
      return { inputs: [randF(rng, s)], fn: ([x]) => ops.rope(x, { positions }) };
    },
  },
  {
    name: "dropout",
    gen: (rng) => {
      const seed = rng.nextU32();
      return { inputs: [randF(rng, shapeOf(rng))], fn: ([x]) => ops.dropout(x, 0.3, seed) };
    },
  },
];

// ---- machinery ---------------------------------------------------------------------------

function make(inp: Input, data = inp.data): Tensor {
  return tensor(data, inp.shape, inp.data instanceof Int32Array ? "i32" : "f32");
}

/** Forward f(inputs) on the active backend, downloaded. */
async function forward(c: Case, datas: (Float32Array | Int32Array)[]): Promise<Float32Array> {
  const xs = c.inputs.map((inp, i) => make(inp, datas[i]));
  const y = tidy(() => c.fn(xs));
  const out = (await y.data()) as Float32Array;
  y.dispose();
  xs.forEach((x) => x.dispose());
  return out;
}

/** Value and gradients of L = <f(x), cot> w.r.t. the diff inputs, downloaded. */
async function vjp(c: Case, cot: Float32Array) {
  const xs = c.inputs.map((inp) => make(inp));
  const before = await Promise.all(xs.map((x) => x.data()));
  const diffIdx = c.inputs.map((inp, i) => (inp.diff ? i : -1)).filter((i) => i >= 0);
  const res = tidy(() => {
    const y0 = c.fn(xs);
    const cT = tensor(cot, y0.shape);
    y0.dispose();
    const f = (ps: Tensor[]) => {
      const all = xs.map((x, i) => (diffIdx.includes(i) ? ps[diffIdx.indexOf(i)] : x));
      return ops.sum(ops.mul(c.fn(all), cT));
    };
    return valueAndGrad(f)(diffIdx.map((i) => xs[i]));
  });
  const grads = await Promise.all(res.grads.map((g) => g.data() as Promise<Float32Array>));
  const after = await Promise.all(xs.map((x) => x.data()));
  res.value.dispose();
  res.grads.forEach((g) => g.dispose());
  xs.forEach((x) => x.dispose());
  return { grads, diffIdx, before, after };
}

function dot64(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

async function checkGradient(c: Case, rng: Rng): Promise<void> {
  const y = await forward(c, c.inputs.map((i) => i.data));
  const cot = Float32Array.from({ length: y.length }, () => rng.uniform() * 2 - 1);
  const { grads, diffIdx, before, after } = await vjp(c, cot);
  before.forEach((b, i) => assertArrayEquals(after[i], b, "op modified its input"));
  const eps = c.eps ?? 1e-2;
  const dirs = c.inputs.map((inp) =>
    inp.diff ? Float64Array.from({ length: inp.data.length }, () => rng.uniform() * 2 - 1) : null
  );
  const shifted = (sign: number) =>
    c.inputs.map((inp, i) => {
      const d = dirs[i];
      if (!d) return inp.data;
      return Float32Array.from(inp.data, (v, j) => v + sign * eps * d[j]);
    });
  // use the actually-representable perturbation (f32 rounding of x +- e t) in the analytic side
  const plus = shifted(1), minus = shifted(-1);
  const lp = dot64(await forward(c, plus), cot), lm = dot64(await forward(c, minus), cot);
  const numeric = (lp - lm) / 2;
  let analytic = 0, mag = 0;
  diffIdx.forEach((inpIdx, k) => {
    const g = grads[k], p = plus[inpIdx], m = minus[inpIdx];
    for (let j = 0; j < g.length; j++) {
      const step = (p[j] - m[j]) / 2; // ~ eps * t_j
      analytic += g[j] * step;
      mag += Math.abs(g[j] * step);
    }
  });
  const err = Math.abs(analytic - numeric);
  const tol = 2e-2 * Math.max(Math.abs(analytic), Math.abs(numeric)) + 2e-3 * mag + 1e-6 * y.length;
  assert(
    err <= tol,
    `adjoint check failed: analytic ${analytic}, numeric ${numeric}, err ${err} > tol ${tol}`,
  );
}

async function compareWithReference(c: Case, backend: string, rng: Rng): Promise<void> {
  setBackend(backend);
  const y = await forward(c, c.inputs.map((i) => i.data));
  const cot = Float32Array.from({ length: y.length }, () => rng.uniform() * 2 - 1);
  const got = await vjp(c, cot);
  setBackend("cpu-ref");
  const yRef = await forward(c, c.inputs.map((i) => i.data));
  const ref = await vjp(c, cot);
  setBackend(backend);
  assertArrayClose(y, yRef, 1e-4, "forward differs from cpu-ref");
  got.grads.forEach((g, i) =>
    assertArrayClose(g, ref.grads[i], 1e-4, "gradient differs from cpu-ref")
  );
}

/** Register the suite's Deno tests for one backend. */
export function runOpSuite(backend: string, opts: { numRuns?: number; ops?: string[] } = {}): void {
  const numRuns = opts.numRuns ?? 25;
  for (const spec of OP_SPECS) {
    if (opts.ops && !opts.ops.includes(spec.name)) continue;
    const name = `core ops [${backend}]: gradient of ${spec.name} matches central differences`;
    Deno.test(name, async () => {
      setBackend(backend);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
          const rng = new Rng(seed);
          await checkGradient(spec.gen(rng), rng);
        }),
        { numRuns },
      );
    });
    if (backend === "cpu-ref") continue;
    Deno.test(`core ops [${backend}]: ${spec.name} matches cpu-ref`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
          const rng = new Rng(seed);
          await compareWithReference(spec.gen(rng), backend, rng);
        }),
        { numRuns: Math.ceil(numRuns / 2) },
      );
    });
  }
}
