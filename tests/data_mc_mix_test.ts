// The training mix's multiple-choice share against the benchmarks on real data (WordNet, KJV,
// SBLGNT and Russian fortunes split by document): the mix is in exactly the eval's generative
// prompt format, holds the asked share with balanced letters, and shares nothing with the
// benchmark items: no lemma (answer or distractor), no definition, no cloze text.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { buildMcMix, mcTrainingText } from "../pipeline/data/mc_mix.ts";
import { buildDefinitionBench, lemmaHalf, loadWordnet } from "../pipeline/eval/wordnet.ts";
import { buildClozeBench, makeTrainIndex, occursIn, sentencesOf } from "../pipeline/eval/cloze.ts";
import { generativePrompt } from "../pipeline/eval/protocols.ts";
import { type Doc, parseFortunes, parseSblgnt } from "../pipeline/data/sources.ts";
import { splitDocs } from "../pipeline/data/split.ts";
import { kjvDocs } from "./kjv.ts";

const synsets = await loadWordnet();
const docs: Doc[] = [
  ...(await kjvDocs()).slice(0, 300),
  ...parseSblgnt(await Deno.readTextFile("/usr/share/bibledit/sources/sblgnt/sblgnt.xml"))
    .slice(0, 100),
  ...parseFortunes(
    "fortunes-ru",
    "x",
    await Deno.readTextFile("/usr/share/games/fortunes/ru/2001.03"),
  ).slice(0, 600),
];
const { train, val } = splitDocs(docs, 0.1, 1);
const mix = buildMcMix(train, synsets, 0.1, 1);
const mixText = mix.docs.map((d) => d.text).join("\n\n");

const FORMAT = /^Question: (.+)\nOptions: A\) (.+) B\) (.+) C\) (.+) D\) (.+)\nAnswer: ([ABCD])$/s;
const parsed = mix.docs.map((d) => {
  const m = FORMAT.exec(d.text);
  if (!m) throw new Error(`not in the eval format: ${JSON.stringify(d.text)}`);
  return { question: m[1], choices: m.slice(2, 6), answer: "ABCD".indexOf(m[6]) };
});
const wordnetMix = parsed.filter((p) => p.question.startsWith("Which word means"));
const clozeMix = parsed.filter((p) => p.question.startsWith("Continue the text"));

Deno.test("mix item text is the eval's generative prompt followed by the answer letter", () => {
  const it = {
    id: "x",
    question: 'Which word means "a young cat"?',
    choices: ["kitten", "mitten", "bitten", "sitten"],
    answer: 2,
    source: "t",
  };
  assertEquals(mcTrainingText(it), generativePrompt(it) + " C");
  assertEquals(
    mcTrainingText(it),
    'Question: Which word means "a young cat"?\nOptions: A) kitten B) mitten C) bitten ' +
      "D) sitten\nAnswer: C",
  );
});

Deno.test("mix: the asked share of characters, both kinds, balanced letters, deterministic", () => {
  const natural = train.reduce((n, d) => n + [...d.text].length, 0);
  const share = mix.chars / (mix.chars + natural);
  assert(Math.abs(share - 0.1) < 0.005, `share ${share}`);
  assertEquals(mix.wordnetItems, wordnetMix.length);
  assertEquals(mix.clozeItems, clozeMix.length);
  assert(wordnetMix.length > 50 && clozeMix.length > 50, "both kinds present");
  for (const part of [wordnetMix, clozeMix]) {
    const counts = [0, 1, 2, 3].map((k) => part.filter((p) => p.answer === k).length);
    assert(Math.max(...counts) - Math.min(...counts) <= 1, `letters ${counts}`);
  }
  assertEquals(buildMcMix(train, synsets, 0.1, 1).docs, mix.docs);
  assertEquals(buildMcMix(train, synsets, 0, 1).docs, []);
  let err = "";
  try {
    buildMcMix(train, synsets, 1, 1);
  } catch (e) {
    err = (e as Error).message;
  }
  assertMatch(err, /^data\.mcShare 1: must be in \[0, 1\)/);
});

Deno.test("partition: no lemma or definition of the wordnet-def benchmark is in the mix", () => {
  const bench = buildDefinitionBench(synsets, { n: 1000, trainText: mixText });
  assertEquals(bench.items.length, 1000);
  const mixWords = new Set(wordnetMix.flatMap((p) => p.choices));
  const evalWords = new Set(bench.items.flatMap((it) => it.choices));
  assert(mixWords.size > 100 && evalWords.size > 3000, "both sides hold many words");
  assertEquals([...mixWords].filter((w) => evalWords.has(w)), []);
  assert([...mixWords].every((w) => lemmaHalf(w) === "train"), "mix options: train half");
  assert([...evalWords].every((w) => lemmaHalf(w) === "eval"), "benchmark options: eval half");
  // every lemma of a benchmark synset is in the eval half, so none can be a mix option
  const mixIndex = makeTrainIndex(mixText);
  assertEquals(bench.items.filter((it) => occursIn(mixIndex, it.key!)).map((it) => it.id), []);
  const mixDefs = new Set(wordnetMix.map((p) => p.question));
  assertEquals(bench.items.filter((it) => mixDefs.has(it.question)).length, 0);
});

Deno.test("partition: cloze mix comes from training documents, the benchmark from held-out", () => {
  const trainIndex = makeTrainIndex(train.map((d) => d.text).join("\n\n"));
  // every mix cloze item quotes a training document: its context and answer occur there
  for (const p of clozeMix) {
    const ctx = p.question.slice('Continue the text: "'.length, -' ..."'.length);
    assert(occursIn(trainIndex, `${ctx} ${p.choices[p.answer]}`), `not from train: ${ctx}`);
  }
  const fullTrain = makeTrainIndex(train.map((d) => d.text).join("\n\n") + "\n\n" + mixText);
  const bench = buildClozeBench(val.map((d) => ({ text: d.text, group: d.source })), {
    n: 300,
    trainText: fullTrain,
  });
  assertEquals(bench.items.length, 300);
  // zero shared sentences: no benchmark item's text (context end and answer) is in the mix
  const mixIndex = makeTrainIndex(mixText);
  const shared = bench.items.flatMap((it) => {
    const ctx = it.question.slice('Continue the text: "'.length, -' ..."'.length);
    const whole = `${ctx} ${it.choices[it.answer]}`;
    return [it.key!, ...sentencesOf(whole)].filter((s) => occursIn(mixIndex, s));
  });
  assertEquals(shared, []);
  // the held-out documents are not training documents
  const trainIds = new Set(train.map((d) => `${d.source}:${d.id}`));
  assertEquals(val.filter((d) => trainIds.has(`${d.source}:${d.id}`)), []);
});

Deno.test("cloze: an item with a sentence from the training text is skipped and counted", () => {
  const known = "The quick brown fox jumps over the lazy dog again and again.";
  const filler = (k: number) =>
    Array.from({ length: 40 }, (_, i) => `word${(i * 7 + k) % 13}x${i % 5}`).join(" ");
  const docs = Array.from({ length: 6 }, (_, k) => `${filler(k)}. ${known} ${filler(k + 1)}`);
  const train = makeTrainIndex(`Some training text. ${known} More training text.`);
  const b = buildClozeBench(docs, { n: 200, seed: 1, trainText: train, minContextChars: 20 });
  assert(b.skipped["a sentence occurs in the training text"] > 0, JSON.stringify(b.skipped));
  assert(b.items.length > 0, "items without the sentence remain");
  for (const it of b.items) assert(!it.question.includes(known), `${it.id} quotes the sentence`);
});
