// Cloze items from held-out text (choose the true continuation among four), built
// deterministically, and the check that no benchmark item occurs in the training text.
// A position is a space inside a document; the context is up to `contextChars` of preceding
// text (cut at a word start), the answer the next `contWords` words; distractors are
// continuations of the same word count taken from other positions.

import { randInt, seededRandom, shuffled } from "./rng.ts";
import { itemKey, type McItem } from "./items.ts";

/**
 * A training text prepared for many "does this string occur in it?" questions: the text with
 * whitespace normalised, plus the sorted hashes of all its WINDOW-character windows, so a
 * string whose first or last window is absent is rejected without scanning the text.
 */
export interface TrainIndex {
  text: string;
  hashes: Uint32Array;
}

const WINDOW = 20;
const BASE = 31;
let basePow = 1;
for (let i = 0; i < WINDOW - 1; i++) basePow = Math.imul(basePow, BASE);

function windowHash(s: string, from: number): number {
  let h = 0;
  for (let i = from; i < from + WINDOW; i++) h = (Math.imul(h, BASE) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

export function makeTrainIndex(trainText: string): TrainIndex {
  const text = norm(trainText);
  const n = Math.max(0, text.length - WINDOW + 1);
  const hashes = new Uint32Array(n);
  let h = n > 0 ? windowHash(text, 0) | 0 : 0;
  for (let i = 0; i < n; i++) {
    hashes[i] = h >>> 0;
    if (i + WINDOW < text.length) {
      h = (Math.imul(h - Math.imul(text.charCodeAt(i), basePow), BASE) +
        text.charCodeAt(i + WINDOW)) | 0;
    }
  }
  hashes.sort();
  return { text, hashes };
}

function hasHash(sorted: Uint32Array, h: number): boolean {
  let lo = 0, hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] === h) return true;
    if (sorted[mid] < h) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Whether the (whitespace-normalised) string occurs verbatim in the indexed text. */
export function occursIn(index: TrainIndex, s: string): boolean {
  const k = norm(s);
  if (k.length >= WINDOW) {
    if (!hasHash(index.hashes, windowHash(k, 0))) return false;
    if (!hasHash(index.hashes, windowHash(k, k.length - WINDOW))) return false;
  }
  return index.text.includes(k);
}

/** Accept a training text or a prepared index. */
export function asIndex(train: string | TrainIndex): TrainIndex {
  return typeof train === "string" ? makeTrainIndex(train) : train;
}

export interface ClozeOptions {
  n?: number;
  seed?: number;
  contextChars?: number;
  minContextChars?: number;
  contWords?: number;
  /** Items whose key occurs in this text are skipped (repeated phrases in a corpus). */
  trainText?: string | TrainIndex;
}

const norm = (s: string) => s.replace(/\s+/g, " ").trim();

interface Spot {
  doc: number;
  pos: number;
  context: string;
  cont: string;
}

function spotsOf(doc: string, d: number, o: Required<Omit<ClozeOptions, "trainText">>): Spot[] {
  const text = norm(doc);
  const out: Spot[] = [];
  for (let p = text.indexOf(" ", o.minContextChars); p >= 0; p = text.indexOf(" ", p + 1)) {
    const words = text.slice(p + 1).split(" ", o.contWords);
    if (words.length < o.contWords || words.some((w) => w === "")) break;
    let from = Math.max(0, p - o.contextChars);
    if (from > 0) from = text.indexOf(" ", from) + 1;
    const context = text.slice(from, p);
    if (context.length < o.minContextChars) continue;
    out.push({ doc: d, pos: p, context, cont: words.join(" ") });
  }
  return out;
}

/** Four-option cloze items from held-out documents; throws if fewer than n can be built. */
export function buildClozeItems(heldOutDocs: string[], opts: ClozeOptions = {}): McItem[] {
  const o = {
    n: opts.n ?? 1000,
    seed: opts.seed ?? 42,
    contextChars: opts.contextChars ?? 160,
    minContextChars: opts.minContextChars ?? 40,
    contWords: opts.contWords ?? 4,
  };
  const rand = seededRandom(o.seed);
  const spots = heldOutDocs.flatMap((doc, d) => spotsOf(doc, d, o));
  const train = opts.trainText === undefined ? undefined : asIndex(opts.trainText);
  // Space positions apart so items do not share their text.
  const gap = Math.max(1, Math.floor(spots.length / (o.n * 3)));
  const picked = shuffled(spots.filter((_, i) => i % gap === 0), rand);
  const items: McItem[] = [];
  const used = new Set<string>();
  for (const s of picked) {
    if (items.length >= o.n) break;
    const key = `${s.context.slice(-48)} ${s.cont}`;
    if (used.has(key) || (train !== undefined && occursIn(train, key))) continue;
    const distractors = new Set<string>();
    for (let tries = 0; distractors.size < 3 && tries < 100; tries++) {
      const d = spots[randInt(rand, spots.length)];
      const far = d.doc !== s.doc || Math.abs(d.pos - s.pos) > 1000;
      if (far && d.cont !== s.cont && !s.context.endsWith(d.cont)) {
        distractors.add(d.cont);
      }
    }
    if (distractors.size < 3) continue;
    used.add(key);
    const choices = [...distractors];
    const answer = randInt(rand, 4);
    choices.splice(answer, 0, s.cont);
    items.push({
      id: `cloze/${items.length}`,
      question: `Continue the text: "${s.context} ..."`,
      choices,
      answer,
      source: `held-out doc ${s.doc}`,
      key,
    });
  }
  if (items.length < o.n) {
    throw new Error(
      `eval: only ${items.length} of ${o.n} cloze items from ${heldOutDocs.length} docs; ` +
        "give more held-out text or ask for fewer items",
    );
  }
  return items;
}

export interface OverlapReport {
  checked: number;
  overlapping: string[];
}

/** Items whose key text (whitespace-normalised) occurs verbatim in the training text. */
export function overlapReport(items: McItem[], trainText: string | TrainIndex): OverlapReport {
  const train = asIndex(trainText);
  const overlapping = items.filter((it) => occursIn(train, itemKey(it))).map((it) => it.id);
  return { checked: items.length, overlapping };
}

/** Throws one line naming the first overlapping items if any benchmark item is in trainText. */
export function assertNoOverlap(items: McItem[], trainText: string | TrainIndex): void {
  const r = overlapReport(items, trainText);
  if (r.overlapping.length) {
    throw new Error(
      `eval: ${r.overlapping.length} benchmark items occur in the training text ` +
        `(${r.overlapping.slice(0, 3).join(", ")}); rebuild them from held-out data`,
    );
  }
}
