// Lossless fallback for characters that have no id of their own (our addition to the paper's
// tokenizer, which maps them to <unk>): a private-use character (U+E000..U+F8FF, whose code
// points are taken by special and multi-character tokens) or any character beyond the BMP is
// encoded as the byte tokens of its UTF-8 bytes, <0xNN> = id 0xF800 + NN, exactly like the
// Hugging Face BPE "byte_fallback" option. Invalid input is never dropped silently: a lone
// surrogate is an error, or U+FFFD when the caller asks for { invalid: "replace" }.

import { BYTE_FIRST } from "./layout.ts";

export type InvalidPolicy = "error" | "replace";

/** Write the byte-token ids of code point `cp` (>= 0x80) into out at pos; returns new pos. */
export function writeFallback(cp: number, out: Int32Array, pos: number): number {
  if (cp < 0x800) {
    out[pos++] = BYTE_FIRST + (0xC0 | (cp >> 6));
  } else if (cp < 0x10000) {
    out[pos++] = BYTE_FIRST + (0xE0 | (cp >> 12));
    out[pos++] = BYTE_FIRST + (0x80 | ((cp >> 6) & 63));
  } else {
    out[pos++] = BYTE_FIRST + (0xF0 | (cp >> 18));
    out[pos++] = BYTE_FIRST + (0x80 | ((cp >> 12) & 63));
    out[pos++] = BYTE_FIRST + (0x80 | ((cp >> 6) & 63));
  }
  out[pos++] = BYTE_FIRST + (0x80 | (cp & 63));
  return pos;
}

/** One-line error for a lone surrogate at UTF-16 index i. */
export function loneSurrogateError(unit: number, i: number): Error {
  const hex = unit.toString(16).toUpperCase();
  return new Error(
    `encode: lone surrogate U+${hex} at UTF-16 index ${i} is not valid Unicode; fix the ` +
      `text or pass { invalid: "replace" } to encode it as U+FFFD`,
  );
}

/** Text of a run of UTF-8 bytes from byte tokens; invalid bytes throw or become U+FFFD. */
export function bytesToText(bytes: Uint8Array, at: number, invalid: InvalidPolicy): string {
  try {
    return new TextDecoder("utf-8", { fatal: invalid === "error", ignoreBOM: true }).decode(bytes);
  } catch {
    throw new Error(
      `decode: byte tokens from position ${at} do not form valid UTF-8; pass ` +
        `{ invalid: "replace" } to decode them as U+FFFD`,
    );
  }
}

/** Decode UTF-8 bytes (e.g. a file) to text; invalid UTF-8 is a one-line error. */
export function utf8ToText(bytes: Uint8Array, what = "input"): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new Error(`tokenizer: ${what} is not valid UTF-8; re-encode it as UTF-8 first`);
  }
}
