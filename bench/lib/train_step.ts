// Shared by the benchmarks: best-of-N wall time of one full GPT training step (forward, backward,
// clipping, AdamW) on the active backend, as tokens per second. Step 0 is warm-up.
import { type GPTConfig, gptLoss, type GPTParams, initGPT, mergeParams } from "../../core/gpt.ts";
import { adamw } from "../../core/optim.ts";
import { Rng } from "../../core/rng.ts";
import { disposeTree, tensor } from "../../core/tensor.ts";
import { trainStep } from "../../pipeline/train/step.ts";

/** The GPT both training benchmarks time (bench/core.ts, bench/webgpu.ts): the `small` shape. */
export const BENCH_GPT: GPTConfig = {
  vocab: 4096,
  dModel: 128,
  layers: 4,
  heads: 4,
  context: 128,
  embedding: "trainable",
};

/** The two training shapes `bench core` times against PyTorch (and `bench profile` breaks down). */
export interface TrainCase {
  name: string;
  cfg: GPTConfig;
  batch: number;
}
export const TRAIN_CASES: TrainCase[] = [
  { name: "bench", cfg: BENCH_GPT, batch: 16 },
  {
    name: "small",
    cfg: { vocab: 8192, dModel: 256, layers: 4, heads: 4, context: 256, embedding: "trainable" },
    batch: 8,
  },
];

export async function trainTokensPerS(
  cfg: GPTConfig,
  batch: number,
  steps: number,
): Promise<{ tokensPerS: number; msPerStep: number; batch: number }> {
  const rng = new Rng(1);
  let { trainable: params } = initGPT(cfg, { seed: 0 });
  const n = batch * cfg.context;
  const mkIds = () =>
    tensor(Int32Array.from({ length: n }, () => rng.int(cfg.vocab)), [batch, cfg.context]);
  const ids = mkIds(), tg = mkIds();
  const opt = adamw({ lr: 1e-3, weightDecay: 0.01 });
  let state = opt.init(params);
  const loss = (p: GPTParams) => gptLoss(mergeParams(p, {}), cfg, ids, tg);
  let best = Infinity;
  for (let s = 0; s <= steps; s++) {
    const t = performance.now();
    const out = trainStep({ opt, params, state, loss, clip: 1.0, lr: 1e-3 });
    await out.loss.data(); // the loss read waits for the whole step
    if (s > 0) best = Math.min(best, performance.now() - t);
    disposeTree([out.loss, out.gradNorm]);
    params = out.params;
    state = out.state;
  }
  disposeTree([params, state, ids, tg]);
  return { tokensPerS: n / (best / 1e3), msPerStep: best, batch };
}
