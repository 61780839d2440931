// Vocabulary rules of the author's layout ("bvv241", layout.ts), as the author's notebooks
// (AVBochkov/PGT, _tokenizer-builder-bvv241-2-3.ipynb and -max.ipynb) apply them:
// - token order: longest first (length in code points), then by code point (Python's
//   sorted(key=lambda x: (-len(x), x))); ids are the layout's slots in that order;
// - merges: for every token in that order, every split piece[:i] + piece[i:] at a code point
//   boundary whose halves are both in the vocabulary, where "the vocabulary" is the author's
//   whole dict: single characters, tokens, the 256 special names and the <unused_N> fillers.
// Pure functions; build.ts calls them for layout "bvv241".

import type { Layout } from "./layout.ts";
import { SPECIAL_FIRST, SPECIAL_LAST } from "./layout.ts";

/** Length in code points (Python's len). */
export function cpLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0xD800 && u <= 0xDBFF && i + 1 < s.length) {
      const v = s.charCodeAt(i + 1);
      if (v >= 0xDC00 && v <= 0xDFFF) i++;
    }
    n++;
  }
  return n;
}

/** UTF-16 units reordered so that comparing them compares code points (surrogates last). */
function cpKey(u: number): number {
  return u >= 0xE000 ? u - 0x800 : u >= 0xD800 ? u + 0x2000 : u;
}

/** Python's string order (by code point), -1 / 0 / 1. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return cpKey(x) < cpKey(y) ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** The author's token order: longer first (code points), then by code point. */
export function authorCompare(a: string, b: string): number {
  return cpLength(b) - cpLength(a) || compareCodePoints(a, b);
}

const UNUSED = /^<unused_(0|[1-9][0-9]*)>$/;

/** One-line error for a token list that the author's layout cannot hold as given. */
export function checkAuthorTokens(tokens: readonly string[], layout: Layout): void {
  const specials = new Set<string>();
  for (let id = SPECIAL_FIRST; id <= SPECIAL_LAST; id++) specials.add(layout.specialName(id));
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (typeof t !== "string" || !t.isWellFormed() || cpLength(t) < 2) {
      throw new Error(
        `tokenizer: bvv241 token ${JSON.stringify(t)} is not a string of 2+ code points; ` +
          "remove it from the n-gram list",
      );
    }
    if (specials.has(t) || UNUSED.test(t)) {
      throw new Error(
        `tokenizer: bvv241 token ${JSON.stringify(t)} is the name of a special or unused id; ` +
          "remove it from the n-gram list",
      );
    }
    if (k > 0 && authorCompare(tokens[k - 1], t) >= 0) {
      throw new Error(
        `tokenizer: bvv241 tokens must be distinct and in the author's order (longest first, ` +
          `then by code point); ${JSON.stringify(tokens[k - 1])} comes before ` +
          `${JSON.stringify(t)}`,
      );
    }
  }
}

/** Merges (flat [left, right, result] triples, rank order) as the author synthesises them. */
export function authorMerges(
  tokens: readonly string[],
  ids: Int32Array,
  layout: Layout,
): Int32Array {
  const multi = new Map<string, number>();
  tokens.forEach((t, k) => multi.set(t, ids[k]));
  const named = new Map<string, number>();
  for (let id = SPECIAL_FIRST; id <= SPECIAL_LAST; id++) named.set(layout.specialName(id), id);
  const assigned = new Set(ids);
  const idOf = (s: string): number => {
    if (s.length === 1) {
      const c = s.charCodeAt(0);
      return layout.singleChar(c) ? c : -1;
    }
    const m = multi.get(s) ?? named.get(s);
    if (m !== undefined) return m;
    const u = UNUSED.exec(s);
    if (!u) return -1;
    const id = Number(u[1]);
    const free = id < layout.vocabSize && !assigned.has(id) &&
      !(id < 0x10000 && layout.singleChar(id)) && !(id >= SPECIAL_FIRST && id <= SPECIAL_LAST);
    return free ? id : -1;
  };
  const out: number[] = [];
  tokens.forEach((t, k) => {
    for (let i = 1; i < t.length; i++) {
      const u = t.charCodeAt(i);
      if (u >= 0xDC00 && u <= 0xDFFF) continue; // not a code point boundary
      const l = idOf(t.slice(0, i)), r = idOf(t.slice(i));
      if (l >= 0 && r >= 0) out.push(l, r, ids[k]);
    }
  });
  return Int32Array.from(out);
}
