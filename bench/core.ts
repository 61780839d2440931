// `deno task bench core [--json] [--steps N] [--rounds R] [--no-torch] [--backend B]`.
// Matmul GFLOP/s at 256^3, 512^3, 1024^3 and GPT training tokens/s (d_model 128, 4 layers,
// 4 heads, context 128, batch 16, vocab 4096, trainable embedding, AdamW + clipping), next to
// PyTorch on CPU (Debian python3-torch + OpenBLAS, best of 1 and 2 threads) running the same
// model via bench/core_torch.py, and the ratios ours / PyTorch.

import { parseArgs } from "node:util";
import { BENCH_GPT, trainTokensPerS } from "./lib/train_step.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setBackend } from "../core/registry.ts";
import { hasWasmMatmul, warmupCpu } from "../core/cpu/backend.ts";
import type { GPTConfig } from "../core/gpt.ts";
import { Rng } from "../core/rng.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    steps: { type: "string", default: "4" },
    rounds: { type: "string", default: "2" },
    reps: { type: "string", default: "5" },
    "no-torch": { type: "boolean", default: false },
    backend: { type: "string", default: "cpu" },
  },
});
const steps = Number(args.steps), reps = Number(args.reps);
if (!(steps >= 1 && reps >= 1)) throw new Error("bench core: --steps and --reps must be >= 1");
if (args.backend === "webgpu") {
  const webgpu = await import("../core/webgpu/mod.ts");
  await webgpu.initWebGPU();
}
const be = setBackend(args.backend!);
if (be.name === "cpu") await warmupCpu();
const log = (s: string) => {
  if (!args.json) console.log(s);
};

const cfg: GPTConfig = BENCH_GPT;
const batch = 16;

async function measureMatmul(n: number): Promise<number> {
  const rng = new Rng(n);
  const a = be.alloc(n * n, "f32"), b = be.alloc(n * n, "f32"), o = be.alloc(n * n, "f32");
  const fill = () => Float32Array.from({ length: n * n }, () => rng.uniform() - 0.5);
  be.upload(a, fill());
  be.upload(b, fill());
  be.matmul(a, b, o, 1, n, n, n, false, false);
  await be.sync?.();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    be.matmul(a, b, o, 1, n, n, n, false, false);
    await be.sync?.(); // GPU backends: wait for the work itself
    best = Math.min(best, performance.now() - t);
  }
  for (const s of [a, b, o]) be.free(s);
  return (2 * n ** 3) / (best / 1e3) / 1e9;
}

interface TorchResult {
  torch: string;
  threads: Record<string, { matmul_gflops: Record<string, number>; train_tokens_per_s: number }>;
}

async function runTorch(): Promise<TorchResult | string> {
  if (args["no-torch"]) return "skipped (--no-torch)";
  const script = join(dirname(fileURLToPath(import.meta.url)), "core_torch.py");
  const py = "/usr/bin/python3";
  const conf = JSON.stringify({ ...cfg, batch, reps, steps });
  try {
    const out = await new Deno.Command(py, {
      args: [script, conf],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
      return `PyTorch not available (${err}); install with: ` +
        "apt-get install -y python3-torch libopenblas0-pthread";
    }
    return JSON.parse(new TextDecoder().decode(out.stdout)) as TorchResult;
  } catch (e) {
    return `PyTorch not available (${(e as Error).message})`;
  }
}

const sizes = [256, 512, 1024];
log(`glyphgrad core bench on backend "${be.name}" (WASM matmul: ${hasWasmMatmul ? "yes" : "no"})`);
log("figures are provisional: the machine is shared with other jobs");
// Ours and PyTorch alternate for --rounds rounds and each keeps its best figures, so a burst
// of load from other jobs does not land on one side only.
const rounds = Number(args.rounds);
if (!(rounds >= 1)) throw new Error("bench core: --rounds must be >= 1");
const matmulGflops: Record<string, number> = {};
let train = { tokensPerS: 0, msPerStep: Infinity };
interface Peer {
  matmulGflops: Record<string, number>;
  tokensPerS: number;
  version: string;
}
let peer = null as Peer | null;
let torchNote = "";
for (let r = 0; r < rounds; r++) {
  for (const n of sizes) {
    matmulGflops[n] = Math.max(matmulGflops[n] ?? 0, await measureMatmul(n)); // one at a time
  }
  const t = await trainTokensPerS(cfg, batch, steps);
  if (t.tokensPerS > train.tokensPerS) train = t;
  const torch = await runTorch();
  if (typeof torch === "string") {
    torchNote = torch;
    continue;
  }
  const th = Object.values(torch.threads);
  const best = (n: number) => Math.max(...th.map((x) => x.matmul_gflops[String(n)]));
  const prev = peer as Peer | null;
  peer = {
    version: torch.torch,
    matmulGflops: Object.fromEntries(
      sizes.map((n) => [String(n), Math.max(prev?.matmulGflops[n] ?? 0, best(n))]),
    ),
    tokensPerS: Math.max(prev?.tokensPerS ?? 0, ...th.map((x) => x.train_tokens_per_s)),
  };
}
const ours = { backend: be.name, wasmMatmul: hasWasmMatmul, matmulGflops, train };
const torch = peer ? "measured" : torchNote;
const ratio = (a: number, b?: number) => (b ? a / b : null);
const result = {
  config: { ...cfg, batch, optimizer: "AdamW + clip 1.0" },
  ours,
  pytorch: peer ?? torch,
  ratios: peer
    ? {
      matmul: Object.fromEntries(
        sizes.map((n) => [String(n), ratio(ours.matmulGflops[n], peer!.matmulGflops[n])]),
      ),
      trainTokensPerS: ratio(ours.train.tokensPerS, peer.tokensPerS),
    }
    : null,
};

if (args.json) console.log(JSON.stringify(result));
else {
  const f = (x: number | undefined | null, d = 1) => (x == null ? "-" : x.toFixed(d));
  log("");
  log(`| figure | glyphgrad (${be.name}) | PyTorch ${peer?.version ?? ""} CPU | ratio |`);
  log("|---|---|---|---|");
  for (const n of sizes) {
    const o = ours.matmulGflops[n], p = peer?.matmulGflops[n];
    log(`| matmul ${n}^3 GFLOP/s | ${f(o)} | ${f(p)} | ${f(ratio(o, p), 2)} |`);
  }
  const o = ours.train.tokensPerS, p = peer?.tokensPerS;
  log(`| GPT train tokens/s | ${f(o, 0)} | ${f(p, 0)} | ${f(ratio(o, p), 2)} |`);
  log(`(our step: ${f(ours.train.msPerStep, 0)} ms for ${batch * cfg.context} tokens)`);
  if (!peer) log(`PyTorch: ${torch}`);
}
