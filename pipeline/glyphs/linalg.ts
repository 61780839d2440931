// The two big products of the glyph PCA, on the fast multithreaded WASM SIMD matmul of
// core/cpu/fast when it loads, else on the plain-TS sparse loops of pca.ts (same maths).

import { covariance, type Pca, project } from "./pca.ts";

type MatmulF32 = typeof import("../../core/cpu/fast/mod.ts").matmulF32;

let fast: { matmulF32: MatmulF32; shutdownFast: () => void } | null | undefined;

async function fastMatmul() {
  if (fast !== undefined) return fast;
  try {
    fast = await import("../../core/cpu/fast/mod.ts");
  } catch {
    fast = null;
  }
  return fast;
}

/** Stop the fast kernels' worker threads (they restart lazily). */
export async function releaseFastKernels(): Promise<void> {
  (await fastMatmul())?.shutdownFast();
}

/** Which implementation the products use: "wasm-simd" or "plain-ts". */
export async function linalgBackend(useFast = true): Promise<string> {
  return useFast && (await fastMatmul()) ? "wasm-simd" : "plain-ts";
}

/** Mean and sample covariance of rows x cols values (u8 pictures are scaled by 1/255). */
export async function covarianceFast(
  x: Uint8Array,
  rows: number,
  cols: number,
  useFast = true,
): Promise<{ mean: Float64Array; cov: Float64Array }> {
  const f = useFast ? await fastMatmul() : null;
  if (!f) return covariance(x, rows, cols, 1 / 255);
  const xf = new Float32Array(rows * cols);
  for (let i = 0; i < xf.length; i++) xf[i] = x[i] / 255;
  const g = new Float32Array(cols * cols);
  f.matmulF32(xf, xf, g, 1, cols, cols, rows, true, false);
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] += xf[r * cols + c];
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  const cov = new Float64Array(cols * cols), denom = Math.max(1, rows - 1);
  for (let a = 0; a < cols; a++) {
    for (let b = a; b < cols; b++) {
      const v = ((g[a * cols + b] + g[b * cols + a]) / 2 - rows * mean[a] * mean[b]) / denom;
      cov[a * cols + b] = cov[b * cols + a] = v;
    }
  }
  return { mean, cov };
}

/** (x/255 - mean) W for u8 pictures: rows x k float32. */
export async function projectFast(
  pca: Pca,
  x: Uint8Array,
  rows: number,
  useFast = true,
): Promise<Float32Array> {
  const f = useFast ? await fastMatmul() : null;
  if (!f) return project(pca, x, rows, 1 / 255);
  const { cols, k, mean, components } = pca;
  const xf = new Float32Array(rows * cols);
  for (let i = 0; i < xf.length; i++) xf[i] = x[i] / 255;
  const w = new Float32Array(cols * k);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < cols; j++) w[j * k + c] = components[c * cols + j];
  }
  const out = new Float32Array(rows * k);
  f.matmulF32(xf, w, out, 1, rows, k, cols, false, false);
  const muW = new Float64Array(k);
  for (let j = 0; j < cols; j++) for (let c = 0; c < k; c++) muW[c] += mean[j] * w[j * k + c];
  for (let r = 0; r < rows; r++) for (let c = 0; c < k; c++) out[r * k + c] -= muW[c];
  return out;
}
