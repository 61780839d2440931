// Tests for the prompt formats and the protocols built on them: the paper's exact prompts per
// benchmark kind (as the author's _models_benchmarking.py writes them), its answer rule, new
// token counts, sampled runs and interval; the harness letter protocol with its subject header
// and few-shot examples; shots dropped before an item is skipped; acc_bytes vs acc_norm.

import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { asciiCodec, ruleModel } from "./eval_fakes.ts";
import {
  fitShots,
  formatBoolqPrompt,
  formatMcPrompt,
  formatMcPromptLines,
  harnessLetterPrompt,
  loadBench,
  type McItem,
  paperAnswer,
  paperPrompt,
  runInterval,
  scoreGenerative,
  scoreLoglik,
  scoreLoglikLetter,
  scorePaper,
  type ScoringModel,
  subjectHeader,
} from "../pipeline/eval/mod.ts";

const F = "fixtures/eval";
const item = (question: string, choices: string[], answer: number, extra = {}): McItem => ({
  id: question,
  question,
  choices,
  answer,
  source: "t",
  ...extra,
});

Deno.test("paper prompts: MMLU on one line, ARC one per line with labels, BoolQ", () => {
  // the strings format_prompt_mmlu / format_prompt_ai2arc / format_prompt_boolq build
  assertEquals(
    formatMcPrompt("Q?", ["a", "b", "c", "d"]),
    "Question: Q?\nOptions: A) a B) b C) c D) d\nAnswer:",
  );
  assertEquals(
    formatMcPromptLines("Q?", ["x", "y"], ["1", "2"]),
    "Question: Q?\nOptions:\n1) x\n2) y\nAnswer:",
  );
  assertEquals(formatBoolqPrompt("P.", "q"), "Context: P.\nQuestion: q\nAnswer (True/False):");
  const arc = item("Which?", ["x", "y"], 1, { labels: ["1", "2"] });
  assertEquals(paperPrompt(arc, "arc"), "Question: Which?\nOptions:\n1) x\n2) y\nAnswer:");
  assertEquals(paperPrompt(arc, "mmlu"), "Question: Which?\nOptions: A) x B) y\nAnswer:");
});

Deno.test("paper answer rule: decoded[len(prompt):].strip().upper()[:1]", () => {
  assertEquals(paperAnswer("Answer:", "Answer: b"), "B");
  assertEquals(paperAnswer("Answer:", "<s>Answer:  c)"), "C");
  assertEquals(paperAnswer("Answer:", "Answer: "), "");
  // code points, as Python slices: an astral character before the answer counts once
  assertEquals(paperAnswer("𝔸:", "𝔸: d"), "D");
});

Deno.test("paper protocol: 1 token for MMLU (a space: 0%), 2 for ARC, T/F for BoolQ", async () => {
  const seen: string[] = [];
  const model = ruleModel((p) => {
    seen.push(p);
    if (/Answer(\s\(True\/False\))?:$/.test(p)) return " ";
    if (p.includes("True/False")) return p.includes("sun") ? "t" : "F";
    return p.includes("conductor") ? "4" : "C";
  });
  const mmlu = await loadBench(`mmlu:${F}/mmlu`);
  const m = await scorePaper(model, asciiCodec, mmlu.items, { style: "mmlu", runs: 1 });
  assertEquals(m.metrics.acc.mean, 0); // one token, and it is the space
  assertEquals(m.noLetter, 1);
  assert(seen.every((p) => p.endsWith("\nAnswer:")), "MMLU: one token, no second step");
  // scoring order is the engine's (longest first), so look for the item among all prompts
  assert(
    seen.some((p) => p.includes("\nOptions: A) Proxima Centauri B) The Sun C) Sirius D) Vega\n")),
  );

  seen.length = 0;
  const arc = await loadBench(`arc:${F}/arc.jsonl`);
  const a = await scorePaper(model, asciiCodec, arc.items, { style: "arc", runs: 1 });
  // second token: "4" for the conductor item (labels 1-4, key 4), "C" elsewhere
  const want = arc.items.map((
    it,
  ) => (it.labels![it.answer] === (it.question.includes("conductor") ? "4" : "C") ? 1 : 0));
  assertEquals(a.correct.acc, want);
  assert(seen.some((p) => p.includes("\nOptions:\n1) a wax crayon\n2) a plastic spoon\n")));
  assert(seen.some((p) => p.endsWith("Answer: ")), "ARC: a second token after the space");

  const boolq = await loadBench(`boolq:${F}/boolq.jsonl`);
  assertEquals(boolq.style, "boolq");
  const oneTok = ruleModel((p) => (p.includes("sun") ? "t" : "F"));
  const b = await scorePaper(oneTok, asciiCodec, boolq.items, { style: "boolq", runs: 1 });
  assertEquals(b.correct.acc, [1, 1, 1]); // "t" upper-cased is T; the others F
});

Deno.test("paper protocol: sampled runs, the author's 1.96*std/sqrt(runs) interval", async () => {
  // the next token is A or B with equal probability; every answer is A
  const coin: ScoringModel = {
    ...ruleModel(() => "A"),
    nextLogProbs: (seqs) =>
      Promise.resolve(seqs.map(() => {
        const lp = new Float32Array(128).fill(-Infinity);
        lp[65] = lp[66] = Math.log(0.5);
        return lp;
      })),
  };
  const items = Array.from({ length: 40 }, (_, i) => item(`q${i}`, ["x", "y"], 0));
  const r = await scorePaper(coin, asciiCodec, items, { runs: 8, seed: 5 });
  const rs = r.runs!;
  assertEquals(rs.accs.length, 8);
  const mean = rs.accs.reduce((s, x) => s + x, 0) / 8;
  const std = Math.sqrt(rs.accs.reduce((s, x) => s + (x - mean) ** 2, 0) / 8);
  assertAlmostEquals(rs.mean, mean, 1e-12);
  assertAlmostEquals(rs.ci95, 1.96 * std / Math.sqrt(8), 1e-12);
  assert(std > 0, "sampled runs differ");
  assert(Math.abs(mean - 0.5) < 0.15, `coin flips average near 1/2, got ${mean}`);
  // per-item share of right runs averages to the mean over runs
  assertAlmostEquals(r.metrics.acc.mean, mean, 1e-12);
  const again = await scorePaper(coin, asciiCodec, items, { runs: 8, seed: 5 });
  assertEquals(again.runs!.accs, rs.accs); // seeded
  assertEquals(runInterval([0.2, 0.4]).ci95, 1.96 * 0.1 / Math.sqrt(2));
  const greedy = await scorePaper(coin, asciiCodec, items, { runs: 3, temperature: 0 });
  assertEquals(greedy.runs!.std, 0);
});

Deno.test("harness letter prompt, header and shots; shots, then header, dropped before an item is skipped", async () => {
  const it = item("  What is 2 + 2? ", ["3", "4"], 1, { subject: "elementary_mathematics" });
  assertEquals(harnessLetterPrompt(it), "What is 2 + 2?\nA. 3\nB. 4\nAnswer:");
  assertEquals(
    subjectHeader("elementary_mathematics"),
    "The following are multiple choice questions (with answers) about elementary mathematics.\n\n",
  );
  const shots = ["S1 Answer: A", "S2 Answer: B"];
  const whole = fitShots(asciiCodec, "H\n\n", shots, "ITEM", 100)!;
  assertEquals(asciiCodec.decode(whole.ids), "H\n\nS1 Answer: A\n\nS2 Answer: B\n\nITEM");
  assertEquals(fitShots(asciiCodec, "H\n\n", shots, "ITEM", 22)!.shots, 1);
  assertEquals(fitShots(asciiCodec, "H\n\n", shots, "ITEM", 7)!.shots, 0);
  assertEquals(fitShots(asciiCodec, "H\n\n", shots, "ITEM", 7)!.header, true);
  // then the header goes; the item itself is never cut
  assertEquals(fitShots(asciiCodec, "H\n\n", shots, "ITEM", 6), {
    ids: asciiCodec.encode("ITEM"),
    shots: 0,
    header: false,
  });
  assertEquals(fitShots(asciiCodec, "H\n\n", shots, "ITEM", 3), null);

  // the letter protocol scores " A" / " B" after the prompt with its dev shots
  const mmlu = await loadBench(`mmlu:${F}/mmlu`);
  assertEquals(Object.keys(mmlu.dev!).sort(), ["astronomy", "biology"]);
  const contexts: string[] = [];
  const right = new Map(mmlu.items.map((x) => [harnessLetterPrompt(x), "ABCD"[x.answer]]));
  const model: ScoringModel = {
    ...ruleModel(() => "A"),
    tokenLogProbs: (reqs) =>
      Promise.resolve(reqs.map((r) => {
        const text = asciiCodec.decode(r.ids.subarray(0, r.start));
        contexts.push(text);
        const key = [...right.keys()].find((k) => text.endsWith(k))!;
        const letter = String.fromCharCode(r.ids[r.ids.length - 1]);
        return new Float32Array(r.ids.length - r.start).fill(letter === right.get(key) ? -1 : -5);
      })),
  };
  const r0 = await scoreLoglikLetter(model, asciiCodec, mmlu.items, {});
  assertEquals(r0.metrics.acc.mean, 1);
  assert(
    contexts.some((c) => c.startsWith(subjectHeader("astronomy") + "What is the closest star")),
  );
  contexts.length = 0;
  const r5 = await scoreLoglikLetter(model, asciiCodec, mmlu.items, { shots: 5, dev: mmlu.dev });
  assertEquals(r5.metrics.acc.mean, 1);
  assertAlmostEquals(r5.shots!, (2 + 2 + 2 + 1 + 1) / 5); // astronomy has 2 dev rows, biology 1
  assert(contexts.some((c) =>
    c.startsWith(
      subjectHeader("astronomy") +
        "What is the Moon?\nA. a star\nB. a satellite\nC. a planet\nD. a comet\nAnswer: B\n\n" +
        "Which planet is red?\nA. Mars\nB. Venus\nC. Earth\nD. Jupiter\nAnswer: A\n\n" +
        "What is the closest star",
    )
  ));
  // a context that holds the item but not its header: the header goes, and the variant says so
  const longest = Math.max(...mmlu.items.map((x) => harnessLetterPrompt(x).length));
  const noHead = await scoreLoglikLetter(
    { ...model, context: longest + 2 },
    asciiCodec,
    mmlu.items,
    {
      shots: 5,
      dev: mmlu.dev,
    },
  );
  assertEquals([noHead.n, noHead.metrics.acc.mean], [5, 1]);
  assert(
    /subject header dropped to fit for 100\.0% of items/.test(noHead.variant!),
    noHead.variant,
  );
  // a context too short for any item skips every one, and says so
  const tiny = { ...model, context: 20 };
  const sk = await scoreLoglikLetter(tiny, asciiCodec, mmlu.items, { shots: 5, dev: mmlu.dev });
  assertEquals([sk.n, sk.skipped], [0, 1]);
  const gen = await scoreGenerative(
    { ...ruleModel(() => "B"), context: 120 },
    asciiCodec,
    mmlu.items,
    {
      shots: 5,
      dev: mmlu.dev,
    },
  );
  // 120 tokens hold some items without shots only, none with its dev shots; the rest skipped
  assert(
    gen.skipped! > 0 && gen.n > 0 && gen.shots === 0,
    JSON.stringify([gen.skipped, gen.shots]),
  );
  assertEquals(gen.n + gen.skipped! * mmlu.items.length, mmlu.items.length);
  assertEquals(gen.scored!.length, gen.n);
});

Deno.test("acc_bytes divides by UTF-8 bytes, acc_norm by characters", async () => {
  // per-token log p = -1 for every character: an option's sum is -(chars + 1) with its space.
  // "ééé" (3 chars, 6 bytes) vs "abcd" (4 chars, 4 bytes):
  //   acc: -4 vs -5 -> ééé; acc_norm: -4/3 vs -5/4 -> abcd; acc_bytes: -4/6 vs -5/4 -> ééé
  const codec = {
    encode: (s: string) => Int32Array.from([...s], (c) => c.codePointAt(0)! % 128),
    decode: (ids: ArrayLike<number>) => String.fromCharCode(...Array.from(ids)),
  };
  const items = [item("q", ["ééé", "abcd"], 1)];
  const r = await scoreLoglik(ruleModel(() => "a"), codec, items);
  assertEquals([r.predictions[0], r.predictionsNorm![0]], [0, 1]);
  assertEquals(r.correct.acc_bytes, [0]);
  assertEquals(r.correct.acc_norm, [1]);
});
