// A tokenizer restricted to a compact vocabulary (model id i = tokenizer id vocabIds[i]), with
// the rule the Hugging Face BPE model follows, so glyphgrad and an exported tokenizer.json give
// the same ids on any text:
//   1. merges apply only where both halves and the result have a model row;
//   2. a character without a row becomes its UTF-8 byte tokens <0xNN> when every one of them has
//      a row (byte_fallback), else one <unk> (private-use and non-BMP characters are byte tokens
//      already; the same all-or-<unk> rule applies to their bytes);
//   3. text never becomes a special id (`<pad>` in the input is five characters).
// On text whose tokens all have rows and whose merges pass only through tokens with rows (the
// training text, see mergeClosure) this is exactly the full tokenizer followed by the id map.

import type { Tokenizer } from "./build.ts";
import { decode, type DecodeOptions } from "./decode.ts";
import { encode, type EncodeOptions } from "./encode.ts";
import { BYTE_FIRST, isSingleCharId, UNK } from "./layout.ts";

export interface CompactTokenizer {
  /** The tokenizer restricted to the kept multi-character tokens and merges (tokenizer ids). */
  readonly tok: Tokenizer;
  /** The full tokenizer (for decoding). */
  readonly full: Tokenizer;
  /** Model id -> tokenizer id. */
  readonly vocabIds: Int32Array;
  /** Tokenizer id -> model id. */
  readonly toModel: ReadonlyMap<number, number>;
  /** The model id of <unk>. */
  readonly unk: number;
}

/** Restrict `full` to the ids in vocabIds (model id order); <unk> must be one of them. */
export function compactTokenizer(full: Tokenizer, vocabIds: ArrayLike<number>): CompactTokenizer {
  const ids = Int32Array.from(vocabIds);
  const toModel = new Map<number, number>();
  ids.forEach((t, m) => {
    if (!Number.isInteger(t) || t < 0 || t >= full.vocabSize || toModel.has(t)) {
      throw new Error(
        `compact vocabulary: entry ${m} (tokenizer id ${t}) is out of range or repeated; ` +
          "re-run the tokenize stage",
      );
    }
    toModel.set(t, m);
  });
  const unk = toModel.get(UNK);
  if (unk === undefined) {
    throw new Error("compact vocabulary: <unk> (57347) has no model id; re-run the tokenize stage");
  }
  const tokens: string[] = [], kept: number[] = [];
  full.tokens.forEach((t, k) => {
    if (toModel.has(full.ids[k])) tokens.push(t), kept.push(full.ids[k]);
  });
  const merges: number[] = [];
  for (let i = 0; i < full.merges.length; i += 3) {
    const [l, r, res] = [full.merges[i], full.merges[i + 1], full.merges[i + 2]];
    if (toModel.has(l) && toModel.has(r) && toModel.has(res)) merges.push(l, r, res);
  }
  const tok: Tokenizer = {
    ...full,
    tokens,
    ids: Int32Array.from(kept),
    merges: Int32Array.from(merges),
  };
  return { tok, full, vocabIds: ids, toModel, unk };
}

/**
 * Tokenizer ids a compact vocabulary must add so that every merge into a kept token passes
 * only through kept tokens (the halves of every merge whose result is kept, recursively).
 */
export function mergeClosure(full: Tokenizer, ids: Iterable<number>): number[] {
  const have = new Set(ids), added: number[] = [];
  const byResult = new Map<number, number[]>();
  for (let i = 0; i < full.merges.length; i += 3) {
    const list = byResult.get(full.merges[i + 2]) ?? [];
    list.push(full.merges[i], full.merges[i + 1]);
    byResult.set(full.merges[i + 2], list);
  }
  const stack = [...have];
  while (stack.length) {
    for (const part of byResult.get(stack.pop()!) ?? []) {
      if (!have.has(part)) have.add(part), added.push(part), stack.push(part);
    }
  }
  return added.sort((a, b) => a - b);
}

const utf8 = new TextEncoder();

/** Model ids of `text` under the rule in the header. */
export function compactEncode(ct: CompactTokenizer, text: string, opts: EncodeOptions = {}) {
  const ids = encode(ct.tok, text, opts);
  const out: number[] = [];
  const push = (tokIds: ArrayLike<number>) => {
    const m = Array.from(tokIds, (t) => ct.toModel.get(t));
    if (m.every((x) => x !== undefined)) out.push(...m as number[]);
    else out.push(ct.unk);
  };
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id >= BYTE_FIRST && id < BYTE_FIRST + 256) {
      const lead = id - BYTE_FIRST, n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      push(ids.subarray(i, i + n)); // the byte tokens of one character
      i += n - 1;
    } else if (ct.toModel.has(id)) {
      out.push(ct.toModel.get(id)!);
    } else if (isSingleCharId(id)) {
      push(Array.from(utf8.encode(String.fromCharCode(id)), (b) => BYTE_FIRST + b));
    } else {
      out.push(ct.unk); // unreachable: restricted merges only produce kept tokens
    }
  }
  return Int32Array.from(out);
}

/** Text of model ids (ids outside the compact vocabulary are an error). */
export function compactDecode(
  ct: CompactTokenizer,
  ids: ArrayLike<number>,
  opts: DecodeOptions = {},
): string {
  const tokIds = Array.from(ids, (m, i) => {
    const t = ct.vocabIds[m];
    if (t === undefined) {
      throw new Error(
        `decode: model id ${m} at position ${i} is outside the ${ct.vocabIds.length}-id compact ` +
          "vocabulary; pass ids of this model",
      );
    }
    return t;
  });
  return decode(ct.full, tokIds, opts);
}
