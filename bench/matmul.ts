// Benchmark of matmulF32 (core/cpu/fast): GFLOP/s at 256^3, 512^3 and 1024^3 with all
// threads and with one thread, by wall clock and by process CPU time (flops per second of
// CPU used by all our threads together, which a busy shared machine disturbs less), against
// a plain TypeScript triple loop (i-k-j order) run in the same process. `--json` prints one
// JSON object of the same figures.
// Usage: deno run -A bench/matmul.ts [--json] [--reps 5]

import { parseArgs } from "node:util";
import process from "node:process";
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

/** Best-of-`times` GFLOP/s of f (after one warm-up call), by wall clock and by CPU time. */
function measure(n: number, f: () => void, times: number): { wall: number; cpu: number } {
  f();
  let best = Infinity, bestCpu = Infinity;
  for (let r = 0; r < times; r++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    f();
    const t = performance.now() - t0, c = process.cpuUsage(c0);
    best = Math.min(best, t);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
  }
  const flop = 2 * n ** 3;
  return { wall: flop / (best * 1e6), cpu: flop / (bestCpu * 1e6) };
}

const sizes = [256, 512, 1024];
interface Row {
  n: number;
  fast: number; // all threads, wall clock
  fastCpu: number; // all threads, flops per second of process CPU time (all threads summed)
  fast1: number; // 1 thread, wall clock
  fast1Cpu: number; // 1 thread, by CPU time
  naiveTs: number; // the plain TypeScript peer, wall clock
}
const rows: Row[] = [];
const load0 = Deno.loadavg()[0];
const threads = await warmupFast();
for (const n of sizes) {
  const a = randomArray(n * n), b = randomArray(n * n), out = new Float32Array(n * n);
  const run = () => matmulF32(a, b, out, 1, n, n, n, false, false);
  setFastThreads(threads);
  await warmupFast();
  const all = measure(n, run, reps);
  setFastThreads(1);
  const one = measure(n, run, reps);
  const naiveTs = measure(n, () => naiveMatmul(a, b, out, n), n >= 1024 ? 1 : 2).wall;
  rows.push({ n, fast: all.wall, fastCpu: all.cpu, fast1: one.wall, fast1Cpu: one.cpu, naiveTs });
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
    loadavg1: [load0, Deno.loadavg()[0]],
    results: rows,
  }));
} else {
  console.log(`matmulF32 GFLOP/s (best of ${reps}; ${info.threads} threads, fma=${info.fma})`);
  console.log(`load average ${load0.toFixed(1)} -> ${Deno.loadavg()[0].toFixed(1)} (2 cores)`);
  console.log("(by CPU time: flops per second of CPU used by all our threads together)");
  console.log(
    "size   all threads  (by CPU time)  1 thread  (by CPU time)  plain TS loop  speedup",
  );
  const col = (x: number, w: number, d = 1) => x.toFixed(d).padStart(w);
  for (const r of rows) {
    console.log(
      `${String(r.n).padEnd(6)}${col(r.fast, 12)}${col(r.fastCpu, 15)}${col(r.fast1, 10)}${
        col(r.fast1Cpu, 15)
      }${col(r.naiveTs, 15, 2)}${col(r.fast / r.naiveTs, 8, 0)}x`,
    );
  }
}
