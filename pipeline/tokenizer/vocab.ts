// The string of every id, for the glyph renderer and for inspection: single characters as
// themselves, multi-character tokens as their text, special tokens as literal text ("<pad>"),
// byte tokens as "<0xNN>" (Hugging Face spelling), unused slots as "" (never produced) in
// layout "glyphgrad" and as the author's "<unused_N>" in "bvv241" (the author draws them too).

import type { Tokenizer } from "./build.ts";
import { byteName } from "./layout.ts";
import { compile, KIND_BYTE } from "./compile.ts";

/** id -> string to draw; length == vocabSize. */
export function vocabStrings(tok: Tokenizer): string[] {
  const { kind, unitStart, units, byteFirst } = compile(tok);
  const out = new Array<string>(tok.vocabSize);
  for (let id = 0; id < tok.vocabSize; id++) {
    if (kind[id] === KIND_BYTE) out[id] = byteName(id - byteFirst);
    else out[id] = String.fromCharCode(...units.subarray(unitStart[id], unitStart[id + 1]));
  }
  return out;
}

export type TokenKind = "char" | "multi" | "special" | "byte" | "unused";
const KIND_NAMES: TokenKind[] = ["char", "multi", "special", "byte", "unused"];

/** id -> what the id is (single character, multi-character token, special, byte, unused). */
export function tokenKinds(tok: Tokenizer): TokenKind[] {
  const { kind } = compile(tok);
  return Array.from(kind, (k) => KIND_NAMES[k]);
}
