// Statistics across seeds and items for the study matrix. Every metric is a ratio of sums over
// items (documents, benchmark items, probe pairs) per seed: accuracy = sum(correct) / n,
// bits per character = sum(nll) / ln 2 / sum(chars). The point estimate is the mean over seeds;
// the 95% interval comes from a two-level (crossed) percentile bootstrap: resample seeds with
// replacement, then items with replacement (one item draw shared by the drawn seeds, because
// every seed is scored on the same items). A paired difference between two arms resamples the
// same seeds and items for both, which is the bootstrap of the per-seed, per-item difference.
// Pure functions, seeded.

import { seededRandom } from "../../core/rng.ts";
import type { Interval } from "./stats.ts";

export interface TwoLevelOptions {
  resamples?: number;
  level?: number;
  seed?: number;
}

/** Per seed s and item i: the numerator; the denominator is per item (1 when absent). */
export interface SeedItems {
  /** [seed][item] numerators (e.g. 1/0 correct, or a document's NLL in bits). */
  num: number[][];
  /** [item] denominators (e.g. a document's characters); all 1 when omitted. */
  den?: number[];
}

function checkShape(x: SeedItems): { S: number; N: number } {
  const S = x.num.length;
  if (S === 0) throw new Error("study stats: no seeds");
  const N = x.num[0].length;
  if (N === 0) throw new Error("study stats: no items");
  for (const row of x.num) {
    if (row.length !== N) {
      throw new Error(`study stats: seeds scored different item counts (${row.length} vs ${N})`);
    }
  }
  if (x.den && x.den.length !== N) {
    throw new Error(`study stats: ${x.den.length} denominators for ${N} items`);
  }
  return { S, N };
}

/** The statistic of one (seeds, items) draw: mean over the drawn seeds of sum num / sum den. */
function statistic(x: SeedItems, seeds: ArrayLike<number>, items: ArrayLike<number>): number {
  let den = 0;
  for (let k = 0; k < items.length; k++) den += x.den ? x.den[items[k]] : 1;
  let total = 0;
  for (let j = 0; j < seeds.length; j++) {
    const row = x.num[seeds[j]];
    let s = 0;
    for (let k = 0; k < items.length; k++) s += row[items[k]];
    total += s / den;
  }
  return total / seeds.length;
}

/** Mean over seeds with a two-level bootstrap interval (seeds, then items). */
export function twoLevelCI(x: SeedItems, opts: TwoLevelOptions = {}): Interval {
  const { S, N } = checkShape(x);
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const rand = seededRandom(opts.seed ?? 4321);
  const allSeeds = Int32Array.from({ length: S }, (_, i) => i);
  const allItems = Int32Array.from({ length: N }, (_, i) => i);
  const mean = statistic(x, allSeeds, allItems);
  const seeds = new Int32Array(S), items = new Int32Array(N);
  const draws = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let j = 0; j < S; j++) seeds[j] = Math.floor(rand() * S);
    for (let k = 0; k < N; k++) items[k] = Math.floor(rand() * N);
    draws[r] = statistic(x, seeds, items);
  }
  draws.sort();
  const at = (q: number) => draws[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  const alpha = (1 - level) / 2;
  return { mean, lo: at(alpha), hi: at(1 - alpha), n: N };
}

/**
 * Paired difference a - b over the same seeds and items (both [seed][item], same
 * denominators): the two-level interval of the per-seed, per-item difference.
 */
export function pairedTwoLevelCI(
  a: SeedItems,
  b: SeedItems,
  opts: TwoLevelOptions = {},
): Interval {
  const sa = checkShape(a), sb = checkShape(b);
  if (sa.S !== sb.S || sa.N !== sb.N) {
    throw new Error(
      `study stats: a paired difference needs the same seeds and items ` +
        `(${sa.S} x ${sa.N} vs ${sb.S} x ${sb.N})`,
    );
  }
  const den = a.den ?? b.den;
  if (a.den && b.den && a.den.some((d, i) => d !== b.den![i])) {
    throw new Error("study stats: a paired difference needs the same item denominators");
  }
  const num = a.num.map((row, s) => row.map((v, i) => v - b.num[s][i]));
  return twoLevelCI({ num, den }, opts);
}
