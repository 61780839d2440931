// Accuracy statistics: the mean over items with a seeded 95% percentile bootstrap interval
// (resampling items with replacement), so every score in a report says how sure it is.

import { seededRandom } from "../../core/rng.ts";

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

export interface BootstrapOptions {
  resamples?: number;
  level?: number;
  seed?: number;
}

/** Mean of per-item scores with a percentile bootstrap interval over items. */
export function bootstrapCI(values: ArrayLike<number>, opts: BootstrapOptions = {}): Interval {
  const n = values.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n: 0 };
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const rand = seededRandom(opts.seed ?? 1234);
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i];
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(rand() * n)];
    means[r] = s / n;
  }
  means.sort();
  const alpha = (1 - level) / 2;
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { mean: total / n, lo: at(alpha), hi: at(1 - alpha), n };
}

/** "31.2% [28.4, 34.1]" */
export function formatInterval(iv: Interval): string {
  if (!Number.isFinite(iv.mean)) return "n/a";
  const p = (x: number) => (100 * x).toFixed(1);
  return `${p(iv.mean)}% [${p(iv.lo)}, ${p(iv.hi)}]`;
}

/** Paired bootstrap of mean(a - b) over the same items (two models on one benchmark). */
export function pairedDiffCI(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  opts: BootstrapOptions = {},
): Interval {
  if (a.length !== b.length) {
    throw new Error(`eval: paired comparison needs equal item counts (${a.length} vs ${b.length})`);
  }
  return bootstrapCI(Array.from(a, (x, i) => x - b[i]), opts);
}

/** "+3.1 pts [-1.2, 7.4]" */
export function formatDiff(iv: Interval): string {
  if (!Number.isFinite(iv.mean)) return "n/a";
  const p = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}`;
  return `${p(iv.mean)} pts [${p(iv.lo)}, ${p(iv.hi)}]`;
}

/** Bootstrap of mean(a) - mean(b) for two independent samples (each resampled on its own). */
export function diffOfMeansCI(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  opts: BootstrapOptions = {},
): Interval {
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const rand = seededRandom(opts.seed ?? 1234);
  const mean = (x: ArrayLike<number>) => Array.from(x).reduce((s, v) => s + v, 0) / x.length;
  const draw = (x: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[Math.floor(rand() * x.length)];
    return s / x.length;
  };
  if (a.length === 0 || b.length === 0) return { mean: NaN, lo: NaN, hi: NaN, n: 0 };
  const d = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) d[r] = draw(a) - draw(b);
  d.sort();
  const at = (q: number) => d[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  const alpha = (1 - level) / 2;
  return { mean: mean(a) - mean(b), lo: at(alpha), hi: at(1 - alpha), n: a.length + b.length };
}
