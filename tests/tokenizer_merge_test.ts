// Merge-rank encoding equals a deliberately naive reference (map characters to ids, then
// repeatedly find the lowest-rank adjacent pair, leftmost first, merge it and start over) on
// random strings rich in vocabulary n-grams, including long unbroken runs (heap path) and
// repeated calls (word cache). Also checks the synthesised merges themselves.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BYTE_FIRST,
  encode,
  isSingleCharId,
  type Tokenizer,
  vocabStrings,
} from "../pipeline/tokenizer/mod.ts";
import { sampleTokenizers as toks } from "./tokenizer_sample.ts";

/** The naive reference: no segmentation, no cache, no heap, a linear search per merge. */
const rankMaps = new Map<Tokenizer, Map<string, [number, number]>>();
function naiveEncode(tok: Tokenizer, text: string): number[] {
  let rank = rankMaps.get(tok);
  if (!rank) {
    rank = new Map();
    for (let i = 0; i < tok.merges.length; i += 3) {
      rank.set(`${tok.merges[i]},${tok.merges[i + 1]}`, [i / 3, tok.merges[i + 2]]);
    }
    rankMaps.set(tok, rank);
  }
  const ids: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (isSingleCharId(cp)) ids.push(cp);
    else for (const b of new TextEncoder().encode(ch)) ids.push(BYTE_FIRST + b);
  }
  for (;;) {
    let best = Infinity, at = -1, result = -1;
    for (let k = 0; k + 1 < ids.length; k++) {
      const hit = rank.get(`${ids[k]},${ids[k + 1]}`);
      if (hit && hit[0] < best) [best, at, result] = [hit[0], k, hit[1]];
    }
    if (at < 0) return ids;
    ids.splice(at, 2, result);
  }
}

for (const tok of toks) {
  const chars = [...new Set(tok.tokens.slice(0, 400).join(""))];
  const grams = fc.constantFrom(...tok.tokens.slice(0, 1500));
  const piece = fc.oneof(grams, fc.constantFrom(...chars), fc.constantFrom(" ", "1", "é", "😀"));

  Deno.test(`merge (${tok.variant}): encode equals the naive reference on random strings`, () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (parts) => {
        const s = parts.join("");
        const want = naiveEncode(tok, s);
        assert.deepStrictEqual([...encode(tok, s)], want);
        assert.deepStrictEqual([...encode(tok, s)], want); // second call: from the cache
      }),
      { numRuns: 300 },
    );
  });

  Deno.test(`merge (${tok.variant}): long unbroken runs (heap path) equal the reference`, () => {
    const letters = fc.oneof(grams, fc.constantFrom(...chars));
    fc.assert(
      fc.property(fc.array(letters, { minLength: 10, maxLength: 120 }), (parts) => {
        const s = parts.join("");
        assert.deepStrictEqual([...encode(tok, s)], naiveEncode(tok, s));
      }),
      { numRuns: 100 },
    );
  });

  Deno.test(`merge (${tok.variant}): merges join two tokens, longest first`, () => {
    const vs = vocabStrings(tok);
    let prevLen = Infinity;
    const seen = new Set<string>();
    for (let i = 0; i < tok.merges.length; i += 3) {
      const [l, r, t] = [tok.merges[i], tok.merges[i + 1], tok.merges[i + 2]];
      assert.equal(vs[l] + vs[r], vs[t]);
      assert.ok(vs[t].length <= prevLen, "merge ranks follow token length, longest first");
      prevLen = vs[t].length;
      assert.ok(!seen.has(`${l},${r}`), "each pair merges one way");
      seen.add(`${l},${r}`);
    }
    const made = new Set(
      Array.from({ length: tok.merges.length / 3 }, (_, k) => tok.merges[3 * k + 2]),
    );
    for (const id of tok.ids) assert.ok(made.has(id), `token ${vs[id]} has a merge`);
  });
}

Deno.test("merge: every split with both halves in the vocabulary becomes a merge", () => {
  const tok = toks[1];
  const vs = vocabStrings(tok);
  const inVocab = new Set(tok.tokens);
  const pairs = new Set<string>();
  for (let i = 0; i < tok.merges.length; i += 3) pairs.add(`${tok.merges[i]},${tok.merges[i + 1]}`);
  const id = new Map(tok.tokens.map((t, k) => [t, tok.ids[k]]));
  const idOf = (s: string) => s.length === 1 ? s.charCodeAt(0) : id.get(s)!;
  let expected = 0;
  for (const t of tok.tokens) {
    for (let i = 1; i < t.length; i++) {
      const [a, b] = [t.slice(0, i), t.slice(i)];
      if ((a.length === 1 || inVocab.has(a)) && (b.length === 1 || inVocab.has(b))) {
        expected++;
        assert.ok(pairs.has(`${idOf(a)},${idOf(b)}`), `missing merge ${a}+${b}`);
      }
    }
  }
  assert.equal(tok.merges.length / 3, expected);
  assert.equal(vs.length, tok.vocabSize);
});

Deno.test("merge: the encode cache survives collisions (more distinct words than slots)", () => {
  const tok = toks[0];
  const chars = [...new Set(tok.tokens.join(""))].filter((ch) => ch !== " ");
  let seed = 12345;
  const rnd = (k: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % k;
  const words: string[] = [];
  for (let w = 0; w < 80000; w++) {
    let s = "";
    for (let n = 3 + rnd(14); n > 0; n--) s += chars[rnd(chars.length)];
    words.push(s);
  }
  const text = words.join(" ");
  const first = encode(tok, text);
  assert.deepStrictEqual(encode(tok, text), first);
  const perWord: number[][] = [[]];
  for (const id of first) id === 32 ? perWord.push([]) : perWord[perWord.length - 1].push(id);
  assert.equal(perWord.length, words.length);
  for (let k = 0; k < words.length; k += 157) {
    assert.deepStrictEqual(perWord[k], naiveEncode(tok, words[k]), `word ${words[k]}`);
  }
});
