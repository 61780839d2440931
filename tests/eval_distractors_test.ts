// Properties of the built-in benchmarks' construction: wordnet-def distractors match the answer
// in characters, tokens, frequency band, part of speech and lemma half; cloze distractors share
// the answer's source and script; and every built item fits the model's context whole under
// both protocols (items that cannot fit are skipped and counted, never cut).

import fc from "fast-check";
import { assert, assertEquals } from "./assert.ts";
import {
  buildDefinitionBench,
  freqBand,
  lemmaHalf,
  loadWordnet,
  wordCounts,
} from "../pipeline/eval/wordnet.ts";
import { buildClozeBench, dominantScript } from "../pipeline/eval/cloze.ts";
import { fitsAll, promptFits } from "../pipeline/eval/fit.ts";
import {
  DEFAULT_GEN_TOKENS,
  fitItem,
  generativePrompt,
  loglikContext,
} from "../pipeline/eval/protocols.ts";
import { buildTokenizer, encode } from "../pipeline/tokenizer/mod.ts";
import { kjvDocs } from "./kjv.ts";

const synsets = await loadWordnet();
const kjv = await kjvDocs();
const text = kjv.slice(0, 200).map((d) => d.text).join("\n\n");
const counts = wordCounts(text);
const posOf = new Map<string, Set<string>>();
for (const s of synsets) {
  for (const w of s.words) posOf.set(w, (posOf.get(w) ?? new Set()).add(s.pos));
}

Deno.test("wordnet-def distractors match the answer: length, tokens, frequency, POS, half", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e6 }),
      fc.subarray([..."abcdefghijklmnopqrstuvwxyz"], { minLength: 1 }),
      (seed, heavy) => {
        // a made-up tokenizer: letters in `heavy` cost two tokens, the rest one
        const tokenLength = (s: string) =>
          [...s].reduce((n, c) => n + (heavy.includes(c) ? 2 : 1), 0);
        const b = buildDefinitionBench(synsets, { n: 40, seed, counts, tokenLength });
        assertEquals(b.items.length, 40);
        for (const it of b.items) {
          const answer = it.choices[it.answer];
          assertEquals(new Set(it.choices).size, 4);
          for (const c of it.choices) {
            assertEquals(c.length, answer.length, `${it.id} ${c} characters`);
            assertEquals(tokenLength(" " + c), tokenLength(" " + answer), `${it.id} ${c} tokens`);
            const gap = freqBand(counts.get(c) ?? 0) - freqBand(counts.get(answer) ?? 0);
            assert(Math.abs(gap) <= 1, `${it.id} ${c} frequency band gap ${gap}`);
            assert(posOf.get(c)?.has(it.subject!), `${c} is not a ${it.subject}`);
            assertEquals(lemmaHalf(c), "eval");
          }
        }
      },
    ),
    { numRuns: 5, seed: 12 },
  );
});

const LATIN = "abcdefghij", CYRILLIC = "абвгдежзик", GREEK = "αβγδεζηθικ";
const word = (alphabet: string) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: 2, maxLength: 7 }).map((a) => a.join(""));
const doc = (words: fc.Arbitrary<string>) =>
  fc.array(words, { minLength: 60, maxLength: 120 }).map((ws) => ws.join(" "));

Deno.test("cloze distractors come from the answer's source and share its script", () => {
  fc.assert(
    fc.property(
      fc.array(doc(word(LATIN)), { minLength: 3, maxLength: 5 }),
      fc.array(doc(word(CYRILLIC)), { minLength: 3, maxLength: 5 }),
      // a Latin-source document quoting Greek: its Greek spots only take Greek distractors
      doc(fc.oneof(word(LATIN), word(GREEK))),
      fc.integer({ min: 0, max: 1e6 }),
      (en, ru, mixed, seed) => {
        const docs = [
          ...en.map((text) => ({ text, group: "en" })),
          ...ru.map((text) => ({ text, group: "ru" })),
          { text: mixed, group: "en" },
        ];
        const b = buildClozeBench(docs, { n: 20, seed, minContextChars: 20 });
        assert(b.items.length > 0, "some items");
        for (const it of b.items) {
          const group = docs[Number(it.source.replace("held-out doc ", ""))].group;
          const pool = docs.filter((d) => d.group === group).map((d) => d.text).join(" ");
          const script = dominantScript(it.choices[it.answer]);
          for (const c of it.choices) {
            assertEquals(dominantScript(c), script, `${c} vs ${it.choices[it.answer]}`);
            assert(pool.includes(c), `${c} is not from source ${group}`);
          }
        }
        const counts = [0, 1, 2, 3].map((k) => b.items.filter((it) => it.answer === k).length);
        assert(Math.max(...counts) - Math.min(...counts) <= 1, `letters ${counts}`);
      },
    ),
    { numRuns: 25, seed: 3 },
  );
});

Deno.test("built items fit whole under both protocols; the rest are skipped and counted", () => {
  const tok = buildTokenizer([text], { variant: "2-3", perScript: 32 });
  const codec = { encode: (s: string) => encode(tok, s), decode: () => "" };
  const val = kjv.slice(300, 340).map((d) => d.text);
  for (const context of [100, 160]) {
    const fits = fitsAll([{ codec, context }]);
    const wn = buildDefinitionBench(synsets, { n: 40, fits });
    const cl = buildClozeBench(val, { n: 40, fits });
    for (const b of [wn, cl]) {
      assert(b.items.length > 0, `some items fit ${context} tokens`);
      for (const it of b.items) {
        assert(promptFits(it, codec, context), it.id);
        assert(codec.encode(generativePrompt(it)).length <= context, `${it.id} generative`);
        const conts = it.choices.map((c) => codec.encode(" " + c));
        assertEquals(fitItem(codec.encode(loglikContext(it)), conts, context).cut, false);
      }
    }
    if (context === 100) {
      // at 100 tokens long prompts cannot fit: skipped and counted, never cut or thrown
      assert(wn.skipped["prompt does not fit the context"] > 0, JSON.stringify(wn.skipped));
      assert(cl.skipped["prompt does not fit the context"] > 0, JSON.stringify(cl.skipped));
    }
  }
  // the check itself: a prompt one token over the context does not fit
  const it = { id: "x", question: "q", choices: ["a", "b"], answer: 0, source: "s" };
  const n = codec.encode(generativePrompt(it)).length;
  assert(promptFits(it, codec, n, 1) && !promptFits(it, codec, n - 1, 1), "boundary, 1 token");
  // by default it leaves room for the generative protocol's tokens
  const full = n + DEFAULT_GEN_TOKENS - 1;
  assert(promptFits(it, codec, full) && !promptFits(it, codec, full - 1), "boundary, default");
});
