// Tests of merging (pipeline/merge): the merged model's next-token distribution is the softmax
// of the weighted mean of the experts' logits computed by the core GPT; the log-probability
// mode gives the same distribution and the probability mode the arithmetic mixture; weights
// and merge specs are checked; a merge of trainable-embedding experts is refused with one line
// (or merged with that line as a warning when allowed); different frozen tables are refused.

import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import fc from "fast-check";
import { join } from "node:path";
import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, gptLogits, initGPT, mergeParams } from "../core/gpt.ts";
import { tensor } from "../core/tensor.ts";
import { logSoftmaxRow } from "../pipeline/eval/model.ts";
import { combineRows, mixtureModel, normalizeWeights } from "../pipeline/merge/mixture.ts";
import { checkMergeable, type ExpertInfo, parseMergeSpec } from "../pipeline/merge/load.ts";

setBackend("cpu");

const V = 30, D = 16;
const table = {
  data: Float32Array.from({ length: V * D }, (_, i) => Math.sin(i * 0.7)),
  rows: V,
  cols: D,
};
const cfg: GPTConfig = {
  vocab: V,
  dModel: D,
  layers: 2,
  heads: 2,
  context: 16,
  embedding: "frozen",
};
const expert = (seed: number) => {
  const { trainable, frozen } = initGPT(cfg, { seed, frozenTable: table });
  return { params: mergeParams(trainable, frozen), cfg };
};

Deno.test("merge: next-token distribution = softmax of the weighted mean of the experts' logits", async () => {
  const a = expert(1), b = expert(2);
  const seqs = [
    Int32Array.from([3, 7, 1, 9, 4]),
    Int32Array.from([5, 2]),
    Int32Array.from([8, 8, 8]),
  ];
  for (const w of [[0.5, 0.5], [0.8, 0.2]]) {
    const got = await mixtureModel([a, b], w, "logits").nextLogProbs(seqs);
    for (const [k, s] of seqs.entries()) {
      // the reference: core gptLogits of each expert on the whole sequence, last position
      const last = async (p: typeof a) => {
        const l = gptLogits(p.params, cfg, tensor(s, [1, s.length], "i32"));
        const d = await l.data() as Float32Array;
        l.dispose();
        return d.subarray((s.length - 1) * V, s.length * V);
      };
      const la = await last(a), lb = await last(b);
      const mean = Float32Array.from(la, (x, v) => w[0] * x + w[1] * lb[v]);
      const want = new Float32Array(V);
      logSoftmaxRow(mean, 0, V, want);
      for (let v = 0; v < V; v++) assertAlmostEquals(got[k][v], want[v], 1e-5, `seq ${k} id ${v}`);
      // and it is not simply one of the experts
      const onlyA = new Float32Array(V);
      logSoftmaxRow(la, 0, V, onlyA);
      assert(onlyA.some((x, v) => Math.abs(x - got[k][v]) > 1e-4), "the merge equals expert a");
    }
  }
});

Deno.test("merge: combineRows modes (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -5, max: 5, noNaN: true }), { minLength: 12, maxLength: 12 }),
      fc.array(fc.float({ min: -5, max: 5, noNaN: true }), { minLength: 12, maxLength: 12 }),
      fc.float({ min: Math.fround(0.05), max: Math.fround(0.95), noNaN: true }),
      (xa, xb, w0) => {
        const vocab = 4, a = Float32Array.from(xa), b = Float32Array.from(xb), w = [w0, 1 - w0];
        const lg = combineRows([a, b], w, vocab, "logits");
        for (let i = 0; i < 12; i++) assertAlmostEquals(lg[i], w0 * a[i] + (1 - w0) * b[i], 1e-5);
        const lp = combineRows([a, b], w, vocab, "logprobs");
        const pr = combineRows([a, b], w, vocab, "probs");
        for (let r = 0; r < 3; r++) {
          const n1 = new Float32Array(vocab), n2 = new Float32Array(vocab);
          logSoftmaxRow(lg, r, vocab, n1);
          logSoftmaxRow(lp, r, vocab, n2);
          const pa = new Float32Array(vocab), pb = new Float32Array(vocab);
          logSoftmaxRow(a, r, vocab, pa);
          logSoftmaxRow(b, r, vocab, pb);
          for (let v = 0; v < vocab; v++) {
            assertAlmostEquals(n1[v], n2[v], 1e-4); // geometric mixture = logit mean
            const mix = w0 * Math.exp(pa[v]) + (1 - w0) * Math.exp(pb[v]);
            assertAlmostEquals(pr[r * vocab + v], Math.log(mix), 1e-4);
          }
        }
      },
    ),
    { numRuns: 50 },
  );
});

Deno.test("merge: weights and specs", async () => {
  assertEquals(normalizeWeights([], 2), [0.5, 0.5]);
  assertEquals(normalizeWeights([3, 1], 2), [0.75, 0.25]);
  assertThrows(() => normalizeWeights([1], 2), "1 weights for 2 models");
  assertThrows(() => normalizeWeights([0, 0], 2), "sum to 0");
  assertThrows(() => normalizeWeights([-1, 2], 2), ">= 0");
  const s = await parseMergeSpec("a,b", [1, 3], "probs");
  assertEquals(s, {
    experts: [{ checkpoint: "a", weight: 0.25 }, { checkpoint: "b", weight: 0.75 }],
    mode: "probs",
  });
  await assertRejects(() => parseMergeSpec("a,b", [], "mean"), 'unknown mode "mean"');
  const dir = await Deno.makeTempDir();
  const f = join(dir, "merge.json");
  await Deno.writeTextFile(
    f,
    JSON.stringify({ experts: [{ checkpoint: "x0", weight: 2 }, { checkpoint: "/abs/x1" }] }),
  );
  assertEquals(await parseMergeSpec(f), {
    experts: [{ checkpoint: join(dir, "x0"), weight: 2 / 3 }, {
      checkpoint: "/abs/x1",
      weight: 1 / 3,
    }],
    mode: "logits",
  });
  await Deno.writeTextFile(f, JSON.stringify({ experts: [{ checkpoint: "x0" }] }));
  await assertRejects(() => parseMergeSpec(f), "2 or more");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("merge: trainable-embedding experts are refused with one line (or warned about)", () => {
  const info = (dir: string, embedding: string, frozenSha256?: string): ExpertInfo => ({
    dir,
    embedding,
    vocab: 30,
    tokenizerSha256: "t",
    frozenSha256,
    vocabProbe: "1,2,3",
  });
  assertEquals(checkMergeable([info("a", "frozen", "h"), info("b", "frozen", "h")]), "");
  const e = assertThrows(
    () => checkMergeable([info("a", "trainable"), info("b", "trainable")]),
    "learned their own input embeddings",
  );
  assert(!e.message.includes("\n"), "one line");
  assert(e.message.includes("a, b"), e.message);
  const w = checkMergeable([info("a", "frozen", "h"), info("b", "trainable")], true);
  assert(w.startsWith("warning: merge: b learned its own input embedding"), w);
  assertThrows(
    () => checkMergeable([info("a", "frozen", "h"), info("b", "frozen", "other")]),
    "different frozen tables",
  );
  assertThrows(
    () =>
      checkMergeable([info("a", "frozen", "h"), { ...info("b", "frozen", "h"), vocabProbe: "9" }]),
    "different vocabularies",
  );
});
