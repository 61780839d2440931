// `deno task bench core [--json] [--steps N] [--rounds R] [--no-torch] [--backend B]`.
// Matmul GFLOP/s at 256^3, 512^3, 1024^3 and GPT training tokens/s on two configs ("bench":
// d_model 128, 4 layers, 4 heads, context 128, batch 16, vocab 4096; "small": d_model 256,
// 4 layers, 4 heads, context 256, batch 8, vocab 8192; trainable embedding, AdamW + clipping),
// next to PyTorch on CPU (Debian python3-torch + OpenBLAS, best of 1 and 2 threads) running the
// same models via bench/core_torch.py, and the ratios ours / PyTorch.

import { parseArgs } from "node:util";
import { TRAIN_CASES as CASES, trainTokensPerS } from "./lib/train_step.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setBackend } from "../core/registry.ts";
import { hasWasmMatmul, warmupCpu } from "../core/cpu/backend.ts";
import type { GPTConfig } from "../core/gpt.ts";
import { Rng } from "../core/rng.ts";
import { fastInfo } from "../core/cpu/fast/mod.ts";

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
  threads: Record<
    string,
    { matmul_gflops: Record<string, number> | null; train_tokens_per_s: number }
  >;
}

async function runTorch(
  cfg: GPTConfig,
  batch: number,
  matmul: boolean,
): Promise<TorchResult | string> {
  if (args["no-torch"]) return "skipped (--no-torch)";
  const script = join(dirname(fileURLToPath(import.meta.url)), "core_torch.py");
  const py = "/usr/bin/python3";
  const conf = JSON.stringify({ ...cfg, batch, reps, steps, matmul });
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
type Train = { tokensPerS: number; msPerStep: number };
const train: Train[] = CASES.map(() => ({ tokensPerS: 0, msPerStep: Infinity }));
interface Peer {
  matmulGflops: Record<string, number>;
  tokensPerS: number[];
  version: string;
}
let peer = null as Peer | null;
let torchNote = "";
for (let r = 0; r < rounds; r++) {
  for (const n of sizes) {
    matmulGflops[n] = Math.max(matmulGflops[n] ?? 0, await measureMatmul(n)); // one at a time
  }
  for (const [i, c] of CASES.entries()) {
    const t = await trainTokensPerS(c.cfg, c.batch, steps);
    if (t.tokensPerS > train[i].tokensPerS) train[i] = t;
    const torch = await runTorch(c.cfg, c.batch, i === 0);
    if (typeof torch === "string") {
      torchNote = torch;
      continue;
    }
    const th = Object.values(torch.threads);
    const prev = peer as Peer | null;
    const best = (n: number) =>
      Math.max(prev?.matmulGflops[n] ?? 0, ...th.map((x) => x.matmul_gflops?.[String(n)] ?? 0));
    const tok = [...(prev?.tokensPerS ?? CASES.map(() => 0))];
    tok[i] = Math.max(tok[i], ...th.map((x) => x.train_tokens_per_s));
    peer = {
      version: torch.torch,
      matmulGflops: Object.fromEntries(sizes.map((n) => [String(n), best(n)])),
      tokensPerS: tok,
    };
  }
}
// which GEMM kernel ran (revectorized pair kernel or plain) and why; cpu backend only
const gemm = be.name === "cpu" && hasWasmMatmul ? fastInfo() : null;
const gemmKernel = gemm ? { revec: gemm.revec, how: gemm.revecHow } : null;
const ours = {
  backend: be.name,
  wasmMatmul: hasWasmMatmul,
  gemmKernel,
  matmulGflops,
  train: train[0],
};
const torch = peer ? "measured" : torchNote;
const ratio = (a: number, b?: number) => (b ? a / b : null);
const configs = CASES.map((c, i) => ({
  name: c.name,
  config: { ...c.cfg, batch: c.batch, optimizer: "AdamW + clip 1.0" },
  ours: train[i],
  pytorchTokensPerS: peer?.tokensPerS[i] ?? null,
  ratio: ratio(train[i].tokensPerS, peer?.tokensPerS[i]),
}));
const result = {
  config: configs[0].config,
  ours,
  pytorch: peer ? { ...peer, tokensPerS: peer.tokensPerS[0] } : torch,
  configs,
  ratios: peer
    ? {
      matmul: Object.fromEntries(
        sizes.map((n) => [String(n), ratio(ours.matmulGflops[n], peer!.matmulGflops[n])]),
      ),
      trainTokensPerS: configs[0].ratio,
      trainTokensPerSByConfig: Object.fromEntries(configs.map((c) => [c.name, c.ratio])),
    }
    : null,
  loadavg: Deno.loadavg(),
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
  for (const c of configs) {
    const o = c.ours.tokensPerS, p = c.pytorchTokensPerS ?? undefined;
    log(`| GPT train tokens/s (${c.name}) | ${f(o, 0)} | ${f(p, 0)} | ${f(ratio(o, p), 2)} |`);
  }
  for (const c of configs) {
    log(
      `(our ${c.name} step: ${f(c.ours.msPerStep, 0)} ms for ${
        c.config.batch * c.config.context
      } tokens)`,
    );
  }
  if (gemmKernel) {
    log(
      `GEMM kernel: ${gemmKernel.revec ? "revectorized pair kernel" : "plain"} (${gemmKernel.how})`,
    );
  }
  log(`load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  if (!peer) log(`PyTorch: ${torch}`);
}
