// One evaluation run end to end, shared by `deno task eval` and the pipeline's eval stage:
// load checkpoints and benchmarks, build our own benchmarks (WordNet definitions, cloze from
// held-out text, fitting every model's context; builtin.ts) while checking they never occur in
// the training text, measure every benchmark's question-blind baselines, evaluate every model,
// then write report.md and, last, results.json into the output folder (each via a temporary
// file and a rename, so a failed run leaves no partial results).

import { dirname, join } from "node:path";
import { writeFileAtomic } from "../../core/safetensors.ts";
import { countParams } from "../../core/gpt.ts";
import type { CheckpointModel } from "./checkpoint.ts";
import { type EvalModelOptions, loadEvalModel } from "../merge/load.ts";
import { type ClozeDoc, makeTrainIndex, overlapReport } from "./cloze.ts";
import { evaluateModel, type ModelResult, type Protocol } from "./evaluate.ts";
import type { Bench } from "./items.ts";
import { loadBench, readText } from "./loaders.ts";
import type { TextCodec } from "./model.ts";
import { seededRandom, shuffled } from "../../core/rng.ts";
import { loadTrainLog, type LogRow, writeReport } from "./report.ts";
import { loadWordnet, synonymPairs, WORDNET_DIR } from "./wordnet.ts";
import { buildBuiltins } from "./builtin.ts";
import { type BlindBaselines, blindBaselines, fitUnigram } from "./baselines.ts";

export interface RunEvalOptions {
  checkpoints: string[];
  /** "mmlu:<path>", "arc:<path>", "jsonl:<path>" */
  benches?: string[];
  out: string;
  name?: string;
  /** Held-out text files (.txt: documents separated by a blank line; .jsonl: {text}). */
  heldOut?: string[];
  /**
   * Held-out files the cloze benchmark is built from (default: heldOut); a .jsonl file's
   * "source" field keeps each item's distractors in the answer's source (language).
   */
  clozeFrom?: string[];
  /** Training text files: built-in items are kept out of them, every bench is checked. */
  trainText?: string[];
  /** Build the WordNet and cloze benchmarks (default true). */
  builtin?: boolean;
  items?: number;
  /** Use at most this many items of each benchmark (0 = all). */
  limit?: number;
  /** Synonym pairs for the probe (0 = no probe). */
  probe?: number;
  protocols?: Protocol[];
  /** Few-shot examples from each benchmark's dev split (0 = zero-shot, the default). */
  shots?: number;
  /** Most tokens the generative protocol generates looking for the letter (default 3). */
  genTokens?: number;
  /** The paper variant's sampled runs (default 10) and temperature (default 1). */
  paperRuns?: number;
  paperTemperature?: number;
  atlas?: string;
  seed?: number;
  wordnetDir?: string;
  tokenBudget?: number;
  /** How "a,b" checkpoints are merged (weights, mode, the trainable-embedding control). */
  merge?: EvalModelOptions;
  /** Replace every checkpoint's tokenizer (tests). */
  codec?: TextCodec;
  log?: (line: string) => void;
}

/** Documents of a held-out / training text file. */
export async function readDocs(path: string): Promise<string[]> {
  const text = await readText(path);
  if (!path.endsWith(".jsonl")) return text.split(/\n\s*\n/).filter((d) => d.trim() !== "");
  return text.split("\n").filter((l) => l.trim()).map((l, i) => {
    try {
      const o = JSON.parse(l);
      if (typeof o.text === "string") return o.text;
    } catch { /* fall through */ }
    throw new Error(`eval: ${path}:${i + 1}: expected a JSON object with a "text" string`);
  });
}

/** Documents of a held-out file with their group: a .jsonl line's "source", when it has one. */
export async function readGroupedDocs(path: string): Promise<ClozeDoc[]> {
  if (!path.endsWith(".jsonl")) return await readDocs(path);
  const texts = await readDocs(path);
  const lines = (await readText(path)).split("\n").filter((l) => l.trim());
  return texts.map((text, i) => {
    const source = JSON.parse(lines[i]).source;
    return typeof source === "string" ? { text, group: source } : text;
  });
}

/** At most `n` items drawn without replacement by `seed`, kept in their original order. */
export function seededSubset<T>(items: readonly T[], n: number, seed: number): T[] {
  if (items.length <= n) return items.slice();
  const keep = shuffled(items.map((_, i) => i), seededRandom(seed)).slice(0, n);
  return keep.sort((a, b) => a - b).map((i) => items[i]);
}

async function findLog(dir: string): Promise<string | undefined> {
  for (const p of ["log.jsonl", "train_log.jsonl", "../log.jsonl", "../train_log.jsonl"]) {
    try {
      if ((await Deno.stat(join(dir, p))).isFile) return join(dir, p);
    } catch { /* next */ }
  }
  return undefined;
}

export async function runEval(opts: RunEvalOptions): Promise<{
  results: ModelResult[];
  reportPath: string;
  resultsPath: string;
}> {
  const log = opts.log ?? console.log;
  const seed = opts.seed ?? 0;
  if (opts.checkpoints.length === 0) throw new Error("eval: no --checkpoint given");
  const benches: Bench[] = [];
  for (const spec of opts.benches ?? []) {
    const b = await loadBench(spec); // a benchmark with no usable item is an error there
    const taken = (name: string) => benches.some((x) => x.name === name);
    for (let k = 2; taken(b.name); k++) b.name = `${b.name.replace(/-\d+$/, "")}-${k}`;
    benches.push(b);
  }
  const models: CheckpointModel[] = [];
  for (const dir of opts.checkpoints) {
    // a folder, or a merge of several ("a,b" / merge.json; pipeline/merge)
    models.push(
      await loadEvalModel(dir, {
        ...opts.merge,
        codec: opts.codec,
        tokenBudget: opts.tokenBudget,
        log,
      }),
    );
  }
  const heldOut = (await Promise.all((opts.heldOut ?? []).map(readDocs))).flat();
  const trainText = opts.trainText?.length
    ? makeTrainIndex((await Promise.all(opts.trainText.map((p) => readText(p)))).join("\n\n"))
    : undefined;
  const notes: string[] = [];
  // built-in benchmarks are built at the scored size, so their answer letters stay balanced
  const n = opts.limit ? Math.min(opts.items ?? 1000, opts.limit) : opts.items ?? 1000;
  let pairs;
  if (opts.builtin !== false || (opts.probe ?? 200) > 0) {
    const synsets = await loadWordnet(opts.wordnetDir ?? WORDNET_DIR);
    if (opts.builtin !== false) {
      const clozeDocs = opts.clozeFrom?.length
        ? (await Promise.all(opts.clozeFrom.map(readGroupedDocs))).flat()
        : heldOut;
      if (!clozeDocs.length) {
        notes.push("No --heldout text: cloze benchmark and LM metrics skipped.");
      }
      const builtFor = models.map((m) => ({ codec: m.codec, context: m.model.context }));
      for (
        const b of buildBuiltins({
          synsets,
          models: builtFor,
          clozeDocs,
          trainText,
          n,
          genTokens: opts.genTokens,
        })
      ) {
        notes.push(b.note);
        if (b.built.items.length) {
          benches.push({ name: b.name, items: b.built.items, problems: [] });
        }
      }
    }
    if ((opts.probe ?? 200) > 0) pairs = synonymPairs(synsets, { n: opts.probe ?? 200, seed: 7 });
  }
  if (opts.limit) {
    for (const b of benches) {
      if (b.items.length <= opts.limit) continue;
      const total = b.items.length;
      b.items = seededSubset(b.items, opts.limit, seed);
      notes.push(
        `${b.name}: scored a seeded subset of ${b.items.length} of its ${total} items ` +
          `(limit ${opts.limit}, seed ${seed}).`,
      );
    }
  }
  if (trainText !== undefined) {
    for (const b of benches) {
      const r = overlapReport(b.items, trainText);
      notes.push(
        `Overlap check of ${b.name} against the training text: ` +
          `${r.overlapping.length} of ${r.checked} items occur verbatim` +
          (r.overlapping.length ? ` (e.g. ${r.overlapping.slice(0, 3).join(", ")})` : "") + ".",
      );
    }
  } else notes.push("No --train-text given: benchmark overlap with training data not checked.");
  const shots = opts.shots ?? 0;
  if (!(Number.isInteger(shots) && shots >= 0)) {
    throw new Error(`eval: --shots must be a whole number >= 0, got ${shots}`);
  }
  if (shots > 0) {
    for (const b of benches) {
      if (!b.dev) {
        notes.push(`${b.name}: no dev split, so it was scored zero-shot (--shots ${shots}).`);
        continue;
      }
      const lacking = [...new Set(b.items.map((it) => it.subject ?? "unknown"))]
        .filter((s) => (b.dev![s]?.length ?? 0) < shots);
      if (lacking.length) {
        notes.push(
          `${b.name}: fewer than ${shots} dev examples for ${lacking.slice(0, 5).join(", ")}` +
            `${lacking.length > 5 ? ` and ${lacking.length - 5} more subjects` : ""}.`,
        );
      }
    }
  }
  const unigram = trainText ? fitUnigram(models[0].codec.encode(trainText.text)) : undefined;
  const baselines: BlindBaselines[] = benches.map((b) =>
    blindBaselines(
      b.name,
      b.items,
      unigram && { encode: (s) => models[0].codec.encode(s), unigram },
    )
  );
  const problems = benches.flatMap((b) => b.problems);
  for (const p of problems.slice(0, 10)) log(`warning: ${p}`);
  if (problems.length > 10) log(`warning: ... ${problems.length - 10} more malformed rows`);

  const results: ModelResult[] = [];
  for (const m of models) {
    const { total, trainable } = countParams(m.cfg);
    results.push(
      await evaluateModel({
        name: m.name,
        model: m.model,
        codec: m.codec,
        hidden: m.hidden,
        dModel: m.cfg.dModel,
        info: {
          embedding: m.cfg.embedding,
          params: total,
          "trainable params": trainable,
          "d_model x layers": `${m.cfg.dModel} x ${m.cfg.layers}`,
          context: m.cfg.context,
          vocab: m.cfg.vocab,
          dir: m.dir,
        },
      }, {
        benches,
        heldOut: heldOut.length ? heldOut : undefined,
        probePairs: pairs,
        protocols: opts.protocols,
        shots,
        genTokens: opts.genTokens,
        paperRuns: opts.paperRuns,
        paperTemperature: opts.paperTemperature,
        seed,
        log,
      }),
    );
  }
  const logs: { name: string; rows: LogRow[] }[] = [];
  for (const m of models) {
    const path = await findLog(m.dir);
    if (!path) continue;
    const l = await loadTrainLog(path);
    problems.push(...l.problems);
    logs.push({ name: m.name, rows: l.rows });
  }
  await Deno.mkdir(opts.out, { recursive: true });
  const resultsPath = join(opts.out, "results.json");
  const reportPath = await writeReport({
    name: opts.name ?? dirname(join(opts.out, "x")).split("/").pop()!,
    outDir: opts.out,
    results,
    logs,
    atlas: opts.atlas,
    baselines,
    problems,
    notes,
    seed,
  });
  const settings = { seed, shots, protocols: opts.protocols ?? null, limit: opts.limit ?? 0 };
  await writeFileAtomic(
    resultsPath,
    JSON.stringify({ settings, results, baselines, notes, problems }, null, 1),
  );
  return { results, reportPath, resultsPath };
}
