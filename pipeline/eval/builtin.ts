// Our two built-in benchmarks for a set of models, as the eval run builds them: wordnet-def
// (eval half of the lemma partition, distractors matched on the first model's tokenizer and the
// training text's word counts) and cloze (held-out documents), both built so every item fits
// every model's context whole; what was skipped is counted, one note per benchmark.

import type { BuiltItems } from "./items.ts";
import type { TextCodec } from "./model.ts";
import { buildClozeBench, type ClozeDoc, type TrainIndex } from "./cloze.ts";
import { buildDefinitionBench, type Synset, wordCounts } from "./wordnet.ts";
import { fitsAll } from "./fit.ts";

export interface BuiltinInput {
  synsets: Synset[];
  models: { codec: TextCodec; context: number }[];
  /** Held-out documents for cloze (none: no cloze benchmark). */
  clozeDocs: ClozeDoc[];
  trainText?: TrainIndex;
  n: number;
  seed?: number;
  /** the generative protocol's token budget the items must leave room for */
  genTokens?: number;
}

/** One note on a built-in benchmark: items built of asked, and why candidates were skipped. */
export function builtNote(name: string, b: BuiltItems, context: number): string {
  const why = Object.entries(b.skipped).map(([k, v]) => `${v} ${k}`).join(", ");
  return `${name}: built ${b.items.length} of ${b.wanted} items for a ${context}-token context` +
    (why ? `; candidates skipped: ${why}` : "; no candidate skipped") + ".";
}

/** The built-in benchmarks by name, each with its build note. */
export function buildBuiltins(
  inp: BuiltinInput,
): { name: string; built: BuiltItems; note: string }[] {
  const { models, trainText, n } = inp;
  if (!models.length) throw new Error("eval: built-in benchmarks need at least one model");
  const seed = inp.seed ?? 42;
  const fits = fitsAll(models, inp.genTokens);
  const context = Math.min(...models.map((m) => m.context));
  const out: [string, BuiltItems][] = [[
    "wordnet-def",
    buildDefinitionBench(inp.synsets, {
      n,
      seed,
      trainText,
      fits,
      counts: trainText ? wordCounts(trainText.text) : undefined,
      tokenLength: (s) => models[0].codec.encode(s).length,
    }),
  ]];
  if (inp.clozeDocs.length) {
    out.push(["cloze", buildClozeBench(inp.clozeDocs, { n, seed, trainText, fits })]);
  }
  return out.map(([name, built]) => ({ name, built, note: builtNote(name, built, context) }));
}
