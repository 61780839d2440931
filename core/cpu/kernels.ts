// Faster plain-TypeScript kernels for the "cpu" backend (same results as ref.ts up to float
// rounding): monomorphic loops with the op chosen outside the loop, contiguous fast paths for
// broadcasting, attention as chunks of heads through the (WASM) batched matmul with only a
// transient T x T score block, and a cross-entropy whose backward reuses the forward's row
// log-sum-exps. Anything not here falls back to ref.ts.

import type { Backend, BinaryOp, Storage, UnaryOp } from "../backend.ts";
import { arr, binaryFn, erf, forStrided, geluErfGrad } from "./ref.ts";

const f = (s: Storage) => arr(s) as Float32Array;
const GELU_C = Math.sqrt(2 / Math.PI);

/** Largest GELU input (elements) whose tanh values the forward keeps for the backward. */
const GELU_CACHE_MAX = 1 << 24;
const geluCache = new WeakMap<Storage, Float32Array>();

/** Largest logits (elements) whose exps the cross-entropy forward keeps for its backward. */
const CE_CACHE_MAX = 1 << 24;

/** Per logits storage: the forward's row max, log-sum-exp and exps (weakly held). */
const ceCache = new WeakMap<Storage, {
  lse: Float32Array;
  rowMax: Float32Array;
  exps: Float32Array | undefined;
  targets: Storage;
  N: number;
  V: number;
  ignoreIndex: number;
}>();

export type MatmulFn = (
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  batch: number,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
) => void;

/** Batched matmul in plain TypeScript (used when the WASM kernels are absent). */
export const jsMatmul: MatmulFn = (A, B, O, batch, M, N, K, transA, transB) => {
  for (let bt = 0; bt < batch; bt++) {
    matmulOne(A, B, O, bt * M * K, bt * K * N, bt * M * N, M, N, K, transA, transB);
  }
};

/** out = op(A) @ op(B) for one batch, i-k-j order so the inner loop is contiguous. */
function matmulOne(
  A: Float32Array,
  B: Float32Array,
  O: Float32Array,
  ao: number,
  bo: number,
  oo: number,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
): void {
  if (transB) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        const bj = bo + j * K;
        if (!transA) {
          const ai = ao + i * K;
          for (let k = 0; k < K; k++) acc += A[ai + k] * B[bj + k];
        } else {
          for (let k = 0; k < K; k++) acc += A[ao + k * M + i] * B[bj + k];
        }
        O[oo + i * N + j] = acc;
      }
    }
    return;
  }
  O.fill(0, oo, oo + M * N);
  for (let i = 0; i < M; i++) {
    const oi = oo + i * N;
    for (let k = 0; k < K; k++) {
      const av = transA ? A[ao + k * M + i] : A[ao + i * K + k];
      if (av === 0) continue;
      const bk = bo + k * N;
      for (let j = 0; j < N; j++) O[oi + j] += av * B[bk + j];
    }
  }
}

function unaryLoop(
  op: UnaryOp,
  X: Float32Array,
  O: Float32Array,
  n: number,
  a: number,
  b: number,
  tanhOut?: Float32Array,
) {
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) O[i] = -X[i];
      return;
    case "exp":
      for (let i = 0; i < n; i++) O[i] = Math.exp(X[i]);
      return;
    case "log":
      for (let i = 0; i < n; i++) O[i] = Math.log(X[i]);
      return;
    case "sqrt":
      for (let i = 0; i < n; i++) O[i] = Math.sqrt(X[i]);
      return;
    case "rsqrt":
      for (let i = 0; i < n; i++) O[i] = 1 / Math.sqrt(X[i]);
      return;
    case "affine":
      for (let i = 0; i < n; i++) O[i] = X[i] * a + b;
      return;
    case "recip":
      for (let i = 0; i < n; i++) O[i] = 1 / X[i];
      return;
    case "geluTanh":
      for (let i = 0; i < n; i++) {
        const x = X[i];
        const u = GELU_C * (x + 0.044715 * x * x * x);
        // tanh(u) = 1 - 2 / (e^{2u} + 1), stable for large |u|
        const th = u > 15 ? 1 : u < -15 ? -1 : 1 - 2 / (Math.exp(2 * u) + 1);
        O[i] = 0.5 * x * (1 + th);
        if (tanhOut) tanhOut[i] = th;
      }
      return;
    case "geluErf":
      for (let i = 0; i < n; i++) O[i] = 0.5 * X[i] * (1 + erf(X[i] / Math.SQRT2));
      return;
    default:
      for (let i = 0; i < n; i++) O[i] = unaryScalar(op, X[i], a);
  }
}

function unaryScalar(op: UnaryOp, x: number, a: number): number {
  switch (op) {
    case "tanh":
      return Math.tanh(x);
    case "abs":
      return Math.abs(x);
    case "relu":
      return x > 0 ? x : 0;
    case "powScalar":
      return Math.pow(x, a);
    case "sign":
      return x > 0 ? 1 : x < 0 ? -1 : 0;
    case "step":
      return x > 0 ? 1 : 0;
  }
  throw new Error(`unary: unknown op "${op}"`);
}

/** Contiguous same-length loop; bStep = 0 broadcasts a scalar b, aStep = 0 a scalar a. */
function binaryFlat(
  op: BinaryOp,
  A: Float32Array,
  B: Float32Array,
  O: Float32Array,
  n: number,
  aStep: number,
  bStep: number,
  bMod: number, // b index = i % bMod (row broadcast of a trailing vector), 0 = not used
  tanhIn?: Float32Array, // geluTanhBwd: tanh values saved by the forward (same layout as A)
): boolean {
  if (bMod > 0) {
    if (op !== "add" && op !== "mul" && op !== "sub" && op !== "div") return false;
    for (let o = 0; o < n; o += bMod) {
      for (let j = 0; j < bMod; j++) {
        const x = A[o + j], y = B[j];
        O[o + j] = op === "add" ? x + y : op === "mul" ? x * y : op === "sub" ? x - y : x / y;
      }
    }
    return true;
  }
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) O[i] = A[i * aStep] + B[i * bStep];
      return true;
    case "sub":
      for (let i = 0; i < n; i++) O[i] = A[i * aStep] - B[i * bStep];
      return true;
    case "mul":
      for (let i = 0; i < n; i++) O[i] = A[i * aStep] * B[i * bStep];
      return true;
    case "div":
      for (let i = 0; i < n; i++) O[i] = A[i * aStep] / B[i * bStep];
      return true;
    case "geluTanhBwd":
      for (let i = 0; i < n; i++) {
        const x = A[i * aStep];
        let th: number;
        if (tanhIn) th = tanhIn[i];
        else {
          const u = GELU_C * (x + 0.044715 * x * x * x);
          th = u > 15 ? 1 : u < -15 ? -1 : 1 - 2 / (Math.exp(2 * u) + 1);
        }
        const d = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_C * (1 + 0.134145 * x * x);
        O[i] = d * B[i * bStep];
      }
      return true;
    case "geluErfBwd":
      for (let i = 0; i < n; i++) O[i] = geluErfGrad(A[i * aStep]) * B[i * bStep];
      return true;
  }
  return false;
}

function isContiguous(shape: number[], strides: number[]): boolean {
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== acc) return false;
    acc *= shape[d];
  }
  return true;
}

/** Strides read only the last `k` axes contiguously and broadcast the rest (stride 0). */
function trailingRow(shape: number[], strides: number[]): number {
  let k = shape.length, acc = 1;
  while (k > 0 && (strides[k - 1] === acc || shape[k - 1] === 1)) {
    acc *= shape[k - 1];
    k--;
  }
  for (let d = 0; d < k; d++) if (strides[d] !== 0 && shape[d] !== 1) return 0;
  return acc;
}

/**
 * The fast kernels. `mm` is the batched matmul to build on (WASM when available) and `scratch`
 * allocates Float32Arrays it can use in place; attention runs as chunks of heads through mm.
 */
export function fastKernels(
  mm: MatmulFn = jsMatmul,
  scratch: (n: number) => Float32Array = (n) => new Float32Array(n),
  release: (a: Float32Array) => void = () => {},
): Partial<Backend> {
  return {
    matmul(a, b, out, batch, M, N, K, transA, transB) {
      mm(f(a), f(b), f(out), batch, M, N, K, transA, transB);
    },
    attentionForward(q, k, v, out, lse, B, T, H, D, scale) {
      attentionFwd(mm, scratch, release, f(q), f(k), f(v), f(out), f(lse), B, T, H, D, scale);
    },
    attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, B, T, H, D, scale) {
      attentionBwd(
        mm,
        scratch,
        release,
        f(q),
        f(k),
        f(v),
        f(out),
        f(lse),
        f(dout),
        f(dq),
        f(dk),
        f(dv),
        B,
        T,
        H,
        D,
        scale,
      );
    },

    copyStrided(src, dst, shape, srcStrides, srcOffset, dstStrides, dstOffset) {
      const S = arr(src), Dd = arr(dst), r = shape.length;
      const last = r ? shape[r - 1] : 1;
      if (r === 0 || srcStrides[r - 1] !== 1 || dstStrides[r - 1] !== 1 || last < 4) {
        forStrided(shape, srcStrides, dstStrides, srcOffset, dstOffset, (_i, a, b) => {
          Dd[b] = S[a];
        });
        return;
      }
      // contiguous rows: one typed-array copy per row
      const outer = shape.slice(0, -1);
      forStrided(
        outer,
        srcStrides.slice(0, -1),
        dstStrides.slice(0, -1),
        srcOffset,
        dstOffset,
        (_i, a, b) => {
          Dd.set(S.subarray(a, a + last), b);
        },
      );
    },

    unary(op, x, out, n, a, b) {
      // GELU keeps its tanh values (weakly, per input storage) for geluTanhBwd
      const keepTanh = op === "geluTanh" && n <= GELU_CACHE_MAX ? new Float32Array(n) : undefined;
      unaryLoop(op, f(x), f(out), n, a, b, keepTanh);
      if (keepTanh) geluCache.set(x, keepTanh);
    },

    binary(op, a, b, out, shape, aStrides, bStrides) {
      const A = f(a), B = f(b), O = f(out);
      const n = shape.reduce((p, q) => p * q, 1);
      const aC = isContiguous(shape, aStrides), bC = isContiguous(shape, bStrides);
      const aS = aStrides.every((s) => s === 0), bS = bStrides.every((s) => s === 0);
      if ((aC || aS) && (bC || bS)) {
        let tanhIn: Float32Array | undefined;
        if (op === "geluTanhBwd" && aC) {
          tanhIn = geluCache.get(a);
          if (tanhIn && tanhIn.length !== n) tanhIn = undefined;
          geluCache.delete(a);
        }
        if (binaryFlat(op, A, B, O, n, aS ? 0 : 1, bS ? 0 : 1, 0, tanhIn)) return;
      }
      if (aC && !bS) {
        const row = trailingRow(shape, bStrides);
        if (row > 0 && n % row === 0 && binaryFlat(op, A, B, O, n, 1, 1, row)) return;
      }
      const fn = binaryFn(op);
      forStrided(shape, aStrides, bStrides, 0, 0, (i, ia, ib) => {
        O[i] = fn(A[ia], B[ib]);
      });
    },

    reduce(op, x, out, outer, dim, inner) {
      const X = f(x), O = f(out);
      if (op === "sum") {
        for (let o = 0; o < outer; o++) {
          const oo = o * inner;
          for (let i = 0; i < inner; i++) O[oo + i] = 0;
          for (let d = 0; d < dim; d++) {
            const xo = (o * dim + d) * inner;
            for (let i = 0; i < inner; i++) O[oo + i] += X[xo + i];
          }
        }
        return;
      }
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let m = -Infinity;
          for (let d = 0; d < dim; d++) {
            const v = X[(o * dim + d) * inner + i];
            if (v > m || v !== v) m = v;
          }
          O[o * inner + i] = m;
        }
      }
    },

    crossEntropyForward(logits, targets, out, N, V, ignoreIndex) {
      const L = f(logits), Tg = arr(targets) as Int32Array;
      // keep exp(l - max) for the backward pass when it fits the cache budget
      const exps = N * V <= CE_CACHE_MAX ? new Float32Array(N * V) : undefined;
      const lse = new Float32Array(N), rowMax = new Float32Array(N);
      let total = 0, count = 0;
      for (let r = 0; r < N; r++) {
        const t = Tg[r];
        if (t === ignoreIndex) continue;
        if (t < 0 || t >= V) throw new Error(`crossEntropy: target ${t} is outside [0, ${V})`);
        const o = r * V;
        let mx = -Infinity;
        for (let c = 0; c < V; c++) if (L[o + c] > mx) mx = L[o + c];
        let s = 0;
        if (exps) {
          for (let c = 0; c < V; c++) {
            const e = Math.exp(L[o + c] - mx);
            exps[o + c] = e;
            s += e;
          }
        } else for (let c = 0; c < V; c++) s += Math.exp(L[o + c] - mx);
        rowMax[r] = mx;
        lse[r] = mx + Math.log(s);
        total += lse[r] - L[o + t];
        count++;
      }
      f(out)[0] = count ? total / count : 0;
      // storages are immutable, so these stay valid for the backward pass of this logits
      ceCache.set(logits, { lse, rowMax, exps, targets, N, V, ignoreIndex });
    },
    crossEntropyBackward(logits, targets, dout, dlogits, N, V, ignoreIndex) {
      const L = f(logits), Tg = arr(targets) as Int32Array, D = f(dlogits);
      let count = 0;
      for (let r = 0; r < N; r++) if (Tg[r] !== ignoreIndex) count++;
      if (!count) return;
      const scale = f(dout)[0] / count;
      const c0 = ceCache.get(logits);
      const hit = c0 && c0.targets === targets && c0.N === N && c0.V === V &&
        c0.ignoreIndex === ignoreIndex;
      ceCache.delete(logits); // used once: free the exps now rather than at GC
      for (let r = 0; r < N; r++) {
        const t = Tg[r];
        if (t === ignoreIndex) continue;
        const o = r * V;
        if (hit && c0.exps) {
          // softmax = exp(l - max) / exp(lse - max)
          const k = scale / Math.exp(c0.lse[r] - c0.rowMax[r]), E = c0.exps;
          for (let c = 0; c < V; c++) D[o + c] = E[o + c] * k;
        } else {
          let l: number;
          if (hit) l = c0.lse[r];
          else {
            let mx = -Infinity;
            for (let c = 0; c < V; c++) if (L[o + c] > mx) mx = L[o + c];
            let s = 0;
            for (let c = 0; c < V; c++) s += Math.exp(L[o + c] - mx);
            l = mx + Math.log(s);
          }
          for (let c = 0; c < V; c++) D[o + c] = Math.exp(L[o + c] - l) * scale;
        }
        D[o + t] -= scale;
      }
    },

    softmax(x, out, rows, cols, log) {
      const X = f(x), O = f(out);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let mx = -Infinity;
        for (let c = 0; c < cols; c++) if (X[o + c] > mx) mx = X[o + c];
        let s = 0;
        for (let c = 0; c < cols; c++) {
          const e = Math.exp(X[o + c] - mx);
          if (!log) O[o + c] = e;
          s += e;
        }
        if (log) {
          const lse = mx + Math.log(s);
          for (let c = 0; c < cols; c++) O[o + c] = X[o + c] - lse;
        } else {
          const k = 1 / s;
          for (let c = 0; c < cols; c++) O[o + c] *= k;
        }
      }
    },

    rope(x, out, B, T, H, D, base, inverse) {
      const X = f(x), O = f(out), half = D / 2;
      const cos = new Float32Array(T * half), sin = new Float32Array(T * half);
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < half; j++) {
          const th = t * Math.pow(base, (-2 * j) / D);
          cos[t * half + j] = Math.cos(th);
          sin[t * half + j] = inverse ? -Math.sin(th) : Math.sin(th);
        }
      }
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const tc = t * half;
          for (let h = 0; h < H; h++) {
            const o = ((b * T + t) * H + h) * D;
            for (let j = 0; j < half; j++) {
              const c = cos[tc + j], s = sin[tc + j];
              const x1 = X[o + j], x2 = X[o + j + half];
              O[o + j] = x1 * c - x2 * s;
              O[o + j + half] = x2 * c + x1 * s;
            }
          }
        }
      }
    },
  };
}

let chunkFloats = 1 << 23;

/** Budget (floats) for one chunk's transient T x T scores; tests lower it to force chunking. */
export function setAttentionChunkFloats(n: number): void {
  chunkFloats = Math.max(1, Math.floor(n));
}

/** Heads per chunk, so the transient T x T scores of a chunk stay under the budget. */
function chunkHeads(T: number, BH: number): number {
  return Math.max(1, Math.min(BH, Math.floor(chunkFloats / (T * T))));
}

/** out[g, t, :] = X[b, t, h, :] for heads bh = b * H + h in [bh0, bh0 + G). */
function gatherHeads(
  X: Float32Array,
  out: Float32Array,
  bh0: number,
  G: number,
  T: number,
  H: number,
  D: number,
) {
  for (let g = 0; g < G; g++) {
    const b = Math.floor((bh0 + g) / H), h = (bh0 + g) % H;
    for (let t = 0; t < T; t++) {
      const src = ((b * T + t) * H + h) * D;
      out.set(X.subarray(src, src + D), (g * T + t) * D);
    }
  }
}

function scatterHeads(
  src: Float32Array,
  X: Float32Array,
  bh0: number,
  G: number,
  T: number,
  H: number,
  D: number,
) {
  for (let g = 0; g < G; g++) {
    const b = Math.floor((bh0 + g) / H), h = (bh0 + g) % H;
    for (let t = 0; t < T; t++) {
      const o = (g * T + t) * D;
      X.set(src.subarray(o, o + D), ((b * T + t) * H + h) * D);
    }
  }
}

/**
 * Causal attention forward, chunks of heads at a time: S = Q K^T (one chunk's T x T scores,
 * transient), masked row softmax in place (lse saved), O = P V.
 */
function attentionFwd(
  mm: MatmulFn,
  scratch: (n: number) => Float32Array,
  release: (a: Float32Array) => void,
  Q: Float32Array,
  K: Float32Array,
  V: Float32Array,
  O: Float32Array,
  L: Float32Array,
  B: number,
  T: number,
  H: number,
  D: number,
  scale: number,
): void {
  const BH = B * H, G = chunkHeads(T, BH);
  const qc = scratch(G * T * D), kc = scratch(G * T * D), vc = scratch(G * T * D);
  const oc = scratch(G * T * D), S = scratch(G * T * T);
  for (let bh0 = 0; bh0 < BH; bh0 += G) {
    const g = Math.min(G, BH - bh0);
    gatherHeads(Q, qc, bh0, g, T, H, D);
    gatherHeads(K, kc, bh0, g, T, H, D);
    gatherHeads(V, vc, bh0, g, T, H, D);
    mm(qc, kc, S, g, T, T, D, false, true);
    for (let gi = 0; gi < g; gi++) {
      for (let t = 0; t < T; t++) {
        const o = (gi * T + t) * T;
        let mx = -Infinity;
        for (let s = 0; s <= t; s++) {
          const z = S[o + s] * scale;
          S[o + s] = z;
          if (z > mx) mx = z;
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) {
          const e = Math.exp(S[o + s] - mx);
          S[o + s] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let s = 0; s <= t; s++) S[o + s] *= inv;
        S.fill(0, o + t + 1, o + T);
        L[(bh0 + gi) * T + t] = mx + Math.log(sum);
      }
    }
    mm(S, vc, oc, g, T, D, T, false, false);
    scatterHeads(oc, O, bh0, g, T, H, D);
  }
  for (const a of [qc, kc, vc, oc, S]) release(a);
}

/** Causal attention backward by chunks of heads, recomputing P from Q, K and the saved lse. */
function attentionBwd(
  mm: MatmulFn,
  scratch: (n: number) => Float32Array,
  release: (a: Float32Array) => void,
  Q: Float32Array,
  K: Float32Array,
  V: Float32Array,
  O: Float32Array,
  L: Float32Array,
  dO: Float32Array,
  dQ: Float32Array,
  dK: Float32Array,
  dV: Float32Array,
  B: number,
  T: number,
  H: number,
  D: number,
  scale: number,
): void {
  const BH = B * H, G = chunkHeads(T, BH), n = G * T * D;
  const qc = scratch(n), kc = scratch(n), vc = scratch(n), oc = scratch(n), gc = scratch(n);
  const dqc = scratch(n), dkc = scratch(n), dvc = scratch(n);
  const P = scratch(G * T * T), dP = scratch(G * T * T);
  for (let bh0 = 0; bh0 < BH; bh0 += G) {
    const g = Math.min(G, BH - bh0);
    gatherHeads(Q, qc, bh0, g, T, H, D);
    gatherHeads(K, kc, bh0, g, T, H, D);
    gatherHeads(V, vc, bh0, g, T, H, D);
    gatherHeads(O, oc, bh0, g, T, H, D);
    gatherHeads(dO, gc, bh0, g, T, H, D);
    mm(qc, kc, P, g, T, T, D, false, true);
    for (let gi = 0; gi < g; gi++) {
      for (let t = 0; t < T; t++) {
        const o = (gi * T + t) * T, l = L[(bh0 + gi) * T + t];
        for (let s = 0; s <= t; s++) P[o + s] = Math.exp(P[o + s] * scale - l);
        P.fill(0, o + t + 1, o + T);
      }
    }
    mm(P, gc, dvc, g, T, D, T, true, false); // dV = P^T dO
    mm(gc, vc, dP, g, T, T, D, false, true); // dP = dO V^T
    for (let gi = 0; gi < g; gi++) {
      for (let t = 0; t < T; t++) {
        const qo = (gi * T + t) * D, o = (gi * T + t) * T;
        let delta = 0;
        for (let d = 0; d < D; d++) delta += gc[qo + d] * oc[qo + d];
        for (let s = 0; s <= t; s++) dP[o + s] = P[o + s] * (dP[o + s] - delta) * scale;
        dP.fill(0, o + t + 1, o + T);
      }
    }
    mm(dP, kc, dqc, g, T, D, T, false, false); // dQ = dS K
    mm(dP, qc, dkc, g, T, D, T, true, false); // dK = dS^T Q
    scatterHeads(dqc, dQ, bh0, g, T, H, D);
    scatterHeads(dkc, dK, bh0, g, T, H, D);
    scatterHeads(dvc, dV, bh0, g, T, H, D);
  }
  for (const a of [qc, kc, vc, oc, gc, dqc, dkc, dvc, P, dP]) release(a);
}
