// The train stage: for each seed, the frozen twin (glyph table, never updated) and the
// trainable twin, with the same seed, data order and hyperparameters. Checks that the frozen
// table's SHA-256 is unchanged by training, computes the character-unigram baseline on the same
// validation split, prints both models' bits per character next to it, and writes
// train/summary.json.

import { join } from "node:path";
import type { GPTConfig } from "../../core/gpt.ts";
import { loadSafetensors, writeFileAtomic } from "../../core/safetensors.ts";
import type { PipelineConfig } from "../config.ts";
import { sha256File } from "../hash.ts";
import { byteOf } from "../data/encode.ts";
import { useBackend } from "./backend.ts";
import { charLengths, unigramBitsPerChar } from "./bpc.ts";
import { trainModel, type TrainResult } from "./loop.ts";

export const MODES = ["frozen", "trainable"] as const;

/** Model folder names of a run: frozen-s0, trainable-s0, frozen-s1, ... */
export function modelNames(seeds: number): string[] {
  return Array.from({ length: seeds }, (_, i) => MODES.map((m) => `${m}-s${i}`)).flat();
}

/** Files the train stage writes, relative to the run folder. */
export function trainOutputs(seeds: number): string[] {
  const files = ["model.safetensors", "optim.safetensors", "config.json", "log.jsonl"];
  return [
    ...modelNames(seeds).flatMap((m) => files.map((f) => `train/${m}/${f}`)),
    "train/summary.json",
  ];
}

export interface TrainSummary {
  backend: string;
  unigramBpc: number;
  models: TrainResult[];
  embedding: { recipe: string; path: string; sha256: string };
  frozenTableUnchanged: boolean;
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

export interface TrainStageArgs {
  cfg: PipelineConfig;
  runDir: string;
  fingerprint: string;
  resume: boolean;
  log: (line: string) => void;
  quiet?: boolean;
  /** Tests: stop each model after this many steps (as an interruption would). */
  stopAfter?: number;
}

/** Train every model of the run; returns the summary written to train/summary.json. */
export async function runTrainStage(a: TrainStageArgs): Promise<TrainSummary> {
  const { cfg, runDir } = a;
  const { name: backend, paths } = await useBackend(cfg.train.backend, cfg.train.precision);
  a.log(`backend ${backend}: ${paths}`);
  const idsPath = join(runDir, "tokenize/ids.safetensors");
  const { tensors } = await loadSafetensors(idsPath);
  const trainIds = tensors.train.data as Int32Array, valIds = tensors.val.data as Int32Array;
  const vocabMap = tensors.vocab.data as Int32Array;
  const vocab = JSON.parse(await Deno.readTextFile(join(runDir, "tokenize/vocab.json")));
  const charLen = charLengths(vocab.tokens as string[], (i) => byteOf(vocabMap[i], vocab.layout));
  const tablePath = join(runDir, "embed/table.safetensors");
  const table = await readTable(tablePath);
  if (table.rows !== vocabMap.length) {
    throw new Error(
      `${tablePath}: ${table.rows} rows but the vocabulary has ${vocabMap.length} (rerun embed)`,
    );
  }
  const refs = {
    tokenizer: {
      path: join(runDir, "tokenize/tokenizer.json"),
      sha256: await sha256File(join(runDir, "tokenize/tokenizer.json")),
    },
    embedding: { path: tablePath, sha256: await sha256File(tablePath) },
  };
  const m = cfg.model;
  const results: TrainResult[] = [];
  for (let s = 0; s < cfg.train.seeds; s++) {
    for (const mode of MODES) {
      const gpt: GPTConfig = {
        vocab: vocabMap.length,
        dModel: m.dModel,
        layers: m.layers,
        heads: m.heads,
        context: m.context,
        embedding: mode,
        norm: m.norm,
        dropout: m.dropout,
        mlpRatio: m.mlpRatio,
      };
      const model = `${mode}-s${s}`;
      results.push(
        await trainModel({
          model,
          dir: join(runDir, "train", model),
          gpt,
          train: cfg.train,
          seed: cfg.train.seed + s,
          trainIds,
          valIds,
          frozenTable: mode === "frozen" ? table : undefined,
          charLen,
          fingerprint: a.fingerprint,
          resume: a.resume,
          refs: { ...refs, embedding: mode === "frozen" ? refs.embedding : null },
          vocabIds: vocab.mode === "compact" ? vocabMap : undefined,
          log: a.log,
          quiet: a.quiet,
          stopAfter: a.stopAfter,
        }),
      );
    }
  }
  if (results.some((r) => r.interrupted)) throw new Error("train: interrupted (stopAfter)");
  const frozenOk = results.every((r) =>
    r.embedding !== "frozen" || r.frozenSha256Before === r.frozenSha256After
  );
  if (!frozenOk) {
    throw new Error("train: the frozen table changed during training (a bug: please report it)");
  }
  const trainText = await Deno.readTextFile(join(runDir, "data/train.txt"));
  const valText = await Deno.readTextFile(join(runDir, "data/val.txt"));
  const unigramBpc = unigramBitsPerChar(trainText, valText);
  a.log(`validation bits per character (same split, ${[...valText].length} characters):`);
  a.log(`  character unigram baseline  ${unigramBpc.toFixed(3)}`);
  for (const r of results) {
    a.log(
      `  ${r.model.padEnd(27)} ${r.valBpc.toFixed(3)}  (val loss ${r.valLoss.toFixed(4)}, ` +
        `${r.steps} steps, ${r.seconds.toFixed(0)} s)`,
    );
  }
  for (const r of results.filter((r) => r.frozenSha256After)) {
    a.log(`  ${r.model}: frozen table SHA-256 ${r.frozenSha256After} (unchanged by training)`);
  }
  const summary: TrainSummary = {
    backend,
    unigramBpc,
    models: results,
    embedding: {
      recipe: cfg.embed.import ? `imported (${cfg.embed.import})` : cfg.embed.recipe,
      path: tablePath,
      sha256: refs.embedding.sha256,
    },
    frozenTableUnchanged: frozenOk,
  };
  await writeFileAtomic(join(runDir, "train/summary.json"), JSON.stringify(summary, null, 2));
  return summary;
}
