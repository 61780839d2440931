// Encoding: text -> ids. A character is its own id (or byte tokens, see fallback.ts); runs of
// characters that appear in merges are merged byte-pair style: repeatedly merge the adjacent
// pair of lowest rank, leftmost first. Tokens never contain a space, so runs are short; short
// runs use an array scan, long runs (e.g. unbroken CJK) a heap over a linked list.

import type { Tokenizer } from "./build.ts";
import { compile, type Compiled, pairRankOf, WORD_MAX, WORD_SLOTS } from "./compile.ts";
import { type InvalidPolicy, loneSurrogateError, utf8ToText, writeFallback } from "./fallback.ts";
import { UNK } from "./layout.ts";

export interface EncodeOptions {
  /** Lone surrogates: "error" (default) throws, "replace" encodes U+FFFD. */
  invalid?: InvalidPolicy;
  /**
   * Text equal to an added special token's name (tokenizer.json's added_tokens: the author's
   * 23 in bvv241, e.g. "<s>", "[INST]") becomes that special id, as in the `tokenizers`
   * library. Default: true in layout "bvv241" (the author's tokenizer does it), false in
   * "glyphgrad" (text is always text).
   */
  specials?: boolean;
}

const NONE = 0x7FFFFFFF;
const SMALL = 24; // runs up to this length use the array scan

let sym = new Int32Array(256);
let rank = new Int32Array(256);

/** Merge sym[0..m) in place with the array scan; returns the new length. */
function mergeSmall(c: Compiled, m: number): number {
  for (let k = 0; k < m - 1; k++) {
    const r = pairRankOf(c, sym[k], sym[k + 1]);
    rank[k] = r < 0 ? NONE : r;
  }
  for (;;) {
    let best = NONE, bi = -1;
    for (let k = 0; k < m - 1; k++) if (rank[k] < best) best = rank[k], bi = k;
    if (bi < 0) return m;
    sym[bi] = c.result[best];
    sym.copyWithin(bi + 1, bi + 2, m);
    rank.copyWithin(bi + 1, bi + 2, m - 1);
    m--;
    if (bi > 0) {
      const r = pairRankOf(c, sym[bi - 1], sym[bi]);
      rank[bi - 1] = r < 0 ? NONE : r;
    }
    if (bi < m - 1) {
      const r = pairRankOf(c, sym[bi], sym[bi + 1]);
      rank[bi] = r < 0 ? NONE : r;
    }
  }
}

/** Merge sym[0..m) with a binary heap of (rank, position) over a linked list. */
function mergeLarge(c: Compiled, m: number): number {
  const next = new Int32Array(m), prev = new Int32Array(m), alive = new Uint8Array(m).fill(1);
  for (let k = 0; k < m; k++) next[k] = k + 1 < m ? k + 1 : -1, prev[k] = k - 1;
  const heap: number[] = []; // keys rank * 2^32 + position: lowest rank, then leftmost
  const push = (key: number) => {
    let i = heap.push(key) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p] <= key) break;
      heap[i] = heap[p], i = p;
    }
    heap[i] = key;
  };
  const pop = (): number => {
    const top = heap[0], last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        let ch = 2 * i + 1;
        if (ch >= heap.length) break;
        if (ch + 1 < heap.length && heap[ch + 1] < heap[ch]) ch++;
        if (heap[ch] >= last) break;
        heap[i] = heap[ch], i = ch;
      }
      heap[i] = last;
    }
    return top;
  };
  const offer = (k: number) => {
    const r = pairRankOf(c, sym[k], sym[next[k]]);
    if (r >= 0) push(r * 4294967296 + k);
  };
  for (let k = 0; k < m - 1; k++) offer(k);
  while (heap.length > 0) {
    const key = pop();
    const k = key % 4294967296, r = (key - k) / 4294967296;
    const j = next[k];
    if (!alive[k] || j < 0 || pairRankOf(c, sym[k], sym[j]) !== r) continue; // stale entry
    sym[k] = c.result[r];
    alive[j] = 0;
    next[k] = next[j];
    if (next[j] >= 0) prev[next[j]] = k;
    if (prev[k] >= 0) offer(prev[k]);
    if (next[k] >= 0) offer(k);
  }
  let n = 0;
  for (let k = 0; k >= 0; k = next[k]) sym[n++] = sym[k];
  return n;
}

/**
 * Encode `text` to token ids. Lossless in layout "glyphgrad": decode(tok, encode(tok, s)) === s
 * for valid s; in "bvv241" a character without an id is <unk>, as in the author's tokenizer.
 */
export function encode(tok: Tokenizer, text: string, opts: EncodeOptions = {}): Int32Array {
  const c = compile(tok);
  const replace = opts.invalid === "replace";
  if (!(opts.specials ?? (tok.layout === "bvv241")) || !c.specialRe.test(text)) {
    return encodeText(c, text, replace);
  }
  // split at special names (leftmost, longest first) and encode the text between them
  const parts: Int32Array[] = [];
  let at = 0, n = 0;
  for (const m of text.matchAll(new RegExp(c.specialRe, "g"))) {
    parts.push(
      encodeText(c, text.slice(at, m.index), replace),
      Int32Array.of(c.specialIds.get(m[0])!),
    );
    at = m.index + m[0].length;
  }
  parts.push(encodeText(c, text.slice(at), replace));
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  for (const p of parts) out.set(p, n), n += p.length;
  return out;
}

/** Encode text holding no special names. */
function encodeText(c: Compiled, text: string, replace: boolean): Int32Array {
  const mergeable = c.mergeable;
  const n = text.length;
  let out = new Int32Array(n + 16);
  let pos = 0;
  let i = 0;
  while (i < n) {
    if (out.length - pos < 8) out = grow(out, pos, n - i);
    const u = text.charCodeAt(i);
    if (mergeable[u] === 1) {
      let j = i + 1, h = Math.imul(u ^ 0x811C9DC5, 0x01000193);
      for (let v = 0; j < n && mergeable[v = text.charCodeAt(j)] === 1; j++) {
        h = Math.imul(h ^ v, 0x01000193);
      }
      h ^= h >>> 15;
      const m = j - i;
      if (m === 1) {
        out[pos++] = u;
      } else if (m === 2) {
        const v = text.charCodeAt(i + 1), r = pairRankOf(c, u, v);
        if (r >= 0) out[pos++] = c.result[r];
        else out[pos++] = u, out[pos++] = v;
      } else if (m <= WORD_MAX) {
        const slot = h & (WORD_SLOTS - 1), base = slot * WORD_MAX;
        let hit = c.wordLen[slot] === m;
        for (let k = 0; hit && k < m; k++) hit = c.wordUnits[base + k] === text.charCodeAt(i + k);
        if (!hit) {
          for (let k = 0; k < m; k++) sym[k] = c.wordUnits[base + k] = text.charCodeAt(i + k);
          const len = mergeSmall(c, m);
          c.wordLen[slot] = m, c.idsLen[slot] = len;
          for (let k = 0; k < len; k++) c.wordIds[base + k] = sym[k];
        }
        const len = c.idsLen[slot];
        if (out.length - pos < len + 8) out = grow(out, pos, len + n - j);
        for (let k = 0; k < len; k++) out[pos++] = c.wordIds[base + k];
      } else {
        if (sym.length < m) sym = new Int32Array(2 * m), rank = new Int32Array(2 * m);
        for (let k = 0; k < m; k++) sym[k] = text.charCodeAt(i + k);
        const len = m <= SMALL ? mergeSmall(c, m) : mergeLarge(c, m);
        if (out.length - pos < len + 8) out = grow(out, pos, len + n - j);
        for (let k = 0; k < len; k++) out[pos++] = sym[k];
      }
      i = j;
    } else if (c.single[u] === 1) {
      out[pos++] = u;
      i++;
    } else if (u >= 0xD800 && u <= 0xDBFF && i + 1 < n) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        const cp = ((u - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
        pos = c.byteFirst >= 0 ? writeFallback(cp, out, pos) : (out[pos] = UNK, pos + 1);
        i += 2;
      } else if (replace) {
        out[pos++] = 0xFFFD, i++;
      } else throw loneSurrogateError(u, i);
    } else if (u >= 0xD800 && u <= 0xDFFF) {
      if (!replace) throw loneSurrogateError(u, i);
      out[pos++] = 0xFFFD, i++;
    } else {
      // private use U+E000..U+F8FF (and U+FFFF in bvv241): byte tokens, or <unk> in bvv241
      pos = c.byteFirst >= 0 ? writeFallback(u, out, pos) : (out[pos] = UNK, pos + 1);
      i++;
    }
  }
  return out.slice(0, pos);
}

/** Grow the output buffer, keeping out[0..pos), with room for at least `more` ids. */
function grow(out: Int32Array, pos: number, more: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(Math.max(2 * out.length, pos + more + 64));
  bigger.set(out.subarray(0, pos));
  return bigger;
}

/** Encode UTF-8 bytes; invalid UTF-8 is a one-line error, never silent loss. */
export function encodeBytes(tok: Tokenizer, bytes: Uint8Array): Int32Array {
  return encode(tok, utf8ToText(bytes));
}
