// Property tests of the fast SIMD cross-entropy, GELU and softmax kernels (core/cpu/fast) against
// float64 references written from the backend contract, on random shapes (including row
// lengths that are not multiples of 4 and ignored rows), in ordinary and shared arrays.

import fc from "fast-check";
import {
  allocF32,
  crossEntropyBackwardF32,
  crossEntropyForwardF32,
  freeF32,
  geluTanhBwdF32,
  geluTanhF32,
  setFastThreads,
  shutdownFast,
  softmaxBackwardF32,
  softmaxF32,
  warmupFast,
} from "../core/cpu/fast/mod.ts";
import { xorshiftUniform } from "./xorshift.ts";

function randomArray(n: number, seed: number, range: number): Float32Array {
  return Float32Array.from(xorshiftUniform(n, seed), (u) => (u * 2 - 1) * range);
}

function refCrossEntropy(x: Float32Array, t: Int32Array, N: number, V: number, ignore: number) {
  let loss = 0, count = 0;
  const lse = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    if (t[r] === ignore) continue;
    let mx = -Infinity, s = 0;
    for (let i = 0; i < V; i++) mx = Math.max(mx, x[r * V + i]);
    for (let i = 0; i < V; i++) s += Math.exp(x[r * V + i] - mx);
    lse[r] = mx + Math.log(s);
    loss += lse[r] - x[r * V + t[r]];
    count++;
  }
  return { loss: count ? loss / count : 0, lse, count };
}

const GC = Math.sqrt(2 / Math.PI), GA = 0.044715;
const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(GC * (x + GA * x ** 3)));
const geluGrad = (x: number) => {
  const th = Math.tanh(GC * (x + GA * x ** 3));
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GC * (1 + 3 * GA * x * x);
};

const ceCase = fc.record({
  N: fc.integer({ min: 1, max: 40 }),
  V: fc.oneof(fc.constantFrom(1, 3, 4, 5, 17, 64), fc.integer({ min: 1, max: 700 })),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  range: fc.constantFrom(0.1, 3, 30),
  ignoreEvery: fc.integer({ min: 0, max: 4 }),
  shared: fc.boolean(),
  useLse: fc.boolean(),
});

function checkCrossEntropy(c: {
  N: number;
  V: number;
  seed: number;
  range: number;
  ignoreEvery: number;
  shared: boolean;
  useLse?: boolean;
}): void {
  const { N, V } = c, ignore = -100;
  const x0 = randomArray(N * V, c.seed, c.range);
  const t = Int32Array.from(
    { length: N },
    (_, r) => c.ignoreEvery && r % c.ignoreEvery === 0 ? ignore : (r * 7919 + c.seed) % V,
  );
  const x = c.shared ? allocF32(N * V) : new Float32Array(N * V);
  const dl = c.shared ? allocF32(N * V) : new Float32Array(N * V);
  x.set(x0);
  dl.fill(Number.NaN);
  try {
    const out = new Float32Array(1), dout = new Float32Array([0.75]);
    const lse = c.useLse ? new Float32Array(N) : undefined;
    crossEntropyForwardF32(x, t, out, N, V, ignore, lse);
    const ref = refCrossEntropy(x0, t, N, V, ignore);
    if (!(Math.abs(out[0] - ref.loss) <= 1e-5 * (1 + Math.abs(ref.loss)))) {
      throw new Error(`loss ${out[0]} != ${ref.loss} for ${JSON.stringify(c)}`);
    }
    if (lse) {
      for (let r = 0; r < N; r++) {
        const want = t[r] === ignore ? 0 : ref.lse[r];
        if (!(Math.abs(lse[r] - want) <= 1e-5 * (1 + Math.abs(want)))) {
          throw new Error(`lse[${r}] ${lse[r]} != ${want} for ${JSON.stringify(c)}`);
        }
      }
    }
    crossEntropyBackwardF32(x, t, dout, dl, N, V, ignore, lse);
    for (let r = 0; r < N; r++) {
      for (let i = 0; i < V; i++) {
        const want = t[r] === ignore
          ? 0
          : (Math.exp(x0[r * V + i] - ref.lse[r]) - (i === t[r] ? 1 : 0)) * 0.75 / ref.count;
        const got = dl[r * V + i];
        if (!(Math.abs(got - want) <= 1e-6 + 1e-5 * Math.abs(want))) {
          throw new Error(`dlogits[${r},${i}] ${got} != ${want} for ${JSON.stringify(c)}`);
        }
      }
    }
    if (x.some((v, i) => !Object.is(v, x0[i]))) throw new Error("logits were mutated");
  } finally {
    if (c.shared) [x, dl].forEach(freeF32);
  }
}

Deno.test("fast cross-entropy matches the float64 reference", () => {
  setFastThreads(1);
  fc.assert(fc.property(ceCase, checkCrossEntropy), { numRuns: 120 });
});

Deno.test("fast cross-entropy and GELU with worker threads on large inputs", async () => {
  setFastThreads(2);
  await warmupFast();
  for (const seed of [1, 2, 3]) {
    const [shared, useLse] = [seed === 2, seed === 3];
    checkCrossEntropy({ N: 260, V: 1029, seed, range: 5, ignoreEvery: 3, shared, useLse });
  }
  const n = 300001, x = randomArray(n, 4, 6), g = randomArray(n, 5, 1), out = new Float32Array(n);
  geluTanhF32(x, out, n);
  if (out.some((y, i) => !(Math.abs(y - gelu(x[i])) <= 2e-6 * (1 + Math.abs(x[i]))))) {
    throw new Error("threaded gelu differs from the formula");
  }
  geluTanhBwdF32(x, g, out, n);
  if (out.some((y, i) => !(Math.abs(y - geluGrad(x[i]) * g[i]) <= 1e-5 * (1 + Math.abs(x[i]))))) {
    throw new Error("threaded gelu backward differs from the formula");
  }
  shutdownFast();
});

Deno.test("fast cross-entropy: all rows ignored gives 0, bad targets are rejected", () => {
  const x = new Float32Array(6), out = new Float32Array([5]), dl = new Float32Array(6).fill(9);
  const t = new Int32Array([-1, -1]);
  crossEntropyForwardF32(x, t, out, 2, 3, -1);
  crossEntropyBackwardF32(x, t, new Float32Array([1]), dl, 2, 3, -1);
  if (out[0] !== 0 || dl.some((v) => v !== 0)) throw new Error("ignored rows must give 0");
  let threw = false;
  try {
    crossEntropyForwardF32(x, new Int32Array([0, 3]), out, 2, 3, -1);
  } catch {
    threw = true;
  }
  if (!threw) throw new Error("target 3 with V = 3 was accepted");
});

Deno.test("fast GELU (tanh) forward and backward match the float64 formulas", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.constantFrom(0.5, 4, 12),
      fc.boolean(),
      (n, seed, range, shared) => {
        const x0 = randomArray(n, seed, range), g0 = randomArray(n, seed + 1, 2);
        const x = shared ? allocF32(n) : new Float32Array(n);
        const g = shared ? allocF32(n) : new Float32Array(n);
        const out = shared ? allocF32(n) : new Float32Array(n);
        x.set(x0);
        g.set(g0);
        try {
          geluTanhF32(x, out, n);
          for (let i = 0; i < n; i++) {
            if (!(Math.abs(out[i] - gelu(x0[i])) <= 2e-6 * (1 + Math.abs(x0[i])))) {
              throw new Error(`gelu(${x0[i]}) = ${out[i]}, want ${gelu(x0[i])}`);
            }
          }
          geluTanhBwdF32(x, g, out, n);
          for (let i = 0; i < n; i++) {
            const want = geluGrad(x0[i]) * g0[i];
            if (!(Math.abs(out[i] - want) <= 1e-5 * (1 + Math.abs(x0[i])))) {
              throw new Error(`gelu'(${x0[i]}) * ${g0[i]} = ${out[i]}, want ${want}`);
            }
          }
          if (x.some((v, i) => !Object.is(v, x0[i]))) throw new Error("x was mutated");
        } finally {
          if (shared) [x, g, out].forEach(freeF32);
        }
      },
    ),
    { numRuns: 60 },
  );
  shutdownFast();
});

Deno.test("fast cross-entropy and GELU propagate NaN", () => {
  const x = new Float32Array(12).fill(1), out = new Float32Array(1), dl = new Float32Array(12);
  x[5] = Number.NaN;
  const t = new Int32Array([0, 1, 2]);
  crossEntropyForwardF32(x, t, out, 3, 4, -1);
  crossEntropyBackwardF32(x, t, new Float32Array([1]), dl, 3, 4, -1);
  if (!Number.isNaN(out[0]) || !Number.isNaN(dl[5])) throw new Error("NaN was lost");
  const g = new Float32Array(9).fill(1), y = new Float32Array(9);
  g[2] = Number.NaN;
  geluTanhF32(g, y, 9);
  if (!Number.isNaN(y[2]) || y.filter(Number.isNaN).length !== 1) throw new Error("GELU NaN");
});

/** Float64 (log-)softmax rows, from the backend contract. */
function refSoftmax(x: Float32Array, rows: number, cols: number, log: boolean) {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity, s = 0;
    for (let c = 0; c < cols; c++) mx = Math.max(mx, x[o + c]);
    for (let c = 0; c < cols; c++) s += Math.exp(x[o + c] - mx);
    const lse = mx + Math.log(s);
    for (let c = 0; c < cols; c++) y[o + c] = log ? x[o + c] - lse : Math.exp(x[o + c] - lse);
  }
  return { y };
}

function checkSoftmax(rows: number, cols: number, seed: number, log: boolean, shared: boolean) {
  const n = rows * cols;
  const owned: Float32Array[] = [];
  const mk = (src: Float32Array) => {
    const a = shared ? allocF32(n) : new Float32Array(n);
    a.set(src);
    if (shared) owned.push(a);
    return a;
  };
  try {
    const x0 = randomArray(n, seed, 6), g0 = randomArray(n, seed + 1, 1);
    const x = mk(x0), g = mk(g0), y = mk(new Float32Array(n)), dx = mk(new Float32Array(n));
    softmaxF32(x, y, rows, cols, log);
    const ref = refSoftmax(x0, rows, cols, log);
    for (let i = 0; i < n; i++) {
      if (!(Math.abs(y[i] - ref.y[i]) <= 2e-6 * (1 + Math.abs(ref.y[i])))) {
        throw new Error(`softmax(log=${log})[${i}] = ${y[i]}, want ${ref.y[i]}`);
      }
    }
    // backward from our own y (float64 arithmetic on the same inputs)
    softmaxBackwardF32(y, g, dx, rows, cols, log);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += log ? g0[o + c] : g0[o + c] * y[o + c];
      for (let c = 0; c < cols; c++) {
        const want = log ? g0[o + c] - Math.exp(y[o + c]) * s : y[o + c] * (g0[o + c] - s);
        if (!(Math.abs(dx[o + c] - want) <= 1e-5 * (1 + Math.abs(want)))) {
          throw new Error(`softmax'(log=${log})[${o + c}] = ${dx[o + c]}, want ${want}`);
        }
      }
    }
    if (x.some((v, i) => !Object.is(v, x0[i]))) throw new Error("x was mutated");
  } finally {
    owned.forEach(freeF32);
  }
}

Deno.test("fast (log-)softmax rows and backward match the float64 reference", async () => {
  setFastThreads(1);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.oneof(fc.constantFrom(1, 3, 4, 5, 8), fc.integer({ min: 1, max: 300 })),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.boolean(),
      fc.boolean(),
      checkSoftmax,
    ),
    { numRuns: 100 },
  );
  setFastThreads(2);
  await warmupFast();
  checkSoftmax(300, 1001, 7, false, true);
  checkSoftmax(300, 1001, 8, true, false);
  shutdownFast();
});
