// The training loop of one model: seeded init (the frozen and trainable twins share every
// initial weight but the embedding), AdamW with warmup + cosine schedule and global-norm
// clipping, deterministic batches, validation every N steps, JSONL log, progress, atomic
// checkpoints, bit-identical --resume, and a NaN/Inf guard that stops and keeps the last good
// checkpoint. Ends with the validation loss (bits per character are the eval stage's; the log
// carries a bits-per-character monitor of the fixed validation windows for the curves).

import { join, relative } from "node:path";
import {
  type FrozenTable,
  type GPTConfig,
  gptLoss,
  type GPTParams,
  initGPT,
  mergeParams,
} from "../../core/gpt.ts";
import { treeFlatten, treeMap, valueAndGrad } from "../../core/autodiff.ts";
import {
  type AdamState,
  adamw,
  addTrees,
  clipByGlobalNorm,
  cosineSchedule,
  scaleTree,
} from "../../core/optim.ts";
import { add, scale } from "../../core/ops.ts";
import { Rng } from "../../core/rng.ts";
import { disposeTree, type Tensor, tensor, tidy } from "../../core/tensor.ts";
import type { StDict } from "../../core/safetensors.ts";
import type { PipelineConfig } from "../config.ts";
import { sha256OfArray } from "../hash.ts";
import { type Batch, mix3, trainBatch, valBatches } from "./batches.ts";
import { bitsPerChar } from "./bpc.ts";
import {
  hasCheckpoint,
  type Lineage,
  loadCheckpoint,
  readCheckpointConfig,
  saveCheckpoint,
} from "./checkpoint.ts";
import { appendLog, type LogLine, readLog, truncateLog } from "./log.ts";
import { progressReporter } from "./progress.ts";

export type TrainSettings = PipelineConfig["train"];

export interface TrainSpec {
  /** Model name, e.g. "frozen-s0"; also the checkpoint folder's name. */
  model: string;
  /** Checkpoint folder. */
  dir: string;
  gpt: GPTConfig;
  train: TrainSettings;
  seed: number;
  trainIds: Int32Array;
  valIds: Int32Array;
  /** The glyph table [V, Dv] for the frozen twin. */
  frozenTable?: FrozenTable;
  /** Characters each model id spells (for bits per character). */
  charLen: Float64Array;
  fingerprint: string;
  resume: boolean;
  /** Files the model depends on (absolute or cwd-relative paths) with their SHA-256. */
  refs: {
    tokenizer: { path: string; sha256: string };
    embedding: { path: string; sha256: string } | null;
  };
  /** Model id -> tokenizer id (saved as "vocab_ids" in model.safetensors). */
  vocabIds?: Int32Array;
  log?: (line: string) => void;
  /** Progress on a terminal (default: detect). */
  tty?: boolean;
  /** No progress output (tests). */
  quiet?: boolean;
  /** Tests: stop after this many steps without a final checkpoint, as a kill would. */
  stopAfter?: number;
  /**
   * Initial parameters instead of the seeded init (pipeline/grow: a parent's frozen blocks plus
   * a new trainable block); only `trainable` gets gradients and optimizer state.
   */
  init?: { trainable: GPTParams; frozen: GPTParams };
  /** Where the initial weights came from (recorded in config.json; pipeline/grow). */
  lineage?: Lineage;
}

export interface TrainResult {
  model: string;
  embedding: GPTConfig["embedding"];
  seed: number;
  steps: number;
  finalLoss: number;
  valLoss: number;
  /** SHA-256 of the frozen [V, d] table at init and in the final checkpoint (frozen twin). */
  frozenSha256Before: string | null;
  frozenSha256After: string | null;
  seconds: number;
  /**
   * Training throughput: tokens of the optimiser steps run in this call divided by the
   * seconds those steps took (validation and checkpoint writes excluded).
   */
  tokensPerS: number;
  interrupted: boolean;
  resumedFrom: number;
}

/** Initial parameters; the trainable twin gets a seeded N(0, 0.02) table, blocks identical. */
export function initTwin(
  gpt: GPTConfig,
  seed: number,
  frozenTable?: FrozenTable,
): { trainable: GPTParams; frozen: GPTParams } {
  if (gpt.embedding === "frozen") {
    if (!frozenTable) throw new Error("train: the frozen twin needs the embedding table");
    return initGPT(gpt, { seed, frozenTable });
  }
  // Same init path as the frozen twin so that blocks and head get the same draws; only the
  // table differs (a seeded random one, the usual trainable init), and it becomes trainable.
  const rng = new Rng(mix3(seed, 0x7ab1e, 1));
  const n = gpt.vocab * gpt.dModel, data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 0.02 * rng.normal();
  const { trainable, frozen } = initGPT({ ...gpt, embedding: "frozen" }, {
    seed,
    frozenTable: { data, rows: gpt.vocab, cols: gpt.dModel },
  });
  return { trainable: { wte: frozen.wte, ...trainable }, frozen: {} };
}

async function toDict(tree: unknown, prefix = ""): Promise<StDict> {
  const out: StDict = {};
  for (const [path, t] of treeFlatten(tree)) {
    out[prefix + path] = { dtype: "F32", shape: [...t.shape], data: await t.data() };
  }
  return out;
}

/** Replace every leaf by the saved tensor of the same path (shapes must match). */
function fromDict<P>(like: P, dict: StDict, prefix: string, where: string): P {
  return treeMap(like, (t, path) => {
    const s = dict[prefix + path];
    if (!s || s.shape.join(",") !== t.shape.join(",")) {
      throw new Error(
        `checkpoint ${where}: tensor "${prefix + path}" is missing or has the wrong shape ` +
          "(the checkpoint was written by another model config; train again without --resume)",
      );
    }
    t.dispose();
    return tensor(s.data as Float32Array, [...s.shape]);
  });
}

function batchTensors(b: Batch, B: number, T: number): [Tensor, Tensor] {
  return [tensor(b.x, [B, T], "i32"), tensor(b.y, [B, T], "i32")];
}

/** A batch cut into consecutive pieces of `rows` rows (the whole batch when rows is 0). */
export function microBatches(b: Batch, T: number, rows: number): Batch[] {
  const total = b.x.length / T;
  if (rows <= 0 || rows >= total) return [b];
  const out: Batch[] = [];
  for (let r = 0; r < total; r += rows) {
    const end = Math.min(r + rows, total) * T;
    out.push({ x: b.x.subarray(r * T, end), y: b.y.subarray(r * T, end) });
  }
  return out;
}

/** Summed loss and counted targets of one batch, evaluated `rows` rows at a time. */
async function batchNll(params: GPTParams, spec: TrainSpec, b: Batch, rows: number) {
  const T = spec.gpt.context;
  let nll = 0, count = 0;
  for (const part of microBatches(b, T, rows)) {
    let n = 0;
    for (const t of part.y) if (t >= 0) n++;
    if (n === 0) continue;
    const loss = tidy(() => {
      const [x, y] = batchTensors(part, part.x.length / T, T);
      return gptLoss(params, spec.gpt, x, y);
    });
    nll += (await loss.item()) * n;
    count += n;
    loss.dispose();
  }
  return { nll, count };
}

/**
 * Validation on fixed batches: mean loss per batch (nats/token) and, as a progress monitor
 * for the curves, bits per character of those windows. The run's reported bits per character
 * is the eval stage's (pipeline/eval/lm_metrics.ts: per document, over the whole split).
 */
async function validation(params: GPTParams, spec: TrainSpec, batches: Batch[]) {
  let sum = 0, nllAll = 0, chars = 0;
  for (const b of batches) {
    const { nll, count } = await batchNll(params, spec, b, spec.train.microBatch);
    sum += nll / count;
    nllAll += nll;
    for (const t of b.y) if (t >= 0) chars += spec.charLen[t];
  }
  return { loss: sum / batches.length, bpc: bitsPerChar(nllAll, chars) };
}

/** Train one model to `train.steps` (or resume it), writing checkpoints and logs into dir. */
export async function trainModel(spec: TrainSpec): Promise<TrainResult> {
  const log = spec.log ?? ((l: string) => console.log(l));
  const tc = spec.train, T = spec.gpt.context, B = tc.batch;
  if (!Number.isInteger(tc.microBatch) || tc.microBatch < 0 || B % (tc.microBatch || B) !== 0) {
    throw new Error(
      `train.microBatch ${tc.microBatch} must divide train.batch ${B} (0 runs the whole batch ` +
        "at once)",
    );
  }
  const logPath = join(spec.dir, "log.jsonl");
  await Deno.mkdir(spec.dir, { recursive: true });
  const t0 = performance.now();

  let { trainable, frozen } = spec.init ?? initTwin(spec.gpt, spec.seed, spec.frozenTable);
  const opt = adamw({ beta1: tc.beta1, beta2: tc.beta2, eps: 1e-8, weightDecay: tc.weightDecay });
  let state: AdamState<GPTParams> = opt.init(trainable);
  const frozenSha256Before = frozen.wte ? await sha256OfArray(await frozen.wte.data()) : null;

  let start = 0;
  if (await hasCheckpoint(spec.dir)) {
    const prev = await readCheckpointConfig(spec.dir);
    if (spec.resume) {
      if (prev.fingerprint !== spec.fingerprint) {
        throw new Error(
          `checkpoint ${spec.dir} was written with other settings or inputs; ` +
            "rerun without --resume to train from scratch",
        );
      }
      const ck = await loadCheckpoint(spec.dir);
      trainable = fromDict(trainable, ck.weights, "", spec.dir);
      frozen = fromDict(frozen, ck.weights, "", spec.dir);
      state = {
        step: ck.adamStep,
        m: fromDict(state.m, ck.optim, "m.", spec.dir),
        v: fromDict(state.v, ck.optim, "v.", spec.dir),
      };
      start = ck.config.step;
      log(`${spec.model}: resuming from step ${start} of ${ck.config.totalSteps}`);
    } else if (prev.step < prev.totalSteps) {
      log(
        `${spec.model}: found an unfinished checkpoint (step ${prev.step}); starting over ` +
          "(pass --resume to continue it)",
      );
    }
  }
  if (start === 0) await truncateLog(logPath, -1);
  else await truncateLog(logPath, start);

  const sched = cosineSchedule({ warmup: tc.warmup, total: tc.steps, peak: tc.lr, min: tc.minLr });
  const dataSeed = mix3(spec.seed, 0xda7a, 0), dropSeed = mix3(spec.seed, 0xd20b, 0);
  const vb = valBatches(spec.valIds, tc.valBatches, B, T);
  const progress = progressReporter({
    every: tc.logEvery,
    tty: spec.tty,
    write: spec.quiet ? () => {} : undefined,
  });
  const loss = (p: GPTParams, x: Tensor, y: Tensor, step: number, part: number) =>
    gptLoss(mergeParams(p, frozen), spec.gpt, x, y, {
      train: true,
      seed: mix3(dropSeed, step, part),
    });
  /** Loss and gradients of one step's batch, accumulated over its micro-batches. */
  const stepGrads = (batch: Batch, step: number) => {
    const parts = microBatches(batch, T, tc.microBatch);
    let acc: { value: Tensor; grads: GPTParams } | undefined;
    parts.forEach((part, i) => {
      const r = tidy(() => {
        const [x, y] = batchTensors(part, part.x.length / T, T);
        return valueAndGrad((p: GPTParams) => loss(p, x, y, step, i))(trainable);
      });
      if (!acc) acc = r;
      else {
        const prev: { value: Tensor; grads: GPTParams } = acc;
        acc = tidy(() => ({
          value: add(prev.value, r.value),
          grads: addTrees(prev.grads, r.grads),
        }));
        disposeTree([prev, r]);
      }
    });
    if (parts.length === 1) return acc!;
    const sum = acc!;
    const mean = tidy(() => ({
      value: scale(sum.value, 1 / parts.length),
      grads: scaleTree(sum.grads, 1 / parts.length),
    }));
    disposeTree(sum);
    return mean;
  };

  let lastSaved = start;
  const save = async (step: number, finished: boolean) => {
    await saveCheckpoint(
      spec.dir,
      {
        model: spec.model,
        gpt: spec.gpt,
        train: { ...tc },
        step,
        totalSteps: tc.steps,
        fingerprint: spec.fingerprint,
        seed: spec.seed,
        rng: { kind: "hash(seed, step)", dataSeed, dropoutSeed: dropSeed, nextStep: step },
        dataCursor: { step, tokensSeen: step * B * T },
        tokenizer: relative(spec.dir, spec.refs.tokenizer.path),
        tokenizerSha256: spec.refs.tokenizer.sha256,
        embedding: spec.refs.embedding && frozenSha256Before
          ? {
            path: relative(spec.dir, spec.refs.embedding.path),
            sha256: spec.refs.embedding.sha256,
            frozenSha256: frozenSha256Before,
          }
          : null,
        trainablePaths: treeFlatten(trainable).map(([p]) => p),
        ...(spec.lineage ? { lineage: spec.lineage } : {}),
        finished,
      },
      {
        ...await toDict(mergeParams(trainable, frozen)),
        ...(spec.vocabIds
          ? { vocab_ids: { dtype: "I32", shape: [spec.vocabIds.length], data: spec.vocabIds } }
          : {}),
      },
      { ...await toDict(state.m, "m."), ...await toDict(state.v, "v.") },
      state.step,
    );
    lastSaved = step;
  };

  let lastLoss = NaN, windowSteps = 0, tokensPerS = 0;
  let valLoss = NaN, stepSeconds = 0, stepsRun = 0, windowStepSeconds = 0;
  for (let step = start; step < tc.steps; step++) {
    if (spec.stopAfter !== undefined && step - start >= spec.stopAfter) {
      progress.done();
      disposeTree([trainable, frozen, state.m, state.v]);
      return {
        model: spec.model,
        embedding: spec.gpt.embedding,
        seed: spec.seed,
        steps: step,
        finalLoss: lastLoss,
        valLoss: NaN,
        frozenSha256Before,
        frozenSha256After: null,
        seconds: (performance.now() - t0) / 1000,
        tokensPerS,
        interrupted: true,
        resumedFrom: start,
      };
    }
    const tStep = performance.now();
    const lr = sched(step);
    const batch = trainBatch(spec.trainIds, dataSeed, step, B, T);
    const out = tidy(() => {
      const { value, grads } = stepGrads(batch, step);
      const clipped = tc.clip > 0 ? clipByGlobalNorm(grads, tc.clip) : { grads, norm: value };
      const next = opt.step(trainable, clipped.grads, state, lr);
      return { value, norm: clipped.norm, next };
    });
    const lossV = await out.value.item(), normV = await out.norm.item();
    if (!Number.isFinite(lossV) || !Number.isFinite(normV)) {
      disposeTree(out);
      progress.done();
      const what = Number.isFinite(lossV) ? `gradient norm is ${normV}` : `loss is ${lossV}`;
      const kept = lastSaved > 0
        ? `the last good checkpoint (step ${lastSaved}) is kept in ${spec.dir}`
        : "no checkpoint was written";
      throw new Error(
        `train ${spec.model}: ${what} at step ${step + 1}; stopped, ${kept} ` +
          "(lower train.lr or raise train.warmup, then rerun)",
      );
    }
    disposeTree([trainable, state.m, state.v, out.value, out.norm]);
    trainable = out.next.params;
    state = out.next.state;
    lastLoss = lossV;
    const done = step + 1;
    windowSteps++;
    const dt = (performance.now() - tStep) / 1000;
    stepSeconds += dt;
    windowStepSeconds += dt;
    stepsRun++;

    const isLast = done === tc.steps;
    let val: number | undefined, valBpc: number | undefined;
    if (done % tc.valEvery === 0 || isLast) {
      const v = await validation(mergeParams(trainable, frozen), spec, vb);
      val = valLoss = v.loss;
      valBpc = v.bpc;
    }
    // the same definition as the result's tokensPerS, over this log window's steps
    tokensPerS = (windowSteps * B * T) / windowStepSeconds;
    const etaS = ((tc.steps - done) * B * T) / tokensPerS;
    progress.update({
      model: spec.model,
      step: done,
      total: tc.steps,
      loss: lossV,
      tokensPerS,
      etaS,
      valLoss: val,
    }, val !== undefined);
    if (done % tc.logEvery === 0 || isLast || val !== undefined) {
      const line: LogLine = { step: done, loss: lossV, lr, tokens_per_s: tokensPerS };
      line.grad_norm = normV;
      if (val !== undefined) line.val_loss = val;
      if (valBpc !== undefined) line.val_bpc = valBpc;
      await appendLog(logPath, [line]);
      windowSteps = 0;
      windowStepSeconds = 0;
    }
    if (done % tc.checkpointEvery === 0 || isLast) await save(done, isLast);
  }
  progress.done();
  if (start === tc.steps) { // resumed a finished model: recompute what the loop would report
    valLoss = (await validation(mergeParams(trainable, frozen), spec, vb)).loss;
    lastLoss = (await readLog(logPath)).at(-1)?.loss ?? NaN;
  }
  let frozenSha256After: string | null = null;
  if (spec.gpt.embedding === "frozen") {
    const ck = await loadCheckpoint(spec.dir);
    frozenSha256After = await sha256OfArray(ck.weights.wte.data);
  }
  disposeTree([trainable, frozen, state.m, state.v]);
  return {
    model: spec.model,
    embedding: spec.gpt.embedding,
    seed: spec.seed,
    steps: tc.steps,
    finalLoss: lastLoss,
    valLoss,
    frozenSha256Before,
    frozenSha256After,
    seconds: (performance.now() - t0) / 1000,
    tokensPerS: stepsRun ? (stepsRun * B * T) / stepSeconds : NaN,
    interrupted: false,
    resumedFrom: start,
  };
}
