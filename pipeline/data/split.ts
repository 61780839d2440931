// Deterministic train/validation split by document: a document goes to validation when the
// hash of (salt, source, id) falls below the validation share, so the split never depends on
// file order, and a character budget per source takes documents in hash order.

import type { Doc } from "./sources.ts";

/** FNV-1a 32-bit hash of a string's UTF-16 code units, as a number in [0, 1). */
export function unitHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche (murmur3 fmix32) so that near-identical ids spread evenly
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** Documents of one source in hash order, cut once `maxChars` characters are reached (0 = all). */
export function budget(docs: Doc[], maxChars: number, salt: number): Doc[] {
  if (!maxChars) return docs;
  const keyed = docs.map((d) => ({ d, k: unitHash(`budget:${salt}:${d.source}:${d.id}`) }));
  keyed.sort((a, b) => a.k - b.k || (a.d.id < b.d.id ? -1 : 1));
  const out: Doc[] = [];
  let n = 0;
  for (const { d } of keyed) {
    if (n >= maxChars) break;
    out.push(d);
    n += d.text.length;
  }
  return out;
}

/**
 * Split documents into train and validation; every source with at least two documents gets at
 * least one validation document. Input order is kept inside each part.
 */
export function splitDocs(
  docs: Doc[],
  valFraction: number,
  salt: number,
): { train: Doc[]; val: Doc[] } {
  const isVal = docs.map((d) => unitHash(`split:${salt}:${d.source}:${d.id}`) < valFraction);
  const bySource = new Map<string, number[]>();
  docs.forEach((d, i) => bySource.set(d.source, [...(bySource.get(d.source) ?? []), i]));
  for (const idx of bySource.values()) {
    if (idx.length >= 2 && valFraction > 0 && !idx.some((i) => isVal[i])) {
      // no document fell below the share: take the one with the smallest hash
      const h = (i: number) => unitHash(`split:${salt}:${docs[i].source}:${docs[i].id}`);
      isVal[idx.reduce((a, b) => (h(b) < h(a) ? b : a))] = true;
    }
  }
  return { train: docs.filter((_, i) => !isVal[i]), val: docs.filter((_, i) => isVal[i]) };
}
