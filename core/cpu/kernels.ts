// The plain-TypeScript kernels of the "cpu" backend that the WebAssembly module does not provide
// (same results as ref.ts up to float rounding): strided copy with a row fast path, elementwise
// unary and broadcasting binary ops with the op chosen outside the loop and contiguous fast
// paths, reduce and row softmax, each accumulating in float32 like the wasm kernels. Stateless:
// every kernel writes only its output. Anything not here comes from fast/ (wasm) or ref.ts.

import type { Backend, BinaryOp, Storage, UnaryOp } from "../backend.ts";
import { arr, binaryFn, forStrided, unaryFn } from "./ref.ts";

const f = (s: Storage) => arr(s) as Float32Array;
function unaryLoop(op: UnaryOp, X: Float32Array, O: Float32Array, n: number, a: number, b: number) {
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
    default: {
      const fn = unaryFn(op, a, b);
      for (let i = 0; i < n; i++) O[i] = fn(X[i]);
    }
  }
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
  }
  return false;
}

export function isContiguous(shape: number[], strides: number[]): boolean {
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== acc) return false;
    acc *= shape[d];
  }
  return true;
}

/** Strides read only the last `k` axes contiguously and broadcast the rest (stride 0). */
export function trailingRow(shape: number[], strides: number[]): number {
  let k = shape.length, acc = 1;
  while (k > 0 && (strides[k - 1] === acc || shape[k - 1] === 1)) {
    acc *= shape[k - 1];
    k--;
  }
  for (let d = 0; d < k; d++) if (strides[d] !== 0 && shape[d] !== 1) return 0;
  return acc;
}

/** The kernels of this file, to lay over ref.ts's in the "cpu" backend. */
export function tsKernels(): Partial<Backend> {
  return {
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
      unaryLoop(op, f(x), f(out), n, a, b);
    },

    binary(op, a, b, out, shape, aStrides, bStrides) {
      const A = f(a), B = f(b), O = f(out);
      const n = shape.reduce((p, q) => p * q, 1);
      const aC = isContiguous(shape, aStrides), bC = isContiguous(shape, bStrides);
      const aS = aStrides.every((s) => s === 0), bS = bStrides.every((s) => s === 0);
      if ((aC || aS) && (bC || bS)) {
        if (binaryFlat(op, A, B, O, n, aS ? 0 : 1, bS ? 0 : 1, 0)) return;
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
  };
}
