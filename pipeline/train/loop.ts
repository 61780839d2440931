// The training loop of one model: seeded init (the frozen and trainable twins share every
// initial weight but the embedding), AdamW with warmup + cosine schedule and global-norm
// clipping, deterministic batches, validation every N steps, JSONL log, progress, atomic
// checkpoints, bit-identical --resume (with optimizer settings changed only when allowed), and a
// guard (guard.ts) that stops on a non-finite or diverged step and keeps the last checkpoint whose
// weights gave a sane loss. Ends with the validation loss (bits per character are the eval
// stage's; the log carries a bits-per-character monitor of the fixed validation windows for the
// curves).

import { join, relative } from "node:path";
import {
  type FrozenTable,
  type GPTConfig,
  gptLoss,
  type GPTParams,
  initGPT,
  mergeParams,
} from "../../core/gpt.ts";
import { treeFlatten, treeMap } from "../../core/autodiff.ts";
import { type AdamState, adamw, cosineSchedule, type Optimizer } from "../../core/optim.ts";
import { Rng } from "../../core/rng.ts";
import { disposeTree, type Tensor, tensor, tidy } from "../../core/tensor.ts";
import { readSafetensorsTensor, type StDict } from "../../core/safetensors.ts";
import type { PipelineConfig } from "../config.ts";
import { sha256OfArray } from "../hash.ts";
import { type Batch, mix3, trainBatch, valBatches } from "./batches.ts";
import { bitsPerChar } from "./bpc.ts";
import {
  commitCheckpointStep,
  dropCheckpoint,
  hasCheckpoint,
  type Lineage,
  loadCheckpoint,
  MODEL_FILE,
  readCheckpointConfig,
  tidyCheckpointDir,
  writeCheckpointStep,
} from "./checkpoint.ts";
import { appendLog, type LogLine, readLog, truncateLog } from "./log.ts";
import { guardAdvice, insaneStep } from "./guard.ts";
import { type Changes, resumeChanges } from "./resume.ts";
import { progressReporter } from "./progress.ts";
import { trainStep } from "./step.ts";

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
  /** Optimizer settings --resume may find changed (resume.ts RESUMABLE), e.g. ["train.lr"]. */
  allowChanged?: string[];
  /** The fingerprint this run would have with other train settings (checks --allow-changed). */
  fingerprintOf?: (train: Record<string, unknown>) => Promise<string>;
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
    // in place where the backend allows (no copy of a multi-gigabyte model); the tensors stay
    // alive until the checkpoint is written
    out[prefix + path] = {
      dtype: "F32",
      shape: [...t.shape],
      data: t.hostView() ?? await t.data(),
    };
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

/** Parameters, optimiser state and the step to continue from: fresh, or read from --resume. */
async function openModel(spec: TrainSpec, opt: Optimizer, log: (l: string) => void) {
  const tc = spec.train;
  let { trainable, frozen } = spec.init ?? initTwin(spec.gpt, spec.seed, spec.frozenTable);
  let state: AdamState<GPTParams> = opt.init(trainable);
  const frozenSha256Before = frozen.wte ? await sha256OfArray(await frozen.wte.data()) : null;
  let start = 0, lossRef = NaN, changes: Changes = {};
  if (await hasCheckpoint(spec.dir)) {
    const prev = await readCheckpointConfig(spec.dir).catch((e) => {
      if (spec.resume) throw e;
      return null; // dropped below
    });
    if (spec.resume && prev) {
      changes = await resumeChanges(prev, { ...spec, train: { ...tc } });
      const ck = await loadCheckpoint(spec.dir);
      if (ck.config.step > tc.steps) {
        throw new Error(
          `checkpoint ${spec.dir}: step ${ck.config.step} is past train.steps ${tc.steps}; ` +
            "rerun without --resume to train from scratch",
        );
      }
      trainable = fromDict(trainable, ck.weights, "", spec.dir);
      frozen = fromDict(frozen, ck.weights, "", spec.dir);
      state = {
        step: ck.adamStep,
        m: fromDict(state.m, ck.optim, "m.", spec.dir),
        v: fromDict(state.v, ck.optim, "v.", spec.dir),
      };
      start = ck.config.step;
      lossRef = ck.config.lossRef ?? NaN;
      log(`${spec.model}: resuming from step ${start} of ${ck.config.totalSteps}`);
    } else {
      if (prev && prev.step < prev.totalSteps) {
        log(
          `${spec.model}: found an unfinished checkpoint (step ${prev.step}); starting over ` +
            "(pass --resume to continue it)",
        );
      }
      await dropCheckpoint(spec.dir); // a later --resume must not continue the older run
    }
  }
  return { trainable, frozen, state, start, frozenSha256Before, lossRef, changes };
}

/** The config.json of a checkpoint at `step` (everything but the file hashes). */
function checkpointConfig(
  spec: TrainSpec,
  step: number,
  finished: boolean,
  seeds: { dataSeed: number; dropSeed: number },
  trainablePaths: string[],
  frozenSha256: string | null,
  lossRef: number,
) {
  const tc = spec.train;
  return {
    model: spec.model,
    gpt: spec.gpt,
    train: { ...tc },
    step,
    totalSteps: tc.steps,
    fingerprint: spec.fingerprint,
    seed: spec.seed,
    rng: {
      kind: "hash(seed, step)",
      dataSeed: seeds.dataSeed,
      dropoutSeed: seeds.dropSeed,
      nextStep: step,
    },
    dataCursor: { step, tokensSeen: step * tc.batch * spec.gpt.context },
    tokenizer: relative(spec.dir, spec.refs.tokenizer.path),
    tokenizerSha256: spec.refs.tokenizer.sha256,
    embedding: spec.refs.embedding && frozenSha256
      ? {
        path: relative(spec.dir, spec.refs.embedding.path),
        sha256: spec.refs.embedding.sha256,
        frozenSha256,
      }
      : null,
    trainablePaths,
    ...(spec.lineage ? { lineage: spec.lineage } : {}),
    finished,
    lossRef: Number.isFinite(lossRef) ? lossRef : undefined,
  };
}

/** train.microBatch must be a whole number dividing train.batch (0 = the whole batch). */
function checkMicroBatch(tc: TrainSettings): void {
  const B = tc.batch;
  if (!Number.isInteger(tc.microBatch) || tc.microBatch < 0 || B % (tc.microBatch || B) !== 0) {
    throw new Error(
      `train.microBatch ${tc.microBatch} must divide train.batch ${B} (0 runs the whole batch ` +
        "at once)",
    );
  }
}

/** Train one model to `train.steps` (or resume it), writing checkpoints and logs into dir. */
export async function trainModel(spec: TrainSpec): Promise<TrainResult> {
  const log = spec.log ?? ((l: string) => console.log(l));
  const tc = spec.train, T = spec.gpt.context, B = tc.batch;
  checkMicroBatch(tc);
  const logPath = join(spec.dir, "log.jsonl");
  await Deno.mkdir(spec.dir, { recursive: true });
  await tidyCheckpointDir(spec.dir); // what a kill inside a save left behind
  const t0 = performance.now();

  const opt = adamw({ beta1: tc.beta1, beta2: tc.beta2, eps: 1e-8, weightDecay: tc.weightDecay });
  const opened = await openModel(spec, opt, log);
  let { trainable, frozen, state, lossRef } = opened;
  const { start, frozenSha256Before, changes } = opened;
  await truncateLog(logPath, start === 0 ? -1 : start);
  if (Object.keys(changes).length) {
    await appendLog(logPath, [{ step: start, event: "resume", changed: changes }]);
    log(
      `${spec.model}: resuming with changed ${Object.keys(changes).join(", ")} (--allow-changed)`,
    );
  }

  const sched = cosineSchedule({ warmup: tc.warmup, total: tc.steps, peak: tc.lr, min: tc.minLr });
  const dataSeed = mix3(spec.seed, 0xda7a, 0), dropSeed = mix3(spec.seed, 0xd20b, 0);
  const vb = valBatches(spec.valIds, tc.valBatches, B, T);
  const progress = progressReporter({
    every: tc.logEvery,
    tty: spec.tty,
    write: spec.quiet ? () => {} : undefined,
  });
  /** Loss of micro-batch `part` of `step`'s batch (its own dropout masks). */
  const partLoss = (parts: Batch[], step: number) => (p: GPTParams, part: number) => {
    const [x, y] = batchTensors(parts[part], parts[part].x.length / T, T);
    return gptLoss(mergeParams(p, frozen), spec.gpt, x, y, {
      train: true,
      seed: mix3(dropSeed, step, part),
    });
  };

  let lastSaved = start;
  /** A written checkpoint waiting for a sane loss on its weights before it becomes current. */
  let pending: { name: string; step: number } | null = null;
  const commit = async () => {
    if (!pending) return;
    await commitCheckpointStep(spec.dir, pending.name, pending.step);
    lastSaved = pending.step;
    pending = null;
  };
  const save = async (step: number, finished: boolean) => {
    const name = await writeCheckpointStep(
      spec.dir,
      checkpointConfig(
        spec,
        step,
        finished,
        { dataSeed, dropSeed },
        treeFlatten(trainable).map(([p]) => p),
        frozenSha256Before,
        lossRef,
      ),
      {
        ...await toDict(mergeParams(trainable, frozen)),
        ...(spec.vocabIds
          ? { vocab_ids: { dtype: "I32", shape: [spec.vocabIds.length], data: spec.vocabIds } }
          : {}),
      },
      { ...await toDict(state.m, "m."), ...await toDict(state.v, "v.") },
      state.step,
    );
    pending = { name, step };
  };
  const stop = (what: string, step: number): never => {
    progress.done();
    const kept = lastSaved > 0
      ? `the last good checkpoint (step ${lastSaved}) is kept in ${spec.dir}`
      : "no checkpoint was written";
    throw new Error(
      `train ${spec.model}: ${what} at step ${step}; stopped, ${kept} (${
        guardAdvice(tc, lastSaved)
      })`,
    );
  };

  let lastLoss = NaN, valLoss = NaN, stepSeconds = 0, stepsRun = 0;
  let windowSteps = 0, windowStepSeconds = 0, step = start;
  const interrupted = () => spec.stopAfter !== undefined && step - start >= spec.stopAfter;
  for (; step < tc.steps && !interrupted(); step++) {
    const tStep = performance.now();
    const lr = sched(step);
    const parts = microBatches(trainBatch(spec.trainIds, dataSeed, step, B, T), T, tc.microBatch);
    const out = trainStep({
      opt,
      params: trainable,
      state,
      loss: partLoss(parts, step),
      parts: parts.length,
      clip: tc.clip,
      lr,
    });
    trainable = out.params;
    state = out.state;
    const lossV = await out.loss.item(), normV = await out.gradNorm.item();
    disposeTree([out.loss, out.gradNorm]);
    if (step === 0 && Number.isFinite(lossV)) lossRef = lossV;
    const insane = insaneStep(lossV, normV, lossRef);
    if (insane) {
      disposeTree([trainable, frozen, state.m, state.v]);
      stop(insane, step + 1);
    }
    await commit(); // this loss was computed on the pending checkpoint's weights: they are sane
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
    const tokensPerS = (windowSteps * B * T) / windowStepSeconds;
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
    if (isLast) {
      const insaneVal = insaneStep(valLoss, 0, lossRef);
      if (insaneVal) stop(`validation ${insaneVal}`, done);
      await commit();
    }
  }
  progress.done();
  const stopped = step < tc.steps;
  if (start === tc.steps) { // resumed a finished model: recompute what the loop would report
    valLoss = (await validation(mergeParams(trainable, frozen), spec, vb)).loss;
    lastLoss = (await readLog(logPath)).at(-1)?.loss ?? NaN;
  }
  // the table as saved (read alone from the checkpoint, not the whole multi-gigabyte file)
  const frozenSha256After = spec.gpt.embedding === "frozen" && !stopped
    ? await sha256OfArray((await readSafetensorsTensor(join(spec.dir, MODEL_FILE), "wte")).data)
    : null;
  disposeTree([trainable, frozen, state.m, state.v]);
  return {
    model: spec.model,
    embedding: spec.gpt.embedding,
    seed: spec.seed,
    steps: step,
    finalLoss: lastLoss,
    valLoss: stopped ? NaN : valLoss,
    frozenSha256Before,
    frozenSha256After,
    seconds: (performance.now() - t0) / 1000,
    tokensPerS: stepsRun ? (stepsRun * B * T) / stepSeconds : NaN,
    interrupted: stopped,
    resumedFrom: start,
  };
}
