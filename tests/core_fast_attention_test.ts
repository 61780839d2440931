// Property tests of the fast causal-attention kernels (core/cpu/fast/attention.ts) against
// a float64 transcription of the backend contract, on random shapes including head sizes
// that are not multiples of 4, single- and multi-threaded.

import fc from "fast-check";
import {
  allocF32,
  attentionBackwardF32,
  attentionForwardF32,
  freeF32,
  setFastThreads,
  shutdownFast,
  warmupFast,
} from "../core/cpu/fast/mod.ts";
import { causalAttentionBackward, causalAttentionForward } from "../core/cpu/ref.ts";
import { xorshiftUniform } from "./xorshift.ts";

interface Shape {
  B: number;
  T: number;
  H: number;
  D: number;
  seed: number;
  shared?: boolean;
}

function randomArray(n: number, seed: number): Float32Array {
  return Float32Array.from(xorshiftUniform(n, seed), (u) => u * 4 - 2);
}

/** Float64 forward (the CPU reference's code): out [B,T,H,D] and lse [B,H,T]. */
function refForward(q: Float32Array, k: Float32Array, v: Float32Array, s: Shape, scale: number) {
  const { B, T, H, D } = s;
  const out = new Float64Array(B * T * H * D), lse = new Float64Array(B * H * T);
  causalAttentionForward(q, k, v, out, lse, { B, T, H, D, scale });
  return { out, lse };
}

/** Float64 backward (the CPU reference's code): dq, dk, dv given the forward's out and lse. */
function refBackward(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  g: Float32Array,
  s: Shape,
  scale: number,
) {
  const { B, T, H, D } = s, n = B * T * H * D;
  const dq = new Float64Array(n), dk = new Float64Array(n), dv = new Float64Array(n);
  causalAttentionBackward(q, k, v, out, lse, g, dq, dk, dv, { B, T, H, D, scale });
  return { dq, dk, dv };
}

function assertNear(what: string, got: Float32Array, want: Float64Array, s: Shape): void {
  let scaleRef = 0;
  for (const x of want) scaleRef = Math.max(scaleRef, Math.abs(x));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 2e-5 * (1 + scaleRef))) {
      throw new Error(`${what}[${i}] = ${got[i]}, want ${want[i]} for ${JSON.stringify(s)}`);
    }
  }
}

function check(s: Shape): void {
  const { B, T, H, D } = s, n = B * T * H * D, scale = 1 / Math.sqrt(Math.max(D, 1));
  const owned: Float32Array[] = [];
  // in shared wasm memory (used in place when D % 4 == 0) or ordinary arrays
  const make = (src: Float32Array | number) => {
    const len = typeof src === "number" ? src : src.length;
    const a = s.shared ? allocF32(len).fill(0) : new Float32Array(len);
    if (typeof src !== "number") a.set(src);
    if (s.shared) owned.push(a);
    return a;
  };
  try {
    checkWith(s, n, scale, make);
  } finally {
    owned.forEach(freeF32);
  }
}

function checkWith(
  s: Shape,
  n: number,
  scale: number,
  make: (src: Float32Array | number) => Float32Array,
): void {
  const { B, T, H, D } = s;
  const q = make(randomArray(n, s.seed)), k = make(randomArray(n, s.seed + 1));
  const v = make(randomArray(n, s.seed + 2)), g = make(randomArray(n, s.seed + 3));
  const inputs = [q, k, v, g].map((x) => x.slice());
  const out = make(n), lse = make(B * H * T);
  attentionForwardF32(q, k, v, out, lse, B, T, H, D, scale);
  const ref = refForward(q, k, v, s, scale);
  assertNear("out", out, ref.out, s);
  assertNear("lse", lse, ref.lse, s);
  const dq = make(n), dk = make(n), dv = make(n);
  attentionBackwardF32(q, k, v, out, lse, g, dq, dk, dv, B, T, H, D, scale);
  const rb = refBackward(q, k, v, out, lse, g, s, scale);
  assertNear("dq", dq, rb.dq, s);
  assertNear("dk", dk, rb.dk, s);
  assertNear("dv", dv, rb.dv, s);
  [q, k, v, g].forEach((x, i) => {
    if (x.some((y, j) => !Object.is(y, inputs[i][j]))) throw new Error("an input was mutated");
  });
}

const small = fc.record({
  B: fc.integer({ min: 1, max: 3 }),
  T: fc.integer({ min: 1, max: 20 }),
  H: fc.integer({ min: 1, max: 3 }),
  D: fc.oneof(fc.constantFrom(1, 3, 4, 8, 32), fc.integer({ min: 1, max: 40 })),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  shared: fc.boolean(),
});
// Large enough to pass the parallel threshold.
const big = fc.record({
  B: fc.integer({ min: 3, max: 4 }),
  T: fc.integer({ min: 80, max: 100 }),
  H: fc.integer({ min: 2, max: 3 }),
  D: fc.constantFrom(32, 33),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  shared: fc.boolean(),
});

Deno.test("fast attention matches the float64 reference (main thread)", () => {
  setFastThreads(1);
  fc.assert(fc.property(small, (s) => check(s)), { numRuns: 80 });
});

Deno.test("fast attention matches the float64 reference with worker threads", async () => {
  setFastThreads(2);
  await warmupFast();
  fc.assert(fc.property(big, (s) => check(s)), { numRuns: 8 });
  shutdownFast();
});

Deno.test("fast attention adds onto dq, dk, dv and rejects short arrays", () => {
  const s: Shape = { B: 1, T: 3, H: 1, D: 4, seed: 3 }, n = 12;
  const q = randomArray(n, 1), out = new Float32Array(n), lse = new Float32Array(3);
  attentionForwardF32(q, q, q, out, lse, 1, 3, 1, 4, 0.5);
  const zero = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  attentionBackwardF32(q, q, q, out, lse, q, zero[0], zero[1], zero[2], 1, 3, 1, 4, 0.5);
  for (const shared of [false, true]) {
    const ones = zero.map(() => (shared ? allocF32(n) : new Float32Array(n)).fill(1));
    attentionBackwardF32(q, q, q, out, lse, q, ones[0], ones[1], ones[2], 1, 3, 1, 4, 0.5);
    for (let i = 0; i < 3; i++) {
      if (ones[i].some((x, j) => Math.abs(x - 1 - zero[i][j]) > 1e-6)) {
        throw new Error(`not added (shared = ${shared})`);
      }
    }
    if (shared) ones.forEach(freeF32);
  }
  let threw = false;
  try {
    attentionForwardF32(q, q, q, out, new Float32Array(2), 1, 3, 1, 4, 0.5);
  } catch {
    threw = true;
  }
  if (!threw) throw new Error(`short lse accepted for ${JSON.stringify(s)}`);
  shutdownFast();
});

Deno.test("fast attention propagates NaN (no wasm trap)", () => {
  const n = 2 * 5 * 2 * 8, q = new Float32Array(n).fill(0.1);
  q[3] = Number.NaN;
  const out = new Float32Array(n), lse = new Float32Array(2 * 2 * 5);
  attentionForwardF32(q, q, q, out, lse, 2, 5, 2, 8, 0.3);
  if (!out.some(Number.isNaN) || !lse.some(Number.isNaN)) throw new Error("NaN was lost");
  const d = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  attentionBackwardF32(q, q, q, out, lse, q, d[0], d[1], d[2], 2, 5, 2, 8, 0.3);
  if (!d[0].some(Number.isNaN)) throw new Error("NaN was lost in the backward pass");
});
