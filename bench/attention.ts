// Times the fast CPU causal-attention kernels (attentionForwardF32 / attentionBackwardF32 of
// core/cpu/fast/mod.ts) on the two GPT shapes of `bench core`: B=16,T=128,H=4,D=32 ("bench")
// and B=8,T=256,H=4,D=64 ("small"), operands in the shared wasm memory as the "cpu" backend
// passes them. Prints the best-of-rounds wall time (ms) per call, the median process CPU time
// of a call (ms, all threads; with one thread it is not inflated when the machine's other
// processes preempt us, but it is tick-sampled on some kernels, so only a median is shown),
// and GFLOP/s of the causal multiply-adds at the best wall time (forward 2 products, backward 5).
//
//   deno run -A bench/attention.ts [--threads N] [--rounds N] [--impl path/to/mod.ts ...]
//
// Several --impl modules (e.g. a copy of an older core/cpu/fast/mod.ts) are timed alternately
// in one process, round by round, so they see the same machine load.

import process from "node:process";

type Fast = typeof import("../core/cpu/fast/mod.ts");

const SHAPES = [
  { name: "bench", B: 16, T: 128, H: 4, D: 32 },
  { name: "small", B: 8, T: 256, H: 4, D: 64 },
];

function parseArgs(args: string[]) {
  const impls: string[] = [];
  let threads = 1, rounds = 15;
  for (let i = 0; i < args.length; i++) {
    const a = args[i], val = args[i + 1];
    if (a === "--impl" && val !== undefined) impls.push(val), i++;
    else if (a === "--threads" && val !== undefined) threads = Number(val), i++;
    else if (a === "--rounds" && val !== undefined) rounds = Number(val), i++;
    else {
      throw new Error(
        `bench/attention.ts: unknown argument "${a}"; use --threads N, --rounds N, --impl mod.ts`,
      );
    }
  }
  for (const [n, v] of [["--threads", threads], ["--rounds", rounds]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${n} must be a positive integer, got ${v}`);
  }
  if (impls.length === 0) impls.push(new URL("../core/cpu/fast/mod.ts", import.meta.url).href);
  return { impls, threads, rounds };
}

function toUrl(p: string): string {
  return /^[a-z]+:/.test(p) ? p : new URL(p, `file://${Deno.cwd()}/`).href;
}

/** Operands of one shape in one module's shared memory, filled with values in [-1, 1). */
function operands(m: Fast, s: (typeof SHAPES)[number]) {
  const n = s.B * s.T * s.H * s.D, heads = s.B * s.H;
  let x = 12345;
  const rand = (a: Float32Array) => {
    for (let i = 0; i < a.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      a[i] = x / 2 ** 31 - 1;
    }
    return a;
  };
  const [q, k, v, g] = [0, 1, 2, 3].map(() => rand(m.allocF32(n)));
  const [out, dq, dk, dv] = [0, 1, 2, 3].map(() => m.allocF32(n).fill(0));
  const lse = m.allocF32(heads * s.T);
  return { q, k, v, g, out, dq, dk, dv, lse };
}

/** [wall ms, process CPU ms] of one call of f. */
function time(f: () => void): [number, number] {
  const c0 = process.cpuUsage(), t0 = performance.now();
  f();
  const t1 = performance.now(), c1 = process.cpuUsage(c0);
  return [t1 - t0, (c1.user + c1.system) / 1000];
}

const { impls, threads, rounds } = parseArgs(Deno.args);
const mods: Fast[] = [];
for (const p of impls) {
  const m = (await import(toUrl(p))) as Fast;
  m.setFastThreads(threads);
  await m.warmupFast();
  mods.push(m);
}
console.log(`threads ${threads}, rounds ${rounds}: best-of wall ms (median CPU ms of a call)`);
for (const s of SHAPES) {
  const { B, T, H, D } = s, scale = 1 / Math.sqrt(D);
  const ops = mods.map((m) => operands(m, s));
  const pairs = B * H * (T * (T + 1) / 2) * D; // causal (query, key) pairs times D
  const runs = mods.map(() => ({ fwd: [] as number[][], bwd: [] as number[][] }));
  for (let r = 0; r < rounds + 1; r++) {
    mods.forEach((m, i) => {
      const o = ops[i];
      const f = time(() => m.attentionForwardF32(o.q, o.k, o.v, o.out, o.lse, B, T, H, D, scale));
      const b = time(() =>
        m.attentionBackwardF32(
          o.q,
          o.k,
          o.v,
          o.out,
          o.lse,
          o.g,
          o.dq,
          o.dk,
          o.dv,
          B,
          T,
          H,
          D,
          scale,
        )
      );
      if (r === 0) return; // warm-up round (compiles the kernels)
      runs[i].fwd.push(f);
      runs[i].bwd.push(b);
    });
  }
  mods.forEach((_, i) => {
    const [fwd, bwd] = [runs[i].fwd, runs[i].bwd].map((xs) => {
      const cpu = xs.map((x) => x[1]).sort((a, b) => a - b);
      return [Math.min(...xs.map((x) => x[0])), cpu[Math.floor(cpu.length / 2)]];
    });
    const gf = (ms: number, products: number) => (2 * products * pairs / ms / 1e6).toFixed(1);
    console.log(
      `${s.name} B=${B} T=${T} H=${H} D=${D} [${impls[i]}]: forward ${fwd[0].toFixed(2)} ms ` +
        `(CPU ${fwd[1].toFixed(1)}, ${gf(fwd[0], 2)} GFLOP/s), backward ${bwd[0].toFixed(2)} ms ` +
        `(CPU ${bwd[1].toFixed(1)}, ${gf(bwd[0], 5)} GFLOP/s)`,
    );
  });
}
mods.forEach((m) => m.shutdownFast());
