// Tests for the paired bootstrap difference (coverage of a known difference on synthetic
// paired data, narrower than the unpaired interval, seeded) and the per-subject breakdown
// (hand-checked macro and micro averages, intervals around them).

import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";
import { diffOfMeansCI, pairedDiffCI } from "../pipeline/eval/stats.ts";
import { subjectBreakdown } from "../pipeline/eval/subjects.ts";
import { seededRandom } from "../core/rng.ts";

/** Two models on the same items: item i is solved by a when u_i < pa, by b when u_i < pb. */
function paired(n: number, pa: number, pb: number, rand: () => number) {
  const u = Array.from({ length: n }, rand);
  return { a: u.map((x) => (x < pa ? 1 : 0)), b: u.map((x) => (x < pb ? 1 : 0)) };
}

Deno.test("pairedDiffCI covers a known difference about 95% of the time", () => {
  const rand = seededRandom(2024);
  const trials = 300;
  let covered = 0;
  let pairedWidth = 0;
  let unpairedWidth = 0;
  for (let t = 0; t < trials; t++) {
    const pa = 0.3 + 0.4 * rand(), pb = pa - 0.1; // true mean(a - b) = 0.1
    const { a, b } = paired(150, pa, pb, rand);
    const iv = pairedDiffCI(a, b, { seed: t, resamples: 400 });
    if (iv.lo <= 0.1 && 0.1 <= iv.hi) covered++;
    pairedWidth += iv.hi - iv.lo;
    const un = diffOfMeansCI(a, b, { seed: t, resamples: 400 });
    unpairedWidth += un.hi - un.lo;
  }
  const rate = covered / trials;
  // binomial sd at 95% over 300 trials is 1.3 points; the percentile bootstrap runs a bit low
  assert(rate > 0.89 && rate <= 0.99, `coverage ${rate}`);
  // pairing removes the shared item difficulty: a much narrower interval
  assert(pairedWidth < 0.6 * unpairedWidth, `${pairedWidth} vs ${unpairedWidth}`);
});

Deno.test("pairedDiffCI: the mean difference, seeded, equal lengths required", () => {
  const a = [1, 1, 0, 1, 0, 1], b = [0, 1, 0, 0, 0, 1];
  const iv = pairedDiffCI(a, b, { seed: 7 });
  assertAlmostEquals(iv.mean, 2 / 6, 1e-12);
  assertEquals(pairedDiffCI(a, b, { seed: 7 }), iv);
  assert(iv.lo >= 0 && iv.hi <= 2 / 3, JSON.stringify(iv)); // a - b is never negative here
  const other = pairedDiffCI(a, b, { seed: 8 });
  assertEquals(other.mean, iv.mean);
  assertThrows(() => pairedDiffCI([1], [1, 0]), "equal item counts");
});

Deno.test("subject breakdown: per subject, macro and micro by hand", () => {
  // s1: 3 of 4 right (0.75), s2: 0 of 1 (0), s3: 1 of 2 (0.5)
  const subjects = ["s1", "s1", "s2", "s1", "s3", "s1", "s3"];
  const correct = [1, 1, 0, 0, 1, 1, 0];
  const bd = subjectBreakdown(subjects, correct, { seed: 3 })!;
  assertEquals(bd.subjects.map((s) => [s.subject, s.acc.mean, s.acc.n]), [
    ["s1", 0.75, 4],
    ["s2", 0, 1],
    ["s3", 0.5, 2],
  ]);
  assertAlmostEquals(bd.macro.mean, (0.75 + 0 + 0.5) / 3, 1e-12);
  assertAlmostEquals(bd.micro.mean, 4 / 7, 1e-12);
  for (const iv of [bd.macro, bd.micro]) assert(iv.lo <= iv.mean && iv.mean <= iv.hi);
  // s2 has one item, always wrong: the macro interval can never reach 1
  assert(bd.macro.hi <= 2 / 3 + 1e-12, `${bd.macro.hi}`);
  assertEquals(subjectBreakdown(["x", "x"], [1, 0]), null);
  assertThrows(() => subjectBreakdown(["x"], [1, 0]), "one per item");
});

Deno.test("subject breakdown: macro interval covers the mean of subject rates", () => {
  const rand = seededRandom(9);
  const rates = [0.2, 0.5, 0.8, 0.35];
  const truth = rates.reduce((a, b) => a + b, 0) / rates.length;
  let covered = 0;
  const trials = 150;
  for (let t = 0; t < trials; t++) {
    const subjects: string[] = [], correct: number[] = [];
    rates.forEach((p, s) => {
      const n = 20 + 30 * s; // unequal subject sizes: macro != micro
      for (let i = 0; i < n; i++) {
        subjects.push(`s${s}`);
        correct.push(rand() < p ? 1 : 0);
      }
    });
    const bd = subjectBreakdown(subjects, correct, { seed: t, resamples: 300 })!;
    if (bd.macro.lo <= truth && truth <= bd.macro.hi) covered++;
  }
  assert(covered / trials > 0.88, `macro coverage ${covered / trials}`);
});
