// MMLU-style reporting for any benchmark whose items carry subjects: accuracy per subject, the
// macro average (mean of subject accuracies, every subject weighs the same) and the micro
// average (over items), each with a 95% bootstrap interval. The macro interval resamples items
// within each subject (stratified), so it reflects the same item noise as the per-subject ones.

import { bootstrapCI, type BootstrapOptions, type Interval } from "./stats.ts";
import { seededRandom } from "../../core/rng.ts";

export interface SubjectBreakdown {
  subjects: { subject: string; acc: Interval }[];
  macro: Interval;
  micro: Interval;
}

/**
 * Per-subject, macro and micro accuracy from per-item scores and their subjects (same length);
 * null when fewer than two subjects occur.
 */
export function subjectBreakdown(
  subjects: (string | undefined)[],
  correct: ArrayLike<number>,
  opts: BootstrapOptions = {},
): SubjectBreakdown | null {
  if (subjects.length !== correct.length) {
    throw new Error(
      `eval: ${subjects.length} subjects for ${correct.length} scores; pass one per item`,
    );
  }
  const groups = new Map<string, number[]>();
  subjects.forEach((s, i) => {
    const key = s ?? "unknown";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(correct[i]);
  });
  if (groups.size < 2) return null;
  const names = [...groups.keys()].sort();
  const per = names.map((subject) => ({ subject, acc: bootstrapCI(groups.get(subject)!, opts) }));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // stratified bootstrap of the macro average
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const rand = seededRandom((opts.seed ?? 1234) ^ 0x5bd1e995);
  const draws = new Float64Array(resamples);
  const vals = names.map((s) => groups.get(s)!);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (const v of vals) {
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[Math.floor(rand() * v.length)];
      sum += s / v.length;
    }
    draws[r] = sum / vals.length;
  }
  draws.sort();
  const at = (q: number) => draws[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  const alpha = (1 - level) / 2;
  return {
    subjects: per,
    macro: {
      mean: mean(per.map((p) => p.acc.mean)),
      lo: at(alpha),
      hi: at(1 - alpha),
      n: correct.length,
    },
    micro: bootstrapCI(correct, opts),
  };
}
