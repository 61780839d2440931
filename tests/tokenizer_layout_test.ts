// Tokenizer id layout invariants: every BMP code point outside the reserved ranges is its own
// id, specials sit at 0xE000.., multi-character tokens fill the reserved slots longest first
// and never contain whitespace, byte tokens at 0xF800.., sizes 65,536 and 131,072.

import assert from "node:assert/strict";
import {
  BOS,
  buildTokenizer,
  BYTE_FIRST,
  encode,
  EOS,
  isSingleCharId,
  makeTokenizer,
  PAD,
  tokenKinds,
  UNK,
  vocabStrings,
} from "../pipeline/tokenizer/mod.ts";
import { sampleDocs as docs, sampleTokenizers } from "./tokenizer_sample.ts";

const [small, large] = sampleTokenizers;

Deno.test("layout: special ids are the paper's", () => {
  assert.deepStrictEqual([PAD, BOS, EOS, UNK], [57344, 57345, 57346, 57347]);
  const vs = vocabStrings(small);
  assert.deepStrictEqual([vs[PAD], vs[BOS], vs[EOS], vs[UNK]], ["<pad>", "<s>", "</s>", "<unk>"]);
  assert.deepStrictEqual(vs[0xE0FF], "<special_token_255>");
  assert.deepStrictEqual(vs[BYTE_FIRST + 0x0A], "<0x0A>");
  const kinds = tokenKinds(small);
  assert.deepStrictEqual(
    [kinds[65], kinds[0xD800], kinds[PAD], kinds[BYTE_FIRST], kinds[0xF7FF], kinds[0xFFFF]],
    ["char", "multi", "special", "byte", "unused", "char"],
  );
  assert.equal(kinds.length, 65536);
  assert.ok(kinds.every((k, id) => (k === "unused") === (vs[id] === "")));
});

Deno.test("layout: every BMP code point outside the reserved ranges is its own id", () => {
  for (const tok of [small, large]) {
    const vs = vocabStrings(tok);
    assert.deepStrictEqual(vs.length, tok.vocabSize);
    for (let c = 0; c < 0x10000; c++) {
      if (!isSingleCharId(c)) continue;
      const ids = encode(tok, String.fromCharCode(c));
      if (ids.length !== 1 || ids[0] !== c || vs[c] !== String.fromCharCode(c)) {
        throw new Error(`code point ${c} is not its own id`);
      }
    }
  }
  assert.deepStrictEqual(small.vocabSize, 65536);
  assert.deepStrictEqual(large.vocabSize, 131072);
});

Deno.test("layout: multi-character tokens are longest first, in reserved slots, no spaces", () => {
  for (const tok of [small, large]) {
    assert.ok(tok.tokens.length > 100, "the sample corpus yields multi-character tokens");
    const vs = vocabStrings(tok);
    tok.tokens.forEach((t, k) => {
      const id = tok.ids[k];
      const inSlots = (id >= 0xD800 && id <= 0xDFFF) || (id >= 0xE100 && id <= 0xF7FF) ||
        (tok.variant === "max" && id >= 0x10000 && id < 0x20000);
      assert.ok(inSlots, `token ${t} has id ${id} outside the multi-character slots`);
      assert.ok(!/\s/u.test(t) && !/\p{N}/u.test(t), `token ${JSON.stringify(t)} has space/digit`);
      assert.ok(t.length >= 2 && (k === 0 || t.length <= tok.tokens[k - 1].length));
      assert.deepStrictEqual(vs[id], t);
    });
    assert.deepStrictEqual(tok.ids[0], 0xD800);
    assert.deepStrictEqual(tok.meta.unreachable, 0);
  }
  assert.ok(large.tokens.length > small.tokens.length);
  assert.ok(large.tokens.some((t) => t.length >= 4));
  assert.ok(small.tokens.every((t) => t.length <= 3));
});

Deno.test("layout: slots overflow past 0xF7FF into 0x10000.. only for max; 2-3 refuses", () => {
  const many: string[] = [];
  for (let a = 0x4E00; many.length < 8000; a++) many.push(String.fromCharCode(a, a + 1));
  const max = makeTokenizer("max", many);
  assert.deepStrictEqual(max.ids[2047], 0xDFFF);
  assert.deepStrictEqual(max.ids[2048], 0xE100);
  assert.deepStrictEqual(max.ids[7935], 0xF7FF);
  assert.deepStrictEqual(max.ids[7936], 0x10000);
  assert.throws(() => makeTokenizer("2-3", many), /exceed the 7936 slots/);
  assert.throws(() => makeTokenizer("2-3", ["a b"]), /invalid multi-character token/);
  assert.throws(() => makeTokenizer("2-3", ["ab", "abc"]), /longest first/);
  assert.throws(() => buildTokenizer(docs, { variant: "3-4" as never }), /unknown variant/);
});

Deno.test("layout: production vocabularies add whole words to max", () => {
  assert.ok(Number(large.meta.fromProduction) > 1000, "o200k/cl100k shared strings were added");
  const set = new Set(large.tokens);
  for (const w of ["people", "between", "through"]) assert.ok(set.has(w), `${w} missing`);
});
