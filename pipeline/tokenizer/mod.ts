// Public API of the Unicode-centric tokenizer (build, encode, decode, save/load, export).

export {
  BOS,
  BYTE_FIRST,
  EOS,
  isSingleCharId,
  PAD,
  SPECIAL_NAMES,
  UNK,
  type Variant,
  vocabSizeOf,
} from "./layout.ts";
export { type BuildOptions, buildTokenizer, makeTokenizer, type Tokenizer } from "./build.ts";
export { encode, encodeBytes, type EncodeOptions } from "./encode.ts";
export { decode, type DecodeOptions } from "./decode.ts";
export { type TokenKind, tokenKinds, vocabStrings } from "./vocab.ts";
export {
  exportHuggingFace,
  loadTokenizer,
  saveTokenizer,
  tokenizerFromJson,
  tokenizerHash,
  tokenizerToJson,
} from "./io.ts";
