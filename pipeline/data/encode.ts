// The tokenize stage's work: build the Unicode-centric tokenizer on the training split, encode
// both splits, and map tokenizer ids to model ids. "full" keeps the tokenizer's id space (the
// paper's 65,536 rows); "compact" keeps only the ids that occur in the corpus plus the special
// tokens and every token a kept token's merges pass through (so the compact tokenizer of
// pipeline/tokenizer/compact.ts, and an exported tokenizer.json, reproduce these ids exactly),
// so a small CPU model does not pay for 60,000 rows it never sees. Writes
// tokenize/{tokenizer.json, ids.safetensors, vocab.json}.

import { join } from "node:path";
import { saveSafetensors, writeFileAtomic } from "../../core/safetensors.ts";
import {
  BOS,
  buildTokenizer,
  BYTE_FIRST,
  encode,
  EOS,
  type LayoutName,
  loadAuthorTokenizer,
  PAD,
  saveTokenizer,
  type Tokenizer,
  UNK,
  vocabStrings,
} from "../tokenizer/mod.ts";
import { mergeClosure } from "../tokenizer/compact.ts";
import { DOC_SEPARATOR } from "./build.ts";

export interface TokenizeParams {
  variant: "2-3" | "max";
  perScript: number;
  vocab: "full" | "compact";
  /** "glyphgrad" (default: built from the corpus) or "bvv241" (from the author's lists). */
  layout?: LayoutName;
  /** bvv241: the author's n-gram list and (max) shared-token list. */
  ngrams?: string;
  sharedTokens?: string;
}

/** Model id -> tokenizer id, and tokenizer id -> model id (unknown ids go to <unk>). */
export interface VocabMap {
  toTokenizer: Int32Array;
  fromTokenizer: Int32Array;
}

/** Identity map (full vocabulary) or the sorted used ids, specials and merge closure (compact). */
export function makeVocabMap(
  vocabSize: number,
  used: Int32Array[],
  mode: "full" | "compact",
  tok?: Tokenizer,
): VocabMap {
  if (mode === "full") {
    const id = Int32Array.from({ length: vocabSize }, (_, i) => i);
    return { toTokenizer: id, fromTokenizer: id.slice() };
  }
  const seen = new Uint8Array(vocabSize);
  for (const s of [PAD, BOS, EOS, UNK]) seen[s] = 1;
  for (const ids of used) for (const i of ids) seen[i] = 1;
  if (tok) { for (const i of mergeClosure(tok, seen.keys().filter((i) => seen[i]))) seen[i] = 1; }
  const toTokenizer: number[] = [];
  seen.forEach((s, i) => s && toTokenizer.push(i));
  const fromTokenizer = new Int32Array(vocabSize);
  const unk = toTokenizer.indexOf(UNK);
  fromTokenizer.fill(unk);
  toTokenizer.forEach((t, m) => (fromTokenizer[t] = m));
  return { toTokenizer: Int32Array.from(toTokenizer), fromTokenizer };
}

/** Apply the map to tokenizer ids. */
export function toModelIds(ids: Int32Array, map: VocabMap): Int32Array {
  return ids.map((t) => map.fromTokenizer[t]);
}

/** The byte value of a byte-fallback tokenizer id, or null (layout bvv241 has no bytes). */
export function byteOf(tokId: number, layout: LayoutName = "glyphgrad"): number | null {
  if (layout !== "glyphgrad") return null;
  return tokId >= BYTE_FIRST && tokId < BYTE_FIRST + 256 ? tokId - BYTE_FIRST : null;
}

export interface TokenizeOutputs {
  tokenizer: Tokenizer;
  map: VocabMap;
  train: Int32Array;
  val: Int32Array;
}

/** Build, encode and write the tokenize stage's outputs into outDir. */
export async function tokenizeCorpus(
  p: TokenizeParams,
  dataDir: string,
  outDir: string,
  log: (l: string) => void = () => {},
): Promise<{
  vocab: number;
  trainTokens: number;
  valTokens: number;
  charsPerToken: number;
  mcTokenShare: number;
}> {
  await Deno.mkdir(outDir, { recursive: true });
  const trainText = await Deno.readTextFile(join(dataDir, "train.txt"));
  const valText = await Deno.readTextFile(join(dataDir, "val.txt"));
  const layout = p.layout ?? "glyphgrad";
  const tok = layout === "bvv241"
    ? await loadAuthorTokenizer(p.variant, p.ngrams ?? "", p.sharedTokens ?? "")
    : buildTokenizer(trainText.split(DOC_SEPARATOR), {
      variant: p.variant,
      perScript: p.perScript,
    });
  if (layout === "bvv241") {
    log(
      `bvv241 vocabulary from ${p.ngrams}: ${tok.tokens.length} multi-character tokens, ` +
        `${tok.merges.length / 3} merges` +
        (Number(tok.meta.dropped) > 0
          ? `, ${tok.meta.dropped} past the last slot dropped (as the author's notebook does)`
          : ""),
    );
  }
  await saveTokenizer(join(outDir, "tokenizer.json"), tok);
  const trainTok = encode(tok, trainText), valTok = encode(tok, valText);
  const map = makeVocabMap(tok.vocabSize, [trainTok, valTok], p.vocab, tok);
  const train = toModelIds(trainTok, map), val = toModelIds(valTok, map);
  const strings = vocabStrings(tok);
  const i32 = (a: Int32Array) => ({ dtype: "I32" as const, shape: [a.length], data: a });
  await saveSafetensors(join(outDir, "ids.safetensors"), {
    train: i32(train),
    val: i32(val),
    vocab: i32(map.toTokenizer),
  }, { variant: p.variant, layout, modelVocab: `${map.toTokenizer.length}` });
  await writeFileAtomic(
    join(outDir, "vocab.json"),
    JSON.stringify({
      mode: p.vocab,
      layout,
      tokenizerVocab: tok.vocabSize,
      modelVocab: map.toTokenizer.length,
      tokenizerIds: Array.from(map.toTokenizer),
      tokens: Array.from(map.toTokenizer, (t) => strings[t]),
    }) + "\n",
  );
  const charsPerToken = [...trainText].length / trainTok.length;
  const mixText = await Deno.readTextFile(join(dataDir, "mc_mix.txt")).catch(() => "");
  const mcTokenShare = mixText ? encode(tok, mixText).length / trainTok.length : 0;
  log(
    `vocabulary ${map.toTokenizer.length} model ids (${p.vocab}; tokenizer ${tok.vocabSize}), ` +
      `${train.length} train / ${val.length} val tokens, ${charsPerToken.toFixed(2)} chars/token` +
      (mixText ? `, multiple-choice mix ${(100 * mcTokenShare).toFixed(1)}% of train tokens` : ""),
  );
  return {
    vocab: map.toTokenizer.length,
    trainTokens: train.length,
    valTokens: val.length,
    charsPerToken,
    mcTokenShare,
  };
}
