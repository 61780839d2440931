// Our own benchmark from WordNet (real data nobody here wrote), built deterministically:
// definition -> word items (the gloss is the question; the word and three distractors of the
// same part of speech are the options) and synonym pairs for the semantic probe. Reads the
// Princeton data files /usr/share/wordnet/data.{noun,verb,adj,adv}.

import { join } from "node:path";
import { readText } from "./loaders.ts";
import { randInt, seededRandom, shuffled } from "./rng.ts";
import type { McItem } from "./items.ts";
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

/** The word must not give itself away: no 4-letter stem of it appears in the definition. */
function hidden(word: string, definition: string): boolean {
  return !definition.toLowerCase().includes(word.slice(0, Math.min(4, word.length)));
}

export interface WordnetItemOptions {
  n?: number;
  seed?: number;
  /** Share of items per part of speech (normalised). */
  mix?: Record<Pos, number>;
  /** Synsets whose definition occurs in this text are skipped (held out from training). */
  trainText?: string | TrainIndex;
}

/** Definition -> word items, deterministic for a given seed and WordNet version. */
export function buildDefinitionItems(synsets: Synset[], opts: WordnetItemOptions = {}): McItem[] {
  const n = opts.n ?? 1000;
  const mix = opts.mix ?? { noun: 0.5, verb: 0.2, adj: 0.2, adv: 0.1 };
  const total = POS_LIST.reduce((s, p) => s + mix[p], 0);
  const rand = seededRandom(opts.seed ?? 42);
  const train = opts.trainText === undefined ? undefined : asIndex(opts.trainText);
  const items: McItem[] = [];
  for (const [pi, pos] of POS_LIST.entries()) {
    const want = pi === POS_LIST.length - 1 ? n - items.length : Math.round((n * mix[pos]) / total);
    const ofPos = synsets.filter((s) => s.pos === pos);
    const pool = [...new Set(ofPos.flatMap((s) => s.words.filter(plainWord)))].sort();
    const cands = ofPos.filter((s) => {
      const w = s.words.find(plainWord);
      return w !== undefined && hidden(w, s.definition) &&
        s.definition.length >= 15 && s.definition.length <= 160;
    });
    if (cands.length < want || pool.length < 50) {
      throw new Error(
        `eval: WordNet has only ${cands.length} usable ${pos} synsets for ${want} items`,
      );
    }
    let made = 0;
    for (const s of shuffled(cands, rand)) {
      if (made === want) break;
      if (train !== undefined && occursIn(train, s.definition)) continue;
      made++;
      const word = s.words.find(plainWord)!;
      const distractors = new Set<string>();
      while (distractors.size < 3) {
        const d = pool[randInt(rand, pool.length)];
        if (!s.words.includes(d) && hidden(d, s.definition)) distractors.add(d);
      }
      const choices = [...distractors];
      const answer = randInt(rand, 4);
      choices.splice(answer, 0, word);
      items.push({
        id: `wordnet/${pos}/${s.offset}`,
        question: `Which word means "${s.definition}"?`,
        choices,
        answer,
        subject: pos,
        source: `data.${pos}:${s.line}`,
        key: s.definition,
      });
    }
    if (made < want) {
      throw new Error(`eval: only ${made} of ${want} ${pos} items are absent from the train text`);
    }
  }
  return items;
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
