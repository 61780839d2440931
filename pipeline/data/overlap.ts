// Keeps benchmark items out of the training text: the configured benchmark files are loaded
// with pipeline/eval's loaders, and every training document that contains an item's text
// (question with its answer, whitespace-normalised) is dropped before training.

import { loadBench } from "../eval/loaders.ts";
import { itemKey } from "../eval/items.ts";
import { makeTrainIndex, occursIn } from "../eval/cloze.ts";
import type { Doc } from "./sources.ts";

const norm = (s: string) => s.replace(/\s+/g, " ").trim();

/** The overlap keys of every item of the given benchmark specs ("mmlu:path", "arc:path"...). */
export async function benchmarkKeys(specs: string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const spec of specs) keys.push(...(await loadBench(spec)).items.map(itemKey));
  return keys;
}

/** Drop the training documents that contain any key; returns the kept ones and the count. */
export function dropOverlapping(train: Doc[], keys: string[]): { kept: Doc[]; dropped: number } {
  if (!keys.length || !train.length) return { kept: train, dropped: 0 };
  const index = makeTrainIndex(train.map((d) => d.text).join("\n\n"));
  const hits = keys.filter((k) => occursIn(index, k)).map(norm);
  if (!hits.length) return { kept: train, dropped: 0 };
  const kept = train.filter((d) => {
    const t = norm(d.text);
    return !hits.some((k) => t.includes(k));
  });
  return { kept, dropped: train.length - kept.length };
}
