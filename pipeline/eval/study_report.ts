// The study's report sections, from the evaluated cells (arm x seed): the table of every
// metric per arm (mean over seeds, 95% two-level interval) with each frozen arm's paired
// difference against `trainable`, the per-seed validation bits per character (the seed-to-seed
// spread next to the between-arm gap), and the curve of validation bits per character against
// tokens seen per arm with its seeds as a band. Data in (cells), Markdown / SVG out.

import type { ModelResult } from "./evaluate.ts";
import { lineChartSvg, type LineSeries, PALETTE } from "./plot.ts";
import {
  pairedTwoLevelCI,
  type SeedItems,
  twoLevelCI,
  type TwoLevelOptions,
} from "./study_stats.ts";
import {
  formatDiffIv,
  formatIv,
  formatValue,
  type StudyMetric,
  type StudyTable,
} from "./verdict.ts";

export interface StudyCell {
  /** Cell name, e.g. "paper-s0". */
  name: string;
  /** Arm name, e.g. "paper". */
  arm: string;
  seedIndex: number;
  result: ModelResult;
  /** Training log rows (step, val_bpc where validated). */
  log?: { step: number; val_bpc?: number }[];
  /** Training facts (from train/<cell>/result.json). */
  train?: { seconds: number; tokensPerS: number; steps: number };
}

/** Benchmarks whose generative accuracy judges the paper's claim (MMLU-style items). */
export function isMmluStyle(bench: string): boolean {
  return /mmlu|wordnet-def/i.test(bench);
}

/** The cells of an arm ordered by seed; throws unless every seed 0..seeds-1 is there once. */
function armCells(cells: StudyCell[], arm: string, seeds: number): StudyCell[] {
  const out = cells.filter((c) => c.arm === arm).sort((a, b) => a.seedIndex - b.seedIndex);
  if (out.length !== seeds || out.some((c, i) => c.seedIndex !== i)) {
    throw new Error(
      `study: arm ${arm} has seeds [${out.map((c) => c.seedIndex)}], expected 0..${seeds - 1} ` +
        "(rerun the pipeline so every cell is trained and evaluated)",
    );
  }
  return out;
}

type Extract = (r: ModelResult) => { num: number[]; den?: number[] } | undefined;

/** Per-arm SeedItems of one metric, or undefined when some cell lacks it. */
function gather(cs: StudyCell[], f: Extract): SeedItems | undefined {
  const rows = cs.map((c) => f(c.result));
  if (rows.some((r) => !r)) return undefined;
  return { num: rows.map((r) => r!.num), den: rows[0]!.den };
}

interface MetricSpec {
  key: string;
  label: string;
  higherIsBetter: boolean;
  unit: StudyMetric["unit"];
  extract: Extract;
  noLetter?: (r: ModelResult) => number | undefined;
  claim?: boolean;
}

/** Every metric the cells carry: val bits/char, each benchmark x protocol x metric, probe. */
function metricSpecs(cells: StudyCell[]): MetricSpec[] {
  const specs: MetricSpec[] = [];
  if (cells.every((c) => c.result.lm?.docNll)) {
    specs.push({
      key: "val-bpc",
      label: "validation bits/char",
      higherIsBetter: false,
      unit: "bpc",
      extract: (r) =>
        r.lm?.docNll
          ? { num: r.lm.docNll.map((x) => x / Math.LN2), den: r.lm.docChars }
          : undefined,
    });
  }
  const benches = [...new Set(cells.flatMap((c) => c.result.benches.map((b) => b.name)))];
  const kinds = [
    ["loglik", "acc"],
    ["loglik", "acc_norm"],
    ["generative", "acc"],
  ] as const;
  for (const bench of benches) {
    for (const [proto, metric] of kinds) {
      const get = (r: ModelResult) => r.benches.find((b) => b.name === bench)?.[proto];
      if (!cells.some((c) => get(c.result)?.correct[metric])) continue;
      specs.push({
        key: `${bench}/${proto}/${metric}`,
        label: `${bench}, ${proto} ${metric}`,
        higherIsBetter: true,
        unit: "pct",
        extract: (r) => {
          const v = get(r)?.correct[metric];
          return v ? { num: v } : undefined;
        },
        noLetter: proto === "generative" ? (r) => get(r)?.noLetter : undefined,
        claim: proto === "generative" && isMmluStyle(bench),
      });
    }
  }
  if (cells.every((c) => c.result.probe?.length)) {
    specs.push({
      key: "probe-gap",
      label: "probe gap, last layer (synonym - random cosine)",
      higherIsBetter: true,
      unit: "cos",
      extract: (r) => {
        const l = r.probe?.at(-1);
        if (!l?.synonymCos || !l.randomCos) return undefined;
        const n = Math.min(l.synonymCos.length, l.randomCos.length);
        // the two sets are independent, so pairing them by index keeps the mean and the
        // variance of the gap
        return { num: Array.from({ length: n }, (_, i) => l.synonymCos[i] - l.randomCos[i]) };
      },
    });
  }
  return specs;
}

/** The study's numbers: per metric, per arm and paired against the reference arm. */
export function buildStudyTable(
  cells: StudyCell[],
  arms: string[],
  seeds: number,
  scale: string,
  opts: TwoLevelOptions = {},
): StudyTable {
  const byArm = new Map(arms.map((a) => [a, armCells(cells, a, seeds)]));
  const reference = arms.includes("trainable") ? "trainable" : null;
  const metrics: StudyMetric[] = [];
  for (const spec of metricSpecs(cells)) {
    const data = new Map<string, SeedItems>();
    for (const a of arms) {
      const d = gather(byArm.get(a)!, spec.extract);
      if (d) data.set(a, d);
    }
    if (!data.size) continue;
    const perArm = Object.fromEntries([...data].map(([a, d]) => [a, twoLevelCI(d, opts)]));
    const diffs: StudyMetric["diffs"] = {};
    const refData = reference ? data.get(reference) : undefined;
    if (refData) {
      for (const [a, d] of data) {
        if (a !== reference) diffs[a] = pairedTwoLevelCI(d, refData, opts);
      }
    }
    const m: StudyMetric = {
      key: spec.key,
      label: spec.label,
      higherIsBetter: spec.higherIsBetter,
      unit: spec.unit,
      perArm,
      diffs,
    };
    if (spec.noLetter) {
      m.noLetter = Object.fromEntries(arms.map((a) => {
        const v = byArm.get(a)!.map((c) => spec.noLetter!(c.result) ?? 0);
        return [a, v.reduce((s, x) => s + x, 0) / v.length];
      }));
    }
    if (spec.claim) m.claim = true;
    metrics.push(m);
  }
  return { seeds, arms, reference, scale, metrics };
}

/** The arms x seeds table (Markdown lines). */
export function studyTableSection(t: StudyTable, cells: StudyCell[]): string[] {
  const frozen = t.arms.filter((a) => a !== t.reference);
  const md = ["## Study: arms x seeds", ""];
  md.push(
    `${t.arms.length} arms x ${t.seeds} seed${t.seeds === 1 ? "" : "s"}. Each cell: the mean ` +
      "over seeds with its 95% two-level bootstrap interval (1,000 resamples of seeds, then " +
      "items); " +
      (t.reference
        ? `\`arm - ${t.reference}\`: the paired difference on the same seeds and items.`
        : "no trainable arm, so no paired differences."),
    "",
  );
  const diffCols = t.reference ? frozen.map((a) => `${a} - ${t.reference}`) : [];
  md.push(`| metric | ${[...t.arms, ...diffCols].join(" | ")} |`);
  md.push(`|---|${[...t.arms, ...diffCols].map(() => "---").join("|")}|`);
  for (const m of t.metrics) {
    const vals = t.arms.map((a) => m.perArm[a] ? formatIv(m.perArm[a], m.unit) : "-");
    const diffs = t.reference
      ? frozen.map((a) => m.diffs[a] ? formatDiffIv(m.diffs[a], m.unit) : "-")
      : [];
    md.push(`| ${m.label} | ${[...vals, ...diffs].join(" | ")} |`);
  }
  md.push("");
  const bpc = t.metrics.find((m) => m.key === "val-bpc");
  if (bpc) {
    md.push("Validation bits per character of each cell (whole validation split, per document):");
    md.push("", `| arm | ${Array.from({ length: t.seeds }, (_, s) => `seed ${s}`).join(" | ")} |`);
    md.push(`|---|${Array.from({ length: t.seeds }, () => "---").join("|")}|`);
    for (const a of t.arms) {
      const row = cells.filter((c) => c.arm === a).sort((x, y) => x.seedIndex - y.seedIndex)
        .map((c) => formatValue(c.result.lm?.bitsPerChar ?? NaN, "bpc"));
      md.push(`| ${a} | ${row.join(" | ")} |`);
    }
    md.push("");
  }
  const trained = cells.filter((c) => c.train);
  if (trained.length) {
    const sec = trained.map((c) => c.train!.seconds);
    const tps = trained.map((c) => c.train!.tokensPerS);
    const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
    md.push(
      `Training: ${trained.length} cells, ${Math.round(mean(sec))} s per cell on average ` +
        `(${Math.round(Math.min(...sec))}-${Math.round(Math.max(...sec))} s); throughput ` +
        `${Math.round(mean(tps)).toLocaleString("en-US")} tokens/s (tokens of the optimiser ` +
        "steps over the seconds they took; validation and checkpoints excluded).",
      "",
    );
  }
  return md;
}

/** Validation bits/char against tokens seen: per arm the mean over seeds, min-max band. */
export function bpcCurveSvg(cells: StudyCell[], arms: string[], tokensPerStep: number): string {
  const series: LineSeries[] = [];
  arms.forEach((arm, i) => {
    const byStep = new Map<number, number[]>();
    for (const c of cells.filter((c) => c.arm === arm)) {
      for (const r of c.log ?? []) {
        if (!Number.isFinite(r.val_bpc)) continue;
        byStep.set(r.step, [...(byStep.get(r.step) ?? []), r.val_bpc!]);
      }
    }
    const steps = [...byStep.keys()].sort((a, b) => a - b);
    if (!steps.length) return;
    const color = PALETTE[i % PALETTE.length];
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    series.push({
      name: arm,
      color,
      points: steps.map((s) => [s * tokensPerStep, mean(byStep.get(s)!)]),
      band: steps.map((s) => {
        const v = byStep.get(s)!;
        return [s * tokensPerStep, Math.min(...v), Math.max(...v)];
      }),
    });
  });
  return lineChartSvg({
    title: "Validation bits per character during training",
    xLabel: "tokens seen",
    yLabel: "bits per character",
    series,
  });
}
