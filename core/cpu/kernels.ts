// Faster plain-TypeScript kernels for the "cpu" backend (same results as ref.ts up to float
// rounding): loop orders that stream memory, float32 scratch, no per-element closures.

import type { Backend } from "../backend.ts";
import { arr } from "./ref.ts";

const f = (s: { size: number }) => arr(s as never) as Float32Array;

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
    // O[i,j] = sum_k A[i,k] B[j,k]: dot products of contiguous rows
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

export function fastKernels(): Partial<Backend> {
  return {
    matmul(a, b, out, batch, M, N, K, transA, transB) {
      const A = f(a), B = f(b), O = f(out);
      for (let bt = 0; bt < batch; bt++) {
        matmulOne(A, B, O, bt * M * K, bt * K * N, bt * M * N, M, N, K, transA, transB);
      }
    },
  };
}
