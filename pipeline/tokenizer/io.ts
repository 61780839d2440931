// Saving, loading and exporting tokenizers. Our JSON holds the variant, the multi-character
// tokens with their ids, the merges and a SHA-256 content hash (of variant, tokens and merges;
// build facts in "meta" are not hashed); load re-synthesises the merges and checks the hash.
// exportHuggingFace gives the tokenizer.json layout of the `tokenizers` library: a BPE model
// (vocab, merges "left right", byte_fallback, <unk>) with no normaliser and no pre-tokeniser,
// in tokenizer ids or, for a compact vocabulary, model ids (hf.ts writes the whole folder).

import { createHash } from "node:crypto";
import { writeFileAtomic } from "../../core/safetensors.ts";
import { makeTokenizer, type Tokenizer } from "./build.ts";
import { compactTokenizer } from "./compact.ts";
import {
  BYTE_FIRST,
  byteName,
  isSingleCharId,
  SPECIAL_FIRST,
  SPECIAL_LAST,
  specialName,
  UNK,
  type Variant,
} from "./layout.ts";

const FORMAT = "glyphgrad-unicode-tokenizer";
const VERSION = 1;

/** SHA-256 (hex) of the tokenizer's content: variant, tokens with ids, merges. */
export function tokenizerHash(tok: Tokenizer): string {
  const h = createHash("sha256");
  h.update(`${FORMAT}/${VERSION}\n${tok.variant}\n${tok.vocabSize}\n`);
  tok.tokens.forEach((t, k) => h.update(`${tok.ids[k]}\t${t}\n`));
  h.update(new Uint8Array(tok.merges.buffer, tok.merges.byteOffset, tok.merges.byteLength));
  return h.digest("hex");
}

/** The JSON text of a tokenizer. */
export function tokenizerToJson(tok: Tokenizer): string {
  const tokens = tok.tokens.map((t, k) => [tok.ids[k], t]);
  const merges: number[][] = [];
  for (let i = 0; i < tok.merges.length; i += 3) {
    merges.push([tok.merges[i], tok.merges[i + 1], tok.merges[i + 2]]);
  }
  const lines = [
    `"format": ${JSON.stringify(FORMAT)}`,
    `"version": ${VERSION}`,
    `"variant": ${JSON.stringify(tok.variant)}`,
    `"vocabSize": ${tok.vocabSize}`,
    `"hash": ${JSON.stringify(tokenizerHash(tok))}`,
    `"meta": ${JSON.stringify(tok.meta)}`,
    `"tokens": [\n${tokens.map((t) => "  " + JSON.stringify(t)).join(",\n")}\n]`,
    `"merges": [\n${merges.map((m) => "  " + JSON.stringify(m)).join(",\n")}\n]`,
  ];
  return `{\n${lines.join(",\n")}\n}\n`;
}

/** Parse tokenizer JSON text, checking merges and hash; `where` names the source in errors. */
export function tokenizerFromJson(text: string, where = "tokenizer JSON"): Tokenizer {
  const bad = (why: string) => new Error(`loadTokenizer: ${where} ${why}; rebuild or re-save it`);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch {
    throw bad("is not valid JSON");
  }
  if (j.format !== FORMAT || j.version !== VERSION) {
    throw bad(`is not a ${FORMAT} v${VERSION} file`);
  }
  if (j.variant !== "2-3" && j.variant !== "max") throw bad(`has unknown variant ${j.variant}`);
  if (!Array.isArray(j.tokens) || !Array.isArray(j.merges)) throw bad("lacks tokens or merges");
  const tokens = (j.tokens as unknown[]).map((t) => {
    if (!Array.isArray(t) || typeof t[1] !== "string") throw bad("has a malformed token entry");
    return t as [number, string];
  });
  let tok: Tokenizer;
  try {
    tok = makeTokenizer(j.variant as Variant, tokens.map((t) => t[1]), j.meta as never ?? {});
  } catch (e) {
    throw bad(`holds invalid tokens (${(e as Error).message})`);
  }
  tokens.forEach((t, k) => {
    if (t[0] !== tok.ids[k]) throw bad(`gives token ${JSON.stringify(t[1])} the wrong id ${t[0]}`);
  });
  const stored = (j.merges as unknown[]).flat();
  if (stored.length !== tok.merges.length || stored.some((v, i) => v !== tok.merges[i])) {
    throw bad("has merges that do not match its tokens");
  }
  if (j.hash !== tokenizerHash(tok)) throw bad("fails its content hash check (corrupt or edited)");
  return tok;
}

/** Save a tokenizer as JSON (atomic write). */
export async function saveTokenizer(path: string, tok: Tokenizer): Promise<void> {
  await writeFileAtomic(path, tokenizerToJson(tok));
}

/** Load a tokenizer saved by saveTokenizer. */
export async function loadTokenizer(path: string): Promise<Tokenizer> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new Error(`loadTokenizer: cannot read ${path}; check the path or build one first`);
  }
  return tokenizerFromJson(text, path);
}

/**
 * Hugging Face tokenizer.json object (serialise with JSON.stringify). With `vocabIds` (a compact
 * vocabulary: model id i = tokenizer id vocabIds[i]) the ids are model ids and only merges among
 * kept tokens remain (the rule of compact.ts). Special tokens live in the vocabulary only, not in
 * "added_tokens": clients then never turn text such as "<pad>" into a special id, as glyphgrad.
 */
export function exportHuggingFace(
  tok: Tokenizer,
  vocabIds?: ArrayLike<number>,
): Record<string, unknown> {
  const ct = vocabIds ? compactTokenizer(tok, vocabIds) : undefined;
  const multi = new Map<number, string>();
  tok.ids.forEach((id, k) => multi.set(id, tok.tokens[k]));
  const text = (id: number) =>
    isSingleCharId(id)
      ? String.fromCharCode(id)
      : id >= SPECIAL_FIRST && id <= SPECIAL_LAST
      ? specialName(id)
      : id >= BYTE_FIRST && id < BYTE_FIRST + 256
      ? byteName(id - BYTE_FIRST)
      : multi.get(id)!;
  const vocab: Record<string, number> = {};
  if (ct) {
    ct.vocabIds.forEach((id, m) => (vocab[text(id)] = m));
  } else {
    for (let id = 0; id < 0x10000; id++) if (isSingleCharId(id)) vocab[text(id)] = id;
    tok.ids.forEach((id) => (vocab[text(id)] = id));
    for (let id = BYTE_FIRST; id < BYTE_FIRST + 256; id++) vocab[text(id)] = id;
    for (let id = SPECIAL_FIRST; id <= SPECIAL_LAST; id++) vocab[text(id)] = id;
  }
  const m = (ct ?? { tok }).tok.merges;
  const merges: string[] = [];
  for (let i = 0; i < m.length; i += 3) merges.push(`${text(m[i])} ${text(m[i + 1])}`);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: "Sequence", decoders: [{ type: "ByteFallback" }, { type: "Fuse" }] },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: specialName(UNK),
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
