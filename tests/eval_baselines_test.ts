// Question-blind baselines on a hand-made set whose answers are known, and the report flag
// (a baseline within 3 points of the best model).

import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import {
  baselinesSection,
  bestModelScore,
  blindBaselines,
  fitUnigram,
  flagged,
  lengthPicks,
  topLetterAccuracy,
  unigramPicks,
} from "../pipeline/eval/baselines.ts";
import type { McItem } from "../pipeline/eval/items.ts";
import type { ModelResult } from "../pipeline/eval/evaluate.ts";
import { asciiCodec } from "./eval_fakes.ts";

const item = (choices: string[], answer: number): McItem => ({
  id: `t/${choices.join("")}`,
  question: "never read",
  choices,
  answer,
  source: "hand",
});

// shortest: item 0 (b), item 1 (first of the tied "x", "y": index 0), item 2 (d), item 3 (e)
// longest: item 0 (aaaa), item 1 (zzz), item 2 (ccc, first of the tied)
const items = [
  item(["aaaa", "b", "cc", "ddd"], 1),
  item(["x", "y", "zzz", "ww"], 2),
  item(["ccc", "bbb", "aa", "d"], 3),
  item(["ee", "e", "eee", "eeee"], 1),
];

Deno.test("length baselines pick by characters, ties to the first option", () => {
  assertEquals(lengthPicks(items, "shortest"), [1, 0, 3, 1]);
  assertEquals(lengthPicks(items, "longest"), [0, 2, 0, 3]);
  assertEquals(lengthPicks([item(["é", "ab"], 0)], "shortest"), [0]); // code points, not bytes
});

Deno.test("most frequent letter: the share of the commonest answer position", () => {
  assertEquals(topLetterAccuracy(items), 0.5); // answer B twice of four
  assertEquals(topLetterAccuracy([]), 0);
});

Deno.test("unigram baseline: add-one token unigram over the options only", () => {
  // training text "aaab": counts a 3, b 1; 4 tokens, 2 seen types + 1 unseen bucket -> /7
  const uni = fitUnigram(asciiCodec.encode("aaab"));
  assertAlmostEquals(uni.logProb(97), Math.log(4 / 7), 1e-12);
  assertAlmostEquals(uni.logProb(98), Math.log(2 / 7), 1e-12);
  assertAlmostEquals(uni.logProb(120), Math.log(1 / 7), 1e-12);
  // options scored as " option": the space is unseen (1/7) for all, so only letters differ
  const picks = unigramPicks(
    [item(["b", "a", "x"], 1), item(["ab", "aa", "a"], 2), item(["x", "b"], 0)],
    asciiCodec.encode,
    uni,
  );
  assertEquals(picks, [1, 2, 1]);
  const b = blindBaselines("hand", items, { encode: asciiCodec.encode, unigram: uni });
  assertEquals(b.n, 4);
  assertEquals(b.chance, 0.25);
  assertEquals(b.shortest, 0.75); // items 0, 2 and 3
  assertEquals(b.longest, 0.25); // item 1
  assertEquals(b.topLetter, 0.5);
  // picks: "b" (a seen token beats two unseen), "x" (tie with "y": first), "aa", "e"
  assertEquals(unigramPicks(items, asciiCodec.encode, uni), [1, 0, 2, 1]);
  assertEquals(b.unigram, 0.5);
  assertEquals(blindBaselines("hand", items).unigram, undefined);
});

function result(name: string, acc: number): ModelResult {
  const iv = { mean: acc, lo: acc - 0.05, hi: acc + 0.05, n: 4 };
  return {
    name,
    info: {},
    benches: [{
      name: "hand",
      n: 4,
      chance: 0.25,
      problems: 0,
      seconds: 0,
      loglik: {
        protocol: "loglik",
        n: 4,
        chance: 0.25,
        metrics: { acc: iv, acc_norm: { ...iv, mean: acc - 0.1 } },
        predictions: [],
        correct: {},
        truncated: 0,
      },
    }],
  };
}

Deno.test("flag: a blind baseline within 3 points of the best model", () => {
  const b = blindBaselines("hand", items); // best baseline: always shortest, 75%
  assertEquals(bestModelScore([result("m1", 0.4), result("m2", 0.77)], "hand")!.score, 0.77);
  assert(flagged(b, [result("m1", 0.4), result("m2", 0.77)]), "77% vs 75%: flagged");
  assert(flagged(b, [result("m1", 0.3)]), "below the baseline: flagged");
  assert(!flagged(b, [result("m1", 0.79)]), "4 points above: not flagged");
  assert(!flagged(b, []), "no model: nothing to compare");
  const md = baselinesSection([b], [result("m1", 0.77)]).join("\n");
  assert(
    md.includes(
      "| hand | 4 | 25.0% | 75.0% | 25.0% | 50.0% | - | 77.0% (m1, loglik acc) | **flagged** |",
    ),
    md,
  );
  assert(md.includes("hand: always shortest scores 75.0% against the best model's 77.0%"), md);
  assertEquals(baselinesSection([], []), []);
});
