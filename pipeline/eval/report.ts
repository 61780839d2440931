// The Markdown report runs/<name>/report.md: the frozen-vs-trainable table with intervals and
// paired differences, held-out LM metrics, loss curves, accuracy bars, the per-layer probe
// and the glyph atlas. Plots are hand-written SVG rendered to PNG (both files kept).

import { basename, join } from "node:path";
import { writeFileAtomic } from "../../core/safetensors.ts";
import { type ModelResult, type Protocol, PROTOCOLS } from "./evaluate.ts";
import { readText } from "./loaders.ts";
import { barChartSvg, lineChartSvg, type LineSeries, PALETTE, svgToPng } from "./plot.ts";
import { formatDiff, formatInterval, pairedDiffCI } from "./stats.ts";
import { baselinesSection, type BlindBaselines } from "./baselines.ts";

export interface LogRow {
  step: number;
  loss: number;
  val_loss?: number;
  tokens_per_s?: number;
}

/** Read a JSONL training log ({step, loss, val_loss?, tokens_per_s}); bad lines -> problems. */
export async function loadTrainLog(path: string): Promise<{ rows: LogRow[]; problems: string[] }> {
  const rows: LogRow[] = [];
  const problems: string[] = [];
  for (const [i, raw] of (await readText(path)).split("\n").entries()) {
    if (raw.trim() === "") continue;
    try {
      const o = JSON.parse(raw);
      if (o?.event !== undefined) continue; // e.g. a --resume --allow-changed record
      if (!Number.isFinite(o.step) || !(Number.isFinite(o.loss) || Number.isFinite(o.val_loss))) {
        problems.push(`${path}:${i + 1}: needs numeric "step" and "loss" or "val_loss"`);
        continue;
      }
      rows.push(o);
    } catch {
      problems.push(`${path}:${i + 1}: not valid JSON`);
    }
  }
  return { rows, problems };
}

export interface ReportInput {
  name: string;
  outDir: string;
  results: ModelResult[];
  logs?: { name: string; rows: LogRow[] }[];
  /** Path of a glyph atlas image (PNG) to copy into the report folder. */
  atlas?: string;
  problems?: string[];
  notes?: string[];
  /** The run's seed: the paired bootstrap uses it. */
  seed?: number;
  /** Question-blind baselines per benchmark (baselines.ts), printed beside the models. */
  baselines?: BlindBaselines[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

async function writePlot(outDir: string, file: string, svg: string): Promise<string> {
  await writeFileAtomic(join(outDir, `${file}.svg`), svg);
  await writeFileAtomic(join(outDir, `${file}.png`), svgToPng(svg));
  return `${file}.png`;
}

/** Rows of (bench, protocol, metric) present in any result. */
function metricRows(results: ModelResult[]): { bench: string; proto: Protocol; metric: string }[] {
  const seen = new Map<string, { bench: string; proto: Protocol; metric: string }>();
  for (const r of results) {
    for (const b of r.benches) {
      for (const proto of PROTOCOLS) {
        for (const metric of Object.keys(b[proto]?.metrics ?? {})) {
          seen.set(`${b.name}|${proto}|${metric}`, { bench: b.name, proto, metric });
        }
      }
    }
  }
  return [...seen.values()];
}

function benchOf(r: ModelResult, bench: string) {
  return r.benches.find((b) => b.name === bench);
}

/** The paper variant's repeated runs: mean over runs with the author's interval. */
function paperRunsSection(results: ModelResult[]): string[] {
  const rows = results.flatMap((r) =>
    r.benches.flatMap((b) => {
      const p = b.paper;
      if (!p?.runs) return [];
      if (p.n === 0) return [`| ${r.name} | ${b.name} | 0 | - | n/a (every item skipped) | n/a |`];
      const { runs, mean, std, ci95 } = p.runs;
      return [
        `| ${r.name} | ${b.name} | ${p.n} | ${runs} | ${(100 * mean).toFixed(2)}% ± ` +
        `${(100 * ci95).toFixed(2)}% (σ=${(100 * std).toFixed(2)}%) | ` +
        `${formatInterval(p.metrics.acc)} |`,
      ];
    })
  );
  if (!rows.length) return [];
  return [
    "### The paper's protocol, repeated sampled runs",
    "",
    "As the author reports it: mean accuracy over runs ± 1.96 σ / √runs (σ over runs: decoding",
    "noise only), beside the 95% bootstrap interval over items (item noise).",
    "",
    "| model | benchmark | n | runs | author's interval | item bootstrap |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
  ];
}

/** Per-subject reporting: macro and micro averages with intervals, best and worst subjects. */
function subjectSection(results: ModelResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    for (const b of r.benches) {
      for (const proto of PROTOCOLS) {
        const bd = b.bySubject?.[proto]?.acc;
        if (!bd) continue;
        if (!out.length) {
          out.push("### Per subject", "");
          out.push("Macro: mean of subject accuracies (each subject weighs the same); micro:");
          out.push("over items. Every subject's figure is in results.json (`bySubject`).", "");
          out.push("| model | benchmark | protocol | subjects | macro | micro | best | worst |");
          out.push("|---|---|---|---|---|---|---|---|");
        }
        const sorted = [...bd.subjects].sort((x, y) => y.acc.mean - x.acc.mean);
        const show = (xs: typeof sorted) =>
          xs.map((s) => `${s.subject} ${pct(s.acc.mean)} (n=${s.acc.n})`).join(", ");
        const k = Math.min(3, Math.floor(sorted.length / 2)) || 1;
        out.push(
          `| ${r.name} | ${b.name} | ${proto} acc | ${bd.subjects.length} | ` +
            `${formatInterval(bd.macro)} | ${formatInterval(bd.micro)} | ` +
            `${show(sorted.slice(0, k))} | ${show(sorted.slice(-k).reverse())} |`,
        );
      }
    }
  }
  return out.length ? [...out, ""] : [];
}

/** Write report.md and its plots; returns the report path. */
export async function writeReport(input: ReportInput): Promise<string> {
  const { outDir, results } = input;
  await Deno.mkdir(outDir, { recursive: true });
  const md: string[] = [];
  const names = results.map((r) => r.name);
  md.push(`# Evaluation: ${input.name}`, "");
  md.push(`Generated ${new Date().toISOString().slice(0, 19)}Z by \`deno task eval\`.`, "");
  const infoKeys = [...new Set(results.flatMap((r) => Object.keys(r.info)))];
  md.push(`| model | ${infoKeys.join(" | ")} |`);
  md.push(`|---|${infoKeys.map(() => "---").join("|")}|`);
  for (const r of results) {
    const show = (v: string | number | undefined) =>
      typeof v === "number" ? v.toLocaleString("en-US") : String(v ?? "");
    md.push(`| **${r.name}** | ${infoKeys.map((k) => show(r.info[k])).join(" | ")} |`);
  }
  md.push("");

  // held-out LM metrics
  if (results.some((r) => r.lm)) {
    md.push("## Held-out language modelling", "");
    md.push("Bits per character divide the total information by characters, so they compare");
    md.push("across tokenizers; loss and perplexity are per token of each model's own tokenizer.");
    md.push("", "| model | loss (nats/token) | perplexity | bits/char | tokens | chars |");
    md.push("|---|---|---|---|---|---|");
    for (const r of results) {
      if (!r.lm) continue;
      const m = r.lm;
      md.push(
        `| ${r.name} | ${m.loss.toFixed(4)} | ${m.perplexity.toFixed(2)} | ` +
          `${m.bitsPerChar.toFixed(4)} | ${m.tokens} | ${m.chars} |`,
      );
    }
    md.push("");
  }

  // multiple choice table
  const rows = metricRows(results);
  if (rows.length) {
    md.push("## Multiple-choice accuracy", "");
    md.push("Each cell: accuracy with its 95% bootstrap interval over items (1,000 resamples).");
    md.push("Protocols (the variant that ran):", "");
    for (const proto of PROTOCOLS) {
      const v = results.flatMap((r) => r.benches.map((b) => b[proto]?.variant)).find((x) => x);
      if (v) md.push(`- _${proto}_: ${v}`);
    }
    md.push("", "acc_norm divides an option's log-likelihood by its characters, acc_bytes by its");
    md.push("UTF-8 bytes (fairer across scripts).", "");
    const pair = results.length >= 2;
    md.push(
      `| benchmark | protocol | metric | n | chance | ${names.join(" | ")} |` +
        (pair ? ` ${names[0]} - ${names[1]} (paired) |` : ""),
    );
    md.push(`|---|---|---|---|---|${names.map(() => "---").join("|")}|${pair ? "---|" : ""}`);
    for (const { bench, proto, metric } of rows) {
      const first = results.map((r) => benchOf(r, bench)).find((b) => b);
      const cells = results.map((r) => {
        const p = benchOf(r, bench)?.[proto];
        if (!p) return "-";
        const notes = [
          p.noLetter ? `${pct(p.noLetter)} no letter` : "",
          p.truncated ? `${pct(p.truncated)} cut` : "",
          p.skipped ? `${pct(p.skipped)} skipped` : "",
        ].filter((x) => x);
        return formatInterval(p.metrics[metric]) + (notes.length ? ` (${notes.join(", ")})` : "");
      });
      let diff = "";
      if (pair) {
        const a = benchOf(results[0], bench)?.[proto]?.correct[metric];
        const b = benchOf(results[1], bench)?.[proto]?.correct[metric];
        const same = a && b && a.length === b.length;
        diff = ` ${same ? formatDiff(pairedDiffCI(a, b, { seed: input.seed })) : "-"} |`;
      }
      md.push(
        `| ${bench} | ${proto} | ${metric} | ${first?.n ?? "-"} | ${pct(first?.chance ?? NaN)} | ` +
          `${cells.join(" | ")} |${diff}`,
      );
    }
    md.push("", "_no letter_: share of generated answers whose first character is not a choice");
    md.push("letter (e.g. a space or a word), which the paper's protocol counts as wrong;");
    md.push("_cut_: share of prompts whose beginning was dropped to fit the model's context;");
    md.push("_skipped_: share of items whose question and options cannot fit the context at");
    md.push("all (never cut; few-shot examples are dropped first), left out of that figure.");
    md.push("");
    md.push(...paperRunsSection(results), ...subjectSection(results));
    const kinds = [
      ["generative", "acc", "generated letter", "generative"],
      ["paper", "acc", "the paper's script", "paper"],
      ["loglik", "acc", "log-likelihood acc", "loglik"],
      ["loglik", "acc_norm", "log-likelihood acc_norm", "loglik-norm"],
      ["loglik-letter", "acc", "letter log-likelihood", "loglik-letter"],
    ] as const;
    for (const [proto, metric, title, file] of kinds) {
      const benches = [
        ...new Set(
          rows.filter((r) => r.proto === proto && r.metric === metric)
            .map((r) => r.bench),
        ),
      ];
      if (benches.length === 0) continue;
      const svg = barChartSvg({
        title: `Accuracy, ${title}`,
        yLabel: "accuracy (95% bootstrap interval)",
        percent: true,
        groups: benches,
        chance: benches.map((b) => results.map((m) => benchOf(m, b)).find((x) => x)?.chance ?? NaN),
        series: results.map((m) => {
          const ivs = benches.map((b) => benchOf(m, b)?.[proto]?.metrics[metric]);
          return {
            name: m.name,
            values: ivs.map((iv) => iv?.mean ?? NaN),
            lo: ivs.map((iv) => iv?.lo ?? NaN),
            hi: ivs.map((iv) => iv?.hi ?? NaN),
          };
        }),
      });
      md.push(`![accuracy, ${title}](${await writePlot(outDir, `accuracy-${file}`, svg)})`, "");
    }
    md.push("Dashed red line: chance level (1 / number of options, averaged over items).", "");
  }

  md.push(...baselinesSection(input.baselines ?? [], results));

  // loss curves
  const logs = (input.logs ?? []).filter((l) => l.rows.length);
  if (logs.length) {
    md.push("## Training curves", "");
    const series: LineSeries[] = [];
    logs.forEach((l, i) => {
      const color = PALETTE[i % PALETTE.length];
      const train = l.rows.filter((r) => Number.isFinite(r.loss)).map((r) => [r.step, r.loss]);
      const val = l.rows.filter((r) => Number.isFinite(r.val_loss)).map((
        r,
      ) => [r.step, r.val_loss!]);
      if (train.length) {
        series.push({ name: `${l.name} train`, points: train as [number, number][], color });
      }
      if (val.length) {
        series.push({
          name: `${l.name} val`,
          points: val as [number, number][],
          color,
          dashed: true,
        });
      }
    });
    const svg = lineChartSvg({
      title: "Loss during training",
      xLabel: "step",
      yLabel: "loss (nats/token)",
      series,
    });
    md.push(`![loss curves](${await writePlot(outDir, "loss", svg)})`, "");
    md.push("Solid: training loss; dashed: validation loss.", "");
    // throughput is reported once, by the run report (train/<cell>/result.json: tokens of the
    // optimiser steps over their seconds); a mean of log-window rates is another number
  }

  // probe
  const probed = results.filter((r) => r.probe?.length);
  if (probed.length) {
    md.push("## Where do semantics appear?", "");
    md.push("Cosine similarity of WordNet synonym pairs minus that of random word pairs, at the");
    md.push("input vectors (layer 0) and after every block; a word's vector is the mean over its");
    md.push("tokens. Above zero: the layer places synonyms closer than chance pairs. Shaded:");
    md.push("95% bootstrap interval. Caveat: synonyms share letters more often than random");
    md.push("pairs, so part of any gap at layer 0 is spelling, not meaning (a random table");
    md.push("shows it too); the change across layers is the informative part.", "");
    const series: LineSeries[] = probed.map((r, i) => ({
      name: r.name,
      color: PALETTE[results.indexOf(r) % PALETTE.length] ?? PALETTE[i],
      points: r.probe!.map((l) => [l.layer, l.gap] as [number, number]),
      band: r.probe!.map((l) => [l.layer, l.gapCI.lo, l.gapCI.hi] as [number, number, number]),
    }));
    const svg = lineChartSvg({
      title: "Synonym minus random-pair cosine similarity, per layer",
      xLabel: "layer (0 = input embedding)",
      yLabel: "cosine gap",
      series,
      integerX: true,
      zeroLine: true,
    });
    md.push(`![probe](${await writePlot(outDir, "probe", svg)})`, "");
    md.push(`| layer | ${probed.map((r) => `${r.name} synonym / random / gap`).join(" | ")} |`);
    md.push(`|---|${probed.map(() => "---").join("|")}|`);
    for (let l = 0; l < Math.max(...probed.map((r) => r.probe!.length)); l++) {
      const cells = probed.map((r) => {
        const p = r.probe![l];
        return p
          ? `${p.synonym.mean.toFixed(3)} / ${p.random.mean.toFixed(3)} / **${
            p.gap.toFixed(3)
          }** [${p.gapCI.lo.toFixed(3)}, ${p.gapCI.hi.toFixed(3)}]`
          : "-";
      });
      md.push(`| ${l} | ${cells.join(" | ")} |`);
    }
    md.push("");
  }

  if (input.atlas) {
    md.push("## Glyph atlas", "");
    const file = `atlas${input.atlas.endsWith(".svg") ? ".svg" : ".png"}`;
    await Deno.copyFile(input.atlas, join(outDir, file));
    md.push(`![glyph atlas: ${basename(input.atlas)}](${file})`, "");
  }
  if (input.notes?.length) md.push("## Notes", "", ...input.notes.map((n) => `- ${n}`), "");
  if (input.problems?.length) {
    md.push("## Data problems", "");
    md.push(`${input.problems.length} rows could not be used (first 20 shown):`, "");
    md.push(...input.problems.slice(0, 20).map((p) => `- \`${p}\``), "");
  }
  const path = join(outDir, "report.md");
  await writeFileAtomic(path, md.join("\n"));
  return path;
}
