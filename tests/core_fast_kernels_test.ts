// Property tests of the fast CPU kernels (core/cpu/fast): matmulF32 on random shapes,
// all transpose combinations and batches against a float64 triple-loop reference,
// single- and multi-threaded, with inputs in ordinary arrays or in shared wasm memory.

import fc from "fast-check";
import {
  allocF32,
  fastInfo,
  fastMemoryStats,
  fastStats,
  freeF32,
  matmulF32,
  setFastThreads,
  shutdownFast,
  warmupFast,
} from "../core/cpu/fast/mod.ts";
import { runJob } from "../core/cpu/fast/pool.ts";
import { xorshiftUniform } from "./xorshift.ts";

interface Case {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  seed: number;
}

function randomArray(n: number, seed: number): Float32Array {
  return Float32Array.from(xorshiftUniform(n, seed), (u) => u * 2 - 1);
}

/** Reference in float64: value and sum of |products| (for the error bound) per element. */
function reference(a: Float32Array, b: Float32Array, c: Case): [Float64Array, Float64Array] {
  const { batch, M, N, K, transA, transB } = c;
  const val = new Float64Array(batch * M * N), mag = new Float64Array(batch * M * N);
  for (let q = 0; q < batch; q++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0, m = 0;
        for (let k = 0; k < K; k++) {
          const x = transA ? a[q * M * K + k * M + i] : a[q * M * K + i * K + k];
          const y = transB ? b[q * K * N + j * K + k] : b[q * K * N + k * N + j];
          s += x * y;
          m += Math.abs(x * y);
        }
        val[q * M * N + i * N + j] = s;
        mag[q * M * N + i * N + j] = m;
      }
    }
  }
  return [val, mag];
}

function assertClose(out: Float32Array, c: Case, a: Float32Array, b: Float32Array): void {
  const [val, mag] = reference(a, b, c);
  for (let i = 0; i < val.length; i++) {
    const tol = 1e-5 * mag[i] + 1e-6;
    if (!(Math.abs(out[i] - val[i]) <= tol)) {
      throw new Error(
        `element ${i}: got ${out[i]}, want ${val[i]} (tol ${tol}) for ${JSON.stringify(c)}`,
      );
    }
  }
}

const dim = fc.oneof(
  fc.constantFrom(1, 3, 4, 8, 17, 33),
  fc.integer({ min: 1, max: 70 }),
);
const smallCase: fc.Arbitrary<Case> = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  M: dim,
  N: dim,
  K: fc.oneof(dim, fc.integer({ min: 250, max: 600 })),
  transA: fc.boolean(),
  transB: fc.boolean(),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});
// Big enough to pass the parallel threshold (>= 8 MFLOP).
const bigCase: fc.Arbitrary<Case> = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  M: fc.integer({ min: 120, max: 200 }),
  N: fc.integer({ min: 120, max: 200 }),
  K: fc.integer({ min: 280, max: 300 }),
  transA: fc.boolean(),
  transB: fc.boolean(),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

function runCase(c: Case, shared: boolean): void {
  const { batch, M, N, K } = c;
  const a0 = randomArray(batch * M * K, c.seed);
  const b0 = randomArray(batch * K * N, c.seed + 7);
  const a = shared ? allocF32(a0.length) : a0.slice();
  const b = shared ? allocF32(b0.length) : b0.slice();
  const out = shared ? allocF32(batch * M * N) : new Float32Array(batch * M * N);
  a.set(a0);
  b.set(b0);
  out.fill(Number.NaN);
  try {
    matmulF32(a, b, out, batch, M, N, K, c.transA, c.transB);
    assertClose(out, c, a0, b0);
    if (a.some((x, i) => !Object.is(x, a0[i])) || b.some((x, i) => !Object.is(x, b0[i]))) {
      throw new Error(`matmulF32 mutated an input for ${JSON.stringify(c)}`);
    }
  } finally {
    if (shared) [a, b, out].forEach(freeF32);
  }
}

Deno.test("fastInfo reports SIMD and at least one thread", () => {
  const info = fastInfo();
  if (!info.simd || info.threads < 1) throw new Error(JSON.stringify(info));
});

Deno.test("matmulF32 matches the float64 reference on small odd shapes (main thread)", () => {
  fc.assert(fc.property(smallCase, (c) => runCase(c, false)), { numRuns: 150 });
});

Deno.test("matmulF32 on every shape around the tile sizes (MR, NR, KU, K blocks)", () => {
  // rows around multiples of MR = 5, columns around NR = 8, K around KU = 4 (the gather pack
  // takes four k at a time) and around the 256-wide K blocks; all transposes, batch 2
  let seed = 100;
  for (const M of [4, 5, 6, 9, 10, 11]) {
    for (const N of [7, 8, 9, 16, 17]) {
      for (const K of [1, 2, 3, 5, 7, 255, 256, 257, 260]) {
        for (
          const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]
        ) {
          runCase({ batch: 2, M, N, K, transA, transB, seed: seed++ }, seed % 2 === 0);
        }
      }
    }
  }
});

Deno.test("matmulF32 works in place on allocF32 views and frees them all", () => {
  const before = fastMemoryStats().liveCount;
  fc.assert(fc.property(smallCase, (c) => runCase(c, true)), { numRuns: 60 });
  // N % 8 == 0 takes the direct-output path (M % MR != 0 also exercises its edge tile).
  runCase({ batch: 2, M: 66, N: 40, K: 33, transA: true, transB: false, seed: 5 }, true);
  runCase({ batch: 3, M: 67, N: 48, K: 300, transA: false, transB: true, seed: 6 }, true);
  if (fastMemoryStats().liveCount !== before) throw new Error("allocF32 views leaked");
});

Deno.test("matmulF32 matches the reference with worker threads", async () => {
  setFastThreads(2);
  await warmupFast();
  fc.assert(fc.property(bigCase, (c) => runCase(c, false)), { numRuns: 8 });
  fc.assert(fc.property(bigCase, (c) => runCase(c, true)), { numRuns: 4 });
  shutdownFast();
});

Deno.test("matmulF32 results are identical with 1 and 2 threads", async () => {
  // [case, parallel jobs with 2 threads]: the packing before the GEMM job is a job of its
  // own when large (B for the M-split, A for the N-split), else done by the main thread
  const cases: [Case, number][] = [
    // M > N: M-split; packed B of 158K floats: packed by all threads
    [{ batch: 1, M: 300, N: 260, K: 600, transA: false, transB: true, seed: 9 }, 2],
    // A's K block fits in L2 and M <= N: N-split; packed A of 143K floats: all threads
    [{ batch: 1, M: 130, N: 600, K: 1100, transA: true, transB: false, seed: 10 }, 2],
    // N-split with a small A packed by the main thread
    [{ batch: 2, M: 40, N: 1030, K: 1030, transA: false, transB: true, seed: 11 }, 1],
  ];
  for (const [c, jobs] of cases) {
    const a = randomArray(c.batch * c.M * c.K, 1), b = randomArray(c.batch * c.K * c.N, 2);
    const one = new Float32Array(c.batch * c.M * c.N), two = one.slice();
    setFastThreads(1);
    matmulF32(a, b, one, c.batch, c.M, c.N, c.K, c.transA, c.transB);
    setFastThreads(2);
    await warmupFast();
    fastStats(true);
    matmulF32(a, b, two, c.batch, c.M, c.N, c.K, c.transA, c.transB);
    const ran = fastStats().parallelJobs;
    shutdownFast();
    if (ran !== jobs) throw new Error(`${ran} parallel jobs, want ${jobs}: ${JSON.stringify(c)}`);
    if (one.some((x, i) => !Object.is(x, two[i]))) {
      throw new Error(`results differ by thread count: ${JSON.stringify(c)}`);
    }
    assertClose(two, c, a, b);
  }
});

Deno.test("a failing parallel job throws and leaves the pool usable", async () => {
  setFastThreads(2);
  await warmupFast();
  for (let i = 0; i < 3; i++) {
    let threw = false;
    try {
      runJob(99, () => {}, 500, true); // no such job kind: every chunk throws
    } catch {
      threw = true;
    }
    if (!threw) throw new Error("a failing job did not throw");
    runCase({ batch: 2, M: 130, N: 150, K: 290, transA: true, transB: true, seed: 11 + i }, false);
  }
  shutdownFast();
});

Deno.test("matmulF32 with K = 0 writes zeros, and rejects bad arguments", () => {
  const out = new Float32Array(6).fill(3);
  matmulF32(new Float32Array(0), new Float32Array(0), out, 1, 2, 3, 0, false, false);
  if (out.some((x) => x !== 0)) throw new Error("K = 0 must give zeros");
  const bad = [
    () => matmulF32(new Float32Array(3), new Float32Array(6), out, 1, 2, 3, 2, false, false),
    () => matmulF32(new Float32Array(4), new Float32Array(6), out, 1, 2, 3, 1.5, false, false),
  ];
  for (const f of bad) {
    let threw = false;
    try {
      f();
    } catch {
      threw = true;
    }
    if (!threw) throw new Error("bad arguments were accepted");
  }
});

Deno.test("allocF32 rejects bad lengths and freeF32 rejects foreign arrays", () => {
  let threw = 0;
  for (const f of [() => allocF32(-1), () => freeF32(new Float32Array(4))]) {
    try {
      f();
    } catch {
      threw++;
    }
  }
  if (threw !== 2) throw new Error("expected both calls to throw");
  shutdownFast();
});
