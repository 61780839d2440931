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
//
// Layout "bvv241" is the author's own (AVBochkov/PGT, _tokenizer-builder-bvv241-*.ipynb), kept
// id for id so that tables and models made with the author's tokenizer line up row for row:
//
//   0x0000..0xD7FF, 0xF900..0xFFFE  single characters, id == code point (U+FFFF has no id)
//   0xD800..0xDFFF                  multi-character tokens (first 2,048 slots)
//   0xE000..0xE016                  the author's 23 named specials (<pad> .. [FILE_SEP])
//   0xE017..0xE0FF                  <special_token_N>, N = the id (e.g. <special_token_57367>)
//   0xE100..0xF8FF                  multi-character tokens (next 6,144 slots)
//   0x10000..0x1FFFE                multi-character tokens, variant "max" only (65,535 slots)
//   every other id                  <unused_N>, N = the id (unfilled slots, 0xFFFF, 0x1FFFF)
//
// It has no byte tokens (no free ids for 256 of them), so characters without an id encode as
// <unk>, as the author's tokenizer does: bvv241 is not lossless.

export type Variant = "2-3" | "max";
export type LayoutName = "glyphgrad" | "bvv241";
export const LAYOUT_NAMES: readonly LayoutName[] = ["glyphgrad", "bvv241"];

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
  return rangeIds(ranges);
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

/** The author's special tokens (bvv241), ids 0xE000.. in this order. */
export const BVV241_SPECIALS: readonly string[] = [
  "<pad>",
  "<s>",
  "</s>",
  "<unk>",
  "<think>",
  "</think>",
  "<emotions>",
  "</emotions>",
  "<tool_call>",
  "</tool_call>",
  "<tool_response>",
  "</tool_response>",
  "[INST]",
  "[/INST]",
  "[EOT]",
  "[USER]",
  "[ASSISTANT]",
  "[FIM_PREFIX]",
  "[FIM_MIDDLE]",
  "[FIM_SUFFIX]",
  "[FIM_PAD]",
  "[REPO_NAME]",
  "[FILE_SEP]",
];

/** Everything that differs between the two id layouts, as data and small functions. */
export interface Layout {
  readonly name: LayoutName;
  readonly variant: Variant;
  readonly vocabSize: number;
  /** Ids available to multi-character tokens, in assignment order. */
  readonly slots: Int32Array;
  /** Id of byte token <0x00>, or -1 when the layout has no byte fallback (bvv241). */
  readonly byteFirst: number;
  /** True when BMP code point `c` is a single character whose id is `c`. */
  singleChar(c: number): boolean;
  /** Literal text of special id 0xE000..0xE0FF. */
  specialName(id: number): string;
  /** Specials registered as added tokens in tokenizer.json (ids 0xE000..0xE000+n-1). */
  readonly addedSpecials: number;
  /** Text of an id that holds no token: "" (glyphgrad: never produced) or <unused_N>. */
  unusedName(id: number): string;
}

const isBvvSingle = (c: number) => (c >= 0 && c < 0xD800) || (c > 0xF8FF && c < 0xFFFF);

function rangeIds(ranges: ReadonlyArray<readonly [number, number]>): Int32Array {
  const n = ranges.reduce((a, [lo, hi]) => a + hi - lo + 1, 0);
  const out = new Int32Array(n);
  let k = 0;
  for (const [lo, hi] of ranges) for (let id = lo; id <= hi; id++) out[k++] = id;
  return out;
}

const layouts = new Map<string, Layout>();

/** The layout `name` for `variant` (cached; unknown names are a one-line error). */
export function layoutOf(name: LayoutName, variant: Variant): Layout {
  const key = `${name}/${variant}`;
  const hit = layouts.get(key);
  if (hit) return hit;
  const vocabSize = vocabSizeOf(variant);
  let l: Layout;
  if (name === "glyphgrad") {
    l = {
      name,
      variant,
      vocabSize,
      slots: multiSlots(variant),
      byteFirst: BYTE_FIRST,
      singleChar: isSingleCharId,
      specialName,
      addedSpecials: SPECIAL_LAST - SPECIAL_FIRST + 1,
      unusedName: () => "",
    };
  } else if (name === "bvv241") {
    const ranges: [number, number][] = [[0xD800, 0xDFFF], [0xE100, 0xF8FF]];
    if (variant === "max") ranges.push([0x10000, 0x1FFFE]);
    l = {
      name,
      variant,
      vocabSize,
      slots: rangeIds(ranges),
      byteFirst: -1,
      singleChar: isBvvSingle,
      specialName: (id) => {
        const k = id - SPECIAL_FIRST;
        return k < BVV241_SPECIALS.length ? BVV241_SPECIALS[k] : `<special_token_${id}>`;
      },
      addedSpecials: BVV241_SPECIALS.length,
      unusedName: (id) => `<unused_${id}>`,
    };
  } else {
    throw new Error(`tokenizer: unknown layout "${name}"; use "glyphgrad" or "bvv241"`);
  }
  layouts.set(key, l);
  return l;
}
