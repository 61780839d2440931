// The "cpu-ref" backend: every kernel of core/backend.ts as plain TypeScript loops over
// Float32Array/Int32Array. It is the trusted reference the fast backends are tested against, so
// it favours obviousness over speed (accumulations are in float64 where it is free to do so).

import { type Backend, type BinaryOp, dropoutHash, type DType, type Storage } from "../backend.ts";

/** CPU storage: the host array itself. */
export interface CpuStorage extends Storage {
  readonly data: Float32Array | Int32Array;
}

export function arr(s: Storage): Float32Array | Int32Array {
  return (s as CpuStorage).data;
}
const f = (s: Storage) => (s as CpuStorage).data as Float32Array;
const ints = (s: Storage) => (s as CpuStorage).data as Int32Array;

export function cpuStorage(data: Float32Array | Int32Array): CpuStorage {
  return { size: data.length, dtype: data instanceof Int32Array ? "i32" : "f32", data };
}

/** erf with |error| < 1.5e-7 (Abramowitz-Stegun 7.1.26). */
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t * Math.exp(-a * a);
  return s * y;
}

const GELU_C = Math.sqrt(2 / Math.PI);

export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
}
export function geluTanhGrad(x: number): number {
  const u = GELU_C * (x + 0.044715 * x * x * x);
  const th = Math.tanh(u);
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_C * (1 + 3 * 0.044715 * x * x);
}
export function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}
export function geluErfGrad(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

export function unaryFn(op: string, a: number, b: number): (x: number) => number {
  switch (op) {
    case "neg":
      return (x) => -x;
    case "exp":
      return Math.exp;
    case "log":
      return Math.log;
    case "sqrt":
      return Math.sqrt;
    case "rsqrt":
      return (x) => 1 / Math.sqrt(x);
    case "tanh":
      return Math.tanh;
    case "abs":
      return Math.abs;
    case "relu":
      return (x) => (x > 0 ? x : 0);
    case "recip":
      return (x) => 1 / x;
    case "affine":
      return (x) => x * a + b;
    case "powScalar":
      return (x) => Math.pow(x, a);
    case "geluTanh":
      return geluTanh;
    case "geluErf":
      return geluErf;
    case "sign":
      return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case "step":
      return (x) => (x > 0 ? 1 : 0);
  }
  throw new Error(`unary: unknown op "${op}"`);
}

export function binaryFn(op: BinaryOp): (x: number, y: number) => number {
  switch (op) {
    case "add":
      return (x, y) => x + y;
    case "sub":
      return (x, y) => x - y;
    case "mul":
      return (x, y) => x * y;
    case "div":
      return (x, y) => x / y;
    case "pow":
      return Math.pow;
    case "max":
      return (x, y) => (x > y ? x : y);
    case "min":
      return (x, y) => (x < y ? x : y);
    case "eq":
      return (x, y) => (x === y ? 1 : 0);
    case "gt":
      return (x, y) => (x > y ? 1 : 0);
    case "geluTanhBwd":
      return (x, g) => geluTanhGrad(x) * g;
    case "geluErfBwd":
      return (x, g) => geluErfGrad(x) * g;
  }
  throw new Error(`binary: unknown op "${op}"`);
}

/** Visit every index of `shape`, calling fn(outIndex, offsetA, offsetB) (row-major order). */
export function forStrided(
  shape: number[],
  sa: number[],
  sb: number[],
  oa: number,
  ob: number,
  fn: (i: number, a: number, b: number) => void,
): void {
  const r = shape.length;
  const n = shape.reduce((x, y) => x * y, 1);
  if (n === 0) return;
  const idx = new Array(r).fill(0);
  let a = oa, b = ob;
  for (let i = 0; i < n; i++) {
    fn(i, a, b);
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      a += sa[d];
      b += sb[d];
      if (idx[d] < shape[d]) break;
      a -= sa[d] * shape[d];
      b -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Build the reference backend (a fresh object; `name` may be overridden by wrappers). */
export function createRefBackend(): Backend {
  return {
    name: "cpu-ref",

    alloc(size: number, dtype: DType): Storage {
      return cpuStorage(dtype === "f32" ? new Float32Array(size) : new Int32Array(size));
    },
    free(_s: Storage) {},
    upload(s, data) {
      if (data.length !== s.size) throw new Error(`upload: ${data.length} values into ${s.size}`);
      arr(s).set(data);
    },
    download(s) {
      return Promise.resolve(arr(s).slice());
    },
    downloadSync(s) {
      return arr(s).slice();
    },
    hostView: arr,

    fill(out, n, value) {
      arr(out).fill(value, 0, n);
    },
    copyStrided(src, dst, shape, srcStrides, srcOffset, dstStrides, dstOffset) {
      const s = arr(src), d = arr(dst);
      forStrided(shape, srcStrides, dstStrides, srcOffset, dstOffset, (_i, a, b) => {
        d[b] = s[a];
      });
    },
    cast(x, out, n) {
      const a = arr(x), o = arr(out);
      for (let i = 0; i < n; i++) o[i] = out.dtype === "i32" ? Math.trunc(a[i]) : a[i];
    },

    unary(op, x, out, n, a, b) {
      const fn = unaryFn(op, a, b);
      const xs = arr(x), o = arr(out);
      for (let i = 0; i < n; i++) o[i] = fn(xs[i]);
    },
    binary(op, a, b, out, shape, aStrides, bStrides) {
      const fn = binaryFn(op);
      const A = arr(a), B = arr(b), O = arr(out);
      forStrided(shape, aStrides, bStrides, 0, 0, (i, ia, ib) => {
        O[i] = fn(A[ia], B[ib]);
      });
    },
    reduce(op, x, out, outer, dim, inner) {
      const X = arr(x), O = arr(out);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let acc = op === "sum" ? 0 : -Infinity;
          for (let d = 0; d < dim; d++) {
            const v = X[(o * dim + d) * inner + i];
            acc = op === "sum" ? acc + v : (v > acc || Number.isNaN(v) ? v : acc);
          }
          O[o * inner + i] = acc;
        }
      }
    },
    maskedFill(x, mask, out, n, value) {
      const X = arr(x), M = arr(mask), O = arr(out);
      for (let i = 0; i < n; i++) O[i] = M[i] !== 0 ? value : X[i];
    },

    matmul(a, b, out, batch, M, N, K, transA, transB) {
      const A = f(a), B = f(b), O = f(out);
      for (let bt = 0; bt < batch; bt++) {
        const ao = bt * M * K, bo = bt * K * N, oo = bt * M * N;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let acc = 0;
            for (let k = 0; k < K; k++) {
              const av = transA ? A[ao + k * M + i] : A[ao + i * K + k];
              const bv = transB ? B[bo + j * K + k] : B[bo + k * N + j];
              acc += av * bv;
            }
            O[oo + i * N + j] = acc;
          }
        }
      }
    },

    gather(table, ids, out, N, D, V) {
      const T = f(table), I = ints(ids), O = f(out);
      for (let i = 0; i < N; i++) {
        const r = I[i];
        if (r < 0 || r >= V) {
          throw new Error(`gather: id ${r} at position ${i} is outside [0, ${V})`);
        }
        O.set(T.subarray(r * D, r * D + D), i * D);
      }
    },
    scatterAdd(g, ids, out, N, D, V) {
      const G = f(g), I = ints(ids), O = f(out);
      for (let i = 0; i < N; i++) {
        const r = I[i];
        if (r < 0 || r >= V) throw new Error(`scatterAdd: id ${r} is outside [0, ${V})`);
        for (let d = 0; d < D; d++) O[r * D + d] += G[i * D + d];
      }
    },

    softmax(x, out, rows, cols, log) {
      const X = f(x), O = f(out);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let mx = -Infinity;
        for (let c = 0; c < cols; c++) mx = Math.max(mx, X[o + c]);
        let s = 0;
        for (let c = 0; c < cols; c++) s += Math.exp(X[o + c] - mx);
        const lse = mx + Math.log(s);
        for (let c = 0; c < cols; c++) {
          O[o + c] = log ? X[o + c] - lse : Math.exp(X[o + c] - lse);
        }
      }
    },
    softmaxBackward(y, dy, dx, rows, cols, log) {
      const Y = f(y), G = f(dy), O = f(dx);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let s = 0;
        if (log) {
          for (let c = 0; c < cols; c++) s += G[o + c];
          for (let c = 0; c < cols; c++) O[o + c] = G[o + c] - Math.exp(Y[o + c]) * s;
        } else {
          for (let c = 0; c < cols; c++) s += G[o + c] * Y[o + c];
          for (let c = 0; c < cols; c++) O[o + c] = Y[o + c] * (G[o + c] - s);
        }
      }
    },
    crossEntropyForward(logits, targets, out, lse, N, V, ignoreIndex) {
      const L = f(logits), Tg = ints(targets), LSE = f(lse);
      let total = 0, count = 0;
      for (let r = 0; r < N; r++) {
        const t = Tg[r];
        if (t === ignoreIndex) continue;
        if (t < 0 || t >= V) throw new Error(`crossEntropy: target ${t} is outside [0, ${V})`);
        const o = r * V;
        let mx = -Infinity;
        for (let c = 0; c < V; c++) mx = Math.max(mx, L[o + c]);
        let s = 0;
        for (let c = 0; c < V; c++) s += Math.exp(L[o + c] - mx);
        LSE[r] = mx + Math.log(s);
        total += mx + Math.log(s) - L[o + t];
        count++;
      }
      f(out)[0] = count ? total / count : 0;
    },
    // the oracle recomputes each row's logsumexp in float64 rather than trust the saved lse
    crossEntropyBackward(logits, targets, _lse, dout, dlogits, N, V, ignoreIndex) {
      const L = f(logits), Tg = ints(targets), D = f(dlogits);
      let count = 0;
      for (let r = 0; r < N; r++) if (Tg[r] !== ignoreIndex) count++;
      if (!count) return;
      const scale = f(dout)[0] / count;
      for (let r = 0; r < N; r++) {
        const t = Tg[r];
        if (t === ignoreIndex) continue;
        const o = r * V;
        let mx = -Infinity;
        for (let c = 0; c < V; c++) mx = Math.max(mx, L[o + c]);
        let s = 0;
        for (let c = 0; c < V; c++) s += Math.exp(L[o + c] - mx);
        for (let c = 0; c < V; c++) D[o + c] = (Math.exp(L[o + c] - mx) / s) * scale;
        D[o + t] -= scale;
      }
    },

    layerNormForward(x, w, b, out, mean, rstd, N, C, eps) {
      layerNormRowsForward(f(x), f(w), f(b), f(out), f(mean), f(rstd), N, C, eps);
    },
    layerNormBackward(dout, x, w, mean, rstd, dx, dw, db, N, C) {
      layerNormRowsBackward(f(dout), f(x), f(w), f(mean), f(rstd), f(dx), f(dw), f(db), N, C);
    },
    rmsNormForward(x, w, out, rstd, N, C, eps) {
      const X = f(x), W = f(w), O = f(out), R = f(rstd);
      for (let r = 0; r < N; r++) {
        const o = r * C;
        let ss = 0;
        for (let c = 0; c < C; c++) ss += X[o + c] * X[o + c];
        const rs = 1 / Math.sqrt(ss / C + eps);
        for (let c = 0; c < C; c++) O[o + c] = X[o + c] * rs * W[c];
        R[r] = rs;
      }
    },
    rmsNormBackward(dout, x, w, rstd, dx, dw, N, C) {
      const G = f(dout), X = f(x), W = f(w), R = f(rstd), DX = f(dx), DW = f(dw);
      const dwAcc = new Float64Array(C);
      for (let r = 0; r < N; r++) {
        const o = r * C, rs = R[r];
        let dot = 0;
        for (let c = 0; c < C; c++) {
          dot += G[o + c] * W[c] * X[o + c];
          dwAcc[c] += G[o + c] * X[o + c] * rs;
        }
        const k = (dot * rs * rs * rs) / C;
        for (let c = 0; c < C; c++) DX[o + c] = G[o + c] * W[c] * rs - X[o + c] * k;
      }
      for (let c = 0; c < C; c++) DW[c] = dwAcc[c];
    },

    attentionForward(q, k, v, out, lse, dims) {
      causalAttentionForward(f(q), f(k), f(v), f(out), f(lse), dims);
    },
    attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, dims) {
      causalAttentionBackward(f(q), f(k), f(v), f(out), f(lse), f(dout), f(dq), f(dk), f(dv), dims);
    },

    rope(x, out, positions, { B, T, H, D, base, inverse }) {
      const X = f(x), O = f(out), P = positions ? ints(positions) : undefined, half = D / 2;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const pos = P ? P[b * T + t] : t;
          for (let h = 0; h < H; h++) {
            const o = ((b * T + t) * H + h) * D;
            for (let j = 0; j < half; j++) {
              const theta = pos * Math.pow(base, (-2 * j) / D);
              const c = Math.cos(theta), s = inverse ? -Math.sin(theta) : Math.sin(theta);
              const x1 = X[o + j], x2 = X[o + j + half];
              O[o + j] = x1 * c - x2 * s;
              O[o + j + half] = x2 * c + x1 * s;
            }
          }
        }
      }
    },

    dropout(x, out, n, p, seed) {
      const X = f(x), O = f(out);
      const threshold = p * 4294967296, keepScale = 1 / (1 - p);
      for (let i = 0; i < n; i++) O[i] = dropoutHash(seed, i) >= threshold ? X[i] * keepScale : 0;
    },

    adamw(p, g, m, v, pOut, mOut, vOut, { n, lr, beta1, beta2, eps, weightDecay, step }) {
      const P = f(p), G = f(g), M = f(m), Vv = f(v), PO = f(pOut), MO = f(mOut), VO = f(vOut);
      const bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
      for (let i = 0; i < n; i++) {
        const mi = beta1 * M[i] + (1 - beta1) * G[i];
        const vi = beta2 * Vv[i] + (1 - beta2) * G[i] * G[i];
        MO[i] = mi;
        VO[i] = vi;
        PO[i] = P[i] - lr * ((mi / bc1) / (Math.sqrt(vi / bc2) + eps) + weightDecay * P[i]);
      }
    },
    allFinite(x, out, n) {
      const X = arr(x);
      let ok = 1;
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(X[i])) {
          ok = 0;
          break;
        }
      }
      f(out)[0] = ok;
    },
  };
}

/** Sizes and softmax scale of causal attention over q, k, v [B, T, H, D]. */
export interface AttentionDims {
  B: number;
  T: number;
  H: number;
  D: number;
  scale: number;
}

/**
 * Causal attention forward with float64 sums: O [B, T, H, D] and L = logsumexp [B, H, T],
 * written into float32 or float64 arrays (the CPU reference backend and the fast kernels'
 * float64 test reference).
 */
export function causalAttentionForward(
  Q: Float32Array,
  K: Float32Array,
  Vv: Float32Array,
  O: Float32Array | Float64Array,
  L: Float32Array | Float64Array,
  { B, T, H, D, scale }: AttentionDims,
): void {
  const row = H * D;
  const p = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * row + h * D;
        let mx = -Infinity;
        for (let s = 0; s <= t; s++) {
          const ko = (b * T + s) * row + h * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += Q[qo + d] * K[ko + d];
          p[s] = dot * scale;
          if (p[s] > mx) mx = p[s];
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += p[s] = Math.exp(p[s] - mx);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) acc += p[s] * Vv[(b * T + s) * row + h * D + d];
          O[qo + d] = acc / sum;
        }
        L[(b * H + h) * T + t] = mx + Math.log(sum);
      }
    }
  }
}

/** Causal attention backward: DQ, DK, DV (accumulated into) from G = dO and the forward's O, L. */
export function causalAttentionBackward(
  Q: Float32Array,
  K: Float32Array,
  Vv: Float32Array,
  O: Float32Array,
  L: Float32Array,
  G: Float32Array,
  DQ: Float32Array | Float64Array,
  DK: Float32Array | Float64Array,
  DV: Float32Array | Float64Array,
  { B, T, H, D, scale }: AttentionDims,
): void {
  const row = H * D;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * row + h * D;
        const l = L[(b * H + h) * T + t];
        let delta = 0; // sum_d dO * O
        for (let d = 0; d < D; d++) delta += G[qo + d] * O[qo + d];
        for (let s = 0; s <= t; s++) {
          const ko = (b * T + s) * row + h * D;
          let dot = 0, dp = 0;
          for (let d = 0; d < D; d++) {
            dot += Q[qo + d] * K[ko + d];
            dp += G[qo + d] * Vv[ko + d];
          }
          const pr = Math.exp(dot * scale - l);
          const ds = pr * (dp - delta) * scale;
          for (let d = 0; d < D; d++) {
            DV[ko + d] += pr * G[qo + d];
            DQ[qo + d] += ds * K[ko + d];
            DK[ko + d] += ds * Q[qo + d];
          }
        }
      }
    }
  }
}

/**
 * LayerNorm forward over rows of X [N, C] with float64 sums: O = (X - mean) * rstd * W + Bb,
 * saving Mu = mean [N] and R = rstd [N] (also the fast backend's path for C % 4 != 0).
 */
export function layerNormRowsForward(
  X: Float32Array,
  W: Float32Array,
  Bb: Float32Array,
  O: Float32Array,
  Mu: Float32Array,
  R: Float32Array,
  N: number,
  C: number,
  eps: number,
): void {
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let m = 0;
    for (let c = 0; c < C; c++) m += X[o + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (X[o + c] - m) ** 2;
    const rs = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) O[o + c] = (X[o + c] - m) * rs * W[c] + Bb[c];
    Mu[r] = m;
    R[r] = rs;
  }
}

/**
 * LayerNorm backward: DX [N, C] and DW, DB [C] (overwritten) from G = dout, X, W and the
 * forward's Mu, R (also the fast backend's path for C % 4 != 0).
 */
export function layerNormRowsBackward(
  G: Float32Array,
  X: Float32Array,
  W: Float32Array,
  Mu: Float32Array,
  R: Float32Array,
  DX: Float32Array,
  DW: Float32Array,
  DB: Float32Array,
  N: number,
  C: number,
): void {
  const dwAcc = new Float64Array(C), dbAcc = new Float64Array(C);
  for (let r = 0; r < N; r++) {
    const o = r * C, m = Mu[r], rs = R[r];
    let sumG = 0, sumGX = 0;
    for (let c = 0; c < C; c++) {
      const xh = (X[o + c] - m) * rs;
      const gw = G[o + c] * W[c];
      sumG += gw;
      sumGX += gw * xh;
      dwAcc[c] += G[o + c] * xh;
      dbAcc[c] += G[o + c];
    }
    sumG /= C;
    sumGX /= C;
    for (let c = 0; c < C; c++) {
      const xh = (X[o + c] - m) * rs;
      DX[o + c] = (G[o + c] * W[c] - sumG - xh * sumGX) * rs;
    }
  }
  for (let c = 0; c < C; c++) {
    DW[c] = dwAcc[c];
    DB[c] = dbAcc[c];
  }
}
