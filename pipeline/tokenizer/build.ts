// Builds a tokenizer: multi-character tokens (frequent n-grams per script, optionally strings
// shared by production vocabularies) get ids longest first in the reserved slots of layout.ts;
// merges are synthesised from them, longest token first, every (left, right) split whose
// halves are both tokens; merge rank is that order (paper-notes "Unicode-centric tokenizer").

import {
  isSingleCharId,
  type Layout,
  type LayoutName,
  layoutOf,
  multiSlots,
  type Variant,
} from "./layout.ts";
import { authorMerges, checkAuthorTokens } from "./bvv241.ts";
import { countNgrams, topPerScript } from "./ngrams.ts";
import { productionStrings } from "./production.ts";

/** A tokenizer as plain data; compile.ts derives its lookup tables on first use. */
export interface Tokenizer {
  readonly variant: Variant;
  /** Id layout (layout.ts): "glyphgrad" (lossless, the default) or "bvv241" (the author's). */
  readonly layout: LayoutName;
  readonly vocabSize: number;
  /** Multi-character tokens in id order (longest first); tokens[k] has id ids[k]. */
  readonly tokens: readonly string[];
  readonly ids: Int32Array;
  /** Merges in rank order, flat triples [left id, right id, result id]. */
  readonly merges: Int32Array;
  /** Build facts (sources, counts); not part of the content hash. */
  readonly meta: Readonly<Record<string, string | number | boolean>>;
}

export interface BuildOptions {
  variant: Variant;
  /** n-grams kept per script (default 338 for "2-3", 906 for "max", as in the paper). */
  perScript?: number;
  /** Minimum corpus count of a kept n-gram (default 2). */
  minCount?: number;
  /** Add strings present in both o200k and cl100k (default: true for "max" only). */
  productionVocabs?: boolean;
  /** Longest production-vocabulary string admitted, in characters (default 10). */
  maxProductionChars?: number;
}

/** Id of `s` if it is a single-char id or one of `multi`'s tokens, else -1. */
function idOf(s: string, multi: Map<string, number>): number {
  if (s.length === 1) {
    const c = s.charCodeAt(0);
    return isSingleCharId(c) ? c : -1;
  }
  return multi.get(s) ?? -1;
}

/** Checks a multi-character token: 2+ chars, all single-char ids, no whitespace. */
function checkToken(t: string): void {
  if (t.length < 2 || /\s/u.test(t) || [...t].some((ch) => !isSingleCharId(ch.charCodeAt(0)))) {
    throw new Error(
      `tokenizer: invalid multi-character token ${JSON.stringify(t)}; tokens need 2+ BMP ` +
        "characters outside the reserved ranges and no whitespace",
    );
  }
}

/**
 * Longest multi-character token accepted, in UTF-16 units: the builder's longest are 5-grams and
 * production strings of at most `maxProductionChars` (10); the bound keeps merge synthesis cheap
 * on a damaged or hand-edited file (a 1,000,000-character token took minutes).
 */
export const MAX_TOKEN_CHARS = 64;

/** Synthesise merges (rank order) for tokens given in id order. */
export function synthesiseMerges(tokens: readonly string[], ids: Int32Array): Int32Array {
  const multi = new Map<string, number>();
  tokens.forEach((t, k) => multi.set(t, ids[k]));
  const lengths = new Set(tokens.map((t) => t.length)).add(1); // a half of another length is no id
  const out: number[] = [];
  tokens.forEach((t, k) => {
    for (let i = 1; i < t.length; i++) {
      if (!lengths.has(i) || !lengths.has(t.length - i)) continue;
      const l = idOf(t.slice(0, i), multi), r = idOf(t.slice(i), multi);
      if (l >= 0 && r >= 0) out.push(l, r, ids[k]);
    }
  });
  return Int32Array.from(out);
}

/**
 * A tokenizer from multi-character tokens already in id order: longest first for "glyphgrad",
 * the author's order (longest first, then by code point) for "bvv241".
 */
export function makeTokenizer(
  variant: Variant,
  tokens: readonly string[],
  meta: Record<string, string | number | boolean> = {},
  layoutName: LayoutName = "glyphgrad",
): Tokenizer {
  const layout = layoutOf(layoutName, variant);
  const slots = layout.slots;
  if (tokens.length > slots.length) {
    throw new Error(
      `tokenizer: ${tokens.length} multi-character tokens exceed the ${slots.length} slots of ` +
        `layout ${layoutName} variant "${variant}"; lower perScript` +
        (variant === "max" ? "" : ' or use variant "max"'),
    );
  }
  const long = tokens.findIndex((t) => typeof t === "string" && t.length > MAX_TOKEN_CHARS);
  if (long >= 0) {
    throw new Error(
      `tokenizer: token ${long} is ${tokens[long].length} characters long, over the limit of ` +
        `${MAX_TOKEN_CHARS}; use shorter n-grams or production strings`,
    );
  }
  if (layoutName === "bvv241") checkAuthorTokens(tokens, layout);
  else checkGlyphgradTokens(tokens);
  const ids = slots.slice(0, tokens.length);
  const merges = layoutName === "bvv241"
    ? authorMerges(tokens, ids, layout)
    : synthesiseMerges(tokens, ids);
  const { vocabSize } = layout;
  return { variant, layout: layoutName, vocabSize, tokens: [...tokens], ids, merges, meta };
}

/** Glyphgrad's rules: valid tokens, distinct, longest first. */
function checkGlyphgradTokens(tokens: readonly string[]): void {
  const seen = new Set<string>();
  for (let k = 0; k < tokens.length; k++) {
    checkToken(tokens[k]);
    if (seen.has(tokens[k])) {
      throw new Error(`tokenizer: duplicate token ${JSON.stringify(tokens[k])}`);
    }
    if (k > 0 && tokens[k].length > tokens[k - 1].length) {
      throw new Error("tokenizer: multi-character tokens must be ordered longest first");
    }
    seen.add(tokens[k]);
  }
}

/** The id layout of a tokenizer. */
export function layoutOfTokenizer(tok: Tokenizer): Layout {
  return layoutOf(tok.layout ?? "glyphgrad", tok.variant);
}

/** Number of tokens that no sequence of merges can produce from single characters. */
export function unreachableCount(tok: Tokenizer): number {
  const made = new Set<number>();
  const byResult = new Map<number, number[]>();
  for (let i = 0; i < tok.merges.length; i += 3) {
    const list = byResult.get(tok.merges[i + 2]) ?? [];
    list.push(tok.merges[i], tok.merges[i + 1]);
    byResult.set(tok.merges[i + 2], list);
  }
  const layout = layoutOfTokenizer(tok);
  const ok = (id: number) => (id < 0x10000 && layout.singleChar(id)) || made.has(id);
  for (let k = tok.tokens.length - 1; k >= 0; k--) { // shortest first
    const list = byResult.get(tok.ids[k]) ?? [];
    for (let j = 0; j < list.length; j += 2) {
      if (ok(list[j]) && ok(list[j + 1])) made.add(tok.ids[k]);
    }
  }
  return tok.tokens.length - made.size;
}

/** Build a tokenizer from a corpus (documents, iterated once; one string is one document). */
export function buildTokenizer(
  corpus: Iterable<string> | string[] | string,
  opts: BuildOptions,
): Tokenizer {
  if (typeof corpus === "string") corpus = [corpus];
  const variant = opts.variant;
  const slots = multiSlots(variant).length;
  const maxN = variant === "max" ? 5 : 3;
  const perScript = opts.perScript ?? (variant === "max" ? 906 : 338);
  const minCount = opts.minCount ?? 2;
  const production = opts.productionVocabs ?? variant === "max";
  const maxProd = opts.maxProductionChars ?? 10;
  if (!Number.isInteger(perScript) || perScript < 0) {
    throw new Error(`tokenizer: perScript must be a non-negative integer, got ${perScript}`);
  }
  if (!Number.isInteger(minCount) || minCount < 1) {
    throw new Error(`tokenizer: minCount must be a positive integer, got ${minCount}`);
  }
  let chars = 0;
  const counted = (function* () {
    for (const doc of corpus) {
      if (typeof doc !== "string") throw new Error("tokenizer: corpus items must be strings");
      chars += doc.length;
      yield doc;
    }
  })();
  const grams = topPerScript(countNgrams(counted, 2, maxN), perScript, minCount);
  const chosen = grams.map((g) => g.gram);
  const have = new Set(chosen);
  const scripts = new Set(grams.map((g) => g.script));
  let fromProduction = 0;
  if (production) {
    const cands = productionStrings(maxProd).filter((s) => !have.has(s));
    cands.sort((a, b) => a.length - b.length); // stable: keeps o200k rank order per length
    const inVocab = (s: string) => s.length === 1 || have.has(s);
    for (const s of cands) {
      if (chosen.length >= slots) break;
      let reachable = false;
      for (let i = 1; i < s.length && !reachable; i++) {
        reachable = inVocab(s.slice(0, i)) && inVocab(s.slice(i));
      }
      if (!reachable) continue;
      chosen.push(s);
      have.add(s);
      fromProduction++;
    }
  }
  const order = chosen.map((s, k) => ({ s, k }));
  order.sort((a, b) => b.s.length - a.s.length || a.k - b.k);
  const tok = makeTokenizer(variant, order.map((o) => o.s), {
    corpusChars: chars,
    perScript,
    minCount,
    maxN,
    productionVocabs: production,
    fromNgrams: chosen.length - fromProduction,
    fromProduction,
    scripts: [...scripts].sort().join(","),
  });
  return { ...tok, meta: { ...tok.meta, unreachable: unreachableCount(tok) } };
}
