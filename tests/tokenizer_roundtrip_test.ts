// Tokenizer losslessness: decode(encode(s)) === s for arbitrary strings over all of Unicode
// (fast-check), byte fallback for private-use and non-BMP characters, and clear errors (or
// documented U+FFFD replacement) for lone surrogates, invalid UTF-8 and foreign ids.

import assert from "node:assert/strict";
import fc from "fast-check";
import { BYTE_FIRST, decode, encode } from "../pipeline/tokenizer/mod.ts";
import { encodeBytes } from "../pipeline/tokenizer/encode.ts";
import { sampleText as sample, sampleTokenizers as toks } from "./tokenizer_sample.ts";

const pieces = [...new Set([...toks[1].tokens.slice(0, 3000), ...toks[0].tokens])];

Deno.test("roundtrip: U+FEFF is text, never stripped as a byte-order mark", () => {
  // found by the property below (seed -1019958221): TextDecoder drops a leading BOM by default
  for (const tok of toks) {
    for (const s of ["\uFEFF", "\uFEFFabc", "a\uFEFF", "\uFEFF\uE000\uFEFF", "\u{1F600}\uFEFF"]) {
      assert.deepStrictEqual(decode(tok, encode(tok, s)), s);
    }
  }
});

Deno.test("roundtrip: arbitrary full-Unicode strings", () => {
  for (const tok of toks) {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => {
        assert.deepStrictEqual(decode(tok, encode(tok, s)), s);
      }),
      { numRuns: 400 },
    );
  }
});

Deno.test("roundtrip: strings mixing vocabulary pieces with any characters", () => {
  const unit = fc.oneof(fc.constantFrom(...pieces), fc.string({ unit: "binary", maxLength: 3 }));
  for (const tok of toks) {
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 80 }), (parts) => {
        const s = parts.join("");
        const ids = encode(tok, s);
        assert.deepStrictEqual(decode(tok, ids), s);
        assert.ok(ids.every((id) => id >= 0 && id < tok.vocabSize && id !== 0xE003));
      }),
      { numRuns: 300 },
    );
  }
});

Deno.test("roundtrip: the whole sample corpus, fewer tokens than characters", () => {
  for (const tok of toks) {
    const ids = encode(tok, sample);
    assert.deepStrictEqual(decode(tok, ids), sample);
    assert.ok(ids.length < sample.length * 0.8, `${tok.variant}: ${ids.length} ids`);
  }
});

Deno.test("fallback: private-use and non-BMP characters become UTF-8 byte tokens", () => {
  const tok = toks[0];
  assert.deepStrictEqual([...encode(tok, "\uE000")], [0xEE, 0x80, 0x80].map((b) => BYTE_FIRST + b));
  assert.deepStrictEqual(
    [...encode(tok, "😀")],
    [0xF0, 0x9F, 0x98, 0x80].map((b) => BYTE_FIRST + b),
  );
  assert.deepStrictEqual(decode(tok, encode(tok, "a😀\uF8FFb")), "a😀\uF8FFb");
});

Deno.test("invalid: lone surrogates throw, or become U+FFFD on request", () => {
  const tok = toks[0];
  const lone = fc.integer({ min: 0xD800, max: 0xDFFF }).map((u) => String.fromCharCode(u));
  fc.assert(
    fc.property(fc.string({ maxLength: 5 }), lone, fc.string({ maxLength: 5 }), (a, u, b) => {
      const s = a + u + b;
      if (s.isWellFormed()) return; // the lone half paired up with a neighbour
      assert.throws(() => encode(tok, s), /lone surrogate/);
      assert.deepStrictEqual(decode(tok, encode(tok, s, { invalid: "replace" })), s.toWellFormed());
    }),
  );
});

Deno.test("invalid: bad byte-token sequences, foreign ids and invalid UTF-8 are errors", () => {
  const tok = toks[0];
  const badBytes = [BYTE_FIRST + 0xFF, 97];
  assert.throws(() => decode(tok, badBytes), /do not form valid UTF-8/);
  assert.deepStrictEqual(decode(tok, badBytes, { invalid: "replace" }), "\uFFFDa");
  assert.throws(() => decode(tok, [tok.vocabSize]), /not a token/);
  assert.throws(() => decode(tok, [-1]), /not a token/);
  assert.throws(() => decode(tok, [1.5]), /not a token/);
  assert.throws(() => decode(tok, [0xF7FF]), /not a token/); // an unused multi slot
  assert.deepStrictEqual(decode(tok, [0xE001, 104, 0xE002]), "<s>h</s>");
  assert.throws(() => encodeBytes(tok, new Uint8Array([0x61, 0xC3])), /not valid UTF-8/);
  assert.deepStrictEqual(decode(tok, encodeBytes(tok, new TextEncoder().encode("añ😀"))), "añ😀");
});
