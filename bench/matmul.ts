// Benchmark of matmulF32 (core/cpu/fast): GFLOP/s at 256^3, 512^3 and 1024^3 with all
// threads and with one thread, by wall clock and by process CPU time (flops per second of
// CPU used by all our threads together, which a busy shared machine disturbs less), against
// a plain TypeScript triple loop (i-k-j order) run in the same process; then the matmul
// shapes of one training step of the `bench` and `small` GPT configs of `deno task bench
// core` (operands in shared memory, as the "cpu" backend passes them). `--json` prints one
// JSON object of the same figures.
// Usage: deno run -A bench/matmul.ts [--json] [--reps 5] [--set all|squares|training]

import { parseArgs } from "node:util";
import process from "node:process";
import {
  allocF32,
  fastInfo,
  freeF32,
  matmulF32,
  setFastThreads,
  shutdownFast,
  warmupFast,
} from "../core/cpu/fast/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    reps: { type: "string", default: "5" },
    set: { type: "string", default: "all" },
  },
});
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 1) {
  console.error(`--reps must be a positive integer, got ${values.reps}`);
  Deno.exit(2);
}
if (!["all", "squares", "training"].includes(values.set)) {
  console.error(`--set must be all, squares or training, got ${values.set}`);
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
function measure(flop: number, f: () => void, times: number): { wall: number; cpu: number } {
  f();
  let best = Infinity, bestCpu = Infinity;
  for (let r = 0; r < times; r++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    f();
    const t = performance.now() - t0, c = process.cpuUsage(c0);
    best = Math.min(best, t);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
  }
  return { wall: flop / (best * 1e6), cpu: flop / (bestCpu * 1e6) };
}

/** One matmul of a training step: out[M, N] = op(a) @ op(b), `count` times per step. */
interface Shape {
  config: string;
  what: string;
  trans: "NN" | "NT" | "TN";
  M: number;
  N: number;
  K: number;
  count: number;
}

/**
 * The matmuls of one training step of a GPT (layers of q/k/v/o projections and a 4x MLP,
 * untied LM head) on `tokens` rows: forward x @ W (NN), input gradients dY @ W^T (NT),
 * weight gradients X^T @ dY (TN).
 */
function stepShapes(config: string, tokens: number, d: number, vocab: number, layers: number) {
  const linears: [string, number, number, number][] = [
    ["attention q/k/v/o", d, d, 4 * layers],
    ["MLP up", d, 4 * d, layers],
    ["MLP down", 4 * d, d, layers],
    ["LM head", d, vocab, 1],
  ];
  const out: Shape[] = [];
  for (const [what, din, dout, count] of linears) {
    out.push({ config, what, trans: "NN", M: tokens, N: dout, K: din, count });
    out.push({ config, what, trans: "NT", M: tokens, N: din, K: dout, count });
    out.push({ config, what, trans: "TN", M: din, N: dout, K: tokens, count });
  }
  return out;
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
interface ShapeRow extends Shape {
  fast: number; // all threads, wall clock
  fast1: number; // 1 thread, wall clock
  fast1Cpu: number; // 1 thread, by CPU time
  msPerStep: number; // count x the all-threads time
}
const rows: Row[] = [];
const shapeRows: ShapeRow[] = [];
const load0 = Deno.loadavg()[0];
const threads = await warmupFast();
for (const n of values.set === "training" ? [] : sizes) {
  const a = randomArray(n * n), b = randomArray(n * n), out = new Float32Array(n * n);
  const run = () => matmulF32(a, b, out, 1, n, n, n, false, false);
  setFastThreads(threads);
  await warmupFast();
  const all = measure(2 * n ** 3, run, reps);
  setFastThreads(1);
  const one = measure(2 * n ** 3, run, reps);
  const naiveTs = measure(2 * n ** 3, () => naiveMatmul(a, b, out, n), n >= 1024 ? 1 : 2).wall;
  rows.push({ n, fast: all.wall, fastCpu: all.cpu, fast1: one.wall, fast1Cpu: one.cpu, naiveTs });
}
const training = values.set === "squares" ? [] : [
  // `deno task bench core`: "bench" (batch 16 x 128) and "small" (batch 8 x 256)
  ...stepShapes("bench", 2048, 128, 4096, 4),
  ...stepShapes("small", 2048, 256, 8192, 4),
];
for (const sh of training) {
  const { M, N, K } = sh;
  const a = allocF32(M * K), b = allocF32(K * N), out = allocF32(M * N);
  a.set(randomArray(M * K));
  b.set(randomArray(K * N));
  const run = () => matmulF32(a, b, out, 1, M, N, K, sh.trans[0] === "T", sh.trans[1] === "T");
  const flop = 2 * M * N * K;
  // small shapes get more repetitions (best of at least `reps`, ~0.2 GFLOP in all)
  const times = Math.max(reps, Math.min(50, Math.ceil(2e8 / flop)));
  setFastThreads(threads);
  await warmupFast();
  const all = measure(flop, run, times);
  setFastThreads(1);
  const one = measure(flop, run, times);
  const msPerStep = sh.count * flop / (all.wall * 1e6);
  shapeRows.push({ ...sh, fast: all.wall, fast1: one.wall, fast1Cpu: one.cpu, msPerStep });
  [a, b, out].forEach(freeF32);
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
    training: shapeRows,
  }));
} else {
  console.log(`matmulF32 GFLOP/s (best of ${reps}; ${info.threads} threads, fma=${info.fma})`);
  console.log(`load average ${load0.toFixed(1)} -> ${Deno.loadavg()[0].toFixed(1)} (2 cores)`);
  console.log("(by CPU time: flops per second of CPU used by all our threads together)");
  const col = (x: number, w: number, d = 1) => x.toFixed(d).padStart(w);
  if (rows.length > 0) {
    console.log(
      "size   all threads  (by CPU time)  1 thread  (by CPU time)  plain TS loop  speedup",
    );
  }
  for (const r of rows) {
    console.log(
      `${String(r.n).padEnd(6)}${col(r.fast, 12)}${col(r.fastCpu, 15)}${col(r.fast1, 10)}${
        col(r.fast1Cpu, 15)
      }${col(r.naiveTs, 15, 2)}${col(r.fast / r.naiveTs, 8, 0)}x`,
    );
  }
  if (shapeRows.length > 0) {
    console.log("\ntraining-step shapes (M x N x K; x count per step; ms per step at all threads)");
    console.log(
      "config  matmul                                  all threads  1 thread  (by CPU time)  ms/step",
    );
  }
  for (const r of shapeRows) {
    const name = `${r.trans} ${r.M}x${r.N}x${r.K} x${r.count} ${r.what}`;
    console.log(
      `${r.config.padEnd(8)}${name.padEnd(40)}${col(r.fast, 12)}${col(r.fast1, 10)}${
        col(r.fast1Cpu, 15)
      }${col(r.msPerStep, 9)}`,
    );
  }
  for (const config of new Set(shapeRows.map((r) => r.config))) {
    const ms = shapeRows.filter((r) => r.config === config).reduce((t, r) => t + r.msPerStep, 0);
    console.log(
      `${config}: all matmuls of one step ${ms.toFixed(1)} ms at ${info.threads} threads`,
    );
  }
}
