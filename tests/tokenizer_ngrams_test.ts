// N-gram counting for the vocabulary: counts match a direct count, grams never cross a space
// or a digit or a script boundary, top-k per script is ordered by count, and the script
// table parsed from Scripts.txt knows common letters.

import assert from "node:assert/strict";
import fc from "fast-check";
import { countNgrams, topPerScript } from "../pipeline/tokenizer/ngrams.ts";
import { scriptTable } from "../pipeline/tokenizer/scripts.ts";

Deno.test("ngrams: script table knows Latin, Greek, Hebrew, Han, Cyrillic", () => {
  const { names, of } = scriptTable();
  const name = (ch: string) => names[of[ch.codePointAt(0)!]];
  assert.deepStrictEqual(
    ["a", "λ", "א", "中", "ж", " ", "\u0301"].map(name),
    ["Latin", "Greek", "Hebrew", "Han", "Cyrillic", "Common", "Inherited"],
  );
});

Deno.test("ngrams: counts on a small text match a direct count", () => {
  const counts = countNgrams(["the cat, the hat; 2the theta", "θεός the"], 2, 3);
  const latin = counts.get("Latin")!;
  assert.equal(latin.get("th"), 5);
  assert.equal(latin.get("the"), 5); // "2the" counts: the digit is not part of the word
  assert.equal(latin.get("at"), 2);
  assert.equal(latin.get("e "), undefined);
  assert.equal(counts.get("Greek")!.get("θεό"), 1);
  const top = topPerScript(counts, 2, 1).filter((g) => g.script === "Latin");
  assert.deepStrictEqual(top.map((g) => g.gram), ["he", "th"]); // ties (5 each) broken by text
});

Deno.test("ngrams: grams stay inside one word and one script, no digits (property)", () => {
  const { names, of } = scriptTable();
  const alphabet = fc.constantFrom(..."ab é1 -λμ中文жy".split(""), "\u0301");
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: alphabet, maxLength: 30 }), { maxLength: 5 }),
      (docs) => {
        const counts = countNgrams(docs, 2, 5);
        for (const [script, grams] of counts) {
          for (const [g, n] of grams) {
            assert.ok(g.length >= 2 && g.length <= 5);
            assert.ok(/^[\p{L}\p{M}]+$/u.test(g), `gram ${JSON.stringify(g)} has a non-letter`);
            const own = [...g].map((ch) => names[of[ch.codePointAt(0)!]])
              .filter((s) => s !== "Common" && s !== "Inherited");
            assert.ok(own.length > 0 && own.every((s) => s === script));
            const direct = docs.reduce((a, d) => {
              let c = 0;
              for (let i = d.indexOf(g); i >= 0; i = d.indexOf(g, i + 1)) c++;
              return a + c;
            }, 0);
            assert.equal(n, direct, `count of ${g}`);
          }
        }
        const top = topPerScript(counts, 3, 1);
        for (let i = 1; i < top.length; i++) {
          if (top[i].script === top[i - 1].script) assert.ok(top[i].count <= top[i - 1].count);
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("ngrams: a distinct-gram cap drops rare grams and keeps frequent ones exact", () => {
  const docs = ["abc ".repeat(50)];
  for (let i = 0; i < 400; i++) {
    docs.push(String.fromCharCode(0x4E00 + i, 0x4E00 + ((i * 7) % 400)));
  }
  const exact = countNgrams(docs, 2, 3);
  const capped = countNgrams(docs, 2, 3, 64);
  assert.equal(capped.get("Latin")!.get("abc"), 50);
  assert.equal(capped.get("Latin")!.get("ab"), exact.get("Latin")!.get("ab"));
  assert.ok(exact.get("Han")!.size > 300);
  const kept = capped.get("Han")?.size ?? 0;
  assert.ok(kept <= 64, `kept ${kept} Han grams`);
});
