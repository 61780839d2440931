// The grow section of the run report (grow/report.md, grow/report.json): per stage b1..bN and
// the jointly trained N-block model, validation bits per character and each benchmark's
// accuracies, each with a 95% bootstrap interval over items (documents, questions) and seeds,
// the paired difference bN - joint, the bits-per-character monitor at the end of every stage
// against the joint model's at the same number of tokens, and the frozen-block checks.

import { join } from "node:path";
import type { PipelineConfig } from "../config.ts";
import type { ModelResult } from "../eval/evaluate.ts";
import { pairedTwoLevelCI, type SeedItems, twoLevelCI } from "../eval/study_stats.ts";
import type { Interval } from "../eval/stats.ts";
import type { Cell } from "../study.ts";
import { readLog } from "../train/log.ts";

/** A metric's per-item values of one model: bits/char (num/den) or 1/0 accuracy. */
export type Extract = (r: ModelResult) => { num: number[]; den?: number[] } | undefined;

export interface MetricDef {
  key: string;
  label: string;
  unit: "bpc" | "pct";
  extract: Extract;
}

/** Validation bits/char and every benchmark's loglik acc and generative acc. */
export function metricDefs(results: ModelResult[]): MetricDef[] {
  const defs: MetricDef[] = [{
    key: "val-bpc",
    label: "validation bits/char",
    unit: "bpc",
    extract: (r) =>
      r.lm ? { num: r.lm.docNll.map((x) => x / Math.LN2), den: r.lm.docChars } : undefined,
  }];
  for (const bench of [...new Set(results.flatMap((r) => r.benches.map((b) => b.name)))]) {
    for (const proto of ["loglik", "generative"] as const) {
      defs.push({
        key: `${bench}/${proto}/acc`,
        label: `${bench}, ${proto} acc`,
        unit: "pct",
        extract: (r) => {
          const v = r.benches.find((b) => b.name === bench)?.[proto]?.correct.acc;
          return v ? { num: v } : undefined;
        },
      });
    }
  }
  return defs;
}

/** Stack one model's values over seeds into SeedItems (undefined when a seed lacks it). */
export function overSeeds(results: ModelResult[], ex: Extract): SeedItems | undefined {
  const parts = results.map(ex);
  if (parts.some((p) => !p) || !parts.length) return undefined;
  const n = parts[0]!.num.length;
  if (parts.some((p) => p!.num.length !== n)) return undefined;
  return { num: parts.map((p) => p!.num), den: parts[0]!.den };
}

/** "4.123 [4.01, 4.22]" or "31.2% [27.0, 35.3]". */
export function fmtCI(iv: Interval | undefined, unit: "bpc" | "pct"): string {
  if (!iv || !Number.isFinite(iv.mean)) return "n/a";
  if (unit === "pct") {
    const p = (x: number) => (100 * x).toFixed(1);
    return `${p(iv.mean)}% [${p(iv.lo)}, ${p(iv.hi)}]`;
  }
  return `${iv.mean.toFixed(3)} [${iv.lo.toFixed(3)}, ${iv.hi.toFixed(3)}]`;
}

/** "+0.123 [+0.10, +0.15]" or "+3.1 pts [-1.2, +7.4]". */
export function fmtDiff(iv: Interval | undefined, unit: "bpc" | "pct"): string {
  if (!iv || !Number.isFinite(iv.mean)) return "n/a";
  const s = (x: number, d: number) => `${x >= 0 ? "+" : ""}${x.toFixed(d)}`;
  if (unit === "pct") {
    return `${s(100 * iv.mean, 1)} pts [${s(100 * iv.lo, 1)}, ${s(100 * iv.hi, 1)}]`;
  }
  return `${s(iv.mean, 3)} [${s(iv.lo, 3)}, ${s(iv.hi, 3)}]`;
}

/** The monitor's validation bits/char at `step` (or the nearest logged step at or before it). */
function monitorAt(rows: { step: number; val_bpc?: number }[], step: number): number {
  const hit = rows.filter((r) => r.val_bpc !== undefined && r.step <= step).at(-1);
  return hit?.val_bpc ?? NaN;
}

export async function growReport(
  runDir: string,
  cells: Cell[],
  n: number,
  steps: number,
  cfg: PipelineConfig,
) {
  const names = [...Array.from({ length: n }, (_, i) => `b${i + 1}`), "joint"];
  // results[cell][model]
  const results: ModelResult[][] = [];
  for (const c of cells) {
    const ev = JSON.parse(
      await Deno.readTextFile(join(runDir, `grow/${c.name}/eval/results.json`)),
    );
    results.push(ev.results as ModelResult[]);
  }
  const perModel = names.map((_, m) => results.map((r) => r[m]));
  const defs = metricDefs(results.flat());
  const tokensPerStep = cfg.train.batch * cfg.model.context;
  const md = [
    "## Growing on the frozen substrate",
    "",
    `A 1-block model trained ${steps} steps, then ${n - 1} more stages, each adding one block on ` +
    "top of the frozen parent (the parent's blocks and the input table frozen: no gradients, no " +
    "optimizer state, bit-identical; the new block freshly initialised, the final norm and head " +
    `starting from the parent's and trainable), ${steps} steps each; against a ${n}-block model ` +
    `trained jointly for ${n * steps} steps (the same ${
      (n * steps * tokensPerStep).toLocaleString("en-US")
    } training tokens). ${cells.length} seed(s): ${cells.map((c) => c.name).join(", ")}. ` +
    "Intervals: 95% bootstrap over items (validation documents, benchmark questions) and seeds; " +
    `the last column pairs b${n} and the joint model on the same items.`,
    "",
    `| metric | ${names.join(" | ")} | b${n} - joint |`,
    `|---|${names.map(() => "---").join("|")}|---|`,
  ];
  const json: Record<string, unknown> = { blocks: n, steps, cells: cells.map((c) => c.name) };
  const table: Record<string, unknown> = {};
  for (const d of defs) {
    const xs = perModel.map((rs) => overSeeds(rs, d.extract));
    if (xs.every((x) => !x)) continue;
    const cis = xs.map((x) => (x ? twoLevelCI(x) : undefined));
    const a = xs[n - 1], b = xs[n];
    const diff = a && b ? pairedTwoLevelCI(a, b) : undefined;
    md.push(
      `| ${d.label} | ${cis.map((iv) => fmtCI(iv, d.unit)).join(" | ")} | ${
        fmtDiff(diff, d.unit)
      } |`,
    );
    table[d.key] = { models: names, intervals: cis, lastMinusJoint: diff };
  }
  // the generative protocol's share of answers with no choice letter, mean over seeds
  for (const bench of [...new Set(results.flat().flatMap((r) => r.benches.map((b) => b.name)))]) {
    const shares = perModel.map((rs) => {
      const v = rs.map((r) => r.benches.find((b) => b.name === bench)?.generative?.noLetter);
      return v.some((x) => x === undefined)
        ? NaN
        : v.reduce((a: number, x) => a + (x ?? 0), 0) / v.length;
    });
    if (shares.every((x) => Number.isNaN(x))) continue;
    md.push(
      `| ${bench}, generative: no letter | ${
        shares.map((x) => (Number.isNaN(x) ? "n/a" : `${(100 * x).toFixed(1)}%`)).join(" | ")
      } | |`,
    );
    table[`${bench}/generative/noLetter`] = { models: names, shares };
  }
  json.metrics = table;
  md.push(
    "",
    "Bits per character of the training monitor (fixed validation windows) at the end of",
  );
  md.push("every stage, against the joint model at the same number of training tokens:", "");
  md.push(
    "| stage | blocks trained | tokens seen | grown model | joint model |",
    "|---|---|---|---|---|",
  );
  const c0 = cells[0];
  const jointLog = await readLog(join(runDir, `train/${c0.name}/log.jsonl`));
  const curve = [];
  for (let k = 1; k <= n; k++) {
    const log = await readLog(join(runDir, `grow/${c0.name}/b${k}/log.jsonl`));
    const g = monitorAt(log, steps), j = monitorAt(jointLog, k * steps);
    curve.push({ stage: k, tokens: k * steps * tokensPerStep, grown: g, joint: j });
    md.push(
      `| b${k} | ${k === 1 ? "block 1" : `block ${k} only`} | ${
        (k * steps * tokensPerStep).toLocaleString("en-US")
      } | ${g.toFixed(3)} | ${j.toFixed(3)} |`,
    );
  }
  json.curve = curve;
  md.push(
    "",
    `(seed ${c0.name}; the joint model's value is its monitor at step k x ${steps}.)`,
    "",
  );
  const checks = [];
  for (const c of cells) {
    for (let k = 2; k <= n; k++) {
      const ck = JSON.parse(
        await Deno.readTextFile(join(runDir, `grow/${c.name}/b${k}/frozen_check.json`)),
      );
      checks.push({ model: `${c.name}-b${k}`, ...ck });
      md.push(
        `- ${c.name}-b${k}: frozen blocks ${JSON.stringify(ck.frozenBlocks)} and the table, ` +
          `${ck.tensors} tensors, ${
            ck.differing.length
              ? `**${ck.differing.length} differ**`
              : "bit-identical to the parent"
          }; ${
            ck.frozenWithOptimizerState.length
              ? `**${ck.frozenWithOptimizerState.length} with optimizer state**`
              : "none has optimizer state"
          }.`,
      );
    }
  }
  json.frozenChecks = checks;
  md.push("", `Side by side evaluation of every stage: \`grow/${c0.name}/eval/report.md\`.`, "");
  return { md: md.join("\n"), json };
}
