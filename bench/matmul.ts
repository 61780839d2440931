// Benchmark of matmulF32 (core/cpu/fast): GFLOP/s at 256^3, 512^3 and 1024^3 with all
// threads and with one thread, against a plain TypeScript triple loop (i-k-j order) run
// in the same process. `--json` prints one JSON object of the same figures.
// Usage: deno run -A bench/matmul.ts [--json] [--reps 5]

import { parseArgs } from "node:util";
import {
  fastInfo,
  matmulF32,
  setFastThreads,
  shutdownFast,
  warmupFast,
} from "../core/cpu/fast/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { json: { type: "boolean", default: false }, reps: { type: "string", default: "5" } },
});
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 1) {
  console.error(`--reps must be a positive integer, got ${values.reps}`);
  Deno.exit(2);
}

/** The peer: a plain TypeScript triple loop, i-k-j order, float32 arrays. */
function naiveMatmul(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const x = a[i * n + k];
      const ob = i * n, bb = k * n;
      for (let j = 0; j < n; j++) out[ob + j] += x * b[bb + j];
    }
  }
}

function randomArray(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
}

/** Best-of-`reps` GFLOP/s of f (after one warm-up call). */
function gflops(n: number, f: () => void, times: number): number {
  f();
  let best = Infinity;
  for (let r = 0; r < times; r++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return 2 * n ** 3 / (best * 1e6);
}

const sizes = [256, 512, 1024];
const rows: { n: number; fast: number; fast1: number; naiveTs: number }[] = [];
const threads = await warmupFast();
for (const n of sizes) {
  const a = randomArray(n * n), b = randomArray(n * n), out = new Float32Array(n * n);
  const run = () => matmulF32(a, b, out, 1, n, n, n, false, false);
  setFastThreads(threads);
  await warmupFast();
  const fast = gflops(n, run, reps);
  setFastThreads(1);
  const fast1 = gflops(n, run, reps);
  const naiveTs = gflops(n, () => naiveMatmul(a, b, out, n), n >= 1024 ? 1 : 2);
  rows.push({ n, fast, fast1, naiveTs });
}
setFastThreads(threads);
shutdownFast();

const info = fastInfo();
if (values.json) {
  console.log(JSON.stringify({
    bench: "matmul",
    unit: "GFLOP/s",
    threads: info.threads,
    fma: info.fma,
    reps,
    results: rows,
  }));
} else {
  console.log(`matmulF32 GFLOP/s (best of ${reps}; ${info.threads} threads, fma=${info.fma})`);
  console.log("size    fast(all threads)  fast(1 thread)  plain TS loop  speedup");
  for (const r of rows) {
    console.log(
      `${String(r.n).padEnd(8)}${r.fast.toFixed(1).padStart(17)}${r.fast1.toFixed(1).padStart(16)}${
        r.naiveTs.toFixed(2).padStart(15)
      }${(r.fast / r.naiveTs).toFixed(0).padStart(8)}x`,
    );
  }
}
