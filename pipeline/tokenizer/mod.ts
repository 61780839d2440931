// Public API of the Unicode-centric tokenizer (build, encode, decode, save/load, export).

export {
  BOS,
  BVV241_SPECIALS,
  BYTE_FIRST,
  EOS,
  isSingleCharId,
  type Layout,
  LAYOUT_NAMES,
  type LayoutName,
  layoutOf,
  PAD,
  SPECIAL_NAMES,
  UNK,
  type Variant,
  vocabSizeOf,
} from "./layout.ts";
export {
  type BuildOptions,
  buildTokenizer,
  layoutOfTokenizer,
  makeTokenizer,
  type Tokenizer,
} from "./build.ts";
export {
  AUTHOR_LANGUAGES,
  AUTHOR_TOP,
  type AuthorVocabOptions,
  buildAuthorTokenizer,
  loadAuthorTokenizer,
} from "./author_ngrams.ts";
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
