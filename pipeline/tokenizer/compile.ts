// Lookup tables derived from a Tokenizer (built once per tokenizer object, cached in a
// WeakMap): an open-addressing hash of merge pairs keyed by (left id, right id), the set of
// characters that can take part in a merge, and the UTF-16 text of every id for decoding.

import { layoutOfTokenizer, type Tokenizer } from "./build.ts";
import { SPECIAL_FIRST, SPECIAL_LAST } from "./layout.ts";

export const KIND_CHAR = 0, KIND_MULTI = 1, KIND_SPECIAL = 2, KIND_BYTE = 3, KIND_UNUSED = 4;

export interface Compiled {
  pairLeft: Int32Array; // -1 marks an empty slot
  pairRight: Int32Array;
  pairRank: Int32Array;
  mask: number;
  result: Int32Array; // result id by merge rank
  mergeable: Uint8Array; // 1 for a BMP character that appears in some merge
  single: Uint8Array; // 1 for a BMP code point whose id is itself
  byteFirst: number; // id of byte token <0x00>, or -1: characters without an id become <unk>
  specialRe: RegExp; // matches the added special names, longest first
  specialIds: Map<string, number>; // added special name -> id
  kind: Uint8Array; // KIND_* by id
  unitStart: Int32Array; // UTF-16 text of id i is units[unitStart[i]..unitStart[i+1])
  units: Uint16Array;
  // encode cache, direct-mapped by a hash of the run: slot s holds a run of wordLen[s] UTF-16
  // units at wordUnits[s * WORD_MAX..] and its merged ids (idsLen[s]) at wordIds[s * WORD_MAX..]
  wordLen: Uint8Array;
  wordUnits: Uint16Array;
  idsLen: Uint8Array;
  wordIds: Int32Array;
}

export const WORD_MAX = 16; // longest run kept in the encode cache
export const WORD_SLOTS = 1 << 16;

const cache = new WeakMap<Tokenizer, Compiled>();

/** Hash slot of a pair; shared by insertion and lookup. */
export function pairHash(l: number, r: number, mask: number): number {
  return ((Math.imul(l, 0x9E3779B1) ^ Math.imul(r + 0x7F4A7C15, 0x85EBCA77)) >>> 7) & mask;
}

/** Rank of merging (l, r), or -1 when no merge exists. */
export function pairRankOf(c: Compiled, l: number, r: number): number {
  let h = pairHash(l, r, c.mask);
  for (;;) {
    const k = c.pairLeft[h];
    if (k === l && c.pairRight[h] === r) return c.pairRank[h];
    if (k === -1) return -1;
    h = (h + 1) & c.mask;
  }
}

/** The compiled tables of `tok` (cached). */
export function compile(tok: Tokenizer): Compiled {
  const hit = cache.get(tok);
  if (hit) return hit;
  const n = tok.merges.length / 3;
  let cap = 16;
  while (cap < n * 3) cap *= 2;
  const mask = cap - 1;
  const pairLeft = new Int32Array(cap).fill(-1), pairRight = new Int32Array(cap);
  const pairRank = new Int32Array(cap), result = new Int32Array(n);
  const mergeable = new Uint8Array(0x10000);
  for (let rank = 0; rank < n; rank++) {
    const l = tok.merges[3 * rank], r = tok.merges[3 * rank + 1];
    result[rank] = tok.merges[3 * rank + 2];
    let h = pairHash(l, r, mask);
    while (pairLeft[h] !== -1) {
      if (pairLeft[h] === l && pairRight[h] === r) throw new Error("tokenizer: duplicate merge");
      h = (h + 1) & mask;
    }
    pairLeft[h] = l, pairRight[h] = r, pairRank[h] = rank;
  }
  const layout = layoutOfTokenizer(tok);
  const single = new Uint8Array(0x10000);
  for (let u = 0; u < 0x10000; u++) single[u] = layout.singleChar(u) ? 1 : 0;
  for (const t of tok.tokens) {
    for (let i = 0; i < t.length; i++) mergeable[t.charCodeAt(i)] = single[t.charCodeAt(i)];
  }
  const kind = new Uint8Array(tok.vocabSize).fill(KIND_UNUSED);
  const text: string[] = new Array(tok.vocabSize);
  for (let id = 0; id < tok.vocabSize; id++) {
    if (id < 0x10000 && single[id]) kind[id] = KIND_CHAR, text[id] = String.fromCharCode(id);
    else text[id] = layout.unusedName(id);
  }
  for (let id = SPECIAL_FIRST; id <= SPECIAL_LAST; id++) {
    kind[id] = KIND_SPECIAL, text[id] = layout.specialName(id);
  }
  if (layout.byteFirst >= 0) {
    for (let b = 0; b < 256; b++) {
      kind[layout.byteFirst + b] = KIND_BYTE, text[layout.byteFirst + b] = "";
    }
  }
  tok.tokens.forEach((t, k) => (kind[tok.ids[k]] = KIND_MULTI, text[tok.ids[k]] = t));
  const specialIds = new Map<string, number>();
  for (let k = 0; k < layout.addedSpecials; k++) {
    specialIds.set(layout.specialName(SPECIAL_FIRST + k), SPECIAL_FIRST + k);
  }
  const names = [...specialIds.keys()].sort((a, b) => b.length - a.length);
  const specialRe = new RegExp(
    names.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
  );
  const unitStart = new Int32Array(tok.vocabSize + 1);
  for (let id = 0; id < tok.vocabSize; id++) unitStart[id + 1] = unitStart[id] + text[id].length;
  const units = new Uint16Array(unitStart[tok.vocabSize]);
  for (let id = 0; id < tok.vocabSize; id++) {
    const t = text[id];
    for (let i = 0; i < t.length; i++) units[unitStart[id] + i] = t.charCodeAt(i);
  }
  const c: Compiled = {
    pairLeft,
    pairRight,
    pairRank,
    mask,
    result,
    mergeable,
    single,
    byteFirst: layout.byteFirst,
    specialRe,
    specialIds,
    kind,
    unitStart,
    units,
    wordLen: new Uint8Array(WORD_SLOTS),
    wordUnits: new Uint16Array(WORD_SLOTS * WORD_MAX),
    idsLen: new Uint8Array(WORD_SLOTS),
    wordIds: new Int32Array(WORD_SLOTS * WORD_MAX),
  };
  cache.set(tok, c);
  return c;
}
