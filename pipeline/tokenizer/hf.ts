// The Hugging Face tokenizer folder: tokenizer.json (io.ts exportHuggingFace),
// tokenizer_config.json and special_tokens_map.json, so that transformers' and transformers.js'
// AutoTokenizer load it. Decoding is exact (clean_up_tokenization_spaces: false); text that
// spells a special token stays text (the specials are not added tokens in tokenizer.json, and
// split_special_tokens: true tells transformers not to match the ones it registers itself).

import { join } from "node:path";
import { writeFileAtomic } from "../../core/safetensors.ts";
import type { Tokenizer } from "./build.ts";
import { exportHuggingFace } from "./io.ts";
import { BOS, EOS, PAD, SPECIAL_FIRST, SPECIAL_LAST, specialName, UNK } from "./layout.ts";

/** The special tokens a vocabulary holds (all 256, or a compact vocabulary's kept ones). */
function specials(vocabIds?: ArrayLike<number>): string[] {
  const ids = vocabIds
    ? Array.from(vocabIds).filter((id) => id >= SPECIAL_FIRST && id <= SPECIAL_LAST)
    : Array.from({ length: SPECIAL_LAST - SPECIAL_FIRST + 1 }, (_, k) => SPECIAL_FIRST + k);
  return ids.map(specialName);
}

/**
 * special_tokens_map.json. additional_special_tokens lists every special of the vocabulary, the
 * four named ones too: transformers.js skips only listed ones in decode(skip_special_tokens).
 */
export function hfSpecialTokensMap(vocabIds?: ArrayLike<number>): Record<string, unknown> {
  return {
    bos_token: specialName(BOS),
    eos_token: specialName(EOS),
    unk_token: specialName(UNK),
    pad_token: specialName(PAD),
    additional_special_tokens: specials(vocabIds),
  };
}

/** tokenizer_config.json; `context` becomes model_max_length. */
export function hfTokenizerConfig(
  vocabIds?: ArrayLike<number>,
  context?: number,
): Record<string, unknown> {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    ...hfSpecialTokensMap(vocabIds),
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    split_special_tokens: true,
    model_max_length: context ?? 1_000_000_000,
    padding_side: "right",
  };
}

/** The three files by name, as JSON text. */
export function hfTokenizerFiles(
  tok: Tokenizer,
  vocabIds?: ArrayLike<number>,
  context?: number,
): Record<string, string> {
  const json = (o: unknown) => JSON.stringify(o, null, 1) + "\n";
  return {
    "tokenizer.json": JSON.stringify(exportHuggingFace(tok, vocabIds)) + "\n",
    "tokenizer_config.json": json(hfTokenizerConfig(vocabIds, context)),
    "special_tokens_map.json": json(hfSpecialTokensMap(vocabIds)),
  };
}

/** Write the three files into an existing folder (each atomically). */
export async function writeHfTokenizer(
  dir: string,
  tok: Tokenizer,
  vocabIds?: ArrayLike<number>,
  context?: number,
): Promise<void> {
  for (const [name, text] of Object.entries(hfTokenizerFiles(tok, vocabIds, context))) {
    await writeFileAtomic(join(dir, name), text);
  }
}
