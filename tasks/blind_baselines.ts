// `deno run -A tasks/blind_baselines.ts runs/<run> [--context 128] [--items 1000] [--limit 250]`:
// builds the built-in benchmarks (wordnet-def, cloze) from a run's data and tokenizer as its
// eval stage would for one model of that context, and prints, per benchmark, the items built
// and skipped, how many would be cut (none), and the question-blind baselines. Needs no trained
// model: it measures the benchmarks' construction.

import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadTokenizer } from "../pipeline/tokenizer/io.ts";
import { encode } from "../pipeline/tokenizer/mod.ts";
import { loadWordnet } from "../pipeline/eval/wordnet.ts";
import { makeTrainIndex } from "../pipeline/eval/cloze.ts";
import { readGroupedDocs } from "../pipeline/eval/run.ts";
import { buildBuiltins } from "../pipeline/eval/builtin.ts";
import { promptFits } from "../pipeline/eval/fit.ts";
import { blindBaselines, fitUnigram } from "../pipeline/eval/baselines.ts";
import { readText } from "../pipeline/eval/loaders.ts";

const { values: a, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    context: { type: "string", default: "128" },
    items: { type: "string", default: "1000" },
    limit: { type: "string", default: "250" },
  },
});
const run = positionals[0];
if (!run) {
  throw new Error(
    "usage: deno run -A tasks/blind_baselines.ts runs/<run> (run its tokenize stage)",
  );
}
const tok = await loadTokenizer(join(run, "tokenize/tokenizer.json"));
const codec = { encode: (s: string) => encode(tok, s), decode: () => "" };
const context = Number(a.context), limit = Number(a.limit);
const trainText = makeTrainIndex(await readText(join(run, "data/train.txt")));
const unigram = fitUnigram(codec.encode(trainText.text));
const built = buildBuiltins({
  synsets: await loadWordnet(),
  models: [{ codec, context }],
  clozeDocs: await readGroupedDocs(join(run, "data/val.jsonl")),
  trainText,
  n: limit ? Math.min(Number(a.items), limit) : Number(a.items),
});
for (const { name, built: b, note } of built) {
  const items = b.items;
  const cut = items.filter((it) => !promptFits(it, codec, context)).length;
  const base = blindBaselines(name, items, { encode: codec.encode, unigram });
  const pct = (x = NaN) => `${(100 * x).toFixed(1)}%`;
  console.log(note);
  console.log(
    `${name}: ${items.length} scored, ${cut} cut; always shortest ${pct(base.shortest)}, ` +
      `always longest ${pct(base.longest)}, most frequent letter ${pct(base.topLetter)}, ` +
      `unigram LM ${pct(base.unigram)} (chance ${pct(base.chance)})`,
  );
}
