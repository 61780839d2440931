// The train stage of one study cell (pipeline/study.ts): one arm trained with one seed. A
// frozen arm reads its table from embed/<arm>/; the trainable arm owns a seeded table. Every
// arm of a seed gets the same seed, so the same data order and the same initial weights of
// everything but the table. Checks that a frozen table's SHA-256 is unchanged by training and
// writes train/<cell>/result.json (the TrainResult).

import { join } from "node:path";
import type { FrozenTable, GPTConfig } from "../../core/gpt.ts";
import { loadSafetensors, writeFileAtomic } from "../../core/safetensors.ts";
import type { PipelineConfig } from "../config.ts";
import { sha256File } from "../hash.ts";
import { byteOf } from "../data/encode.ts";
import { type Arm, type Cell, cellSeed } from "../study.ts";
import { useBackend } from "./backend.ts";
import { charLengths } from "./bpc.ts";
import { trainModel, type TrainResult, type TrainSpec } from "./loop.ts";

const CELL_FILES = ["model.safetensors", "optim.safetensors", "config.json", "log.jsonl"];

/** Files one cell's train stage (or a variant of it in `dir`) writes, relative to the run folder. */
export function cellTrainOutputs(cell: string, dir = `train/${cell}`): string[] {
  return [...CELL_FILES, "result.json"].map((f) => `${dir}/${f}`);
}

/** The frozen table file of an arm, relative to the run folder. */
export function armTablePath(arm: Arm): string {
  return `embed/${arm.name}/table.safetensors`;
}

/** A [rows, cols] float32 table from the embed stage's safetensors file. */
export async function readTable(path: string) {
  const { tensors } = await loadSafetensors(path);
  const entry = tensors.embedding ??
    Object.values(tensors).find((t) => t.dtype === "F32" && t.shape.length === 2);
  if (!entry || entry.shape.length !== 2 || entry.dtype !== "F32") {
    throw new Error(`${path}: no [V, D] float32 table inside (rerun the embed stage)`);
  }
  return { data: entry.data as Float32Array, rows: entry.shape[0], cols: entry.shape[1] };
}

export interface TrainCellArgs {
  /** The model and train settings (the train stage's parameters). */
  settings: Pick<PipelineConfig, "model" | "train">;
  runDir: string;
  cell: Cell;
  fingerprint: string;
  /** The fingerprint under other train settings (checks --allow-changed on resume). */
  fingerprintOf?: (train: Record<string, unknown>) => Promise<string>;
  /** Optimizer settings --resume may find changed (--allow-changed). */
  allowChanged?: string[];
  resume: boolean;
  log: (line: string) => void;
  quiet?: boolean;
  /** Tests: stop after this many steps (as an interruption would). */
  stopAfter?: number;
  /** Another model of the same cell (pipeline/grow, pipeline/merge); absent: the cell itself. */
  variant?: CellVariant;
}

/** A model trained in a cell's setting with some things changed. */
export interface CellVariant {
  /** Model name; the checkpoint goes to <dir> (relative to the run folder). */
  name: string;
  dir: string;
  /** Training ids instead of the tokenize stage's train split (an expert's data). */
  trainIds?: Int32Array;
  /** Train settings replaced (e.g. steps). */
  train?: Partial<PipelineConfig["train"]>;
  /** Training seed (default the cell's): init and data order. */
  seed?: number;
  /** Number of blocks (default model.layers). */
  layers?: number;
  /** Initial weights and their lineage (a grown model), given the GPT config and the table. */
  init?: (gpt: GPTConfig, table?: FrozenTable) => Promise<Pick<TrainSpec, "init" | "lineage">>;
}

/** Train one cell; returns its TrainResult (also written to train/<cell>/result.json). */
export async function trainCell(a: TrainCellArgs): Promise<TrainResult> {
  const { settings: cfg, runDir, cell } = a;
  const { name: backend, paths } = await useBackend(cfg.train.backend, cfg.train.precision);
  a.log(`${cell.name}: backend ${backend}: ${paths}`);
  const { tensors } = await loadSafetensors(join(runDir, "tokenize/ids.safetensors"));
  const v = a.variant;
  const trainIds = v?.trainIds ?? tensors.train.data as Int32Array,
    valIds = tensors.val.data as Int32Array;
  const vocabMap = tensors.vocab.data as Int32Array;
  const vocab = JSON.parse(await Deno.readTextFile(join(runDir, "tokenize/vocab.json")));
  const charLen = charLengths(vocab.tokens as string[], (i) => byteOf(vocabMap[i], vocab.layout));
  const frozen = cell.arm.kind !== "trainable";
  const tablePath = frozen ? join(runDir, armTablePath(cell.arm)) : "";
  const table = frozen ? await readTable(tablePath) : undefined;
  if (table && table.rows !== vocabMap.length) {
    throw new Error(
      `${tablePath}: ${table.rows} rows but the vocabulary has ${vocabMap.length} (rerun embed)`,
    );
  }
  const tokPath = join(runDir, "tokenize/tokenizer.json");
  const m = cfg.model;
  const gpt: GPTConfig = {
    vocab: vocabMap.length,
    dModel: m.dModel,
    layers: v?.layers ?? m.layers,
    heads: m.heads,
    context: m.context,
    embedding: frozen ? "frozen" : "trainable",
    norm: m.norm,
    dropout: m.dropout,
    mlpRatio: m.mlpRatio,
  };
  const name = v?.name ?? cell.name, dir = join(runDir, v?.dir ?? join("train", cell.name));
  const r = await trainModel({
    model: name,
    dir,
    gpt,
    train: { ...cfg.train, ...v?.train },
    ...(v?.init ? await v.init(gpt, table) : {}),
    seed: v?.seed ?? cellSeed(cfg.train.seed, cell),
    trainIds,
    valIds,
    frozenTable: table,
    charLen,
    fingerprint: a.fingerprint,
    fingerprintOf: a.fingerprintOf,
    allowChanged: a.allowChanged,
    resume: a.resume,
    refs: {
      tokenizer: { path: tokPath, sha256: await sha256File(tokPath) },
      embedding: frozen ? { path: tablePath, sha256: await sha256File(tablePath) } : null,
    },
    vocabIds: vocab.mode === "compact" ? vocabMap : undefined,
    log: a.log,
    quiet: a.quiet,
    stopAfter: a.stopAfter,
  });
  if (r.interrupted) throw new Error(`train ${name}: interrupted (stopAfter)`);
  if (frozen && r.frozenSha256Before !== r.frozenSha256After) {
    throw new Error(
      `train ${name}: the frozen table changed during training (a bug: please report it)`,
    );
  }
  const result: CellResult = {
    ...r,
    arm: cell.arm.spec,
    seedIndex: cell.seedIndex,
    backend,
    tableSha256: frozen ? await sha256File(tablePath) : null,
  };
  a.log(
    `${name}: val loss ${r.valLoss.toFixed(4)} (fixed windows), ${r.steps} steps, ` +
      `${r.seconds.toFixed(0)} s, ${Math.round(r.tokensPerS)} tokens/s`,
  );
  await writeFileAtomic(
    join(dir, "result.json"),
    JSON.stringify(result, null, 2) + "\n",
  );
  return result;
}

/** A cell's training result as written to train/<cell>/result.json. */
export interface CellResult extends TrainResult {
  arm: string;
  seedIndex: number;
  backend: string;
  /** SHA-256 of the frozen table file (null for the trainable arm). */
  tableSha256: string | null;
}
