// The training mix's instruction-formatted multiple-choice share: items in exactly the eval's
// generative prompt format with the answer letter after "Answer:", so a model learns the answer
// format the paper's protocol reads (the paper's training mix had ~10% such QA). Built only
// from the training side of every split, so no benchmark item, word or answer occurs in it:
// WordNet definition items from the "train" half of the lemma partition (the benchmark uses
// the "eval" half, pipeline/eval/wordnet.ts) and cloze items from training documents (the
// benchmark uses validation documents). Answer letters are balanced.

import { LETTERS, type McItem } from "../eval/items.ts";
import { buildClozeBench } from "../eval/cloze.ts";
import { formatMcPrompt } from "../eval/prompts.ts";
import { buildDefinitionBench, type Synset, wordCounts } from "../eval/wordnet.ts";
import { seededRandom, shuffled } from "../../core/rng.ts";
import { unitHash } from "./split.ts";
import type { Doc } from "./sources.ts";

/** Source name of the mix's documents (train.txt) and of its record in sources.json. */
export const MC_SOURCE = "mc-mix";

/**
 * One item as training text: `Question: {q}\nOptions: A) {a} B) {b} ...\nAnswer: {X}`, the
 * eval's generative prompt (options on one line, as the author's MMLU benchmarking formats
 * them) followed by a space and the answer letter.
 */
export function mcTrainingText(it: McItem): string {
  return `${formatMcPrompt(it.question, it.choices)} ${LETTERS[it.answer]}`;
}

export interface McMix {
  /** One document per item, in seeded order. */
  docs: Doc[];
  wordnetItems: number;
  clozeItems: number;
  /** Characters of the mix (code points of the items' text). */
  chars: number;
  /** Characters the share asked for. */
  targetChars: number;
}

const chars = (s: string) => [...s].length;

/** Items in order until `budget` characters are reached. */
function takeChars(items: McItem[], budget: number): string[] {
  const out: string[] = [];
  let n = 0;
  for (const it of items) {
    if (n >= budget) break;
    const t = mcTrainingText(it);
    out.push(t);
    n += chars(t);
  }
  return out;
}

/**
 * The multiple-choice documents that make `share` (0..<1) of the training characters once
 * added to `train` (natural training documents): half WordNet definition items (train half),
 * half cloze items from the training documents themselves. Deterministic for a seed.
 */
export function buildMcMix(train: Doc[], synsets: Synset[], share: number, seed: number): McMix {
  if (!(share >= 0 && share < 1)) {
    throw new Error(`data.mcShare ${share}: must be in [0, 1) (e.g. 0.1 for a 10% share)`);
  }
  const natural = train.reduce((n, d) => n + chars(d.text), 0);
  const targetChars = Math.round((share / (1 - share)) * natural);
  if (targetChars === 0) return { docs: [], wordnetItems: 0, clozeItems: 0, chars: 0, targetChars };
  const half = targetChars / 2;
  const counts = wordCounts(train.map((d) => d.text).join("\n"));
  const wordnet = buildDefinitionBench(synsets, {
    n: Math.ceil(half / 80),
    seed,
    half: "train",
    counts,
  });
  // cloze spots from a seeded sample of the training documents, large enough for the items
  const nCloze = Math.ceil(half / 120);
  const sample: Doc[] = [];
  let sampled = 0;
  const order = [...train].sort((a, b) =>
    unitHash(`mc:${seed}:${a.source}:${a.id}`) - unitHash(`mc:${seed}:${b.source}:${b.id}`)
  );
  for (const d of order) {
    if (sampled >= Math.max(200_000, 800 * nCloze)) break;
    sample.push(d);
    sampled += d.text.length;
  }
  const cloze = buildClozeBench(sample.map((d) => ({ text: d.text, group: d.source })), {
    n: nCloze,
    seed: seed + 1,
    contextChars: 100,
  });
  const fromWordnet = takeChars(wordnet.items, half);
  const texts = [...fromWordnet, ...takeChars(cloze.items, half)];
  const docs = shuffled(texts, seededRandom(seed)).map((text, k) => ({
    source: MC_SOURCE,
    id: `${MC_SOURCE}#${k}`,
    text,
  }));
  return {
    docs,
    wordnetItems: fromWordnet.length,
    clozeItems: texts.length - fromWordnet.length,
    chars: texts.reduce((n, t) => n + chars(t), 0),
    targetChars,
  };
}
