// Frequent character n-grams per script, the raw material of the multi-character tokens.
// An n-gram lies inside one word (a run of letters and combining marks), never crosses a
// space, holds no digits, uses only characters whose id is their code point (BMP, outside
// the reserved ranges) and all its characters share one script (Common/Inherited marks join
// the script of their neighbours).

import { isSingleCharId } from "./layout.ts";
import { scriptTable } from "./scripts.ts";

export type NgramCounts = Map<string, Map<string, number>>; // script -> gram -> count

const WORD = /[\p{L}\p{M}]+/gu;
const MAX_WORDS = 1 << 20; // distinct words held before their grams are counted

/** Drop grams seen fewer than `floor` times; returns the floor to use next time. */
function prune(m: Map<string, number>, floor: number, limit: number): number {
  for (; m.size > limit / 2; floor *= 2) for (const [g, n] of m) if (n < floor) m.delete(g);
  return floor;
}

/**
 * Count every n-gram of length minN..maxN inside words of `corpus`, per script. Exact while a
 * script has at most `maxDistinct` distinct grams; beyond that its rarest grams are dropped
 * (counts of frequent grams stay exact but for occurrences seen before a prune), which keeps
 * memory bounded on large corpora without changing the frequent grams the vocabulary keeps.
 */
export function countNgrams(
  corpus: Iterable<string>,
  minN: number,
  maxN: number,
  maxDistinct = 1 << 22,
): NgramCounts {
  const { names, of } = scriptTable();
  const common = names.indexOf("Common"), inherited = names.indexOf("Inherited");
  const perScript: Map<string, number>[] = names.map(() => new Map());
  const floors = names.map(() => 2);
  const checkSizes = () =>
    perScript.forEach((m, k) => {
      if (m.size > maxDistinct) floors[k] = prune(m, floors[k], maxDistinct);
    });
  // Add `times` occurrences of every gram of word w.
  const addWord = (w: string, times: number) => {
    for (let i = 0; i < w.length; i++) {
      let script = -1;
      for (let j = i; j < w.length && j - i < maxN; j++) {
        const c = w.charCodeAt(j);
        if (!isSingleCharId(c)) break; // surrogate halves and private use end the gram
        const s = of[c];
        if (s !== common && s !== inherited) {
          if (script >= 0 && s !== script) break;
          script = s;
        }
        if (j - i + 1 >= minN && script >= 0) {
          const m = perScript[script], g = w.slice(i, j + 1);
          m.set(g, (m.get(g) ?? 0) + times);
        }
      }
    }
  };
  // Words are counted first (natural text repeats them), then their grams, weighted.
  const words = new Map<string, number>();
  const flush = () => {
    let k = 0;
    for (const [w, times] of words) {
      addWord(w, times);
      if (++k % 256 === 0) checkSizes();
    }
    words.clear();
    checkSizes();
  };
  for (const doc of corpus) {
    for (const match of doc.matchAll(WORD)) {
      words.set(match[0], (words.get(match[0]) ?? 0) + 1);
    }
    if (words.size > MAX_WORDS) flush();
  }
  flush();
  const out: NgramCounts = new Map();
  perScript.forEach((m, k) => {
    if (m.size > 0 && k !== common && k !== inherited && k !== 0) out.set(names[k], m);
  });
  return out;
}

/** The k most frequent grams of each script with count >= minCount, ties broken by text. */
export function topPerScript(
  counts: NgramCounts,
  k: number,
  minCount: number,
): { gram: string; count: number; script: string }[] {
  const out: { gram: string; count: number; script: string }[] = [];
  for (const script of [...counts.keys()].sort()) {
    const entries = [...counts.get(script)!].filter(([, n]) => n >= minCount);
    entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [gram, count] of entries.slice(0, k)) out.push({ gram, count, script });
  }
  return out;
}
