// Property tests of the fast LayerNorm, AdamW, RoPE and binary kernels (core/cpu/fast)
// against float64 transcriptions of the backend contract, on random shapes (row lengths
// that are and are not multiples of 4), in ordinary arrays and in shared wasm memory.

import fc from "fast-check";
import {
  adamwF32,
  allocF32,
  binaryF32,
  freeF32,
  layerNormBackwardF32,
  layerNormForwardF32,
  ropeF32,
  shutdownFast,
  zeroF32,
} from "../core/cpu/fast/mod.ts";
import { xorshiftUniform } from "./xorshift.ts";

function randomArray(n: number, seed: number, lo: number, hi: number): Float32Array {
  return Float32Array.from(xorshiftUniform(n, seed), (u) => lo + u * (hi - lo));
}

function near(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number) {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) {
      throw new Error(`${what}[${i}] = ${got[i]}, want ${want[i]}`);
    }
  }
}

/**
 * Run `fn` with `mk`, which makes arrays (a copy of `src`, or `src` NaNs when it is a number) in
 * shared memory or ordinary ones; the shared ones are freed when fn ends, even by a throw.
 */
function withArrays(
  shared: boolean,
  fn: (mk: (src: Float32Array | number) => Float32Array) => void,
) {
  const owned: Float32Array[] = [];
  try {
    fn((src) => {
      const n = typeof src === "number" ? src : src.length;
      const a = shared ? allocF32(n).fill(Number.NaN) : new Float32Array(n).fill(Number.NaN);
      if (typeof src !== "number") a.set(src);
      if (shared) owned.push(a);
      return a;
    });
  } finally {
    owned.forEach(freeF32);
  }
}

const lnCase = fc.record({
  N: fc.integer({ min: 1, max: 20 }),
  C: fc.oneof(fc.constantFrom(1, 3, 4, 8, 128), fc.integer({ min: 1, max: 100 })),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  shared: fc.boolean(),
});

Deno.test("fast LayerNorm forward and backward match the float64 reference", () => {
  fc.assert(
    fc.property(lnCase, ({ N, C, seed, shared }) => {
      withArrays(shared, (mk) => {
        const x0 = randomArray(N * C, seed, -3, 5), w0 = randomArray(C, seed + 1, -2, 2);
        const b0 = randomArray(C, seed + 2, -1, 1), g0 = randomArray(N * C, seed + 3, -1, 1);
        const x = mk(x0), w = mk(w0), b = mk(b0), g = mk(g0);
        const out = mk(N * C), mean = mk(N), rstd = mk(N);
        layerNormForwardF32(x, w, b, out, mean, rstd, N, C, 1e-5);
        const rm = new Float64Array(N), rr = new Float64Array(N), ro = new Float64Array(N * C);
        const dx = new Float64Array(N * C), dw = new Float64Array(C), db = new Float64Array(C);
        for (let r = 0; r < N; r++) {
          let m = 0, v = 0;
          for (let c = 0; c < C; c++) m += x0[r * C + c] / C;
          for (let c = 0; c < C; c++) v += (x0[r * C + c] - m) ** 2 / C;
          rm[r] = m;
          rr[r] = 1 / Math.sqrt(v + 1e-5);
          let sg = 0, sgx = 0;
          for (let c = 0; c < C; c++) {
            const xh = (x0[r * C + c] - m) * rr[r];
            ro[r * C + c] = xh * w0[c] + b0[c];
            sg += g0[r * C + c] * w0[c] / C;
            sgx += g0[r * C + c] * w0[c] * xh / C;
            dw[c] += g0[r * C + c] * xh;
            db[c] += g0[r * C + c];
          }
          for (let c = 0; c < C; c++) {
            const xh = (x0[r * C + c] - m) * rr[r];
            dx[r * C + c] = (g0[r * C + c] * w0[c] - sg - xh * sgx) * rr[r];
          }
        }
        // f32 loses digits in x - mean when a row's values nearly coincide (|x| >> spread, e.g.
        // C = 2 with close values): tolerances grow with that ratio, kappa = max|x| * rstd
        let kappa = 1;
        for (let r = 0; r < N; r++) {
          let mx = 0;
          for (let c = 0; c < C; c++) mx = Math.max(mx, Math.abs(x0[r * C + c]));
          kappa = Math.max(kappa, (mx * rr[r]) / 10);
        }
        near("mean", mean, rm, 1e-5);
        near("rstd", rstd, rr, 1e-4 * kappa);
        near("out", out, ro, 1e-4 * kappa);
        const dxo = mk(N * C), dwo = mk(C), dbo = mk(C);
        layerNormBackwardF32(g, x, w, mean, rstd, dxo, dwo, dbo, N, C);
        near("dx", dxo, dx, 2e-4 * kappa);
        near("dw", dwo, dw, 2e-4 * kappa);
        near("db", dbo, db, 2e-5);
        if (x.some((v, i) => !Object.is(v, x0[i]))) throw new Error("x was mutated");
      });
    }),
    { numRuns: 80 },
  );
});

Deno.test("fast RoPE matches the float64 rotation and its inverse undoes it", () => {
  fc.assert(
    fc.property(
      fc.record({
        B: fc.integer({ min: 1, max: 3 }),
        T: fc.integer({ min: 1, max: 40 }),
        H: fc.integer({ min: 1, max: 3 }),
        D: fc.constantFrom(2, 6, 8, 12, 16, 32, 64),
        base: fc.constantFrom(10000, 500),
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        shared: fc.boolean(),
      }),
      ({ B, T, H, D, base, seed, shared }) => {
        withArrays(shared, (mk) => {
          const n = B * T * H * D, half = D / 2;
          const x0 = randomArray(n, seed, -2, 2), x = mk(x0), out = mk(n), back = mk(n);
          ropeF32(x, out, B, T, H, D, base, false);
          const want = new Float64Array(n);
          for (let r = 0; r < B * T * H; r++) {
            const t = Math.floor(r / H) % T;
            for (let j = 0; j < half; j++) {
              const th = t * Math.pow(base, (-2 * j) / D), c = Math.cos(th), s = Math.sin(th);
              const x1 = x0[r * D + j], x2 = x0[r * D + j + half];
              want[r * D + j] = x1 * c - x2 * s;
              want[r * D + j + half] = x2 * c + x1 * s;
            }
          }
          near("rope", out, want, 1e-5);
          ropeF32(out, back, B, T, H, D, base, true);
          near("inverse rope", back, x0, 1e-5);
          if (x.some((v, i) => !Object.is(v, x0[i]))) throw new Error("x was mutated");
        });
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("fast AdamW matches the float64 update and leaves inputs alone", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 3000 }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.boolean(),
      (n, seed, step, shared) => {
        withArrays(shared, (mk) => {
          const p0 = randomArray(n, seed, -1, 1), g0 = randomArray(n, seed + 1, -1, 1);
          const m0 = randomArray(n, seed + 2, -0.1, 0.1), v0 = randomArray(n, seed + 3, 0, 0.01);
          const p = mk(p0), g = mk(g0), m = mk(m0), v = mk(v0);
          const po = mk(n), mo = mk(n), vo = mk(n);
          const [lr, b1, b2, eps, wd] = [3e-3, 0.9, 0.95, 1e-8, 0.1];
          adamwF32(p, g, m, v, po, mo, vo, n, lr, b1, b2, eps, wd, step);
          const bc1 = 1 - b1 ** step, bc2 = 1 - b2 ** step;
          for (let i = 0; i < n; i++) {
            const mi = b1 * m0[i] + (1 - b1) * g0[i];
            const vi = b2 * v0[i] + (1 - b2) * g0[i] * g0[i];
            const pi = p0[i] - lr * (mi / bc1 / (Math.sqrt(vi / bc2) + eps) + wd * p0[i]);
            near("m", [mo[i]], [mi], 1e-6);
            near("v", [vo[i]], [vi], 1e-6);
            near("p", [po[i]], [pi], 1e-6);
          }
          for (const [a, a0] of [[p, p0], [g, g0], [m, m0], [v, v0]]) {
            if (a.some((x, i) => !Object.is(x, a0[i]))) throw new Error("an input was mutated");
          }
        });
      },
    ),
    { numRuns: 60 },
  );
  shutdownFast();
});

Deno.test("fast binary ops with a periodic (broadcast) operand match plain math", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("add", "sub", "mul", "div") as fc.Arbitrary<"add" | "sub" | "mul" | "div">,
      fc.integer({ min: 1, max: 20 }),
      fc.oneof(fc.constantFrom(1, 3, 4, 8, 128), fc.integer({ min: 1, max: 70 })),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.boolean(),
      (op, rows, period, seed, shared) => {
        withArrays(shared, (mk) => {
          const n = rows * period;
          const a0 = randomArray(n, seed, -3, 3), b0 = randomArray(period, seed + 1, 0.5, 2);
          const a = mk(a0), b = mk(b0), out = mk(n);
          binaryF32(op, a, b, out, n, period);
          for (let i = 0; i < n; i++) {
            const x = a0[i], y = b0[i % period];
            const want = op === "add" ? x + y : op === "sub" ? x - y : op === "mul" ? x * y : x / y;
            if (out[i] !== Math.fround(want)) throw new Error(`${op}[${i}] ${out[i]} != ${want}`);
          }
        });
      },
    ),
    { numRuns: 80 },
  );
});

Deno.test("zeroF32 zeroes exactly the view (shared memory by memory.fill, ordinary arrays too)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 7 }), (n, skip) => {
      const all = allocF32(n + skip + 5);
      all.fill(7);
      const view = all.subarray(skip, skip + n);
      zeroF32(view);
      for (let i = 0; i < all.length; i++) {
        const want = i >= skip && i < skip + n ? 0 : 7;
        if (all[i] !== want) throw new Error(`element ${i} of ${all.length}: ${all[i]} != ${want}`);
      }
      freeF32(all);
      const plain = new Float32Array(n).fill(2);
      if (!zeroF32(plain).every((x) => x === 0)) throw new Error("ordinary array not zeroed");
    }),
    { numRuns: 60 },
  );
});
