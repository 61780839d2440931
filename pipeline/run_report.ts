// The run report runs/<run>/report.md: the training comparison of the twins (validation bits
// per character next to the character-unigram baseline, the frozen table's SHA-256 before and
// after), the data sources with package, version and licence, the evaluation report of
// pipeline/eval (its plots live in eval/), and the SHA-256 of every artifact so far.

import { join } from "node:path";
import { writeFileAtomic } from "../core/safetensors.ts";
import type { PipelineConfig } from "./config.ts";
import type { SourceRecord } from "./data/build.ts";
import type { Manifest } from "./runner.ts";
import type { TrainSummary } from "./train/stage.ts";

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a");

/** The training section: one row per model, the baseline, the frozen-table check. */
export function trainSection(s: TrainSummary): string[] {
  const md = ["## Training: frozen vs trainable embedding", ""];
  md.push(
    "Same seed, data order and hyperparameters; only the input embedding differs. Bits per",
    "character are measured on the whole validation split; the baseline is a character",
    "unigram model fitted on the training split and scored on the same validation split.",
    "",
    "| model | embedding | seed | steps | train loss | val loss | val bits/char | seconds |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const m of s.models) {
    md.push(
      `| ${m.model} | ${m.embedding} | ${m.seed} | ${m.steps} | ${f3(m.finalLoss)} | ` +
        `${f3(m.valLoss)} | **${f3(m.valBpc)}** | ${Math.round(m.seconds)} |`,
    );
  }
  md.push(`| character unigram baseline | | | | | | **${f3(s.unigramBpc)}** | |`, "");
  md.push(
    `Backend: ${s.backend}. Frozen table recipe: \`${s.embedding.recipe}\` ` +
      `(file SHA-256 \`${s.embedding.sha256}\`).`,
    "",
  );
  for (const m of s.models.filter((m) => m.frozenSha256Before)) {
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

/** Write report.md into the run folder from the outputs of the earlier stages. */
export async function writeRunReport(cfg: PipelineConfig, runDir: string): Promise<string> {
  const read = (rel: string) => Deno.readTextFile(join(runDir, rel));
  const summary: TrainSummary = JSON.parse(await read("train/summary.json"));
  const sources: SourceRecord[] = JSON.parse(await read("data/sources.json"));
  const manifest: Manifest = JSON.parse(await read("manifest.json"));
  const evalMd = await read("eval/report.md").catch(() => "");
  const vocab = JSON.parse(await read("tokenize/vocab.json"));
  const m = cfg.model;
  const md = [
    `# glyphgrad run \`${cfg.run}\``,
    "",
    `Model: ${m.layers} layers, d_model ${m.dModel}, ${m.heads} heads, context ${m.context}, ` +
    `${m.norm}, vocabulary ${vocab.modelVocab} ids (${m.vocab}); ${cfg.train.steps} steps of batch ${cfg.train.batch}, ` +
    `peak lr ${cfg.train.lr}, ${cfg.train.seeds} seed(s). Tokenizer ${cfg.tokenizer.variant}` +
    (cfg.tokenizer.layout === "bvv241" ? ` (the author's bvv241 ids).` : "."),
    "",
    ...trainSection(summary),
    ...dataSection(sources),
    ...(evalMd ? [...embedEvalReport(evalMd), ""] : []),
    ...artifactSection(manifest),
  ];
  const path = join(runDir, "report.md");
  await writeFileAtomic(path, md.join("\n") + "\n");
  return path;
}
