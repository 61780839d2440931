// Tests of the study's statistics and verdict: the two-level (seeds, then items) bootstrap on
// synthetic data with a known answer (its 95% interval covers the true mean in about 95% of
// simulated studies; an items-only interval does not), ratio metrics (bits per character),
// paired differences, and the verdict's wording from synthetic study numbers.

import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { pairedTwoLevelCI, twoLevelCI } from "../pipeline/eval/study_stats.ts";
import { bootstrapCI } from "../pipeline/eval/stats.ts";
import { classify, type StudyTable, verdictSection } from "../pipeline/eval/verdict.ts";
import { seededRandom } from "../core/rng.ts";
import { lmMetrics } from "../pipeline/eval/lm_metrics.ts";
import { asciiCodec, ruleModel } from "./eval_fakes.ts";

/** A standard normal draw (Box-Muller) from a seeded uniform source. */
function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** y[s][i] = mu + seed effect + item effect + noise: the population mean is mu. */
function simulate(rand: () => number, S: number, N: number, sd: [number, number, number]) {
  const a = Array.from({ length: S }, () => sd[0] * normal(rand));
  const b = Array.from({ length: N }, () => sd[1] * normal(rand));
  return a.map((as) => b.map((bi) => 0.5 + as + bi + sd[2] * normal(rand)));
}

Deno.test("two-level bootstrap: the 95% interval covers the true mean about 95% of the time", () => {
  const rand = seededRandom(99);
  const reps = 200, S = 8, N = 60, sd: [number, number, number] = [0.05, 0.1, 0.1];
  let covered = 0, itemsOnly = 0;
  for (let r = 0; r < reps; r++) {
    const y = simulate(rand, S, N, sd);
    const iv = twoLevelCI({ num: y }, { resamples: 400, seed: r });
    if (iv.lo <= 0.5 && 0.5 <= iv.hi) covered++;
    // the usual items-only interval of one seed ignores the seed-to-seed spread
    const one = bootstrapCI(y[0], { resamples: 400, seed: r });
    if (one.lo <= 0.5 && 0.5 <= one.hi) itemsOnly++;
  }
  const rate = covered / reps;
  assert(rate >= 0.9 && rate <= 0.995, `two-level coverage ${rate}`);
  assert(itemsOnly / reps < 0.85, `items-only coverage ${itemsOnly / reps} should fall short`);
});

Deno.test("two-level bootstrap: with 3 seeds and a large seed effect it covers too little", () => {
  // the caveat the verdict prints for 2-4 seeds: a seed effect half the item effect
  const rand = seededRandom(7);
  const reps = 200;
  let covered = 0;
  for (let r = 0; r < reps; r++) {
    const y = simulate(rand, 3, 250, [0.05, 0.1, 0.1]);
    const iv = twoLevelCI({ num: y }, { resamples: 400, seed: r });
    if (iv.lo <= 0.5 && 0.5 <= iv.hi) covered++;
  }
  const rate = covered / reps;
  assert(rate > 0.65 && rate < 0.9, `3-seed coverage ${rate} (about 0.8 expected)`);
});

Deno.test("two-level bootstrap: the mean is over seeds of a ratio of sums (bits per char)", () => {
  const num = [[2, 4, 6], [4, 4, 4]], den = [1, 2, 3];
  const iv = twoLevelCI({ num, den }, { resamples: 200 });
  assertAlmostEquals(iv.mean, (12 / 6 + 12 / 6) / 2, 1e-12);
  assertEquals(iv.n, 3);
  assert(iv.lo <= iv.mean && iv.mean <= iv.hi);
  // no spread at all: a zero-width interval
  const flat = twoLevelCI({ num: [[1, 1], [1, 1]] }, { resamples: 50 });
  assertEquals([flat.mean, flat.lo, flat.hi], [1, 1, 1]);
});

Deno.test("paired two-level difference: a shared seed/item effect cancels", () => {
  const rand = seededRandom(5);
  const base = simulate(rand, 5, 200, [0.2, 0.3, 0.01]);
  const shifted = base.map((row) => row.map((v) => v + 0.02 + 0.01 * normal(rand)));
  const d = pairedTwoLevelCI({ num: shifted }, { num: base }, { resamples: 500 });
  assert(d.lo > 0 && d.hi < 0.04, `paired [${d.lo}, ${d.hi}] excludes 0 and is narrow`);
  // unpaired intervals of each arm overlap widely: the pairing is what separates them
  const [ia, ib] = [twoLevelCI({ num: shifted }), twoLevelCI({ num: base })];
  assert(ia.lo < ib.hi, "unpaired intervals overlap");
  let msg = "";
  try {
    pairedTwoLevelCI({ num: [[1, 2]] }, { num: [[1, 2, 3]] });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("same seeds and items"), msg);
});

function table(seeds: number, diffs: [number, number, number][], noLetter = 0.2): StudyTable {
  const iv = ([mean, lo, hi]: [number, number, number]) => ({ mean, lo, hi, n: 100 });
  return {
    seeds,
    arms: ["paper", "random", "trainable"],
    reference: "trainable",
    scale: "4 layers",
    metrics: [
      {
        key: "val-bpc",
        label: "validation bits/char",
        higherIsBetter: false,
        unit: "bpc",
        perArm: {},
        diffs: { paper: iv(diffs[0]), random: iv(diffs[1]) },
      },
      {
        key: "mmlu/generative/acc",
        label: "mmlu, generative acc",
        higherIsBetter: true,
        unit: "pct",
        perArm: {},
        diffs: { paper: iv(diffs[2]), random: iv(diffs[2]) },
        noLetter: { paper: noLetter, random: noLetter, trainable: noLetter },
        claim: true,
      },
    ],
  };
}

Deno.test("verdict: better / worse / not distinguishable follow the interval and direction", () => {
  assertEquals(classify({ mean: 0.1, lo: 0.05, hi: 0.2, n: 1 }, true, 3), "better");
  assertEquals(classify({ mean: 0.1, lo: 0.05, hi: 0.2, n: 1 }, false, 3), "worse");
  assertEquals(classify({ mean: -0.1, lo: -0.2, hi: -0.05, n: 1 }, false, 3), "better");
  assertEquals(classify({ mean: 0.1, lo: -0.05, hi: 0.2, n: 1 }, true, 3), "not distinguishable");
  assertEquals(classify({ mean: 0.1, lo: 0.05, hi: 0.2, n: 1 }, true, 1), "undecided");
  const md = verdictSection(table(3, [[0.4, 0.3, 0.5], [-0.02, -0.05, 0.01], [0.03, 0.01, 0.05]]))
    .join("\n");
  assert(md.startsWith("## Verdict"), md);
  assert(md.includes("paper +0.400 [+0.300, +0.500]: paper worse than trainable at 95%"), md);
  assert(md.includes("random -0.020 [-0.050, +0.010]: not distinguishable from trainable"), md);
  assert(md.includes("paper +3.0 pts [+1.0, +5.0]: paper better than trainable at 95%"), md);
  assert(md.includes("the claim held here"), md);
  assert(!md.includes("cannot decide"), md);
  const against = verdictSection(table(3, [[0, -1, 1], [0, -1, 1], [-0.03, -0.05, -0.01]]));
  assert(against.join("\n").includes("the claim did not hold here: the trainable arm"));
  const tie = verdictSection(table(3, [[0, -1, 1], [0, -1, 1], [0.01, -0.01, 0.03]]));
  assert(tie.join("\n").includes("the claim did not hold here: no difference at 95%"));
});

Deno.test("verdict: one seed says it cannot decide and calls nothing better or worse", () => {
  const md = verdictSection(table(1, [[0.4, 0.3, 0.5], [0.1, 0.05, 0.2], [0.03, 0.01, 0.05]], 0.9))
    .join("\n");
  assert(md.includes("**One seed cannot decide.**"), md);
  assert(!/ (better|worse) than trainable/.test(md), md);
  assert(md.includes("not decided (one seed)"), md);
  const quiet = verdictSection(table(1, [[0, -1, 1], [0, -1, 1], [0.03, 0.01, 0.05]])).join("\n");
  assert(quiet.includes("one seed cannot decide the claim"), quiet);
  assert(md.includes("no answer letter for 90% (paper)"), "a silent protocol is named");
  assert(md.includes("the claim could not be tested here"), md);
});

Deno.test("verdict: no MMLU-style metric or no trainable arm is said plainly", () => {
  const t = table(3, [[0.4, 0.3, 0.5], [0.1, 0.05, 0.2], [0, 0, 0]]);
  t.metrics = t.metrics.filter((m) => !m.claim);
  assert(verdictSection(t).join("\n").includes("not tested here"));
  assert(
    verdictSection({ ...t, reference: null }).join("\n").includes("No `trainable` arm"),
  );
});

Deno.test("LM metrics keep per-document sums whose ratio is the one bits per character", async () => {
  const uniform = ruleModel(() => "a", () => -Math.log(128), 8);
  const docs = ["hello world, this is held-out text", "x", "another document"];
  const m = await lmMetrics(uniform, asciiCodec, docs);
  assertEquals(m.docChars, [docs[0].length - 1, docs[2].length - 1]); // "x" predicts nothing
  m.docNll.forEach((n, i) => assertAlmostEquals(n, m.docChars[i] * Math.log(128), 1e-4));
  const iv = twoLevelCI({ num: [m.docNll.map((x) => x / Math.LN2)], den: m.docChars });
  assertAlmostEquals(iv.mean, m.bitsPerChar, 1e-9);
  assertAlmostEquals(iv.mean, 7, 1e-5);
});
