// PCA written here: covariance of a row matrix (sparse-aware: glyph pictures are mostly
// paper), symmetric eigen-decomposition by Householder tridiagonalisation + implicit QL
// (the classic tred2/tql2 pair, O(n^3)), and projection onto the top-k components.

export interface Pca {
  cols: number;
  mean: Float64Array;
  /** Eigenvalues of the covariance, descending (the variance along each component). */
  variances: Float64Array;
  /** k x cols, row c = unit component c (sign fixed: largest |entry| positive). */
  components: Float64Array;
  k: number;
}

/** Column means and (sample) covariance of a rows x cols matrix, as Float64 cols x cols. */
export function covariance(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  scale = 1,
): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(cols), cov = new Float64Array(cols * cols);
  const idx = new Int32Array(cols), val = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let nz = 0;
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c];
      if (v !== 0) {
        idx[nz] = c;
        val[nz++] = v * scale;
      }
    }
    for (let a = 0; a < nz; a++) {
      const va = val[a], base = idx[a] * cols;
      mean[idx[a]] += va;
      for (let b = a; b < nz; b++) cov[base + idx[b]] += va * val[b];
    }
  }
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  const denom = Math.max(1, rows - 1);
  for (let a = 0; a < cols; a++) {
    for (let b = a; b < cols; b++) {
      const v = (cov[a * cols + b] - rows * mean[a] * mean[b]) / denom;
      cov[a * cols + b] = v;
      cov[b * cols + a] = v;
    }
  }
  return { mean, cov };
}

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major, not modified).
 * Returns eigenvalues descending and eigenvectors as rows of `vectors` (row i <-> value i).
 */
export function eigSym(
  a: ArrayLike<number>,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(a as ArrayLike<number>), d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: V };
  // work on A / max|A| with sub-1e-280 entries flushed, so tiny and denormal inputs cannot
  // underflow into 0/0 or overflow into Inf inside the rotations; values are scaled back
  let amax = 0;
  for (const v of V) {
    if (!Number.isFinite(v)) throw new Error("eigSym: matrix has NaN or Inf (fix the input)");
    amax = Math.max(amax, Math.abs(v));
  }
  for (let i = 0; i < V.length && amax > 0; i++) {
    V[i] = Math.abs(V[i] / amax) < 1e-280 ? 0 : V[i] / amax;
  }
  tred2(V, d, e, n);
  const Vt = transpose(V, n);
  tql2(Vt, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j] - d[i]);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src] * (amax || 1);
    vectors.set(Vt.subarray(src * n, src * n + n), dst * n);
  });
  return { values, vectors };
}

function transpose(m: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
  return t;
}

// Householder reduction to tridiagonal form (d: diagonal, e: sub-diagonal); V becomes the
// accumulated orthogonal transform (columns = basis).
function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0, h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1], g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = V[k * n + j];
          g += vkj * d[k];
          e[k] += vkj * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      // rank-2 update of the leading i x i block, row by row (cache friendly)
      for (let k = 0; k < i; k++) {
        const ek = e[k], dk = d[k], row = k * n;
        for (let j = 0; j <= k; j++) V[row + j] -= d[j] * ek + e[j] * dk;
      }
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // accumulate the transformations
  const tmp = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      // g_j = sum_k V[k][i+1] V[k][j]; then V[k][j] -= g_j d[k]  (row-wise passes)
      tmp.fill(0, 0, i + 1);
      for (let k = 0; k <= i; k++) {
        const vk = V[k * n + i + 1], row = k * n;
        for (let j = 0; j <= i; j++) tmp[j] += vk * V[row + j];
      }
      for (let k = 0; k <= i; k++) {
        const dk = d[k], row = k * n;
        for (let j = 0; j <= i; j++) V[row + j] -= tmp[j] * dk;
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

// Implicit QL on the tridiagonal (d, e); Vt holds the basis as rows, rotated in place.
function tql2(Vt: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0, tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n && Math.abs(e[m]) > eps * tst1) m++;
    if (m === n) m = n - 1;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error("eigSym: QL did not converge (input has NaN or Inf?)");
        let g = d[l], p = (d[l + 1] - g) / (2 * e[l]), r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = c, c3 = c, s = 0, s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const ri = i * n, rj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const hk = Vt[rj + k], vk = Vt[ri + k];
            Vt[rj + k] = s * vk + c * hk;
            Vt[ri + k] = c * vk - s * hk;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/** Fit PCA with k components (k = cols: full rank) on a rows x cols matrix (values * scale). */
export function fitPca(x: ArrayLike<number>, rows: number, cols: number, k = cols, scale = 1): Pca {
  const { mean, cov } = covariance(x, rows, cols, scale);
  return pcaFromCovariance(mean, cov, cols, k);
}

/** PCA from a precomputed mean and covariance (cols x cols). */
export function pcaFromCovariance(
  mean: Float64Array,
  cov: Float64Array,
  cols: number,
  k = cols,
): Pca {
  if (!(k >= 1 && k <= cols)) throw new Error(`pca: k=${k} must be in 1..${cols}`);
  for (let i = 0; i < cov.length; i++) {
    if (!Number.isFinite(cov[i])) throw new Error("pca: input has NaN or Inf (fix the input)");
  }
  const { values, vectors } = eigSym(cov, cols);
  const components = vectors.slice(0, k * cols);
  for (let c = 0; c < k; c++) {
    let big = 0;
    for (let j = 0; j < cols; j++) {
      const v = components[c * cols + j];
      if (Math.abs(v) > Math.abs(big)) big = v;
    }
    if (big < 0) { for (let j = 0; j < cols; j++) components[c * cols + j] *= -1; }
  }
  return { cols, mean, variances: values.slice(0, k), components, k };
}

/** Project rows (values * scale) onto the components: (x - mean) W, as float32 rows x k. */
export function project(pca: Pca, x: ArrayLike<number>, rows: number, scale = 1): Float32Array {
  const { cols, k, mean, components } = pca;
  const W = new Float32Array(cols * k); // cols x k: contiguous per input pixel
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < cols; j++) W[j * k + c] = components[c * cols + j];
  }
  const muW = new Float64Array(k);
  for (let j = 0; j < cols; j++) for (let c = 0; c < k; c++) muW[c] += mean[j] * W[j * k + c];
  const out = new Float32Array(rows * k), acc = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < k; c++) acc[c] = -muW[c];
    for (let j = 0; j < cols; j++) {
      const v = x[r * cols + j] * scale;
      if (v === 0) continue;
      const base = j * k;
      for (let c = 0; c < k; c++) acc[c] += v * W[base + c];
    }
    for (let c = 0; c < k; c++) out[r * k + c] = acc[c];
  }
  return out;
}

/**
 * PCA scores of a short, wide matrix (rows <= cols) through the rows x rows Gram matrix:
 * score column c = sqrt(l_c (rows - 1)) u_c for the Gram eigenpairs (l_c, u_c), sign fixed
 * like fitPca (largest |entry| of the pixel-space component positive). Columns beyond the
 * data's rank are zero, as they are for the covariance route. Returns rows x k float32.
 */
export function pcaScoresGram(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  k: number,
  scale = 1,
): { scores: Float32Array; variances: Float64Array; total: number } {
  const mean = new Float64Array(cols), xc = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] += x[r * cols + c] * scale;
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) xc[r * cols + c] = x[r * cols + c] * scale - mean[c];
  }
  const denom = Math.max(1, rows - 1), g = new Float64Array(rows * rows);
  for (let a = 0; a < rows; a++) {
    for (let b = a; b < rows; b++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += xc[a * cols + c] * xc[b * cols + c];
      g[a * rows + b] = g[b * rows + a] = s / denom;
    }
  }
  let total = 0;
  for (let a = 0; a < rows; a++) total += g[a * rows + a];
  const { values, vectors } = eigSym(g, rows);
  const scores = new Float32Array(rows * k), variances = new Float64Array(k);
  const tol = 1e-10 * Math.max(1e-300, values[0] ?? 0);
  for (let c = 0; c < Math.min(k, rows); c++) {
    const lam = values[c];
    if (!(lam > tol)) break;
    variances[c] = lam;
    let big = 0;
    for (let j = 0; j < cols; j++) {
      let w = 0;
      for (let r = 0; r < rows; r++) w += xc[r * cols + j] * vectors[c * rows + r];
      if (Math.abs(w) > Math.abs(big)) big = w;
    }
    const f = Math.sqrt(lam * denom) * (big < 0 ? -1 : 1);
    for (let r = 0; r < rows; r++) scores[r * k + c] = f * vectors[c * rows + r];
  }
  return { scores, variances, total };
}
