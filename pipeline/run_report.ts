// The run report runs/<run>/report.md: the study's verdict and arms x seeds table first
// (eval/study.md), then the training of every cell (validation bits per character from the
// eval stage, the one definition, next to the character-unigram baseline; each frozen table's
// SHA-256 before and after), the data sources with package, version and licence, the
// evaluation report of pipeline/eval (its plots live in eval/), and every artifact's SHA-256.

import { join } from "node:path";
import { writeFileAtomic } from "../core/safetensors.ts";
import type { PipelineConfig } from "./config.ts";
import type { SourceRecord } from "./data/build.ts";
import type { Manifest } from "./runner.ts";
import type { Cell } from "./study.ts";
import type { CellResult } from "./train/stage.ts";
import { unigramBitsPerChar } from "./train/bpc.ts";

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a");

export interface TrainRow {
  cell: CellResult;
  /** Validation bits per character of the eval stage (whole split, per document). */
  valBpc: number;
}

/** The training section: one row per cell, the baseline, the frozen-table checks. */
export function trainSection(rows: TrainRow[], unigramBpc: number, backend: string): string[] {
  const md = ["## Training: every cell", ""];
  md.push(
    "Every arm of a seed has the same seed, data order and hyperparameters; only the input",
    "embedding differs. Bits per character: the whole validation split, per document (the",
    "eval stage's definition); val loss: the fixed validation windows (nats/token). The",
    "baseline is a character unigram model fitted on the training split.",
    "",
    "| model | arm | embedding | seed | steps | train loss | val loss | val bits/char | " +
      "seconds | tokens/s |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const { cell: m, valBpc } of rows) {
    md.push(
      `| ${m.model} | ${m.arm} | ${m.embedding} | ${m.seed} | ${m.steps} | ` +
        `${f3(m.finalLoss)} | ${f3(m.valLoss)} | **${f3(valBpc)}** | ${Math.round(m.seconds)} | ` +
        `${Math.round(m.tokensPerS).toLocaleString("en-US")} |`,
    );
  }
  md.push(`| character unigram baseline | | | | | | | **${f3(unigramBpc)}** | | |`, "");
  md.push(
    `Backend: ${backend}. tokens/s: tokens of the optimiser steps over the seconds they took ` +
      "(validation and checkpoints excluded).",
    "",
  );
  for (const { cell: m } of rows.filter((r) => r.cell.frozenSha256Before)) {
    const same = m.frozenSha256Before === m.frozenSha256After;
    md.push(
      `- ${m.model}: frozen [V, d] table SHA-256 before training \`${m.frozenSha256Before}\`, ` +
        `after \`${m.frozenSha256After}\`: ${same ? "identical" : "**DIFFERENT**"}.`,
    );
  }
  md.push("");
  return md;
}

export function dataSection(sources: SourceRecord[]): string[] {
  const md = ["## Data", ""];
  md.push(
    "| source | language | package | version | licence | train docs | val docs | train chars |" +
      " val chars |",
  );
  md.push("|---|---|---|---|---|---|---|---|---|");
  for (const s of sources) {
    md.push(
      `| ${s.name} | ${s.lang} | ${s.package ?? "user file"} | ${s.version ?? ""} | ` +
        `${s.licence} | ${s.trainDocs} | ${s.valDocs} | ${s.trainChars} | ${s.valChars} |`,
    );
  }
  md.push("");
  return md;
}

/** Shift the eval report's headings one level down and point its images into eval/. */
export function embedEvalReport(md: string): string[] {
  return md.split("\n").map((l) =>
    l.replace(/^(#+) /, "#$1 ").replace(/\]\((?!https?:|\/|eval\/)([^)]+)\)/g, "](eval/$1)")
  );
}

/** Point a report's relative images into eval/ (headings kept). */
function pointIntoEval(md: string): string[] {
  return md.split("\n").map((l) => l.replace(/\]\((?!https?:|\/|eval\/)([^)]+)\)/g, "](eval/$1)"));
}

export function artifactSection(m: Manifest): string[] {
  const md = ["## Artifacts (SHA-256)", "", "| stage | file | SHA-256 |", "|---|---|---|"];
  for (const [stage, rec] of Object.entries(m.stages)) {
    for (const [file, r] of Object.entries(rec.outputs)) {
      md.push(`| ${stage} | ${file} | \`${r.sha256}\` |`);
    }
  }
  md.push("", "Every artifact, with the inputs and parameters it was made from: `manifest.json`.");
  return md;
}

/** What the report says of the config (the report stage's fingerprinted parameters). */
export interface RunReportParams {
  run: string;
  model: PipelineConfig["model"];
  train: Pick<PipelineConfig["train"], "steps" | "batch" | "lr">;
  seeds: number;
  tokenizer: Pick<PipelineConfig["tokenizer"], "variant" | "layout">;
  /** Which composition sections the report includes (pipeline/grow, pipeline/merge). */
  grow: { blocks: number };
  merge: { experts: string[] };
}

/** The report stage's parameters, taken from the config. */
export function runReportParams(cfg: PipelineConfig): RunReportParams {
  const { steps, batch, lr } = cfg.train;
  return {
    run: cfg.run,
    model: cfg.model,
    train: { steps, batch, lr },
    seeds: cfg.study.seeds,
    tokenizer: { variant: cfg.tokenizer.variant, layout: cfg.tokenizer.layout },
    grow: { blocks: cfg.grow.blocks },
    merge: { experts: cfg.merge.experts },
  };
}

/** Write report.md into the run folder from the outputs of the earlier stages. */
export async function writeRunReport(
  cfg: RunReportParams,
  runDir: string,
  cells: Cell[],
): Promise<string> {
  const read = (rel: string) => Deno.readTextFile(join(runDir, rel));
  const rows: TrainRow[] = [];
  for (const c of cells) {
    const cell: CellResult = JSON.parse(await read(`train/${c.name}/result.json`));
    const ev = JSON.parse(await read(`eval/${c.name}/results.json`));
    rows.push({ cell, valBpc: ev.results[0]?.lm?.bitsPerChar ?? NaN });
  }
  const unigramBpc = unigramBitsPerChar(await read("data/train.txt"), await read("data/val.txt"));
  const sources: SourceRecord[] = JSON.parse(await read("data/sources.json"));
  const manifest: Manifest = JSON.parse(await read("manifest.json"));
  const evalMd = await read("eval/report.md").catch(() => "");
  const studyMd = await read("eval/study.md").catch(() => "");
  // the grow and merge sections (pipeline/grow, pipeline/merge), when the config has them
  const composeMd = [
    ...(cfg.grow?.blocks ? [await read("grow/report.md")] : []),
    ...(cfg.merge?.experts.length ? [await read("merge/report.md")] : []),
  ];
  const vocab = JSON.parse(await read("tokenize/vocab.json"));
  const m = cfg.model;
  const md = [
    `# glyphgrad run \`${cfg.run}\``,
    "",
    `Model: ${m.layers} layers, d_model ${m.dModel}, ${m.heads} heads, context ${m.context}, ` +
    `${m.norm}, vocabulary ${vocab.modelVocab} ids (${m.vocab}); ${cfg.train.steps} steps of batch ${cfg.train.batch}, ` +
    `peak lr ${cfg.train.lr}; ${cells.length} cells (${
      [...new Set(cells.map((c) => c.arm.name))].join(", ")
    } x ` +
    `${cfg.seeds} seed(s)). Tokenizer ${cfg.tokenizer.variant}` +
    (cfg.tokenizer.layout === "bvv241" ? ` (the author's bvv241 ids).` : "."),
    "",
    ...(studyMd ? [...pointIntoEval(studyMd), ""] : []),
    ...composeMd.flatMap((m) => [m, ""]),
    ...trainSection(rows, unigramBpc, rows[0]?.cell.backend ?? "n/a"),
    ...dataSection(sources),
    ...(evalMd ? [...embedEvalReport(evalMd), ""] : []),
    ...artifactSection(manifest),
  ];
  const path = join(runDir, "report.md");
  await writeFileAtomic(path, md.join("\n") + "\n");
  return path;
}
