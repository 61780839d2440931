// Tests for the two scoring protocols on fixtures with hand-checked answers, the paper's
// prompt format, the always-A property, bootstrap coverage, and batching equivalence.

import fc from "fast-check";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { asciiCodec, ruleModel, vowelLover } from "./eval_fakes.ts";
import { loadBench } from "../pipeline/eval/loaders.ts";
import {
  fitItem,
  generativePrompt,
  scoreGenerative,
  scoreLoglik,
} from "../pipeline/eval/protocols.ts";
import { bootstrapCI, diffOfMeansCI } from "../pipeline/eval/stats.ts";
import type { McItem } from "../pipeline/eval/items.ts";
import { seededRandom } from "../core/rng.ts";

const F = "fixtures/eval";

Deno.test("generative prompt is the paper's format", () => {
  const it: McItem = {
    id: "x",
    question: "Q?",
    choices: ["a", "b", "c", "d"],
    answer: 0,
    source: "",
  };
  assertEquals(generativePrompt(it), "Question: Q?\nOptions: A) a B) b C) c D) d\nAnswer:");
});

Deno.test("generative protocol: hand-checked answers on the MMLU CSV fixture", async () => {
  const { items } = await loadBench(`mmlu:${F}/mmlu`);
  // closest star -> B (right), rings -> A (wrong), light-year -> " " (no letter),
  // ATP -> D (right), oxygen -> "x" (no letter)
  const table: [string, string][] = [
    ["closest star", "B"],
    ["rings", "A"],
    ["light-year", " "],
    ["ATP", "D"],
    ["oxygen", "x"],
  ];
  const model = ruleModel((p) => table.find(([k]) => p.includes(k))![1]);
  const r = await scoreGenerative(model, asciiCodec, items);
  assertEquals(r.predictions, [1, 0, -1, 3, -1]);
  assertAlmostEquals(r.metrics.acc.mean, 2 / 5);
  assertAlmostEquals(r.noLetter!, 2 / 5);
  assertAlmostEquals(r.chance, 0.25);
});

Deno.test("generative protocol: a space first needs a second token for the letter", async () => {
  const { items } = await loadBench(`mmlu:${F}/mmlu_hf.jsonl`);
  const model = ruleModel((p) => (p.endsWith("Answer:") ? " " : "B"));
  const one = await scoreGenerative(model, asciiCodec, items, { genTokens: 1 });
  const two = await scoreGenerative(model, asciiCodec, items, { genTokens: 2 });
  assertEquals(one.metrics.acc.mean, 0);
  assertEquals(one.noLetter, 1);
  assertAlmostEquals(two.metrics.acc.mean, 1 / 3); // only "What is 2 + 2?" has answer B
});

Deno.test("loglik protocol: hand-checked acc and acc_norm on the generic fixture", async () => {
  const { items } = await loadBench(`jsonl:${F}/generic.jsonl`);
  const r = await scoreLoglik(vowelLover(), asciiCodec, items);
  // By hand: per token log p = 2 - L for a vowel, -L otherwise (L = ln(5e^2 + 123) = 5.0748),
  // summed over " <option>"; acc_norm divides by the option's characters (space excluded).
  //   aaaa -17.37 (/4 -4.34) | b -10.15 (-10.15) | ccccccc -40.60 (-5.80) | eee -14.30 (-4.77)
  //   xyz -20.30 (-6.77) | ii -11.22 (-5.61) | o -8.15 (-8.15) | qqqqqq -35.52 (-5.92)
  //   zz -15.22 (-7.61) | uuuuu -20.45 (-4.09)
  //   mmm -20.30 (-6.77) | a -8.15 (-8.15) | nnnnnnnn -45.67 (-5.71)
  assertEquals(r.predictions, [1, 2, 0, 1]);
  assertEquals(r.predictionsNorm, [0, 1, 1, 2]);
  assertAlmostEquals(r.metrics.acc.mean, 0.5);
  assertAlmostEquals(r.metrics.acc_norm.mean, 0.5);
  assertAlmostEquals(r.chance, (1 / 4 + 1 / 4 + 1 / 2 + 1 / 3) / 4);
});

const itemArb = fc.integer({ min: 2, max: 5 }).chain((k) =>
  fc.record({
    question: fc.stringMatching(/^[a-z ]{1,20}$/),
    choices: fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}$/), { minLength: k, maxLength: k }),
    answer: fc.integer({ min: 0, max: k - 1 }),
  })
);

const asItems = (xs: { question: string; choices: string[]; answer: number }[]): McItem[] =>
  xs.map((x, i) => ({ ...x, question: `q${i} ${x.question}`, id: `i${i}`, source: "gen" }));

Deno.test("always-A models score exactly the share of A answers (both protocols)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 25 }), async (raw) => {
      const items = asItems(raw);
      const shareA = items.filter((it) => it.answer === 0).length / items.length;
      const gen = await scoreGenerative(ruleModel(() => "A"), asciiCodec, items);
      assertAlmostEquals(gen.metrics.acc.mean, shareA, 1e-12);
      // loglik: option A's text after its own question is likely, every other text unlikely
      const firsts = new Set(
        items.map((it) => `Question: ${it.question.trim()}\nAnswer: ${it.choices[0]}`),
      );
      const lik = ruleModel(() => "A", () => -1, 512);
      const preferA = {
        ...lik,
        tokenLogProbs: async (reqs: { ids: Int32Array; start: number }[]) => {
          const base = await lik.tokenLogProbs(reqs);
          return reqs.map((r, k) => {
            const whole = asciiCodec.decode(r.ids);
            return base[k].map(() => (firsts.has(whole) ? -0.01 : -50));
          });
        },
      };
      const ll = await scoreLoglik(preferA, asciiCodec, items);
      assertAlmostEquals(ll.metrics.acc.mean, shareA, 1e-12);
      assertAlmostEquals(ll.metrics.acc_norm.mean, shareA, 1e-12);
    }),
    { numRuns: 40, seed: 11 },
  );
});

Deno.test("bootstrap 95% interval covers the true mean on synthetic data most of the time", () => {
  const cases = fc.sample(
    fc.record({
      p: fc.double({ min: 0.1, max: 0.9, noNaN: true }),
      n: fc.integer({ min: 100, max: 400 }),
      seed: fc.integer({ min: 0, max: 1 << 30 }),
    }),
    { numRuns: 120, seed: 5 },
  );
  let covered = 0;
  for (const c of cases) {
    const rand = seededRandom(c.seed);
    const xs = Array.from({ length: c.n }, () => (rand() < c.p ? 1 : 0));
    const iv = bootstrapCI(xs, { seed: c.seed, resamples: 400 });
    assert(iv.lo <= iv.mean && iv.mean <= iv.hi, "interval brackets the sample mean");
    if (iv.lo <= c.p && c.p <= iv.hi) covered++;
  }
  assert(covered / cases.length >= 0.85, `coverage ${covered}/${cases.length} below 85%`);
});

Deno.test("two-sample bootstrap of a difference covers the true difference most of the time", () => {
  const cases = fc.sample(
    fc.record({
      p: fc.double({ min: 0.2, max: 0.8, noNaN: true }),
      q: fc.double({ min: 0.2, max: 0.8, noNaN: true }),
      seed: fc.integer({ min: 0, max: 1 << 30 }),
    }),
    { numRuns: 80, seed: 8 },
  );
  let covered = 0;
  for (const c of cases) {
    const rand = seededRandom(c.seed);
    const a = Array.from({ length: 150 }, () => (rand() < c.p ? 1 : 0));
    const b = Array.from({ length: 120 }, () => (rand() < c.q ? 1 : 0));
    const iv = diffOfMeansCI(a, b, { seed: c.seed, resamples: 300 });
    if (iv.lo <= c.p - c.q && c.p - c.q <= iv.hi) covered++;
  }
  assert(covered / cases.length >= 0.85, `coverage ${covered}/${cases.length} below 85%`);
});

Deno.test("bootstrap is deterministic for a seed", () => {
  const xs = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1];
  assertEquals(bootstrapCI(xs, { seed: 3 }), bootstrapCI(xs, { seed: 3 }));
});

Deno.test("loglik protocol: an option longer than the context is cut, not an error", async () => {
  const items: McItem[] = [
    { id: "long", question: "Which?", choices: ["ab", "cdefghijklmn"], answer: 1, source: "" },
    { id: "short", question: "Which?", choices: ["ab", "cd"], answer: 0, source: "" },
  ];
  // every token scores -1: " ab" = -3; the 13-token " cdefghijklmn" keeps its last 7 = -7
  const r = await scoreLoglik(ruleModel(() => "a", () => -1, 8), asciiCodec, items);
  assertEquals(r.predictions, [0, 0]);
  // both are cut: "long" loses the left of its option, "short" the start of its question
  assertEquals(r.truncated, 1);
  // acc_norm divides a cut option by the characters scored, not its whole length: " ab" scores
  // -0.7 a token (-2.1 / 2 chars = -1.05); the cut option -7 over 12 * 7/13 chars = -1.083, so
  // option 0 wins (dividing by all 12 characters would have given -0.58 and option 1).
  const cheapAb = ruleModel(() => "a", (_p, tok) => (" ab".includes(tok) ? -0.7 : -1), 8);
  const normed = await scoreLoglik(cheapAb, asciiCodec, items);
  assertEquals(normed.predictionsNorm?.[0], 0);
  const wide = await scoreLoglik(ruleModel(() => "a", () => -1, 64), asciiCodec, items);
  assertEquals(wide.predictions, [0, 0]);
  assertEquals(wide.truncated, 0);
});

Deno.test("fitItem: every group fits the context and scores a suffix of its option", () => {
  const arr = (n: number, base: number) => Int32Array.from({ length: n }, (_, i) => base + i);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 2, max: 32 }),
      (qLen, optLens, context) => {
        const ctx = arr(qLen, 1000);
        const conts = optLens.map((n, j) => arr(n, 100 * j));
        const { groups, cut } = fitItem(ctx, conts, context);
        const scored = groups.flatMap((g) => g.conts);
        assertEquals(scored.length, conts.length);
        let dropped = false;
        for (const g of groups) {
          assert(g.prefix.length >= 1, "at least one context token");
          for (const c of g.conts) assert(g.prefix.length + c.length <= context, "fits");
        }
        scored.forEach((c, j) => {
          const full = conts[j];
          assertEquals([...c], [...full.slice(full.length - c.length)]);
          if (c.length < full.length) dropped = true;
        });
        for (const g of groups) {
          if (g.prefix[0] >= 1000 && g.prefix.length < qLen) dropped = true;
        }
        assertEquals(cut, dropped);
      },
    ),
  );
});
