// A stand-in 65,536-entry id -> string table shaped like the bvv241 "2-3" vocabulary, for
// tests and benchmarks until the tokenizer's vocabStrings lands: every BMP code point as its
// own string, special tokens at 0xE000.. drawn as their literal text, and 2-3 character
// strings (Latin, Cyrillic, Greek, CJK) at the surrogate ids 0xD800..0xDFFF.

const SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<|user|>", "<|assistant|>", "<|system|>"];
const ALPHABETS = [
  "abcdefghijklmnopqrstuvwxyz",
  "абвгдежзиклмнопрстуфхцчшщыэюя",
  "αβγδεζηθικλμνξοπρστυφχψω",
];

export function sampleVocab(): string[] {
  const tokens = Array.from({ length: 0x10000 }, (_, id) => String.fromCodePoint(id));
  for (let i = 0; i < 0x100; i++) tokens[0xe000 + i] = SPECIALS[i] ?? `<special_token_${i}>`;
  for (let i = 0; i < 0x800; i++) {
    const abc = ALPHABETS[i % ALPHABETS.length], n = 2 + (i % 2), j = Math.floor(i / 3);
    let s = "";
    for (let k = 0; k < n; k++) s += abc[(j * (k + 3) + k * 7) % abc.length];
    if (i % 17 === 0) s = String.fromCodePoint(0x4e00 + i, 0x4e00 + 2 * i);
    tokens[0xd800 + i] = s;
  }
  return tokens;
}
