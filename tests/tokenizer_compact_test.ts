// The compact tokenizer (pipeline/tokenizer/compact.ts): with the tokenize stage's merge
// closure it reproduces the training ids exactly; characters without a row become their byte
// tokens when all have rows, else one <unk>; text never becomes a special id. Also the
// too-many-tokens error of build.ts.

import { assert, assertArrayEquals, assertEquals, assertThrows } from "./assert.ts";
import { makeVocabMap, toModelIds } from "../pipeline/data/encode.ts";
import {
  compactDecode,
  compactEncode,
  compactTokenizer,
  mergeClosure,
} from "../pipeline/tokenizer/compact.ts";
import {
  buildTokenizer,
  BYTE_FIRST,
  encode,
  makeTokenizer,
  UNK,
} from "../pipeline/tokenizer/mod.ts";

const sample = await Deno.readTextFile("fixtures/tokenizer/sample.txt");
const tok = buildTokenizer([sample], { variant: "2-3", perScript: 40 });

Deno.test("compact: with the merge closure, training text encodes to the training ids", () => {
  let missing = 0; // what the closure adds: without it some merges pass through absent tokens
  for (const cut of [2000, 9000, 40000]) {
    const train = sample.slice(0, cut);
    const ids = encode(tok, train);
    const map = makeVocabMap(tok.vocabSize, [ids], "compact", tok);
    const ct = compactTokenizer(tok, map.toTokenizer);
    assertArrayEquals(compactEncode(ct, train), toModelIds(ids, map), `first ${cut} chars`);
    assertEquals(compactDecode(ct, compactEncode(ct, train)), train);
    // the closure holds: every merge into a kept token has kept halves
    assertEquals(mergeClosure(tok, map.toTokenizer).length, 0);
    const bare = makeVocabMap(tok.vocabSize, [ids], "compact");
    missing += mergeClosure(tok, bare.toTokenizer).length;
  }
  assert(missing > 0, "the fixture should need the closure somewhere");
});

Deno.test("compact: a character without a row is its byte tokens if all have rows, else <unk>", () => {
  const bytesOf = (s: string) => Array.from(new TextEncoder().encode(s), (b) => BYTE_FIRST + b);
  // rows: a, b, <unk>, the bytes of é (C3 A9) and of 😀 except its third byte
  const emoji = bytesOf("😀");
  const rows = [97, 98, UNK, ...bytesOf("é"), emoji[0], emoji[1], emoji[3]];
  const ct = compactTokenizer(tok, rows);
  const m = (t: number) => rows.indexOf(t);
  assertArrayEquals(compactEncode(ct, "aé"), [m(97), ...bytesOf("é").map(m)]);
  assertArrayEquals(compactEncode(ct, "b😀c"), [m(98), m(UNK), m(UNK)]);
  assertArrayEquals(compactEncode(ct, "<s>"), [m(UNK), m(UNK), m(UNK)]);
  assertEquals(compactDecode(ct, compactEncode(ct, "aéb")), "aéb");
  assertThrows(() => compactTokenizer(tok, [97, 98]), "<unk>");
  assertThrows(() => compactTokenizer(tok, [97, 97, UNK]), "repeated");
  assertThrows(() => compactDecode(ct, [rows.length]), "outside");
});

Deno.test("build: too many tokens suggests variant max only when the variant is not max", () => {
  const pairs = (n: number) =>
    Array.from({ length: n }, (_, i) => String.fromCharCode(0x4E00 + (i >> 8), 0x4E00 + (i & 255)));
  const small = assertThrows(() => makeTokenizer("2-3", pairs(7937)), "exceed the 7936 slots");
  assert(small.message.includes('use variant "max"'), small.message);
  const big = assertThrows(() => makeTokenizer("max", pairs(73473)), "exceed the 73472 slots");
  assert(!big.message.includes("use variant"), big.message);
});
