// `deno task bench webgpu [--json] [--quick] [--steps N] [--paper-batch B] [--no-torch]`.
// The WebGPU backend on this machine's adapter: adapter (name, driver, backend), matmul
// TFLOP/s per path (f32 vec4/scalar kernels, f16 operands, subgroup-matrix tensor cores) at 1024^3
// to 8192^3, GPT training tokens/s for the bench config (d 128, 4 layers, 4 heads, ctx 128,
// batch 16, vocab 4096) and the paper config (16 layers, d 1024, 32 heads, ctx 1024, vocab
// 65536), peak device memory, and PyTorch eager fp32 on CUDA as the peer when it exists.
// On a software adapter (lavapipe) use --quick: figures are labelled as not performance figures.
import { parseArgs } from "node:util";
import { BENCH_GPT, trainTokensPerS } from "./lib/train_step.ts";
import { setBackend } from "../core/registry.ts";
import type { GPTConfig } from "../core/gpt.ts";
import { Rng } from "../core/rng.ts";
import { describePaths, initWebGPU, NO_ADAPTER_HELP, webgpuAvailable } from "../core/webgpu/mod.ts";
import { createWebGPUBackend } from "../core/webgpu/backend.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    steps: { type: "string", default: "3" },
    "paper-batch": { type: "string", default: "4" },
    "no-torch": { type: "boolean", default: false },
  },
});
const log = (s: string) => {
  if (!args.json) console.log(s);
};
if (!(await webgpuAvailable())) {
  console.error(`bench webgpu: ${NO_ADAPTER_HELP}`);
  Deno.exit(1);
}
const gpu = await initWebGPU();
setBackend("webgpu");
const rt = gpu.runtime;
const info = gpu.paths.adapter;
const quick = args.quick;
const steps = Math.max(1, Number(args.steps));
const NOTE = info.software ? "software adapter: not a performance figure" : "hardware adapter";
log(describePaths(gpu));
log(`(${NOTE}; the machine may be shared: figures are provisional)`);

// ---- matmul ------------------------------------------------------------------------------

/** The matmul paths measured: the probed kernel in f32 and f16, the tensor-core kernel. */
const PATHS = {
  f32: { matmul: "f32" },
  "f32 scalar kernel": { matmul: "f32" },
  f16: { matmul: "f16", subgroupMatrix: undefined },
  "subgroup-matrix": { matmul: "f16" },
} as const;
type PathName = keyof typeof PATHS;

/** Why a path cannot run on this adapter ("" when it can). */
function unavailable(path: PathName): string {
  if (path === "f16" && !gpu.paths.f16Available) return "unavailable: no shader-f16";
  if (path === "subgroup-matrix" && !gpu.options.subgroupMatrix) {
    const p = gpu.paths.subgroupMatrix;
    return `unavailable: ${
      p === "no" ? "the adapter lacks chromium-experimental-subgroup-matrix" : p
    }`;
  }
  return "";
}

/**
 * TFLOP/s of n^3 on one path through a backend's own matmul (f16 operand copies are made by
 * the warm-up call and reused): `reps` matmuls per submission, best of 3 submissions.
 */
async function matmulTflops(n: number, path: PathName): Promise<number | string> {
  const limit = rt.limits.maxStorageBufferBindingSize;
  if (n * n * 4 > limit) return `skipped: ${n}x${n} f32 exceeds the ${limit}-byte binding limit`;
  const why = unavailable(path);
  if (why) return why;
  const tile = path === "f32 scalar kernel" ? { ...gpu.tile, vec4: false } : gpu.tile;
  const be = createWebGPUBackend(rt, tile, { ...gpu.options, ...PATHS[path] });
  const rng = new Rng(n);
  const mk = () => {
    const s = be.alloc(n * n, "f32");
    be.upload(s, Float32Array.from({ length: n * n }, () => rng.uniform() - 0.5));
    return s;
  };
  const a = mk(), b = mk(), c = be.alloc(n * n, "f32");
  const reps = info.software ? 1 : Math.max(1, Math.round(2 ** 33 / n ** 3));
  be.matmul(a, b, c, 1, n, n, n, false, false);
  await rt.sync();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    for (let k = 0; k < reps; k++) be.matmul(a, b, c, 1, n, n, n, false, false);
    await rt.sync();
    best = Math.min(best, (performance.now() - t) / reps);
  }
  [a, b, c].forEach((s) => be.free(s));
  return (2 * n ** 3) / (best / 1e3) / 1e12;
}

const sizes = quick ? [128, 256] : [1024, 2048, 4096, 8192];
const matmul: Record<string, Record<string, number | string>> = {};
for (const path of Object.keys(PATHS) as PathName[]) {
  matmul[path] = {};
  for (const n of sizes) {
    const r = await matmulTflops(n, path);
    matmul[path][String(n)] = r;
    log(`matmul ${path} ${n}^3: ${typeof r === "number" ? `${r.toFixed(4)} TFLOP/s` : r}`);
    if (typeof r === "string" && r.startsWith("unavailable")) break;
  }
}

// ---- training ----------------------------------------------------------------------------

const benchCfg: GPTConfig = BENCH_GPT;
const paperCfg: GPTConfig = {
  vocab: 65536,
  dModel: 1024,
  layers: 16,
  heads: 32,
  context: 1024,
  embedding: "trainable",
};
const training: Record<string, unknown> = {};
const benchBatch = quick ? 2 : 16;
const bCfg = quick ? { ...benchCfg, context: 32 } : benchCfg;
training.bench = { config: bCfg, ...(await trainTokensPerS(bCfg, benchBatch, steps)) };
log(
  `train bench config (batch ${benchBatch}, ctx ${bCfg.context}): ` +
    `${(training.bench as { tokensPerS: number }).tokensPerS.toFixed(1)} tokens/s`,
);
if (quick) {
  training.paper = "skipped (--quick)";
} else {
  const pb = Number(args["paper-batch"]);
  try {
    training.paper = { config: paperCfg, ...(await trainTokensPerS(paperCfg, pb, steps)) };
    log(
      `train paper config (batch ${pb}): ` +
        `${(training.paper as { tokensPerS: number }).tokensPerS.toFixed(1)} tokens/s`,
    );
  } catch (e) {
    training.paper = `failed: ${(e as Error).message}`;
    log(`train paper config: ${training.paper}`);
  }
}
// The same steps with f16 matmul operands (tensor cores where the self-test passed); f32 master
// weights and accumulators. Not compared with PyTorch, whose peer here is eager fp32.
if (gpu.paths.f16Available) {
  const g16 = await initWebGPU({ matmul: "f16" });
  setBackend(g16);
  const runs: [string, GPTConfig, number][] = [["benchF16", bCfg, benchBatch]];
  if (!quick) runs.push(["paperF16", paperCfg, Number(args["paper-batch"])]);
  for (const [key, cfg, batch] of runs) {
    try {
      const r = await trainTokensPerS(cfg, batch, steps);
      training[key] = { config: cfg, ...r };
      log(
        `train ${key} (f16 matmuls; ${
          g16.paths.subgroupMatrix.startsWith("in use") ? "subgroup-matrix" : "tiled"
        }): ${r.tokensPerS.toFixed(1)} tokens/s`,
      );
    } catch (e) {
      training[key] = `failed: ${(e as Error).message}`;
      log(`train ${key}: ${training[key]}`);
    }
  }
  setBackend(await initWebGPU({ matmul: "f32" }));
}
// The glyphgrad "cpu" backend on the same bench-config step: a peer measured in every run.
setBackend("cpu");
const cpuPeer = { config: bCfg, ...(await trainTokensPerS(bCfg, benchBatch, steps)) };
setBackend("webgpu");
log(
  `peer: glyphgrad cpu backend, same step: ${cpuPeer.tokensPerS.toFixed(1)} tokens/s ` +
    `(webgpu / cpu = ${
      ((training.bench as { tokensPerS: number }).tokensPerS / cpuPeer.tokensPerS).toFixed(3)
    })`,
);
const pool = gpu.poolStats();
log(`peak device memory (buffer pool): ${(pool.peakBytes / 2 ** 20).toFixed(1)} MiB`);

// ---- PyTorch CUDA peer ---------------------------------------------------------------------

const TORCH = `
import json, math, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
cfgs, steps, sizes = json.loads(sys.argv[1])
dev = "cuda"
def rope(x):
    B, T, H, D = x.shape; h = D // 2
    inv = 10000.0 ** (-2 * torch.arange(h, dtype=torch.float64, device=dev) / D)
    th = torch.arange(T, dtype=torch.float64, device=dev)[:, None] * inv[None, :]
    c, s = th.cos().float()[None, :, None, :], th.sin().float()[None, :, None, :]
    return torch.cat([x[..., :h] * c - x[..., h:] * s, x[..., h:] * c + x[..., :h] * s], -1)
class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__(); s.h = h; s.n1, s.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        s.q, s.k, s.v, s.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        s.f1, s.f2 = nn.Linear(d, 4 * d, bias=False), nn.Linear(4 * d, d, bias=False)
    def forward(s, x):
        B, T, D = x.shape; y = s.n1(x)
        q = rope(s.q(y).view(B, T, s.h, -1)).transpose(1, 2)
        k = rope(s.k(y).view(B, T, s.h, -1)).transpose(1, 2)
        v = s.v(y).view(B, T, s.h, -1).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + s.o(a.transpose(1, 2).reshape(B, T, D))
        return x + s.f2(F.gelu(s.f1(s.n2(x)), approximate="tanh"))
class GPT(nn.Module):
    def __init__(s, c):
        super().__init__(); s.e = nn.Embedding(c["vocab"], c["dModel"])
        s.b = nn.ModuleList(Block(c["dModel"], c["heads"]) for _ in range(c["layers"]))
        s.n = nn.LayerNorm(c["dModel"]); s.head = nn.Linear(c["dModel"], c["vocab"], bias=False)
    def forward(s, i):
        x = s.e(i)
        for b in s.b: x = b(x)
        return s.head(s.n(x))
out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "train": {}, "matmul": {}}
torch.backends.cuda.matmul.allow_tf32 = False
for n in sizes:
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev); a @ b
    torch.cuda.synchronize(); best = 1e9
    for _ in range(3):
        t = time.perf_counter(); a @ b; torch.cuda.synchronize(); best = min(best, time.perf_counter() - t)
    out["matmul"][str(n)] = 2 * n ** 3 / best / 1e12
for name, c, B in cfgs:
    torch.manual_seed(0); m = GPT(c).to(dev); opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
    V, T = c["vocab"], c["context"]
    ids, tg = torch.randint(0, V, (B, T), device=dev), torch.randint(0, V, (B, T), device=dev)
    best = 1e9
    for s in range(steps + 1):
        t = time.perf_counter()
        loss = F.cross_entropy(m(ids).view(-1, V), tg.view(-1)); opt.zero_grad(set_to_none=True)
        loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step(); loss.item()
        if s: best = min(best, time.perf_counter() - t)
    out["train"][name] = B * T / best
    del m, opt; torch.cuda.empty_cache()
print(json.dumps(out))
`;

async function torchPeer(): Promise<Record<string, unknown> | string> {
  if (args["no-torch"]) return "skipped (--no-torch)";
  const probe = await new Deno.Command("python3", {
    args: ["-c", "import torch; print(torch.cuda.is_available())"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  if (!probe || new TextDecoder().decode(probe.stdout).trim() !== "True") {
    return "unavailable: PyTorch with CUDA not found (python3 -c 'import torch; torch.cuda.is_available()')";
  }
  const cfgs = [["bench", bCfg, benchBatch]];
  if (!quick) cfgs.push(["paper", paperCfg, Number(args["paper-batch"])]);
  const r = await new Deno.Command("python3", {
    args: ["-c", TORCH, JSON.stringify([cfgs, steps, sizes])],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) return `failed: ${new TextDecoder().decode(r.stderr).trim().split("\n").pop()}`;
  return JSON.parse(new TextDecoder().decode(r.stdout));
}
const torch = await torchPeer();
const ratios: Record<string, number> = {};
if (typeof torch !== "string") {
  const tt = torch.train as Record<string, number>;
  for (const k of Object.keys(tt)) {
    const ours = training[k] as { tokensPerS?: number };
    if (ours?.tokensPerS) ratios[`train_${k}`] = ours.tokensPerS / tt[k];
  }
  log(`PyTorch ${torch.torch} CUDA on ${torch.device}: ${JSON.stringify(torch)}`);
  log(`ratios ours / PyTorch: ${JSON.stringify(ratios)}`);
} else {
  log(`PyTorch: ${torch}`);
}

const result = {
  note: NOTE,
  adapter: { name: info.name, vendor: info.vendor, driver: info.driver, backend: info.backend },
  software: info.software,
  paths: gpu.paths,
  matmulTflops: matmul,
  training,
  peakDeviceMemoryBytes: pool.peakBytes,
  cpuPeer,
  ratioWebgpuOverCpu: (training.bench as { tokensPerS: number }).tokensPerS / cpuPeer.tokensPerS,
  pytorch: torch,
  ratios,
};
if (args.json) console.log(JSON.stringify(result));
