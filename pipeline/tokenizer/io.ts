// Saving, loading and exporting tokenizers. Our JSON holds the variant, the multi-character
// tokens with their ids, the merges and a SHA-256 content hash (of variant, tokens and merges;
// build facts in "meta" are not hashed); load re-synthesises the merges and checks the hash.
// exportHuggingFace gives the tokenizer.json layout of the `tokenizers` library: a BPE model
// (vocab, merges "left right", byte_fallback, <unk>) with no normaliser and no pre-tokeniser,
// in tokenizer ids or, for a compact vocabulary, model ids (hf.ts writes the whole folder).

import { createHash } from "node:crypto";
import { writeFileAtomic } from "../../core/safetensors.ts";
import { layoutOfTokenizer, makeTokenizer, type Tokenizer } from "./build.ts";
import { compactTokenizer } from "./compact.ts";
import {
  LAYOUT_NAMES,
  type LayoutName,
  SPECIAL_FIRST,
  SPECIAL_LAST,
  type Variant,
  vocabSizeOf,
} from "./layout.ts";
import { vocabStrings } from "./vocab.ts";

const FORMAT = "glyphgrad-unicode-tokenizer";
const VERSION = 1;

/** SHA-256 (hex) of the tokenizer's content: layout, variant, tokens with ids, merges. */
export function tokenizerHash(tok: Tokenizer): string {
  const h = createHash("sha256");
  h.update(`${FORMAT}/${VERSION}\n${tok.variant}\n${tok.vocabSize}\n`);
  // the default layout adds nothing, so hashes of glyphgrad tokenizers saved before stay valid
  if ((tok.layout ?? "glyphgrad") !== "glyphgrad") h.update(`layout ${tok.layout}\n`);
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
    `"layout": ${JSON.stringify(tok.layout ?? "glyphgrad")}`,
    `"vocabSize": ${tok.vocabSize}`,
    `"hash": ${JSON.stringify(tokenizerHash(tok))}`,
    `"meta": ${JSON.stringify(tok.meta)}`,
    `"tokens": [\n${tokens.map((t) => "  " + JSON.stringify(t)).join(",\n")}\n]`,
    `"merges": [\n${merges.map((m) => "  " + JSON.stringify(m)).join(",\n")}\n]`,
  ];
  return `{\n${lines.join(",\n")}\n}\n`;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Parse tokenizer JSON text, checking it all: the fields' types, vocabSize against the variant,
 * "meta" as a map of strings / finite numbers / booleans, the content hash over the stored
 * tokens, ids and merges (before any merge is synthesised: a damaged file costs no more than its
 * size), then the tokens' rules and merges re-synthesised from them. `where` names the source.
 */
export function tokenizerFromJson(text: string, where = "tokenizer JSON"): Tokenizer {
  const bad = (why: string) => new Error(`loadTokenizer: ${where} ${why}; rebuild or re-save it`);
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw bad("is not valid JSON");
  }
  if (!isObject(j)) throw bad("is not a JSON object");
  if (j.format !== FORMAT || j.version !== VERSION) {
    throw bad(`is not a ${FORMAT} v${VERSION} file`);
  }
  if (j.variant !== "2-3" && j.variant !== "max") throw bad(`has unknown variant ${j.variant}`);
  const variant = j.variant as Variant;
  const layout = (j.layout ?? "glyphgrad") as LayoutName;
  if (!LAYOUT_NAMES.includes(layout)) throw bad(`has unknown layout ${j.layout}`);
  if (j.vocabSize !== vocabSizeOf(variant)) {
    throw bad(`has vocabSize ${j.vocabSize}; variant "${variant}" has ${vocabSizeOf(variant)}`);
  }
  const meta = j.meta ?? {};
  const scalar = (v: unknown) =>
    typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && isFinite(v));
  if (!isObject(meta) || !Object.values(meta).every(scalar)) {
    throw bad('has a "meta" that is not a map of strings, finite numbers and booleans');
  }
  if (!Array.isArray(j.tokens) || !Array.isArray(j.merges)) throw bad("lacks tokens or merges");
  const tokens = (j.tokens as unknown[]).map((t) => {
    if (
      !Array.isArray(t) || t.length !== 2 || !Number.isSafeInteger(t[0]) || typeof t[1] !== "string"
    ) throw bad("has a malformed token entry (not [id, string])");
    return t as [number, string];
  });
  const stored = (j.merges as unknown[]).map((m) => {
    if (!Array.isArray(m) || m.length !== 3 || !m.every((v) => Number.isSafeInteger(v))) {
      throw bad("has a malformed merge (not [left, right, result] ids)");
    }
    return m as number[];
  }).flat();
  const asStored: Tokenizer = {
    variant,
    layout,
    vocabSize: j.vocabSize as number,
    tokens: tokens.map((t) => t[1]),
    ids: Int32Array.from(tokens, (t) => t[0]),
    merges: Int32Array.from(stored),
    meta: {},
  };
  if (j.hash !== tokenizerHash(asStored)) {
    throw bad("fails its content hash check (corrupt or edited)");
  }
  let tok: Tokenizer;
  try {
    tok = makeTokenizer(variant, asStored.tokens, meta as Tokenizer["meta"], layout);
  } catch (e) {
    throw bad(`holds invalid tokens (${(e as Error).message})`);
  }
  tokens.forEach((t, k) => {
    if (t[0] !== tok.ids[k]) throw bad(`gives token ${JSON.stringify(t[1])} the wrong id ${t[0]}`);
  });
  if (stored.length !== tok.merges.length || stored.some((v, i) => v !== tok.merges[i])) {
    throw bad("has merges that do not match its tokens");
  }
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
 * Hugging Face tokenizer.json object (serialise with JSON.stringify).
 * Layout "glyphgrad": byte fallback (ByteFallback+Fuse decoder); every special is in the vocabulary
 * but none is an added token, so clients never turn text such as "<pad>" into a special id, as
 * glyphgrad's encode. With `vocabIds` (a compact vocabulary: model id i = tokenizer id vocabIds[i])
 * the ids are model ids and only merges among kept tokens remain (the rule of compact.ts).
 * Layout "bvv241": as the author's notebook saves it: every id in the vocab (<unused_N> included),
 * no byte fallback, the 23 named specials as added tokens (matched in text, as his tokenizer does),
 * an empty decoder sequence; compact vocabularies are refused (his ids are the point of the layout).
 */
export function exportHuggingFace(
  tok: Tokenizer,
  vocabIds?: ArrayLike<number>,
): Record<string, unknown> {
  const layout = layoutOfTokenizer(tok);
  const bvv = layout.name === "bvv241";
  if (bvv && vocabIds) {
    throw new Error(
      "exportHuggingFace: a compact vocabulary cannot keep the bvv241 layout's ids; " +
        'train with model.vocab="full" to export a bvv241 model',
    );
  }
  const ct = vocabIds ? compactTokenizer(tok, vocabIds) : undefined;
  const strings = vocabStrings(tok);
  const vocab: Record<string, number> = {};
  if (ct) {
    ct.vocabIds.forEach((id, m) => (vocab[strings[id]] = m));
  } else if (bvv) {
    strings.forEach((s, id) => (vocab[s] = id));
  } else {
    for (let id = 0; id < 0x10000; id++) if (layout.singleChar(id)) vocab[strings[id]] = id;
    tok.ids.forEach((id) => (vocab[strings[id]] = id));
    for (let b = 0; b < 256; b++) vocab[strings[layout.byteFirst + b]] = layout.byteFirst + b;
    for (let id = SPECIAL_FIRST; id <= SPECIAL_LAST; id++) vocab[strings[id]] = id;
  }
  const added = [];
  for (let id = SPECIAL_FIRST; bvv && id < SPECIAL_FIRST + layout.addedSpecials; id++) {
    added.push({
      id,
      content: strings[id],
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
  }
  const m = (ct?.tok ?? tok).merges;
  const merges: string[] = [];
  for (let i = 0; i < m.length; i += 3) merges.push(`${strings[m[i]]} ${strings[m[i + 1]]}`);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: "Sequence",
      decoders: bvv ? [] : [{ type: "ByteFallback" }, { type: "Fuse" }],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: !bvv,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
