// Fine-tuning a merge: the experts' logits averaged with the merge weights (mixture.ts
// mixtureLogits) trained together on the run's whole training split for a few steps, AdamW
// with warmup + cosine, global-norm clipping, the same deterministic batches as training
// (train/batches.ts). Only each expert's trainable leaves (its config.json trainablePaths: not
// a frozen table) get gradients and optimizer state. Each fine-tuned expert is saved as an
// ordinary checkpoint (train/checkpoint.ts) whose lineage names the expert it started from.

import { join, relative } from "node:path";
import { treeFlatten, valueAndGrad } from "../../core/autodiff.ts";
import { type GPTConfig, type GPTParams, mergeParams } from "../../core/gpt.ts";
import { crossEntropy } from "../../core/ops.ts";
import { adamw, clipByGlobalNorm, cosineSchedule } from "../../core/optim.ts";
import { disposeTree, type Tensor, tensor, tidy } from "../../core/tensor.ts";
import type { StDict } from "../../core/safetensors.ts";
import { unflattenParams } from "../eval/checkpoint.ts";
import { mix3, trainBatch } from "../train/batches.ts";
import { type CheckpointConfig, loadCheckpoint, saveCheckpoint } from "../train/checkpoint.ts";
import { appendLog, truncateLog } from "../train/log.ts";
import { type Expert, mixtureLogits } from "./mixture.ts";

export interface FinetuneSpec {
  /** Expert checkpoint folders and where their fine-tuned copies go. */
  experts: { dir: string; out: string }[];
  /** Merge weights (summing to 1). */
  weights: number[];
  trainIds: Int32Array;
  steps: number;
  lr: number;
  batch: number;
  seed: number;
  clip: number;
  weightDecay: number;
  fingerprint: string;
  log: (l: string) => void;
}

async function toDict(tree: unknown): Promise<StDict> {
  const out: StDict = {};
  for (const [p, t] of treeFlatten(tree)) {
    out[p] = { dtype: "F32", shape: [...t.shape], data: await t.data() };
  }
  return out;
}

/** An expert checkpoint split into its trainable leaves and the rest (the frozen table). */
function splitExpert(weights: StDict, cfg: CheckpointConfig) {
  const trainable: Record<string, Tensor> = {}, frozen: Record<string, Tensor> = {};
  const keep = new Set(cfg.trainablePaths);
  for (const [k, t] of Object.entries(weights)) {
    if (t.dtype !== "F32") continue;
    (keep.has(k) ? trainable : frozen)[k] = tensor(t.data as Float32Array, [...t.shape]);
  }
  return { trainable: unflattenParams(trainable), frozen: unflattenParams(frozen) };
}

/** Fine-tune the merge; returns the loss of the first and last step. */
export async function finetuneMerge(s: FinetuneSpec): Promise<{ first: number; last: number }> {
  const loaded = await Promise.all(s.experts.map((e) => loadCheckpoint(e.dir)));
  const parts = loaded.map((ck) => splitExpert(ck.weights, ck.config));
  const cfgs: GPTConfig[] = loaded.map((ck) => ck.config.gpt);
  const T = Math.min(...cfgs.map((c) => c.context));
  let params: GPTParams[] = parts.map((p) => p.trainable);
  const opt = adamw({ beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: s.weightDecay });
  let state = opt.init(params);
  const sched = cosineSchedule({
    warmup: Math.max(1, Math.floor(s.steps / 10)),
    total: s.steps,
    peak: s.lr,
    min: s.lr / 10,
  });
  const dataSeed = mix3(s.seed, 0xf17e, 0);
  const logPaths = s.experts.map((e) => join(e.out, "log.jsonl"));
  for (const e of s.experts) await Deno.mkdir(e.out, { recursive: true });
  for (const p of logPaths) await truncateLog(p, -1);
  let first = NaN, last = NaN;
  for (let step = 0; step < s.steps; step++) {
    const b = trainBatch(s.trainIds, dataSeed, step, s.batch, T);
    const lr = sched(step);
    const out = tidy(() => {
      const x = tensor(b.x, [s.batch, T], "i32"), y = tensor(b.y, [s.batch, T], "i32");
      const { value, grads } = valueAndGrad((ps: GPTParams[]) => {
        const experts: Expert[] = ps.map((p, i) => ({
          params: mergeParams(p, parts[i].frozen),
          cfg: cfgs[i],
        }));
        return crossEntropy(mixtureLogits(experts, s.weights, x), y, -1);
      })(params);
      const clipped = s.clip > 0 ? clipByGlobalNorm(grads, s.clip) : { grads, norm: value };
      return { value, next: opt.step(params, clipped.grads, state, lr) };
    });
    const loss = await out.value.item();
    if (!Number.isFinite(loss)) {
      throw new Error(
        `merge fine-tune: loss is ${loss} at step ${step + 1} (lower merge.finetuneLr)`,
      );
    }
    disposeTree([params, state.m, state.v, out.value]);
    params = out.next.params;
    state = out.next.state;
    if (step === 0) first = loss;
    last = loss;
    for (const p of logPaths) await appendLog(p, [{ step: step + 1, loss, lr, tokens_per_s: 0 }]);
    if ((step + 1) % 10 === 0 || step + 1 === s.steps) {
      s.log(`merge fine-tune step ${step + 1}/${s.steps} loss ${loss.toFixed(4)}`);
    }
  }
  for (let i = 0; i < s.experts.length; i++) {
    const { dir, out } = s.experts[i], prev = loaded[i].config;
    const m: StDict = {}, v: StDict = {};
    Object.assign(m, await toDict(state.m[i]));
    Object.assign(v, await toDict(state.v[i]));
    const prefixed = (d: StDict, p: string) =>
      Object.fromEntries(Object.entries(d).map(([k, t]) => [p + k, t]));
    const weights = await toDict(mergeParams(params[i], parts[i].frozen));
    const vocab = loaded[i].weights.vocab_ids;
    const { files: _f, format: _fmt, ...rest } = prev;
    await saveCheckpoint(
      out,
      {
        ...rest,
        model: `${prev.model}-ft`,
        step: s.steps,
        totalSteps: s.steps,
        fingerprint: s.fingerprint,
        train: { ...prev.train, steps: s.steps, lr: s.lr, batch: s.batch },
        tokenizer: relative(out, join(dir, prev.tokenizer)),
        embedding: prev.embedding
          ? { ...prev.embedding, path: relative(out, join(dir, prev.embedding.path)) }
          : null,
        lineage: {
          kind: "merge-finetune",
          parents: [{ path: relative(out, dir), sha256: prev.files["model.safetensors"] }],
          frozenBlocks: [],
        },
        finished: true,
      },
      { ...weights, ...(vocab ? { vocab_ids: vocab } : {}) },
      { ...prefixed(m, "m."), ...prefixed(v, "v.") },
      state.step,
    );
  }
  disposeTree([params, state.m, state.v, parts.map((p) => p.frozen)]);
  return { first, last };
}
