// Tests for our own benchmarks built from real data: WordNet definition -> word items and
// cloze items from the held-out KJV split; deterministic, >= 1,000 items each, well formed,
// and never occurring in the training split.

import fc from "fast-check";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  buildDefinitionBench,
  buildDefinitionItems,
  loadWordnet,
  parseWordnetData,
  synonymPairs,
} from "../pipeline/eval/wordnet.ts";
import {
  assertNoOverlap,
  buildClozeItems,
  makeTrainIndex,
  occursIn,
  overlapReport,
} from "../pipeline/eval/cloze.ts";
import { itemProblem } from "../pipeline/eval/items.ts";
import { splitDocs } from "../pipeline/data/split.ts";
import { kjvDocs } from "./kjv.ts";

const synsets = await loadWordnet();
const kjv = await kjvDocs();
const { train, val } = splitDocs(kjv, 0.1, 1);
const trainText = makeTrainIndex(train.map((d) => d.text).join("\n\n"));

Deno.test("WordNet parser reads words, part of speech and definition without examples", () => {
  const line = "00002137 03 n 02 abstraction 0 abstract_entity 0 010 @ 00001740 n 0000 | " +
    'a general concept formed by extracting common features; "an example"  ';
  const [s] = parseWordnetData(line, "noun");
  assertEquals(s.words, ["abstraction", "abstract entity"]);
  assertEquals(s.definition, "a general concept formed by extracting common features");
  let err = "";
  try {
    parseWordnetData("garbage line", "noun", "x/data.noun");
  } catch (e) {
    err = (e as Error).message;
  }
  assertMatch(err, /^x\/data\.noun:1: not a WordNet synset line/);
});

Deno.test("WordNet definition items: 1,000 deterministic, well-formed, balanced answers", () => {
  const items = buildDefinitionItems(synsets, { n: 1000, seed: 42 });
  assertEquals(items.length, 1000);
  assertEquals(buildDefinitionItems(synsets, { n: 1000, seed: 42 }), items);
  for (const it of items) {
    assertEquals(itemProblem(it), null);
    assertEquals(it.choices.length, 4);
    assertEquals(new Set(it.choices).size, 4);
    const answer = it.choices[it.answer];
    assert(!it.question.toLowerCase().includes(answer.slice(0, 4)), `${it.id} gives itself away`);
  }
  assertEquals(new Set(items.map((i) => i.id)).size, 1000);
  const shareA = items.filter((i) => i.answer === 0).length / items.length;
  assert(shareA > 0.2 && shareA < 0.3, `answer A share ${shareA}`);
  const pos = new Set(items.map((i) => i.subject));
  assertEquals([...pos].sort(), ["adj", "adv", "noun", "verb"]);
  // distractors share the answer's part of speech
  const posOf = new Map<string, Set<string>>();
  for (const s of synsets) {
    for (const w of s.words) posOf.set(w, (posOf.get(w) ?? new Set()).add(s.pos));
  }
  for (const it of items.slice(0, 200)) {
    for (const c of it.choices) assert(posOf.get(c)?.has(it.subject!), `${c} not a ${it.subject}`);
  }
});

Deno.test("WordNet synonym pairs share a synset; random pairs are as many", () => {
  const { synonyms, random } = synonymPairs(synsets, { n: 300 });
  assertEquals(synonyms.length, 300);
  assertEquals(random.length, 300);
  const synsetsOf = new Map<string, Set<string>>();
  for (const s of synsets) {
    for (const w of s.words) {
      synsetsOf.set(w, (synsetsOf.get(w) ?? new Set()).add(s.pos + s.offset));
    }
  }
  const together = (a: string, b: string) =>
    [...synsetsOf.get(a) ?? []].some((x) => synsetsOf.get(b)?.has(x));
  assert(synonyms.every(([a, b]) => together(a, b) && a !== b));
});

Deno.test("cloze items from the held-out KJV split: 1,000, deterministic, never in train", () => {
  const docs = val.map((d) => d.text);
  const items = buildClozeItems(docs, { n: 1000, seed: 1, trainText });
  assertEquals(items.length, 1000);
  assertEquals(buildClozeItems(docs, { n: 1000, seed: 1, trainText }), items);
  for (const it of items) {
    assertEquals(itemProblem(it), null);
    assertEquals(new Set(it.choices).size, 4);
  }
  assertNoOverlap(items, trainText);
  // a definition that occurs in the training text is skipped and counted
  const unchecked = buildDefinitionItems(synsets, { n: 1000 });
  const planted = train.map((d) => d.text).join("\n\n") + "\n\n" +
    unchecked.slice(0, 5).map((it) => it.key).join(". ");
  const plantedIndex = makeTrainIndex(planted);
  assertEquals(overlapReport(unchecked, plantedIndex).overlapping.length >= 5, true);
  const wordnet = buildDefinitionBench(synsets, { n: 1000, trainText: plantedIndex });
  assertEquals(wordnet.items.length, 1000);
  assertEquals(overlapReport(wordnet.items, plantedIndex).overlapping, []);
  assert(wordnet.skipped["definition occurs in the training text"] >= 5, "skips are counted");
});

Deno.test("overlap check catches an item planted from the training split", () => {
  const planted = buildClozeItems([train[3].text], { n: 5, seed: 2, contextChars: 80 });
  const r = overlapReport(planted, trainText);
  assertEquals(r.overlapping.length, 5);
  let err = "";
  try {
    assertNoOverlap(planted, trainText);
  } catch (e) {
    err = (e as Error).message;
  }
  assertMatch(err, /^eval: 5 benchmark items occur in the training text/);
});

Deno.test("train index answers exactly like String.includes on normalised text", () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[ab \n]{0,80}$/),
      fc.stringMatching(/^[ab ]{0,30}$/),
      (t, q) => {
        const norm = (s: string) => s.replace(/\s+/g, " ").trim();
        assertEquals(occursIn(makeTrainIndex(t), q), norm(t).includes(norm(q)));
      },
    ),
    { numRuns: 400, seed: 4 },
  );
  const verse = train[5].text.split("\n")[2];
  assert(occursIn(trainText, verse), "a training verse occurs");
  assert(!occursIn(trainText, verse + " and a tail nobody wrote"), "a changed verse does not");
});

Deno.test("cloze builder says so when the held-out text is too small", () => {
  let err = "";
  try {
    buildClozeItems(["a short text that cannot hold a thousand items at all, really."], {
      n: 1000,
    });
  } catch (e) {
    err = (e as Error).message;
  }
  assertMatch(err, /^eval: only \d+ of 1000 cloze items/);
});
