// Training checkpoints. The layout of runs/<run>/train/<model>/:
//   step-00000008/        one complete checkpoint: model.safetensors (every weight, the frozen
//                         table included), optim.safetensors (AdamW moments m.* and v.*) and
//                         config.json (GPT config, train config, step, RNG and data-cursor state,
//                         tokenizer and embedding paths with SHA-256, the weight files' SHA-256)
//   current -> step-00000008            the one pointer (a relative symlink)
//   config.json, model.safetensors, optim.safetensors -> current/<same name>   (symlinks, so
//                         train/<model>/ reads as one checkpoint folder, as before)
//   log.jsonl, result.json               the training log and the stage's result
// A save writes a new step folder under a *.tmp name, renames it when complete, and switches
// `current` by renaming a new link over it (one atomic rename); only then are older step folders
// removed. A kill or a full disk at any point leaves either the previous or the new checkpoint
// whole. `tidyCheckpointDir` (run when training starts) removes what an interrupted save left:
// *.tmp files and folders and step folders never made current; it also moves a checkpoint of the
// older layout (the three files directly in the folder) into a step folder. A compact
// vocabulary's model-id -> tokenizer-id map is stored in model.safetensors as the I32 tensor
// "vocab_ids". Loading checks both weight files against config.json's SHA-256, the step against
// the weights' own record, and that every weight and moment is finite.

import { join } from "node:path";
import { decodeSafetensors, type StDict, writeSafetensorsFile } from "../../core/safetensors.ts";
import type { GPTConfig } from "../../core/gpt.ts";
import { sha256Hex } from "../hash.ts";

export const CHECKPOINT_FORMAT = "glyphgrad-checkpoint-1";

export interface CheckpointConfig {
  format: string;
  model: string;
  gpt: GPTConfig;
  /** The train settings this run used (hyperparameters, seeds, schedule). */
  train: Record<string, unknown>;
  /** Completed optimizer steps. */
  step: number;
  totalSteps: number;
  /** The train stage fingerprint; --resume refuses a checkpoint from other settings. */
  fingerprint: string;
  seed: number;
  /** Batches and dropout masks are hashes of (seed, step): the step is the whole RNG state. */
  rng: { kind: string; dataSeed: number; dropoutSeed: number; nextStep: number };
  dataCursor: { step: number; tokensSeen: number };
  /** Tokenizer JSON, relative to the checkpoint folder (as pipeline/eval reads it). */
  tokenizer: string;
  tokenizerSha256: string;
  /** The frozen table's source file (relative), its SHA-256, and the [V, d] weights' SHA-256. */
  embedding: { path: string; sha256: string; frozenSha256: string } | null;
  /** SHA-256 of model.safetensors and optim.safetensors, checked on load. */
  files: Record<string, string>;
  /** Paths of the trainable leaves (the ones with optimizer state). */
  trainablePaths: string[];
  /** A model grown from or fine-tuned after another checkpoint (absent: trained from scratch). */
  lineage?: Lineage;
  finished: boolean;
  /** The run's first-step loss, the guard's reference (guard.ts); absent in older checkpoints. */
  lossRef?: number;
}

/** Where a checkpoint's initial weights came from, and which of its blocks stayed frozen. */
export interface Lineage {
  /** How it was made: "grow" (a block added on a frozen parent) or "merge-finetune". */
  kind: string;
  /** Parent checkpoint folders (relative to this checkpoint) with their model.safetensors SHA-256. */
  parents: { path: string; sha256: string }[];
  /** Indices of the blocks copied from the parent and kept frozen (bit-identical). */
  frozenBlocks: number[];
}

export interface CheckpointData {
  config: CheckpointConfig;
  /** Weights by dotted path (merged trainable and frozen). */
  weights: StDict;
  /** AdamW moments by "m.<path>" / "v.<path>". */
  optim: StDict;
  adamStep: number;
}

const MODEL = "model.safetensors", OPTIM = "optim.safetensors", CONFIG = "config.json";
/** The weights file of a checkpoint folder (a link through `current`). */
export const MODEL_FILE = MODEL;
const CURRENT = "current";
/** The files of one checkpoint (links to the current step folder's files). */
export const CHECKPOINT_FILES = [MODEL, OPTIM, CONFIG];

/**
 * Test seam: called at named points inside a save ("model", "optim", "config": that file is
 * written in the *.tmp folder; "folder": the step folder is complete; "pointer": `current` was
 * switched, older folders not yet removed). `GLYPHGRAD_KILL_IN_CHECKPOINT=<point>@<step>`
 * SIGKILLs the process there (the kill-and-resume test).
 */
export const checkpointHook = { at: envKillHook() };

function envKillHook(): (point: string, step: number) => void {
  let want: string | undefined;
  try {
    want = Deno.env.get("GLYPHGRAD_KILL_IN_CHECKPOINT");
  } catch { /* no env permission: no hook */ }
  if (!want) return () => {};
  return (point, step) => {
    if (`${point}@${step}` === want) Deno.kill(Deno.pid, "SIGKILL");
  };
}

const stepName = (step: number) => `step-${String(step).padStart(8, "0")}`;
const isStepName = (name: string) => /^step-\d{8}(-[a-z0-9]+)?$/.test(name);

/** The step folder `current` points at, or null (no checkpoint, or the older layout). */
async function currentStep(dir: string): Promise<string | null> {
  try {
    return await Deno.readLink(join(dir, CURRENT));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

/** Point `link` at `target` with one rename (replacing a file or link of that name). */
async function swapLink(target: string, link: string): Promise<void> {
  const tmp = `${link}.${Deno.pid}.tmp`;
  await Deno.remove(tmp).catch(() => {});
  await Deno.symlink(target, tmp);
  await Deno.rename(tmp, link);
}

/** Make config.json, model.safetensors and optim.safetensors links into `current`. */
async function linkTopFiles(dir: string): Promise<void> {
  for (const f of CHECKPOINT_FILES) {
    const path = join(dir, f), target = join(CURRENT, f);
    if (await Deno.readLink(path).then((t) => t === target, () => false)) continue;
    await swapLink(target, path);
  }
}

/** Write a complete step folder for cfg.step (not yet current); returns its name. */
export async function writeCheckpointStep(
  dir: string,
  cfg: Omit<CheckpointConfig, "files" | "format">,
  weights: StDict,
  optim: StDict,
  adamStep: number,
): Promise<string> {
  if (!Number.isInteger(cfg.step) || cfg.step < 0) {
    throw new Error(`saveCheckpoint: step ${cfg.step} is not a whole number >= 0`);
  }
  await Deno.mkdir(dir, { recursive: true });
  let name = stepName(cfg.step);
  if (name === await currentStep(dir)) name += `-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = join(dir, `${name}.${Deno.pid}.tmp`);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp);
  // streamed and hashed as written: no whole-file copy of a multi-gigabyte checkpoint in memory
  const write = (file: string, tensors: StDict, meta: Record<string, string>) =>
    writeSafetensorsFile(join(tmp, file), tensors, { format: CHECKPOINT_FORMAT, ...meta });
  const modelSha = await write(MODEL, weights, { step: `${cfg.step}` });
  checkpointHook.at("model", cfg.step);
  const optimSha = await write(OPTIM, optim, { adamStep: `${adamStep}` });
  checkpointHook.at("optim", cfg.step);
  const files = { [MODEL]: modelSha, [OPTIM]: optimSha };
  const full: CheckpointConfig = { format: CHECKPOINT_FORMAT, ...cfg, files };
  await Deno.writeTextFile(join(tmp, CONFIG), JSON.stringify(full, null, 2) + "\n");
  checkpointHook.at("config", cfg.step);
  await Deno.remove(join(dir, name), { recursive: true }).catch(() => {}); // never current
  await Deno.rename(tmp, join(dir, name));
  checkpointHook.at("folder", cfg.step);
  return name;
}

/** Make a written step folder the checkpoint (one rename), then remove older step folders. */
export async function commitCheckpointStep(dir: string, name: string, step: number) {
  await linkTopFiles(dir); // dangling until the first `current` exists
  await swapLink(name, join(dir, CURRENT));
  checkpointHook.at("pointer", step);
  for (const e of await Array.fromAsync(Deno.readDir(dir))) { // listed before removing
    if (e.isDirectory && isStepName(e.name) && e.name !== name) {
      await Deno.remove(join(dir, e.name), { recursive: true });
    }
  }
}

/** Write a checkpoint: a new step folder, then the switch of `current` to it. */
export async function saveCheckpoint(
  dir: string,
  cfg: Omit<CheckpointConfig, "files" | "format">,
  weights: StDict,
  optim: StDict,
  adamStep: number,
): Promise<void> {
  await tidyCheckpointDir(dir);
  const name = await writeCheckpointStep(dir, cfg, weights, optim, adamStep);
  await commitCheckpointStep(dir, name, cfg.step);
}

/** Forget the checkpoint in dir (training from scratch): unlink `current`, then its folders. */
export async function dropCheckpoint(dir: string): Promise<void> {
  await Deno.remove(join(dir, CURRENT)).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await tidyCheckpointDir(dir);
}

/**
 * Before training writes into dir: remove what an interrupted save left (*.tmp files and
 * folders, step folders that never became current), restore the links to `current`, and move
 * a checkpoint of the older layout (files directly in dir) into a step folder.
 */
export async function tidyCheckpointDir(dir: string): Promise<void> {
  if (!(await exists(dir))) return;
  let cur = await currentStep(dir);
  if (cur === null && (await Deno.lstat(join(dir, CONFIG)).then((s) => s.isFile, () => false))) {
    cur = await adoptOldLayout(dir);
  }
  for (const e of await Array.fromAsync(Deno.readDir(dir))) { // listed before removing
    const stale = e.name.endsWith(".tmp") || (isStepName(e.name) && e.name !== cur);
    if (stale) await Deno.remove(join(dir, e.name), { recursive: true });
  }
  if (cur !== null) await linkTopFiles(dir);
}

/** Move the older layout's files into a step folder made current; null when they are broken. */
async function adoptOldLayout(dir: string): Promise<string | null> {
  let step: unknown;
  try {
    step = JSON.parse(await Deno.readTextFile(join(dir, CONFIG)))?.step;
  } catch {
    return null; // loading reports it
  }
  if (!Number.isInteger(step) || (step as number) < 0) return null;
  for (const f of [MODEL, OPTIM]) if (!(await exists(join(dir, f)))) return null;
  const name = stepName(step as number), tmp = join(dir, `${name}.${Deno.pid}.tmp`);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp);
  for (const f of CHECKPOINT_FILES) {
    await Deno.link(join(dir, f), join(tmp, f)).catch(() =>
      Deno.copyFile(join(dir, f), join(tmp, f))
    );
  }
  await Deno.remove(join(dir, name), { recursive: true }).catch(() => {});
  await Deno.rename(tmp, join(dir, name));
  // then each top file is replaced by a link to the same bytes (tidyCheckpointDir)
  await swapLink(name, join(dir, CURRENT));
  return name;
}

function broken(dir: string, why: string): never {
  throw new Error(
    `checkpoint ${dir}: ${why} (delete the folder and train again, or restore a good copy)`,
  );
}

/** Where the checkpoint's files are: the current step folder, or dir itself (older layout). */
async function filesDir(dir: string): Promise<string> {
  const cur = await currentStep(dir);
  return cur === null ? dir : join(dir, cur);
}

/** Read and parse config.json only (cheap), with one-line errors; `step` is checked. */
export async function readCheckpointConfig(dir: string): Promise<CheckpointConfig> {
  return await readConfigIn(dir, await filesDir(dir));
}

async function readConfigIn(dir: string, files: string): Promise<CheckpointConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(files, CONFIG));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) broken(dir, `${CONFIG} is missing`);
    throw e;
  }
  let cfg: CheckpointConfig;
  try {
    cfg = JSON.parse(text);
  } catch {
    return broken(dir, `${CONFIG} is not valid JSON (truncated?)`);
  }
  if (cfg?.format !== CHECKPOINT_FORMAT) {
    broken(dir, `${CONFIG} is not a ${CHECKPOINT_FORMAT} file (format ${cfg?.format})`);
  }
  const { step, totalSteps } = cfg;
  if (!Number.isInteger(totalSteps) || totalSteps < 0) {
    broken(dir, `${CONFIG} "totalSteps" is ${JSON.stringify(totalSteps)}, not a whole number`);
  }
  if (!Number.isInteger(step) || step < 0 || step > totalSteps) {
    broken(
      dir,
      `${CONFIG} "step" is ${
        JSON.stringify(step)
      }; it must be a whole number in [0, ${totalSteps}]`,
    );
  }
  return cfg;
}

/** Does the folder hold a checkpoint (config.json present)? */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return await Deno.stat(join(dir, CONFIG)).then(() => true, () => false);
}

/** The first non-finite value of the F32 tensors, as "tensor "name" holds x at index i". */
function firstNonFinite(tensors: StDict): string | null {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== "F32") continue;
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) return `tensor "${name}" holds ${d[i]} at index ${i}`;
    }
  }
  return null;
}

/**
 * Load a checkpoint, verifying both weight files against the hashes in config.json, config.json's
 * step against the one model.safetensors records, and that every weight and moment is finite.
 */
export async function loadCheckpoint(dir: string): Promise<CheckpointData> {
  const files = await filesDir(dir);
  const config = await readConfigIn(dir, files);
  const read = async (name: string) => {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(join(files, name));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) broken(dir, `${name} is missing`);
      throw e;
    }
    if ((await sha256Hex(bytes)) !== config.files?.[name]) {
      broken(dir, `${name} does not match the SHA-256 in ${CONFIG} (truncated or corrupt)`);
    }
    const st = decodeSafetensors(bytes, join(dir, name));
    const bad = firstNonFinite(st.tensors);
    if (bad) {
      broken(dir, `${name} ${bad} (the run diverged before this checkpoint was written)`);
    }
    return st;
  };
  const model = await read(MODEL);
  if (model.metadata.step !== undefined && model.metadata.step !== `${config.step}`) {
    broken(
      dir,
      `${CONFIG} says step ${config.step} but ${MODEL} was written at step ${model.metadata.step}`,
    );
  }
  const optim = await read(OPTIM);
  const adamStep = Number(optim.metadata.adamStep ?? 0);
  if (!Number.isInteger(adamStep) || adamStep < 0) {
    broken(dir, `${OPTIM} records adamStep ${optim.metadata.adamStep}, not a whole number`);
  }
  return { config, weights: model.tensors, optim: optim.tensors, adamStep };
}
