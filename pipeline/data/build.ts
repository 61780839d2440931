// The data stage: read the configured sources (or the user's corpus), clean every document to
// NFC, cap each source, split by document into train and validation (dropping validation
// documents whose text also occurs in train), add the multiple-choice share (mc_mix.ts) to the
// training text, and write data/{train.txt, val.txt, val.jsonl, mc_mix.txt, sources.json}.
// Returns what the run manifest records about each source.

import { join } from "node:path";
import { writeFileAtomic } from "../../core/safetensors.ts";
import { cleanText } from "./clean.ts";
import { readCorpusFile } from "./corpus.ts";
import { type Doc, findSource, packageVersion, sourceFiles } from "./sources.ts";
import { budget, splitDocs } from "./split.ts";
import { benchmarkKeys, dropOverlapping } from "./overlap.ts";
import { buildMcMix, MC_SOURCE } from "./mc_mix.ts";
import { loadWordnet, POS_LIST, WORDNET_DIR } from "../eval/wordnet.ts";

export interface DataParams {
  sources: string[];
  corpus: string[];
  maxCharsPerSource: number;
  valFraction: number;
  splitSeed: number;
  /** Benchmark specs ("mmlu:path", ...) whose items must not occur in the training text. */
  benchmarks?: string[];
  /** Share of the training characters given to multiple-choice items (mc_mix.ts); 0 = none. */
  mcShare?: number;
}

export interface SourceRecord {
  name: string;
  package: string | null;
  version: string | null;
  licence: string;
  lang: string;
  script: string;
  files: string[];
  trainDocs: number;
  valDocs: number;
  trainChars: number;
  valChars: number;
  /** Training documents dropped because they contain a benchmark item. */
  benchmarkOverlapDropped?: number;
  /** The multiple-choice mix only: items of each kind and the share asked for. */
  mcItems?: { wordnetDef: number; cloze: number; share: number };
}

/** Documents are joined with a blank line in train.txt / val.txt. */
export const DOC_SEPARATOR = "\n\n";

/** Every file the data stage reads, for the stage fingerprint. */
export async function dataSourceFiles(p: DataParams): Promise<string[]> {
  const out: string[] = await benchFiles(p.benchmarks ?? []);
  if (p.mcShare) out.push(...POS_LIST.map((pos) => join(WORDNET_DIR, `data.${pos}`)));
  if (p.corpus.length) return [...out, ...p.corpus];
  for (const name of p.sources) out.push(...await sourceFiles(findSource(name)));
  return out;
}

/** The files named by benchmark specs ("kind:path"); a folder (MMLU CSV) gives its files. */
async function benchFiles(specs: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string) => {
    const st = await Deno.stat(path).catch(() => null);
    if (!st) throw new Error(`eval.benchmarks: ${path} not found (check the path)`);
    if (!st.isDirectory) return void out.push(path);
    const names = [];
    for await (const e of Deno.readDir(path)) names.push(e.name);
    for (const n of names.sort()) await walk(join(path, n));
  };
  for (const s of specs) await walk(s.replace(/^[a-z]+:/, ""));
  return out;
}

interface Loaded {
  docs: Doc[];
  meta: Omit<SourceRecord, "trainDocs" | "valDocs" | "trainChars" | "valChars">;
}

async function loadAll(p: DataParams): Promise<Loaded[]> {
  if (p.corpus.length) {
    const out: Loaded[] = [];
    for (const f of p.corpus) {
      const docs = await readCorpusFile(f);
      out.push({
        docs,
        meta: {
          name: f.replace(/^.*\//, ""),
          package: null,
          version: null,
          licence: "user corpus (licence not recorded)",
          lang: "?",
          script: "?",
          files: [f],
        },
      });
    }
    return out;
  }
  const out: Loaded[] = [];
  for (const name of p.sources) {
    const src = findSource(name);
    const files = await sourceFiles(src);
    const version = await packageVersion(src.package);
    const docs = await src.read(files);
    if (!docs.length) throw new Error(`source ${name}: no text found in ${files.join(", ")}`);
    const { read: _r, filesFromPackage: _f, ...info } = src;
    out.push({ docs, meta: { ...info, files, version } });
  }
  return out;
}

/** Build the corpus into `outDir`; deterministic for the same inputs and parameters. */
export async function buildData(
  p: DataParams,
  outDir: string,
  log: (l: string) => void = () => {},
): Promise<{ sources: SourceRecord[] }> {
  await Deno.mkdir(outDir, { recursive: true });
  const records: SourceRecord[] = [];
  const train: Doc[] = [];
  const val: Doc[] = [];
  const keys = await benchmarkKeys(p.benchmarks ?? []);
  for (const { docs, meta } of await loadAll(p)) {
    const seen = new Set<string>();
    const cleaned = docs
      .map((d) => ({ ...d, text: cleanText(d.text) }))
      .filter((d) => d.text && !seen.has(d.text) && seen.add(d.text));
    const kept = budget(cleaned, p.maxCharsPerSource, p.splitSeed);
    const split = splitDocs(kept, p.valFraction, p.splitSeed);
    const clean = dropOverlapping(split.train, keys);
    split.train = clean.kept;
    const trainTexts = new Set(split.train.map((d) => d.text));
    const v = split.val.filter((d) => !trainTexts.has(d.text));
    const chars = (ds: Doc[]) => ds.reduce((n, d) => n + [...d.text].length, 0);
    const rec: SourceRecord = {
      ...meta,
      trainDocs: split.train.length,
      valDocs: v.length,
      trainChars: chars(split.train),
      valChars: chars(v),
      ...(keys.length ? { benchmarkOverlapDropped: clean.dropped } : {}),
    };
    records.push(rec);
    train.push(...split.train);
    val.push(...v);
    log(
      `${rec.name} (${rec.lang}, ${rec.package ?? "user"} ${rec.version ?? ""}): ` +
        `${rec.trainDocs} train / ${rec.valDocs} val documents, ` +
        `${rec.trainChars} / ${rec.valChars} characters` +
        (clean.dropped ? ` (${clean.dropped} train documents dropped: benchmark overlap)` : ""),
    );
  }
  if (!train.length) throw new Error("data: no training text (check data.sources / --corpus)");
  if (!val.length) {
    throw new Error("data: no validation text (raise data.valFraction or add documents)");
  }
  const mix = p.mcShare
    ? buildMcMix(train, await loadWordnet(), p.mcShare, p.splitSeed)
    : { docs: [], wordnetItems: 0, clozeItems: 0, chars: 0, targetChars: 0 };
  if (mix.docs.length) {
    const natural = records.reduce((n, r) => n + r.trainChars, 0);
    records.push({
      name: MC_SOURCE,
      package: "wordnet-base",
      version: await packageVersion("wordnet-base"),
      licence: "WordNet 3.0 licence (Princeton University) for the definition items; " +
        "the cloze items quote the training documents of the sources above",
      lang: "en+",
      script: "mixed",
      files: POS_LIST.map((pos) => join(WORDNET_DIR, `data.${pos}`)),
      trainDocs: mix.docs.length,
      valDocs: 0,
      trainChars: mix.chars,
      valChars: 0,
      mcItems: { wordnetDef: mix.wordnetItems, cloze: mix.clozeItems, share: p.mcShare! },
    });
    train.push(...mix.docs);
    log(
      `${MC_SOURCE}: ${mix.wordnetItems} WordNet (train half) + ${mix.clozeItems} cloze ` +
        `(training documents) multiple-choice items, ${mix.chars} characters ` +
        `(${(100 * mix.chars / (mix.chars + natural)).toFixed(1)}% of the training characters; ` +
        `asked ${(100 * p.mcShare!).toFixed(1)}%)`,
    );
  }
  const join2 = (ds: Doc[]) => ds.map((d) => d.text).join(DOC_SEPARATOR) + "\n";
  await writeFileAtomic(join(outDir, "train.txt"), join2(train));
  await writeFileAtomic(join(outDir, "val.txt"), join2(val));
  await writeFileAtomic(
    join(outDir, "val.jsonl"),
    val.map((d) => JSON.stringify({ source: d.source, id: d.id, text: d.text })).join("\n") + "\n",
  );
  await writeFileAtomic(
    join(outDir, "mc_mix.txt"),
    mix.docs.length ? join2(mix.docs) : "",
  );
  await writeFileAtomic(join(outDir, "sources.json"), JSON.stringify(records, null, 2) + "\n");
  return { sources: records };
}
