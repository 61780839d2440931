// Training checkpoints: a folder runs/<run>/train/<model>/ with model.safetensors (every
// weight, the frozen table included), optim.safetensors (AdamW moments m.* and v.*) and
// config.json (GPT config, train config, step, RNG and data-cursor state, tokenizer and
// embedding paths with SHA-256, and the SHA-256 of both weight files). A compact vocabulary's
// model-id -> tokenizer-id map is stored in model.safetensors as the I32 tensor "vocab_ids". Each file is written
// atomically and config.json last, so a checkpoint is either complete or detected as broken.

import { join } from "node:path";
import {
  decodeSafetensors,
  encodeSafetensors,
  type StDict,
  writeFileAtomic,
} from "../../core/safetensors.ts";
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

/** Write a checkpoint folder (weights, optimizer state, then config.json). */
export async function saveCheckpoint(
  dir: string,
  cfg: Omit<CheckpointConfig, "files" | "format">,
  weights: StDict,
  optim: StDict,
  adamStep: number,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const model = encodeSafetensors(weights, { format: CHECKPOINT_FORMAT, step: `${cfg.step}` });
  const opt = encodeSafetensors(optim, { format: CHECKPOINT_FORMAT, adamStep: `${adamStep}` });
  const files = { [MODEL]: await sha256Hex(model), [OPTIM]: await sha256Hex(opt) };
  await writeFileAtomic(join(dir, MODEL), model);
  await writeFileAtomic(join(dir, OPTIM), opt);
  const full: CheckpointConfig = { format: CHECKPOINT_FORMAT, ...cfg, files };
  await writeFileAtomic(join(dir, CONFIG), JSON.stringify(full, null, 2) + "\n");
}

function broken(dir: string, why: string): never {
  throw new Error(
    `checkpoint ${dir}: ${why} (delete the folder and train again, or restore a good copy)`,
  );
}

/** Read and parse config.json only (cheap), with one-line errors. */
export async function readCheckpointConfig(dir: string): Promise<CheckpointConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, CONFIG));
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
  return cfg;
}

/** Does the folder hold a checkpoint (config.json present)? */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return await Deno.stat(join(dir, CONFIG)).then(() => true, () => false);
}

/** Load a checkpoint, verifying both weight files against the hashes in config.json. */
export async function loadCheckpoint(dir: string): Promise<CheckpointData> {
  const config = await readCheckpointConfig(dir);
  const read = async (name: string) => {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(join(dir, name));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) broken(dir, `${name} is missing`);
      throw e;
    }
    if ((await sha256Hex(bytes)) !== config.files?.[name]) {
      broken(dir, `${name} does not match the SHA-256 in ${CONFIG} (truncated or corrupt)`);
    }
    return decodeSafetensors(bytes, join(dir, name));
  };
  const model = await read(MODEL);
  const optim = await read(OPTIM);
  return {
    config,
    weights: model.tensors,
    optim: optim.tensors,
    adamStep: Number(optim.metadata.adamStep ?? 0),
  };
}
