// Pipeline configuration: the typed shape of a run's settings, its one schema (`SCHEMA`: the
// type, range or allowed values of every key, checked by the compiler to cover exactly the keys
// of `PipelineConfig`), loading a named config (pipeline/configs/<name>.json: values only) or a
// JSON file, `--set a.b=value` overrides, and validation that names a bad key or value together
// with the valid ones. Pure functions, data in, data out.

import { studyCells } from "./study.ts";
import { RECIPE_NAMES, type RecipeName } from "./glyphs/recipes.ts";

/** The recipe of a frozen table (one type, pipeline/glyphs/recipes.ts). */
export type Recipe = RecipeName;
export const BACKEND_CHOICES = ["auto", "cpu", "cpu-ref", "webgpu"] as const;
export type BackendChoice = typeof BACKEND_CHOICES[number];
/** Matmul precision: f32, or f16 operands with f32 accumulation and master weights (webgpu). */
export const PRECISIONS = ["f32", "f16"] as const;
export type Precision = typeof PRECISIONS[number];
const VARIANTS = ["2-3", "max"] as const, LAYOUTS = ["glyphgrad", "bvv241"] as const;
const NORMS = ["layernorm", "rmsnorm"] as const, VOCABS = ["full", "compact"] as const;

export interface PipelineConfig {
  /** Run name: outputs go to runs/<run>/. Defaults to the config's name. */
  run: string;
  data: {
    /** Built-in sources (see pipeline/data/sources.ts) used when no --corpus is given. */
    sources: string[];
    /** User corpus files (.txt / .jsonl); when non-empty they replace `sources`. */
    corpus: string[];
    /** Keep at most this many characters per source (0 = all), taken document by document. */
    maxCharsPerSource: number;
    /** Share of documents (by hash of the document id) held out for validation. */
    valFraction: number;
    /** Salt of the document hash that decides train/validation. */
    splitSeed: number;
    /**
     * Share of the training characters given to multiple-choice items in the eval prompt
     * format (WordNet train half and training-document cloze; pipeline/data/mc_mix.ts); 0 = none.
     */
    mcShare: number;
  };
  tokenizer: {
    /** Id layout: "2-3" (65,536 ids) or "max" (131,072 ids). */
    variant: typeof VARIANTS[number];
    /** Multi-character tokens kept per script when the vocabulary is built. */
    perScript: number;
    /**
     * Id layout: "glyphgrad" (lossless, built from the corpus) or "bvv241" (the author's ids,
     * built from the author's n-gram list in `ngrams`; see pipeline/tokenizer/README.md).
     */
    layout: typeof LAYOUTS[number];
    /** bvv241: path of the author's n-gram list (_n-gramms-2-3.txt, _n-gramms-2-3-4-5.txt). */
    ngrams: string;
    /** bvv241: path of the author's shared-token list (_n-gramms-intersection.txt; max). */
    sharedTokens: string;
  };
  embed: {
    /** Recipe of the frozen table. */
    recipe: RecipeName;
    /** Glyph cell size in pixels (32 or 64). */
    cell: number;
    /**
     * A [V, D] safetensors table made elsewhere for the frozen twin ("" = build from glyphs):
     * V = the model's vocabulary (vocab.json), D = model.dModel.
     */
    import: string;
  };
  model: {
    dModel: number;
    layers: number;
    heads: number;
    context: number;
    norm: typeof NORMS[number];
    dropout: number;
    mlpRatio: number;
    /** "full": the tokenizer's id space; "compact": only ids seen in the corpus, remapped. */
    vocab: typeof VOCABS[number];
  };
  train: {
    steps: number;
    batch: number;
    lr: number;
    minLr: number;
    warmup: number;
    weightDecay: number;
    beta1: number;
    beta2: number;
    clip: number;
    seed: number;
    valEvery: number;
    valBatches: number;
    checkpointEvery: number;
    logEvery: number;
    backend: BackendChoice;
    precision: Precision;
    /** Rows per forward/backward pass; gradients are accumulated over the batch (0 = all). */
    microBatch: number;
  };
  /**
   * The study matrix (pipeline/study.ts): embedding arms x seeds. Arms: "trainable", a glyph
   * recipe name (a frozen table), or "import:<table.safetensors>"; [] = the configured frozen
   * table (embed.import, else embed.recipe) and "trainable".
   */
  study: {
    arms: string[];
    seeds: number;
  };
  /**
   * Merging experts on the shared substrate (pipeline/merge): [] = off. Each expert is a
   * "+"-joined list of data.sources it trains on; the study cells are the joint models.
   */
  merge: {
    experts: string[];
    /** One weight per expert ([] = equal); numbers or numeric strings. */
    weights: (number | string)[];
    /** Optimiser steps of each expert. */
    expertSteps: number;
    /** Steps of fine-tuning the merge on all the training data (0 = none). */
    finetuneSteps: number;
    finetuneLr: number;
  };
  /**
   * Layer-wise growth (pipeline/grow): 0 = off; N trains 1, 2, ..., N blocks, each new block on
   * a frozen parent for train.steps / N steps; the study cells (model.layers = N) are the
   * jointly trained models.
   */
  grow: { blocks: number };
  eval: {
    /** Benchmark files given by path (MMLU CSV folders, ARC / generic JSONL). */
    benchmarks: string[];
    /** Items per built-in benchmark (WordNet definitions, cloze). */
    items: number;
    /** Score a seeded subset of at most this many items per benchmark (0 = all). */
    limit: number;
    /** WordNet synonym pairs in the semantic probe (0 = no probe). */
    probe: number;
  };
}

/** One rule per config key: its JSON type and the values it may take. */
export type Rule =
  | { kind: "string"; choices?: readonly string[]; check?: (v: string) => string | undefined }
  | { kind: "number"; int?: boolean; min?: number; max?: number; gt?: number; lt?: number }
  | { kind: "list"; check?: (v: string) => string | undefined };

/** Dotted keys of the leaves of T ("train.lr", ...). */
type LeafKey<T, P extends string = ""> = {
  [K in keyof T & string]: T[K] extends string | number | readonly unknown[] ? `${P}${K}`
    : LeafKey<T[K], `${P}${K}.`>;
}[keyof T & string];

const str = (choices?: readonly string[]): Rule => ({ kind: "string", choices });
const list = (check?: (v: string) => string | undefined): Rule => ({ kind: "list", check });
const int = (min: number, max?: number): Rule => ({ kind: "number", int: true, min, max });
const num = (r: { min?: number; max?: number; gt?: number; lt?: number }): Rule => ({
  kind: "number",
  ...r,
});
/** A run name is one folder under runs/: no separators, no leading dot. */
function runName(v: string): string | undefined {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v)
    ? undefined
    : "must be a folder name under runs/ (letters, digits, _ . -; no / and no leading dot)";
}
const corpusFile = (v: string) =>
  /\.(txt|jsonl)$/.test(v) ? undefined : `has ${JSON.stringify(v)} (use .txt or .jsonl files)`;

/** The config schema: every key of PipelineConfig, no other (the compiler checks both ways). */
export const SCHEMA: { [K in LeafKey<PipelineConfig>]: Rule } = {
  "run": { kind: "string", check: runName },
  "data.sources": list(),
  "data.corpus": list(corpusFile),
  "data.maxCharsPerSource": int(0),
  "data.valFraction": num({ gt: 0, lt: 1 }),
  "data.splitSeed": int(0),
  "data.mcShare": num({ min: 0, lt: 1 }),
  "tokenizer.variant": str(VARIANTS),
  "tokenizer.perScript": int(0),
  "tokenizer.layout": str(LAYOUTS),
  "tokenizer.ngrams": str(),
  "tokenizer.sharedTokens": str(),
  "embed.recipe": str(RECIPE_NAMES),
  "embed.cell": int(8),
  "embed.import": str(),
  "model.dModel": int(1),
  "model.layers": int(1),
  "model.heads": int(1),
  "model.context": int(2),
  "model.norm": str(NORMS),
  "model.dropout": num({ min: 0, lt: 1 }),
  "model.mlpRatio": num({ gt: 0 }),
  "model.vocab": str(VOCABS),
  "train.steps": int(1),
  "train.batch": int(1),
  "train.lr": num({ gt: 0 }),
  "train.minLr": num({ min: 0 }),
  "train.warmup": int(0),
  "train.weightDecay": num({ min: 0 }),
  "train.beta1": num({ min: 0, lt: 1 }),
  "train.beta2": num({ min: 0, lt: 1 }),
  "train.clip": num({ min: 0 }),
  "train.seed": int(0),
  "train.valEvery": int(1),
  "train.valBatches": int(1),
  "train.checkpointEvery": int(1),
  "train.logEvery": int(1),
  "train.backend": str(BACKEND_CHOICES),
  "train.precision": str(PRECISIONS),
  "train.microBatch": int(0),
  "study.arms": list(),
  "study.seeds": int(1),
  "eval.benchmarks": list(),
  "eval.items": int(0),
  "eval.limit": int(0),
  "merge.experts": list(),
  "merge.weights": list((v) =>
    /^\d+(\.\d+)?$/.test(String(v)) ? undefined : `has ${JSON.stringify(v)} (use weights >= 0)`
  ),
  "merge.expertSteps": int(0),
  "merge.finetuneSteps": int(0),
  "merge.finetuneLr": num({ gt: 0 }),
  "grow.blocks": int(0),
  "eval.probe": int(0),
};

/** Allowed values of the enumerated settings, by dotted key (from SCHEMA). */
export const CHOICES: Record<string, readonly string[]> = Object.fromEntries(
  Object.entries(SCHEMA as Record<string, Rule>).flatMap(([k, r]) =>
    r.kind === "string" && r.choices ? [[k, r.choices]] : []
  ),
);

/** What is wrong with `v` as the value of `key`, or undefined when it is valid. */
export function checkValue(key: string, v: unknown): string | undefined {
  const r = (SCHEMA as Record<string, Rule>)[key];
  const want = r.kind === "list" ? "list of strings" : r.kind;
  if (r.kind === "list" ? !Array.isArray(v) : typeName(v) !== r.kind) {
    return `"${key}" must be a ${want}, got ${JSON.stringify(v)}`;
  }
  if (r.kind === "list") {
    const items = v as unknown[];
    if (items.some((x) => typeof x !== "string")) return `"${key}" must be a list of strings`;
    for (const x of items as string[]) {
      const bad = r.check?.(x);
      if (bad) return `"${key}" ${bad}`;
    }
    return undefined;
  }
  if (r.kind === "string") {
    if (r.choices && !r.choices.includes(v as string)) {
      return `"${key}" is ${JSON.stringify(v)} (valid values: ${r.choices.join(", ")})`;
    }
    const bad = r.check?.(v as string);
    return bad ? `"${key}" is ${JSON.stringify(v)}: ${bad}` : undefined;
  }
  const n = v as number;
  if (!Number.isFinite(n)) return `"${key}" must be a finite number, got ${n}`;
  const range = [
    r.min !== undefined ? `>= ${r.min}` : "",
    r.gt !== undefined ? `> ${r.gt}` : "",
    r.max !== undefined ? `<= ${r.max}` : "",
    r.lt !== undefined ? `< ${r.lt}` : "",
  ].filter(Boolean).join(" and ");
  const ok = (!r.int || Number.isInteger(n)) && !(r.min !== undefined && n < r.min) &&
    !(r.gt !== undefined && n <= r.gt) && !(r.max !== undefined && n > r.max) &&
    !(r.lt !== undefined && n >= r.lt);
  return ok
    ? undefined
    : `"${key}" must be a ${r.int ? "whole number" : "number"} ${range}, got ${n}`;
}

const CONFIG_DIR = new URL("./configs/", import.meta.url);

/** Names of the shipped configs (pipeline/configs/*.json). */
export const CONFIG_NAMES = [
  "tiny",
  "small",
  "study",
  "paper",
  "merge-small",
  "grow-small",
] as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  return Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
}

/** The keys directly below a section ("" = the top), as dotted keys. */
function sectionKeys(prefix: string): string[] {
  const out = new Set<string>();
  for (const k of Object.keys(SCHEMA)) {
    if (k.startsWith(prefix)) out.add(prefix + k.slice(prefix.length).split(".")[0]);
  }
  return [...out];
}

/**
 * Check a config (or a partial one, as in a config file) against SCHEMA: every key must be
 * known, of the right type and in range. Throws one line naming the bad key or value and the
 * valid ones.
 */
export function validateConfig(value: unknown, where = "config"): void {
  const walk = (v: unknown, prefix: string) => {
    const path = prefix.replace(/\.$/, "");
    if (!isObject(v)) throw new Error(`${where}: "${path}" must be an object, got ${typeName(v)}`);
    const valid = sectionKeys(prefix);
    for (const k of Object.keys(v)) {
      const full = prefix + k;
      if (full in SCHEMA) {
        const bad = checkValue(full, v[k]);
        if (bad) throw new Error(`${where}: ${bad}`);
      } else if (valid.includes(full)) walk(v[k], `${full}.`);
      else {throw new Error(
          `${where}: unknown key "${full}" (valid keys here: ${valid.join(", ")})`,
        );}
    }
  };
  walk(value, "");

  const c = value as Partial<PipelineConfig>;
  // cross-key checks on a complete section only (a config file may leave keys to --set)
  const t = c.tokenizer && "layout" in c.tokenizer && "ngrams" in c.tokenizer &&
      "sharedTokens" in c.tokenizer
    ? c.tokenizer
    : undefined;
  if (t?.layout === "bvv241" && !t.ngrams) {
    throw new Error(
      `${where}: tokenizer.layout "bvv241" needs tokenizer.ngrams, the path of the author's ` +
        "n-gram list (e.g. --set tokenizer.ngrams=/data/_n-gramms-2-3.txt)",
    );
  }
  if (t && t.layout !== "bvv241" && (t.ngrams || t.sharedTokens)) {
    throw new Error(
      `${where}: tokenizer.ngrams and tokenizer.sharedTokens are read by layout "bvv241" only ` +
        '(set tokenizer.layout to "bvv241" or leave them "")',
    );
  }
  if (c.model && c.model.dModel % c.model.heads !== 0) {
    throw new Error(`${where}: model.dModel (${c.model.dModel}) must be divisible by model.heads`);
  }
}

/** Deep merge: values of `over` replace those of `base`; objects merge key by key. */
export function mergeConfig<T>(base: T, over: unknown): T {
  if (!isObject(base) || !isObject(over)) return structuredClone(over ?? base) as T;
  const out: Record<string, unknown> = structuredClone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) out[k] = mergeConfig(out[k], v);
  return out as T;
}

/** Every dotted leaf key of a config, for error messages. */
export function leafKeys(obj: unknown, prefix = ""): string[] {
  if (!isObject(obj)) return [prefix];
  return Object.entries(obj).flatMap(([k, v]) => leafKeys(v, prefix ? `${prefix}.${k}` : k));
}

/**
 * Apply one `a.b=value` override. The value is parsed by the type of the current value:
 * numbers, booleans, strings, and lists (JSON array or comma-separated).
 */
export function applySet(cfg: PipelineConfig, assignment: string): PipelineConfig {
  const eq = assignment.indexOf("=");
  if (eq <= 0) {
    throw new Error(`--set "${assignment}": expected key=value, e.g. --set train.steps=2000`);
  }
  const key = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1).trim();
  const parts = key.split(".");
  const out = structuredClone(cfg) as unknown as Record<string, Json>;
  let node: Record<string, Json> = out;
  for (let i = 0; i < parts.length; i++) {
    const k = parts[i];
    const here = parts.slice(0, i).join(".");
    if (!isObject(node) || !(k in node)) {
      const valid = isObject(node) ? leafKeys(node, here).join(", ") : "(none)";
      throw new Error(`--set: unknown key "${key}" (valid keys: ${valid})`);
    }
    if (i === parts.length - 1) {
      node[k] = parseLike(node[k], raw, key);
      const bad = key in SCHEMA ? checkValue(key, node[k]) : undefined;
      if (bad) throw new Error(`--set ${key}=${raw}: ${bad}`);
    } else {
      node = node[k] as Record<string, Json>;
    }
  }
  if (isObject(node[parts[parts.length - 1]])) {
    throw new Error(`--set: "${key}" is a section; set one of its keys instead`);
  }
  return out as unknown as PipelineConfig;
}

function parseLike(current: Json, raw: string, key: string): Json {
  if (typeof current === "number") {
    // decimal only: Number() would also read "0x10" as 16 and "" as 0
    const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : NaN;
    if (!Number.isFinite(n)) {
      throw new Error(`--set ${key}=${raw}: "${key}" needs a number (decimal, e.g. ${current})`);
    }
    return n;
  }
  if (typeof current === "boolean") {
    if (raw !== "true" && raw !== "false") {
      throw new Error(`--set ${key}=${raw}: "${key}" needs true or false`);
    }
    return raw === "true";
  }
  if (Array.isArray(current)) {
    if (raw.startsWith("[")) {
      try {
        return JSON.parse(raw);
      } catch {
        throw new Error(`--set ${key}=${raw}: not a valid JSON list`);
      }
    }
    return raw === "" ? [] : raw.split(",").map((s) => s.trim());
  }
  if (isObject(current)) throw new Error(`--set: "${key}" is a section; set one of its keys`);
  return raw;
}

/** Read a JSON file with one-line errors for missing or malformed files. */
async function readJson(path: string | URL): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `config ${path}: file not found (use one of ${CONFIG_NAMES.join(", ")} or a path)`,
      );
    }
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`config ${path}: invalid JSON (${(e as Error).message.replace(/\s+/g, " ")})`);
  }
}

/** The embedded default config (`small`): the value of every key (SCHEMA says what is valid). */
export async function defaultConfig(): Promise<PipelineConfig> {
  return (await readJson(new URL("small.json", CONFIG_DIR))) as PipelineConfig;
}

/**
 * Load a config by name (tiny/small/paper) or path, merged over the default, with `--set`
 * overrides applied in order, validated. `run` defaults to the config's name.
 */
export async function loadConfig(
  nameOrPath = "small",
  sets: string[] = [],
): Promise<PipelineConfig> {
  const defaults = await defaultConfig();
  const isName = (CONFIG_NAMES as readonly string[]).includes(nameOrPath);
  const where = isName ? `config ${nameOrPath}` : `config ${nameOrPath}`;
  const raw = isName
    ? await readJson(new URL(`${nameOrPath}.json`, CONFIG_DIR))
    : await readJson(nameOrPath);
  validateConfig(raw, where);
  let cfg = mergeConfig(defaults, raw);
  if (!isObject(raw) || !("run" in raw)) {
    cfg.run = isName ? nameOrPath : nameOrPath.replace(/^.*\//, "").replace(/\.json$/, "");
  }
  for (const s of sets) cfg = applySet(cfg, s);
  validateConfig(cfg, where);
  studyCells(cfg); // arms and seeds: one-line errors now rather than at the first stage
  return cfg;
}
