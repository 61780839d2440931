// Our own benchmark from WordNet (real data nobody here wrote), built deterministically:
// definition -> word items (the gloss is the question; the word and three distractors of the
// same part of speech, length in characters and tokens, and frequency band are the options)
// and synonym pairs for the semantic probe. Lemmas are partitioned by hash into a "train" half
// (the training mix's items, pipeline/data/mc_mix.ts) and an "eval" half (the benchmark), so
// no benchmark word or definition is ever a training-mix item. Reads the Princeton data files
// /usr/share/wordnet/data.{noun,verb,adj,adv}.

import { join } from "node:path";
import { readText } from "./loaders.ts";
import { blockBalanced, randInt, seededRandom, shuffled } from "../../core/rng.ts";
import { unitHash } from "../data/split.ts";
import type { BuiltItems, McItem } from "./items.ts";
import { asIndex, occursIn, type TrainIndex } from "./cloze.ts";

export const WORDNET_DIR = "/usr/share/wordnet";
export type Pos = "noun" | "verb" | "adj" | "adv";
export const POS_LIST: Pos[] = ["noun", "verb", "adj", "adv"];

export interface Synset {
  pos: Pos;
  offset: string;
  words: string[];
  /** Definition part of the gloss (examples in quotes removed). */
  definition: string;
  line: number;
}

/** Parse one data.<pos> file's text. Lines that start with two spaces are the licence. */
export function parseWordnetData(text: string, pos: Pos, file = `data.${pos}`): Synset[] {
  const out: Synset[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "" || line.startsWith("  ")) continue;
    const bar = line.indexOf(" | ");
    const f = (bar < 0 ? line : line.slice(0, bar)).split(" ");
    const wCnt = parseInt(f[3], 16);
    if (bar < 0 || !/^\d{8}$/.test(f[0]) || !(wCnt > 0)) {
      throw new Error(`${file}:${i + 1}: not a WordNet synset line; is this a WordNet data file?`);
    }
    const words: string[] = [];
    for (let k = 0; k < wCnt; k++) {
      words.push(f[4 + 2 * k].replace(/\(\w+\)$/, "").replace(/_/g, " "));
    }
    const gloss = line.slice(bar + 3).trim();
    const definition = gloss.split(/;\s*"/)[0].replace(/;\s*$/, "").trim();
    out.push({ pos, offset: f[0], words, definition, line: i + 1 });
  }
  return out;
}

export async function loadWordnet(dir = WORDNET_DIR): Promise<Synset[]> {
  const all: Synset[] = [];
  for (const pos of POS_LIST) {
    const path = join(dir, `data.${pos}`);
    all.push(...parseWordnetData(await readText(path), pos, path));
  }
  return all;
}

/** A word usable as an option: one lowercase ASCII word of 3..14 letters. */
export function plainWord(w: string): boolean {
  return /^[a-z]{3,14}$/.test(w);
}

/** The question an item asks about a definition. */
export const definitionQuestion = (definition: string) => `Which word means "${definition}"?`;

/** The word must not give itself away: no 4-letter stem of it appears in the question. */
function hidden(word: string, definition: string): boolean {
  const q = definitionQuestion(definition).toLowerCase();
  return !q.includes(word.slice(0, Math.min(4, word.length)));
}

/** The two halves of the lemma partition: training-mix items use one, benchmark items the other. */
export type Half = "train" | "eval";

/** The half a lemma belongs to, by a fixed hash of its lowercase form (exactly one half). */
export function lemmaHalf(lemma: string): Half {
  return unitHash(`wordnet-half:${lemma.toLowerCase()}`) < 0.5 ? "train" : "eval";
}

/** The half all of a synset's lemmas share, or null when they fall into both halves. */
export function synsetHalf(s: Synset): Half | null {
  const h = lemmaHalf(s.words[0]);
  return s.words.every((w) => lemmaHalf(w) === h) ? h : null;
}

/** Lowercase counts of the words (runs of a-z letters) of a text, for frequency matching. */
export function wordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of text.toLowerCase().matchAll(/[a-z]+/g)) {
    counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  return counts;
}

/** Frequency band of a count: floor(log2(1 + count)), so 0, 1, 2-3, 4-7, ... share a band. */
export function freqBand(count: number): number {
  return Math.floor(Math.log2(1 + count));
}

export interface WordnetItemOptions {
  n?: number;
  seed?: number;
  /** Share of items per part of speech (normalised). */
  mix?: Record<Pos, number>;
  /** Synsets whose definition occurs in this text are skipped (held out from training). */
  trainText?: string | TrainIndex;
  /** The half of the lemma partition the items come from (default "eval"; "all": no split). */
  half?: Half | "all";
  /** Word counts of the training text: distractors are taken from the answer's frequency band. */
  counts?: Map<string, number>;
  /** Tokens of " word" under the model's tokenizer: distractors have the answer's count. */
  tokenLength?: (s: string) => number;
  /** An item whose prompt does not fit the model's context is skipped and counted. */
  fits?: (it: McItem) => boolean;
}

/** Most frequency bands a distractor may be away from the answer. */
const MAX_BAND_GAP = 1;

/**
 * Distractor picker for one part of speech: the plain words of the half, bucketed by length
 * in characters and in tokens, so a distractor has the answer's length in both; among them the
 * ones closest to the answer's frequency band (at most MAX_BAND_GAP away), ties in seeded order.
 */
function distractorPicker(
  pool: string[],
  opts: WordnetItemOptions,
  rand: () => number,
): (word: string, s: Synset) => string[] | null {
  const toks = opts.tokenLength ?? (() => 0);
  const band = (w: string) => freqBand(opts.counts?.get(w) ?? 0);
  const key = (w: string) => `${w.length}|${toks(" " + w)}`;
  const buckets = new Map<string, string[]>();
  for (const w of pool) {
    const k = key(w);
    if (!buckets.has(k)) buckets.set(k, []);
    buckets.get(k)!.push(w);
  }
  return (word, s) => {
    const b = band(word);
    const cands = shuffled(buckets.get(key(word)) ?? [], rand)
      .filter((d) => !s.words.includes(d) && hidden(d, s.definition))
      .map((d) => ({ d, gap: Math.abs(band(d) - b) }))
      .filter((c) => c.gap <= MAX_BAND_GAP)
      .sort((x, y) => x.gap - y.gap);
    return cands.length >= 3 ? cands.slice(0, 3).map((c) => c.d) : null;
  };
}

/**
 * Definition -> word items from one half of the lemma partition, deterministic for a seed and
 * WordNet version: the answer is the synset's first plain word, the three distractors plain
 * words of the same half and part of speech with the answer's length (characters and tokens)
 * and frequency band; answer letters are balanced. Never throws for a shortage: the caller
 * sees how many items it got and what was skipped.
 */
export function buildDefinitionBench(synsets: Synset[], opts: WordnetItemOptions = {}): BuiltItems {
  const n = opts.n ?? 1000;
  const mix = opts.mix ?? { noun: 0.5, verb: 0.2, adj: 0.2, adv: 0.1 };
  const half = opts.half ?? "eval";
  const total = POS_LIST.reduce((s, p) => s + mix[p], 0);
  const rand = seededRandom(opts.seed ?? 42);
  const letter = blockBalanced(rand, 4);
  const train = opts.trainText === undefined ? undefined : asIndex(opts.trainText);
  const inHalf = (w: string) => half === "all" || lemmaHalf(w) === half;
  const defCount = new Map<string, number>();
  for (const s of synsets) defCount.set(s.definition, (defCount.get(s.definition) ?? 0) + 1);
  const items: McItem[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string) => (skipped[why] = (skipped[why] ?? 0) + 1);
  for (const [pi, pos] of POS_LIST.entries()) {
    const want = pi === POS_LIST.length - 1 ? n - items.length : Math.round((n * mix[pos]) / total);
    const ofPos = synsets.filter((s) => s.pos === pos);
    const pool = [
      ...new Set(ofPos.flatMap((s) => s.words.filter((w) => plainWord(w) && inHalf(w)))),
    ]
      .sort();
    const pick = distractorPicker(pool, opts, rand);
    const cands = ofPos.filter((s) => {
      const w = s.words.find(plainWord);
      return w !== undefined && (half === "all" || synsetHalf(s) === half) &&
        hidden(w, s.definition) && defCount.get(s.definition) === 1 &&
        s.definition.length >= 15 && s.definition.length <= 160;
    });
    let made = 0;
    for (const s of shuffled(cands, rand)) {
      if (made === want) break;
      if (train !== undefined && occursIn(train, s.definition)) {
        skip("definition occurs in the training text");
        continue;
      }
      const word = s.words.find(plainWord)!;
      const choices = pick(word, s);
      if (!choices) {
        skip("no distractors matching length, tokens and frequency");
        continue;
      }
      const item: McItem = {
        id: `wordnet/${pos}/${s.offset}`,
        question: definitionQuestion(s.definition),
        choices,
        answer: 0,
        subject: pos,
        source: `data.${pos}:${s.line}`,
        key: s.definition,
      };
      if (opts.fits && !opts.fits({ ...item, choices: [word, ...choices] })) {
        skip("prompt does not fit the context");
        continue;
      }
      item.answer = letter();
      choices.splice(item.answer, 0, word);
      items.push(item);
      made++;
    }
  }
  return { items, wanted: n, skipped };
}

/** buildDefinitionBench that throws one line when fewer than `n` items could be built. */
export function buildDefinitionItems(synsets: Synset[], opts: WordnetItemOptions = {}): McItem[] {
  const b = buildDefinitionBench(synsets, opts);
  if (b.items.length < b.wanted) {
    const why = Object.entries(b.skipped).map(([k, v]) => `${v} ${k}`).join(", ");
    throw new Error(
      `eval: only ${b.items.length} of ${b.wanted} WordNet items` +
        (why ? ` (skipped: ${why})` : "") + "; ask for fewer items",
    );
  }
  return b.items;
}

/** Synonym pairs (two plain words of one synset) and as many random pairs of plain words. */
export function synonymPairs(
  synsets: Synset[],
  opts: { n?: number; seed?: number } = {},
): { synonyms: [string, string][]; random: [string, string][] } {
  const n = opts.n ?? 500;
  const rand = seededRandom(opts.seed ?? 7);
  const cands: [string, string][] = [];
  for (const s of synsets) {
    const ws = [...new Set(s.words.filter(plainWord))];
    if (ws.length >= 2 && !ws[0].includes(ws[1]) && !ws[1].includes(ws[0])) {
      cands.push([ws[0], ws[1]]);
    }
  }
  const synonyms = shuffled(cands, rand).slice(0, n);
  const words = [...new Set(synonyms.flat())].sort();
  const random: [string, string][] = [];
  while (random.length < synonyms.length) {
    const a = words[randInt(rand, words.length)];
    const b = words[randInt(rand, words.length)];
    if (a !== b) random.push([a, b]);
  }
  return { synonyms, random };
}
