// The merge section of the run report (merge/report.md, merge/report.json): per arm, held-out
// bits per character per language (and over all languages) of each expert alone, the merges,
// the fine-tuned merge and the joint model, with 95% bootstrap intervals over documents and
// seeds; paired differences against the joint model and against the expert that trained on
// the language; and the input-space check (cosine of the experts' input-table rows).

import { join } from "node:path";
import type { PipelineConfig } from "../config.ts";
import type { SourceRecord } from "../data/build.ts";
import { pairedTwoLevelCI, type SeedItems, twoLevelCI } from "../eval/study_stats.ts";
import type { Cell } from "../study.ts";
import { fmtCI, fmtDiff } from "../grow/report.ts";
import { type ModelLangs, PIECE_CHARS } from "./langs.ts";
import { expertSources, mergeWeights } from "./stages.ts";

interface CellLangs {
  cell: string;
  arm: string;
  warnings: string[];
  inputCosine: number;
  models: ModelLangs[];
}

/** A model's per-document bits over seeds for one language ("all": every language's docs). */
function items(cells: CellLangs[], model: string, lang: string, langs: string[]): SeedItems {
  const pick = (c: CellLangs) => {
    const m = c.models.find((x) => x.name === model)!;
    const ls = lang === "all" ? langs : [lang];
    return {
      num: ls.flatMap((l) => m.langs[l].docBits),
      den: ls.flatMap((l) => m.langs[l].docChars),
    };
  };
  const parts = cells.map(pick);
  return { num: parts.map((p) => p.num), den: parts[0].den };
}

export async function mergeReport(runDir: string, cells: Cell[], cfg: PipelineConfig) {
  const all: CellLangs[] = [];
  for (const c of cells) {
    all.push(JSON.parse(await Deno.readTextFile(join(runDir, `merge/${c.name}/langs.json`))));
  }
  const sources: SourceRecord[] = JSON.parse(
    await Deno.readTextFile(join(runDir, "data/sources.json")),
  );
  const groups = expertSources(cfg);
  const w = mergeWeights(cfg);
  const langs = Object.keys(all[0].models[0].langs);
  const label = (l: string) => `${l} (${sources.find((s) => s.name === l)?.lang ?? "?"})`;
  const ownExpert = (l: string) => `x${groups.findIndex((g) => g.includes(l))}`;
  const m = cfg.merge;
  const md = [
    "## Merging experts on the shared substrate",
    "",
    `${groups.length} experts, each trained ${m.expertSteps} steps on its own languages ` +
    `(${groups.map((g, i) => `x${i}: ${g.join("+")}`).join("; ")}) with the run's one ` +
    "tokenizer, merged with no training by averaging their outputs per position " +
    `(weights ${w.map((x) => x.toFixed(2)).join("/")}): \`logits\` the weighted mean of the ` +
    "logits (the paper's), `probs` of the probabilities (the weighted mean of " +
    "log-probabilities, `--merge-mode logprobs`, is the same distribution as `logits` once " +
    "renormalised, so it is not scored twice); " +
    `then the logit merge fine-tuned ${m.finetuneSteps} steps on all the ` +
    `data (lr ${m.finetuneLr}). The joint model is the study cell: one model trained ` +
    `${cfg.train.steps} steps on all the data (the experts and the fine-tuning took ` +
    `${groups.length} x ${m.expertSteps} + ${groups.length} x ${m.finetuneSteps} = ` +
    `${groups.length * (m.expertSteps + m.finetuneSteps)} model-steps of the same batch). ` +
    "Each expert has its own seed (initial weights and data order). Held-out bits per " +
    "character per language on the validation documents cut at line starts into pieces of " +
    `about ${PIECE_CHARS} characters, each scored from its start; 95% bootstrap intervals over ` +
    "pieces and seeds. The last row puts expert x0's blocks and head on expert x1's input " +
    "table: with one frozen table that is x0 itself.",
    "",
  ];
  const json: Record<string, unknown>[] = [];
  const arms = [...new Set(all.map((c) => c.arm))];
  for (const arm of arms) {
    const cs = all.filter((c) => c.arm === arm);
    const models = cs[0].models.map((x) => x.name);
    md.push(
      `### Arm \`${arm}\` (${cs.map((c) => c.cell).join(", ")})`,
      "",
      `| model | ${langs.map(label).join(" | ")} | all |`,
      `|---|${langs.map(() => "---").join("|")}|---|`,
    );
    const table: Record<string, Record<string, unknown>> = {};
    for (const name of models) {
      const row = [...langs, "all"].map((l) => twoLevelCI(items(cs, name, l, langs)));
      table[name] = Object.fromEntries([...langs, "all"].map((l, i) => [l, row[i]]));
      md.push(`| ${name} | ${row.map((iv) => fmtCI(iv, "bpc")).join(" | ")} |`);
    }
    // [first model, label of the second, the second per language, languages it applies to]
    type Diff = [string, string, (l: string) => string, (l: string) => boolean];
    const everywhere = () => true;
    const diffs: Diff[] = [
      ["merge (logits)", "joint", () => "joint", everywhere],
      ...(models.includes("merge (logits), fine-tuned")
        ? [["merge (logits), fine-tuned", "joint", () => "joint", everywhere] as Diff]
        : []),
      ["merge (logits)", "the language's own expert", ownExpert, (l) => l !== "all"],
      ["x0 on x1's input table", "x0", () => "x0", (l) => groups[0].includes(l)],
    ];
    md.push("", "Paired differences (bits/char; negative: the first is better):", "");
    md.push(`| difference | ${langs.map(label).join(" | ")} | all |`);
    md.push(`|---|${langs.map(() => "---").join("|")}|---|`);
    const diffJson: Record<string, unknown> = {};
    for (const [a, bName, bOf, applies] of diffs) {
      const cellsOut = [...langs, "all"].map((l) =>
        applies(l)
          ? pairedTwoLevelCI(items(cs, a, l, langs), items(cs, bOf(l), l, langs))
          : undefined
      );
      diffJson[`${a} - ${bName}`] = cellsOut;
      md.push(`| ${a} - ${bName} | ${cellsOut.map((iv) => fmtDiff(iv, "bpc")).join(" | ")} |`);
    }
    const cos = cs.map((c) => c.inputCosine);
    md.push(
      "",
      `Input spaces: mean cosine between the experts' input-table rows of the same token ` +
        `${cos.map((x) => x.toFixed(4)).join(", ")} (1 = one shared table).` +
        (cs[0].warnings.length ? ` The merge warned: "${cs[0].warnings[0]}".` : ""),
      "",
    );
    json.push({ arm, cells: cs.map((c) => c.cell), bpc: table, diffs: diffJson, inputCosine: cos });
  }
  return { md: md.join("\n"), json: { experts: groups, weights: w, arms: json } };
}
