// The verdict that opens a study's report: per metric, whether each frozen arm is better,
// worse, or not distinguishable from `trainable` at 95% (the paired two-level interval of the
// difference excludes zero, or not), and whether the paper's claim (frozen glyph embeddings
// score higher on MMLU-style multiple choice under its generative protocol) held at this scale.
// One seed cannot decide anything: the verdict says so and only lists the measured differences.
// Pure functions: study numbers in, Markdown lines out; no adjective the numbers don't carry.

import type { Interval } from "./stats.ts";

export interface StudyMetric {
  /** Stable key, e.g. "val-bpc", "wordnet-def/loglik/acc". */
  key: string;
  /** What people read, e.g. "wordnet-def, loglik acc". */
  label: string;
  higherIsBetter: boolean;
  /** How values print: percentages, bits per character, cosine. */
  unit: "pct" | "bpc" | "cos";
  /** Arm name -> mean over seeds with its two-level interval. */
  perArm: Record<string, Interval>;
  /** Frozen arm name -> paired difference (arm - trainable) with its two-level interval. */
  diffs: Record<string, Interval>;
  /** Generative protocol: arm name -> share of items with no answer letter (mean over seeds). */
  noLetter?: Record<string, number>;
  /** Generative protocol on an MMLU-style benchmark: what the paper's claim is judged on. */
  claim?: boolean;
}

export interface StudyTable {
  seeds: number;
  /** Arm names in config order. */
  arms: string[];
  /** The reference arm ("trainable") when present. */
  reference: string | null;
  /** e.g. "4 layers, d_model 128, 300 steps of 8 x 128 tokens". */
  scale: string;
  metrics: StudyMetric[];
}

export type Call = "better" | "worse" | "not distinguishable" | "undecided";

/** Better / worse / not distinguishable at the interval's level; undecided with one seed. */
export function classify(d: Interval, higherIsBetter: boolean, seeds: number): Call {
  if (seeds < 2 || !Number.isFinite(d.lo) || !Number.isFinite(d.hi)) return "undecided";
  if (d.lo > 0) return higherIsBetter ? "better" : "worse";
  if (d.hi < 0) return higherIsBetter ? "worse" : "better";
  return "not distinguishable";
}

/** A value in the metric's unit: "31.2%", "4.553", "0.041". */
export function formatValue(x: number, unit: StudyMetric["unit"]): string {
  if (!Number.isFinite(x)) return "n/a";
  return unit === "pct" ? `${(100 * x).toFixed(1)}%` : x.toFixed(3);
}

/** A difference in the metric's unit: "+1.2 pts", "-0.041". */
export function formatDelta(x: number, unit: StudyMetric["unit"]): string {
  if (!Number.isFinite(x)) return "n/a";
  const sign = x >= 0 ? "+" : "-";
  return unit === "pct"
    ? `${sign}${Math.abs(100 * x).toFixed(1)} pts`
    : `${sign}${Math.abs(x).toFixed(3)}`;
}

/** "31.2% [28.4, 34.1]" / "4.553 [4.501, 4.602]" */
export function formatIv(iv: Interval, unit: StudyMetric["unit"]): string {
  if (!Number.isFinite(iv.mean)) return "n/a";
  const f = (x: number) => unit === "pct" ? (100 * x).toFixed(1) : x.toFixed(3);
  return `${formatValue(iv.mean, unit)} [${f(iv.lo)}, ${f(iv.hi)}]`;
}

/** "+1.2 pts [-0.8, +3.1]" */
export function formatDiffIv(iv: Interval, unit: StudyMetric["unit"]): string {
  if (!Number.isFinite(iv.mean)) return "n/a";
  const f = (x: number) => formatDelta(x, unit).replace(" pts", "");
  return `${formatDelta(iv.mean, unit)} [${f(iv.lo)}, ${f(iv.hi)}]`;
}

function callText(call: Call, arm: string, ref: string): string {
  switch (call) {
    case "better":
      return `${arm} better than ${ref} at 95%`;
    case "worse":
      return `${arm} worse than ${ref} at 95%`;
    case "not distinguishable":
      return `not distinguishable from ${ref} at 95%`;
    default:
      return "not decided (one seed)";
  }
}

/** The claim's sentence for one generative MMLU-style metric and the glyph arm. */
function claimLine(m: StudyMetric, arm: string, ref: string, seeds: number): string {
  const d = m.diffs[arm];
  const head = `${m.label}, ${arm} - ${ref} = ${formatDiffIv(d, m.unit)}`;
  const silent = Object.entries(m.noLetter ?? {}).filter(([, s]) => s >= 0.5);
  if (silent.length) {
    // a protocol that mostly produces no letter scores the answer format, not the question
    const shares = silent.map(([a, s]) => `${(100 * s).toFixed(0)}% (${a})`).join(", ");
    return `- ${head}: the claim could not be tested here: the generative protocol produced ` +
      `no answer letter for ${shares} of the items, so it measures the answer format, not ` +
      "the question.";
  }
  const call = classify(d, m.higherIsBetter, seeds);
  const verdict = call === "better"
    ? "the claim held here"
    : call === "worse"
    ? "the claim did not hold here: the trainable arm scored higher"
    : call === "not distinguishable"
    ? "the claim did not hold here: no difference at 95%"
    : "one seed cannot decide the claim";
  return `- ${head}: ${verdict}.`;
}

/** The verdict section, Markdown lines. */
export function verdictSection(t: StudyTable): string[] {
  const md = ["## Verdict", ""];
  const ref = t.reference;
  const frozen = t.arms.filter((a) => a !== ref);
  if (!ref) {
    md.push("No `trainable` arm in this study, so there is nothing to compare the frozen arms");
    md.push("against; the table below lists each arm on its own.", "");
    return md;
  }
  if (!frozen.length) {
    md.push("Only the `trainable` arm ran, so there is no frozen arm to judge.", "");
    return md;
  }
  md.push(
    `At this scale (${t.scale}), ${t.seeds} seed${t.seeds === 1 ? "" : "s"} per arm; each ` +
      `line is a frozen arm minus \`${ref}\` on the same seeds and items, with its 95% ` +
      "two-level bootstrap interval (seeds, then items).",
    "",
  );
  if (t.seeds < 2) {
    md.push(
      "**One seed cannot decide.** With a single seed the seed-to-seed spread is not measured,",
      "so the intervals below cover item sampling only and no difference is called better or",
      "worse. Run the study preset (`deno task pipeline full --config study`) or `--seeds 3`.",
      "",
    );
  }
  if (t.seeds >= 2 && t.seeds < 5) {
    md.push(
      `With ${t.seeds} seeds the seed part of each interval rests on few draws, and where seeds`,
      "differ a lot the interval is too narrow (simulated in tests/eval_study_stats_test.ts: about",
      "80% coverage instead of 95% with 3 seeds when the seed effect is half the item effect);",
      "read a call near the edge of its interval with care.",
      "",
    );
  }
  for (const m of t.metrics) {
    const parts = frozen.filter((a) => m.diffs[a]).map((a) => {
      const d = m.diffs[a];
      return `${a} ${formatDiffIv(d, m.unit)}: ${
        callText(classify(d, m.higherIsBetter, t.seeds), a, ref)
      }`;
    });
    if (!parts.length) continue;
    const dir = m.higherIsBetter ? "higher is better" : "lower is better";
    md.push(`- **${m.label}** (${dir}): ${parts.join("; ")}.`);
  }
  md.push("");
  const glyph = frozen.includes("paper") ? "paper" : frozen[0];
  const claims = t.metrics.filter((m) => m.claim && m.diffs[glyph]);
  md.push(
    "**The paper's claim** (a model with frozen glyph embeddings scores higher than the same",
    "model with a trainable table on MMLU-style multiple choice, generative protocol):",
  );
  if (!claims.length) {
    md.push("not tested here (no MMLU-style benchmark under the generative protocol ran).", "");
  } else {
    md.push("", ...claims.map((m) => claimLine(m, glyph, ref, t.seeds)), "");
  }
  return md;
}
