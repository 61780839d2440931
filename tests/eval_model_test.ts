// Tests for the batching layer (batched == one-at-a-time, padding never leaks), context
// fitting, LM metrics (loss, perplexity, bits per character) and seeded generation.

import fc from "fast-check";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { asciiCodec, ruleModel } from "./eval_fakes.ts";
import {
  batchedModel,
  fitContext,
  type LogitsFn,
  planBatches,
  unbatched,
} from "../pipeline/eval/model.ts";
import { lmMetrics, windows } from "../pipeline/eval/lm_metrics.ts";
import { generate, sampleNext } from "../pipeline/eval/generate.ts";
import { seededRandom } from "../core/rng.ts";

const V = 11;

/** A causal fake forward: logits at t depend on ids[0..t] only (prefix sum and last id). */
const causal: LogitsFn = (ids, B, T) => {
  const out = new Float32Array(B * T * V);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      s += ids[b * T + t] + 1;
      for (let v = 0; v < V; v++) {
        out[(b * T + t) * V + v] = Math.sin(0.37 * s * (v + 1)) + 0.1 * ids[b * T + t] * (v % 3);
      }
    }
  }
  return Promise.resolve(out);
};

const seqArb = fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 2, maxLength: 20 })
  .map((xs) => Int32Array.from(xs));

Deno.test("batched scoring equals one-sequence-at-a-time for any batch plan", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(seqArb, { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 80 }),
      async (seqs, budget) => {
        const model = batchedModel(causal, {
          context: 32,
          vocab: V,
          tokenBudget: budget,
          padId: 5,
        });
        const one = unbatched(batchedModel(causal, { context: 32, vocab: V, tokenBudget: 1 }));
        const reqs = seqs.map((ids, i) => ({ ids, start: 1 + (i % (ids.length - 1)) }));
        const [a, b] = [await model.tokenLogProbs(reqs), await one.tokenLogProbs(reqs)];
        a.forEach((x, i) => x.forEach((v, k) => assertAlmostEquals(v, b[i][k], 1e-5)));
        const [na, nb] = [await model.nextLogProbs(seqs), await one.nextLogProbs(seqs)];
        na.forEach((x, i) => x.forEach((v, k) => assertAlmostEquals(v, nb[i][k], 1e-5)));
        na.forEach((x) => assertAlmostEquals(x.reduce((s, l) => s + Math.exp(l), 0), 1, 1e-4));
      },
    ),
    { numRuns: 60, seed: 3 },
  );
});

Deno.test("planBatches covers every index once within the budget", () => {
  const lengths = [5, 1, 9, 3, 3, 7, 2];
  const plan = planBatches(lengths, { context: 16, vocab: 4, tokenBudget: 12 });
  assertEquals(plan.flat().sort(), [0, 1, 2, 3, 4, 5, 6]);
  for (const g of plan) {
    assert(g.length === 1 || g.length * Math.max(...g.map((i) => lengths[i])) <= 12, `${g}`);
  }
});

Deno.test("fitContext keeps the continuation whole and cuts the context from the left", () => {
  const r = fitContext(Int32Array.from([1, 2, 3, 4, 5]), Int32Array.from([8, 9]), 5);
  assertEquals(Array.from(r.ids), [3, 4, 5, 8, 9]);
  assertEquals(r.start, 3);
});

Deno.test("LM metrics: uniform model gives loss ln V, perplexity V, bpc per char", async () => {
  const uniform = ruleModel(() => "a", () => -Math.log(128), 8);
  const docs = ["hello world, this is held-out text", "another document"];
  const m = await lmMetrics(uniform, asciiCodec, docs);
  const tokens = docs.reduce((s, d) => s + d.length - 1, 0);
  assertEquals(m.tokens, tokens);
  assertAlmostEquals(m.loss, Math.log(128), 1e-5);
  assertAlmostEquals(m.perplexity, 128, 1e-3);
  assertAlmostEquals(m.bitsPerChar, 7, 1e-5); // one char per token, log2(128) bits each
});

Deno.test("windows predict every token after the first exactly once", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 60 }), fc.integer({ min: 2, max: 9 }), (n, C) => {
      const ids = Int32Array.from({ length: n }, (_, i) => i);
      const predicted = windows(ids, C).flatMap((w) => Array.from(w.ids.subarray(w.start)));
      assertEquals(predicted, Array.from({ length: n - 1 }, (_, i) => i + 1));
    }),
  );
});

Deno.test("generation: greedy follows argmax, sampling is seeded and respects top-k", async () => {
  const model = ruleModel((p) => (p.endsWith("a") ? "b" : "a"));
  assertEquals(await generate(model, asciiCodec, "xa", { maxNew: 5 }), "babab");
  // stops: a stop string (cut before it, the earliest of several), a stop id (not included)
  assertEquals(await generate(model, asciiCodec, "xa", { maxNew: 9, stop: ["ab"] }), "b");
  assertEquals(await generate(model, asciiCodec, "xa", { maxNew: 9, stop: ["bb", "ab"] }), "b");
  assertEquals(await generate(model, asciiCodec, "xa", { maxNew: 9, stop: ["bab", "ba"] }), "");
  assertEquals(await generate(model, asciiCodec, "xa", { maxNew: 9, stop: ["zz"] }), "babababab");
  const stopAtA = { maxNew: 9, stopId: "a".charCodeAt(0) };
  assertEquals(await generate(model, asciiCodec, "xa", stopAtA), "b");
  const lp = Float32Array.from([-1, -2, -0.5, -3].map((x) => x));
  const draw = (seed: number, k: number) => {
    const r = seededRandom(seed);
    return Array.from({ length: 200 }, () => sampleNext(lp, 1.5, k, r));
  };
  assertEquals(draw(9, 0), draw(9, 0));
  assert(new Set(draw(9, 0)).size === 4, "temperature sampling reaches every id");
  assertEquals([...new Set(draw(9, 2))].sort(), [0, 2]);
  assertEquals(sampleNext(lp, 0, 0, seededRandom(1)), 2);
});
