// Cloze items from held-out text (choose the true continuation among four), built
// deterministically, and the check that no benchmark item occurs in the training text.
// A position is a space inside a document; the context is up to `contextChars` of preceding
// text (cut at a word start, and shorter where needed so the prompt fits the model's context),
// the answer the next `contWords` words; distractors are continuations of the same word count
// from other positions of the same source and script, close to the answer in length. Given
// the training text, an item whose key or any sentence occurs in it is skipped and counted.

import { blockBalanced, randInt, seededRandom, shuffled } from "../../core/rng.ts";
import { type BuiltItems, itemKey, type McItem } from "./items.ts";

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
  /**
   * Whether an item's prompt fits the model's context. A context that does not fit is cut at a
   * word start from the left until it does; below minContextChars the item is skipped, counted.
   */
  fits?: (it: McItem) => boolean;
}

/** A held-out document, optionally with its group (source, i.e. language); default: script. */
export type ClozeDoc = string | { text: string; group?: string };

const norm = (s: string) => s.replace(/\s+/g, " ").trim();

const SCRIPTS = [
  "Latin",
  "Greek",
  "Cyrillic",
  "Hebrew",
  "Arabic",
  "Han",
  "Hiragana",
  "Katakana",
  "Hangul",
  "Devanagari",
  "Thai",
  "Armenian",
  "Georgian",
].map((name) => ({ name, re: new RegExp(`\\p{Script=${name}}`, "u") }));

/** The script most of a text's letters are written in ("none" without letters). */
export function dominantScript(text: string): string {
  const counts = new Map<string, number>();
  for (const ch of text) {
    if (!/\p{L}/u.test(ch)) continue;
    const name = SCRIPTS.find((s) => s.re.test(ch))?.name ?? "Other";
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  let best = "none", n = 0;
  for (const [k, v] of counts) if (v > n) [best, n] = [k, v];
  return best;
}

interface Spot {
  doc: number;
  group: string;
  pos: number;
  context: string;
  cont: string;
}

type SpotOptions = Required<Omit<ClozeOptions, "trainText" | "fits">>;

function spotsOf(doc: string, d: number, group: string, o: SpotOptions): Spot[] {
  const text = norm(doc);
  const out: Spot[] = [];
  for (let p = text.indexOf(" ", o.minContextChars); p >= 0; p = text.indexOf(" ", p + 1)) {
    const words = text.slice(p + 1).split(" ", o.contWords);
    if (words.length < o.contWords || words.some((w) => w === "")) break;
    let from = Math.max(0, p - o.contextChars);
    if (from > 0) from = text.indexOf(" ", from) + 1;
    const context = text.slice(from, p);
    if (context.length < o.minContextChars) continue;
    out.push({ doc: d, group, pos: p, context, cont: words.join(" ") });
  }
  return out;
}

/** Shortest sentence (characters) the "no shared sentence" check looks for. */
export const MIN_SENTENCE_CHARS = 40;

/** The sentences (split after . ; : ! ? and their CJK forms) of at least MIN_SENTENCE_CHARS. */
export function sentencesOf(text: string): string[] {
  return text.split(/(?<=[.;:!?\u3002\uff01\uff1f\uff1b])\s*/)
    .map((x) => x.trim()).filter((x) => x.length >= MIN_SENTENCE_CHARS);
}

/** Distractor candidates drawn per item; the three closest in length to the answer are kept. */
const DRAWS = 24;

function clozeItem(context: string, choices: string[], answer: number, doc: number): McItem {
  return {
    id: "",
    question: `Continue the text: "${context} ..."`,
    choices,
    answer,
    source: `held-out doc ${doc}`,
    key: `${context.slice(-48)} ${choices[answer]}`,
  };
}

/**
 * The spot's item with the longest context (cut from the left at word starts) that fits, or
 * null when even minContextChars of context does not fit.
 */
function fitted(s: Spot, choices: string[], opts: ClozeOptions, min: number): McItem | null {
  let ctx = s.context;
  for (;;) {
    const it = clozeItem(ctx, [s.cont, ...choices], 0, s.doc);
    if (!opts.fits || opts.fits(it)) return it;
    const cut = ctx.indexOf(" ", Math.max(1, Math.floor(ctx.length * 0.15)));
    if (cut < 0 || ctx.length - cut - 1 < min) return null;
    ctx = ctx.slice(cut + 1);
  }
}

/**
 * Four-option cloze items from held-out documents, deterministic for a seed. Distractors are
 * continuations of the same word count from far-away positions of documents of the same group
 * (source, so the same language) in the same script as the answer, the closest to the answer
 * in length; answer letters are balanced. Never throws for a shortage: the caller sees how
 * many items it got and what was skipped.
 */
export function buildClozeBench(heldOutDocs: ClozeDoc[], opts: ClozeOptions = {}): BuiltItems {
  const o = {
    n: opts.n ?? 1000,
    seed: opts.seed ?? 42,
    contextChars: opts.contextChars ?? 160,
    minContextChars: opts.minContextChars ?? 32,
    contWords: opts.contWords ?? 2,
  };
  const rand = seededRandom(o.seed);
  const letter = blockBalanced(rand, 4);
  const docs = heldOutDocs.map((d) => (typeof d === "string" ? { text: d } : d));
  const spots = docs.flatMap((d, i) => spotsOf(d.text, i, d.group ?? dominantScript(d.text), o));
  const byGroup = new Map<string, Spot[]>();
  for (const s of spots) {
    if (!byGroup.has(s.group)) byGroup.set(s.group, []);
    byGroup.get(s.group)!.push(s);
  }
  const scriptOf = new Map<string, string>();
  const script = (t: string) => scriptOf.get(t) ?? scriptOf.set(t, dominantScript(t)).get(t)!;
  const train = opts.trainText === undefined ? undefined : asIndex(opts.trainText);
  // Space positions apart so items do not share their text.
  const gap = Math.max(1, Math.floor(spots.length / (o.n * 3)));
  const picked = shuffled(spots.filter((_, i) => i % gap === 0), rand);
  const items: McItem[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string) => (skipped[why] = (skipped[why] ?? 0) + 1);
  const used = new Set<string>();
  for (const s of picked) {
    if (items.length >= o.n) break;
    const key = `${s.context.slice(-48)} ${s.cont}`;
    if (used.has(key)) continue;
    if (train !== undefined && occursIn(train, key)) {
      skip("text occurs in the training text");
      continue;
    }
    const same = byGroup.get(s.group)!;
    const want = script(s.cont);
    const cands = new Map<string, number>();
    for (let tries = 0; cands.size < DRAWS && tries < 4 * DRAWS; tries++) {
      const d = same[randInt(rand, same.length)];
      const far = d.doc !== s.doc || Math.abs(d.pos - s.pos) > 1000;
      if (far && d.cont !== s.cont && !s.context.endsWith(d.cont) && script(d.cont) === want) {
        cands.set(d.cont, Math.abs([...d.cont].length - [...s.cont].length));
      }
    }
    if (cands.size < 3) {
      skip("too few same-source, same-script distractors");
      continue;
    }
    const distractors = [...cands].sort((a, b) => a[1] - b[1]).slice(0, 3).map(([c]) => c);
    const it = fitted(s, distractors, opts, o.minContextChars);
    if (!it) {
      skip("prompt does not fit the context");
      continue;
    }
    const ctx = it.question.slice('Continue the text: "'.length, -' ..."'.length);
    if (train !== undefined && sentencesOf(`${ctx} ${s.cont}`).some((x) => occursIn(train, x))) {
      skip("a sentence occurs in the training text");
      continue;
    }
    used.add(key);
    const answer = letter();
    const choices = [...distractors];
    choices.splice(answer, 0, s.cont);
    items.push({ ...clozeItem(ctx, choices, answer, s.doc), id: `cloze/${items.length}` });
  }
  return { items, wanted: o.n, skipped };
}

/** buildClozeBench that throws one line when fewer than `n` items could be built. */
export function buildClozeItems(heldOutDocs: ClozeDoc[], opts: ClozeOptions = {}): McItem[] {
  const b = buildClozeBench(heldOutDocs, opts);
  if (b.items.length < b.wanted) {
    throw new Error(
      `eval: only ${b.items.length} of ${b.wanted} cloze items from ${heldOutDocs.length} docs; ` +
        "give more held-out text or ask for fewer items",
    );
  }
  return b.items;
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
