// Id layout of the Unicode-centric tokenizer (paper-notes "Unicode-centric tokenizer"):
// a single BMP character's id is its code point; the reserved BMP ranges hold special tokens,
// multi-character tokens and the byte-fallback tokens that make the tokenizer lossless.
//
//   0x0000..0xD7FF, 0xF900..0xFFFF  single characters, id == code point
//   0xD800..0xDFFF                  multi-character tokens (first 2,048 slots)
//   0xE000..0xE0FF                  special tokens (<pad>, <s>, </s>, <unk>, chat/FIM, ...)
//   0xE100..0xF7FF                  multi-character tokens (next 5,888 slots)
//   0xF800..0xF8FF                  byte fallback tokens <0x00>..<0xFF> (UTF-8 bytes of
//                                   private-use and non-BMP characters; our addition)
//   0x10000..0x1FFFF                multi-character tokens, variant "max" only (65,536 slots)

export type Variant = "2-3" | "max";

export const PAD = 0xE000; // 57344
export const BOS = 0xE001; // 57345
export const EOS = 0xE002; // 57346
export const UNK = 0xE003; // 57347 (never produced by encode: the tokenizer is lossless)

/** Named special tokens from 0xE000 on; the rest of 0xE000..0xE0FF is <special_token_N>. */
export const SPECIAL_NAMES: readonly string[] = [
  "<pad>",
  "<s>",
  "</s>",
  "<unk>",
  "<|im_start|>",
  "<|im_end|>",
  "<|system|>",
  "<|user|>",
  "<|assistant|>",
  "<|fim_prefix|>",
  "<|fim_middle|>",
  "<|fim_suffix|>",
  "<|fim_pad|>",
  "<|endoftext|>",
];
export const SPECIAL_FIRST = 0xE000;
export const SPECIAL_LAST = 0xE0FF;
export const BYTE_FIRST = 0xF800; // id of byte token <0x00>; <0xNN> is BYTE_FIRST + NN
export const MULTI_RANGES_BMP: ReadonlyArray<readonly [number, number]> = [
  [0xD800, 0xDFFF],
  [0xE100, 0xF7FF],
];
export const MULTI_RANGE_MAX: readonly [number, number] = [0x10000, 0x1FFFF];

/** Vocabulary size of a variant: 65,536 ("2-3") or 131,072 ("max"). */
export function vocabSizeOf(variant: Variant): number {
  if (variant === "2-3") return 0x10000;
  if (variant === "max") return 0x20000;
  throw new Error(`tokenizer: unknown variant "${variant}"; use "2-3" or "max"`);
}

/** True when code point / id `c` is a single BMP character whose id is its code point. */
export function isSingleCharId(c: number): boolean {
  return (c >= 0 && c < 0xD800) || (c > 0xF8FF && c <= 0xFFFF);
}

/** Ids available to multi-character tokens, in assignment order (longest tokens first). */
export function multiSlots(variant: Variant): Int32Array {
  const ranges = [...MULTI_RANGES_BMP];
  if (variant === "max") ranges.push(MULTI_RANGE_MAX);
  else vocabSizeOf(variant);
  const n = ranges.reduce((a, [lo, hi]) => a + hi - lo + 1, 0);
  const out = new Int32Array(n);
  let k = 0;
  for (const [lo, hi] of ranges) for (let id = lo; id <= hi; id++) out[k++] = id;
  return out;
}

/** The literal text of special id `id` (0xE000..0xE0FF). */
export function specialName(id: number): string {
  const k = id - SPECIAL_FIRST;
  return k < SPECIAL_NAMES.length ? SPECIAL_NAMES[k] : `<special_token_${k}>`;
}

/** Byte token text in the Hugging Face byte_fallback spelling, e.g. <0x0A>. */
export function byteName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
}
