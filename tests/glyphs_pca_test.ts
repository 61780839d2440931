// PCA written in pipeline/glyphs/pca.ts: eigen-decomposition properties on random symmetric
// matrices (orthonormal vectors, descending values, A = V^T diag(l) V), PCA of random data
// (variance ordered, full-rank reconstruction), sparse covariance vs a dense reference, and
// the WASM-matmul products vs the plain-TS ones.

import { assert, assertAlmostEquals } from "./assert.ts";
import fc from "fast-check";
import { covariance, eigSym, fitPca, pcaScoresGram, project } from "../pipeline/glyphs/pca.ts";
import { covarianceFast, projectFast, releaseFastKernels } from "../pipeline/glyphs/linalg.ts";

const symmetric = fc.integer({ min: 1, max: 24 }).chain((n) =>
  fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: n * n, maxLength: n * n })
    .map((v) => {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = v[i * n + j];
      }
      return { n, a };
    })
);

Deno.test("eigSym: orthonormal vectors, descending values, exact reconstruction", () => {
  fc.assert(
    fc.property(symmetric, ({ n, a }) => {
      const { values, vectors } = eigSym(a, n);
      const scale = 1 + a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      for (let i = 1; i < n; i++) assert(values[i - 1] >= values[i] - 1e-12 * scale, "order");
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let dot = 0;
          for (let k = 0; k < n; k++) dot += vectors[i * n + k] * vectors[j * n + k];
          assertAlmostEquals(dot, i === j ? 1 : 0, 1e-9, "orthonormal");
        }
      }
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += vectors[k * n + r] * values[k] * vectors[k * n + c];
          assertAlmostEquals(s, a[r * n + c], 1e-9 * scale * n, "reconstruction");
        }
      }
    }),
    { numRuns: 60 },
  );
});

const data = fc.record({
  rows: fc.integer({ min: 2, max: 40 }),
  cols: fc.integer({ min: 1, max: 12 }),
})
  .chain(({ rows, cols }) =>
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: rows * cols, maxLength: rows * cols })
      .map((v) => ({ rows, cols, x: Uint8Array.from(v) }))
  );

Deno.test("pca: variances ordered, components orthonormal, full rank reconstructs the data", () => {
  fc.assert(
    fc.property(data, ({ rows, cols, x }) => {
      const p = fitPca(x, rows, cols, cols, 1 / 255);
      for (let i = 1; i < cols; i++) assert(p.variances[i - 1] >= p.variances[i] - 1e-12);
      const y = project(p, x, rows, 1 / 255);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < cols; j++) {
          let v = p.mean[j];
          for (let c = 0; c < cols; c++) v += y[r * cols + c] * p.components[c * cols + j];
          assertAlmostEquals(v, x[r * cols + j] / 255, 1e-5, "reconstruction");
        }
      }
    }),
    { numRuns: 60 },
  );
});

Deno.test("pca: projected variance equals the eigenvalues; top-k keeps the largest", () => {
  fc.assert(
    fc.property(data, ({ rows, cols, x }) => {
      const k = Math.max(1, cols >> 1), p = fitPca(x, rows, cols, k, 1 / 255);
      const y = project(p, x, rows, 1 / 255);
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += y[r * k + c] ** 2;
        assertAlmostEquals(s / (rows - 1), p.variances[c], 1e-5 * (1 + p.variances[c]));
      }
    }),
    { numRuns: 40 },
  );
});

Deno.test("covariance: sparse accumulation equals the dense definition", () => {
  fc.assert(
    fc.property(data, ({ rows, cols, x }) => {
      const { mean, cov } = covariance(x, rows, cols);
      for (let a = 0; a < cols; a++) {
        for (let b = 0; b < cols; b++) {
          let s = 0;
          for (let r = 0; r < rows; r++) {
            s += (x[r * cols + a] - mean[a]) * (x[r * cols + b] - mean[b]);
          }
          assertAlmostEquals(cov[a * cols + b], s / (rows - 1), 1e-6 * (1 + Math.abs(s)));
        }
      }
    }),
    { numRuns: 40 },
  );
});

Deno.test({
  name: "linalg: WASM-matmul covariance and projection match plain TS",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const rows = 300, cols = 64, x = new Uint8Array(rows * cols);
    let s = 7;
    for (let i = 0; i < x.length; i++) x[i] = (s = (s * 48271) % 2147483647) % 3 === 0 ? 255 : 0;
    const slow = await covarianceFast(x, rows, cols, false);
    const quick = await covarianceFast(x, rows, cols, true);
    for (let i = 0; i < slow.cov.length; i++) assertAlmostEquals(quick.cov[i], slow.cov[i], 1e-5);
    const p = fitPca(x, rows, cols, cols, 1 / 255);
    const a = await projectFast(p, x, rows, false), b = await projectFast(p, x, rows, true);
    for (let i = 0; i < a.length; i++) assertAlmostEquals(a[i], b[i], 1e-4);
    await releaseFastKernels();
  },
});

Deno.test("pca: the Gram route (rows <= cols) gives the covariance route's scores", () => {
  const wide = fc.record({
    rows: fc.integer({ min: 2, max: 10 }),
    extra: fc.integer({ min: 0, max: 8 }),
  })
    .chain(({ rows, extra }) => {
      const cols = rows + extra;
      return fc.array(fc.integer({ min: 0, max: 255 }), {
        minLength: rows * cols,
        maxLength: rows * cols,
      })
        .map((v) => ({ rows, cols, x: Uint8Array.from(v) }));
    });
  fc.assert(
    fc.property(wide, ({ rows, cols, x }) => {
      const p = fitPca(x, rows, cols, cols, 1 / 255);
      const a = project(p, x, rows, 1 / 255), g = pcaScoresGram(x, rows, cols, cols, 1 / 255);
      // compare up to rank rows-1, where eigenvalues are (almost surely) distinct
      for (let c = 0; c < Math.min(cols, rows - 1); c++) {
        if (p.variances[c] < 1e-9 || (c > 0 && p.variances[c - 1] - p.variances[c] < 1e-6)) {
          continue;
        }
        // the sign convention (largest |entry| positive) is undefined when the two largest
        // |entries| tie (e.g. rows 2, cols 2: the component is +-[1, -1] / sqrt 2); skip those
        const mags = Array.from(p.components.subarray(c * cols, (c + 1) * cols), Math.abs)
          .sort((u, v) => v - u);
        if (mags.length > 1 && mags[0] - mags[1] < 1e-6 * mags[0]) continue;
        for (let r = 0; r < rows; r++) {
          assertAlmostEquals(g.scores[r * cols + c], a[r * cols + c], 1e-4);
        }
      }
    }),
    { numRuns: 60 },
  );
});

Deno.test("eigSym: tiny and denormal entries give finite, ordered values (regression)", () => {
  const a = Float64Array.from([-6.2e-15, 5e-324, 4.3e-224, 5e-324, 0, 0, 4.3e-224, 0, 0]);
  const { values, vectors } = eigSym(a, 3);
  assert([...values, ...vectors].every(Number.isFinite), `${values} ${vectors}`);
  assert(values[0] >= values[1] && values[1] >= values[2]);
  assertAlmostEquals(values[2], -6.2e-15, 1e-20);
});
