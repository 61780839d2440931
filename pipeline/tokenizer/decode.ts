// Decoding: ids -> text. Each id's UTF-16 text is copied from a flat table into one buffer;
// runs of byte tokens are UTF-8 decoded (invalid bytes: error, or U+FFFD on request). Special
// tokens decode to their literal text ("<s>"); unused and out-of-range ids are errors.

import type { Tokenizer } from "./build.ts";
import { compile, KIND_BYTE, KIND_CHAR, KIND_MULTI, KIND_SPECIAL, KIND_UNUSED } from "./compile.ts";
import { bytesToText, type InvalidPolicy } from "./fallback.ts";

export interface DecodeOptions {
  /** Byte tokens that are not valid UTF-8: "error" (default) throws, "replace" gives U+FFFD. */
  invalid?: InvalidPolicy;
}

// ignoreBOM: a U+FEFF the text holds is content, not a byte-order mark to strip
const utf16 = new TextDecoder("utf-16le", { ignoreBOM: true });
const CHUNK = 1 << 16;

/** Decode token ids back to text. */
export function decode(tok: Tokenizer, ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
  const { kind, unitStart, units, byteFirst } = compile(tok);
  const parts: string[] = [];
  const buf = new Uint16Array(CHUNK);
  const room = CHUNK - 64; // longest token text is far below 64 UTF-16 units
  let pos = 0;
  const n = ids.length;
  if (!(ids instanceof Int32Array || ids instanceof Uint16Array || ids instanceof Uint32Array)) {
    for (let i = 0; i < n; i++) if (!Number.isInteger(ids[i])) throw notAToken(tok, ids[i], i);
  }
  for (let i = 0; i < n; i++) {
    if (pos > room) parts.push(utf16.decode(buf.subarray(0, pos))), pos = 0;
    const id = ids[i];
    if (id < 0xD800 && id >= 0) {
      buf[pos++] = id; // fast path: most ids are BMP characters below the reserved ranges
      continue;
    }
    const k = kind[id]; // undefined for a negative, fractional or too large id
    if (k === KIND_CHAR) {
      buf[pos++] = id;
    } else if (
      k === KIND_MULTI || k === KIND_SPECIAL ||
      (k === KIND_UNUSED && unitStart[id + 1] > unitStart[id])
    ) { // an unused id with a name (bvv241 <unused_N>) decodes to it, as the author's does
      for (let a = unitStart[id], b = unitStart[id + 1]; a < b; a++) buf[pos++] = units[a];
    } else if (k === KIND_BYTE) {
      let j = i;
      while (j < n && kind[ids[j]] === KIND_BYTE) j++;
      const bytes = new Uint8Array(j - i);
      for (let q = i; q < j; q++) bytes[q - i] = ids[q] - byteFirst;
      const s = bytesToText(bytes, i, opts.invalid ?? "error");
      if (pos > 0) parts.push(utf16.decode(buf.subarray(0, pos))), pos = 0;
      parts.push(s);
      i = j - 1;
    } else {
      throw notAToken(tok, id, i);
    }
  }
  if (pos > 0) parts.push(utf16.decode(buf.subarray(0, pos)));
  return parts.length === 1 ? parts[0] : parts.join("");
}

function notAToken(tok: Tokenizer, id: number, i: number): Error {
  return new Error(
    `decode: id ${id} at position ${i} is not a token of this ${tok.vocabSize}-id tokenizer; ` +
      "pass ids produced by encode() with the same tokenizer",
  );
}
