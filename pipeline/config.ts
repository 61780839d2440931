// Pipeline configuration: the typed shape of a run's settings, loading a named config
// (pipeline/configs/<name>.json) or a JSON file, `--set a.b=value` overrides, and validation
// that names a bad key together with the valid ones. Pure functions, data in, data out.

import { studyCells } from "./study.ts";

export type Recipe = "paper" | "paper-max" | "paper-64" | "clean" | "random" | "binary-id";
export type BackendChoice = "auto" | "cpu" | "cpu-ref" | "webgpu";
/** Matmul precision: f32, or f16 operands with f32 accumulation and master weights (webgpu). */
export type Precision = "f32" | "f16";

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
    variant: "2-3" | "max";
    /** Multi-character tokens kept per script when the vocabulary is built. */
    perScript: number;
    /**
     * Id layout: "glyphgrad" (lossless, built from the corpus) or "bvv241" (the author's ids,
     * built from the author's n-gram list in `ngrams`; see pipeline/tokenizer/README.md).
     */
    layout: "glyphgrad" | "bvv241";
    /** bvv241: path of the author's n-gram list (_n-gramms-2-3.txt, _n-gramms-2-3-4-5.txt). */
    ngrams: string;
    /** bvv241: path of the author's shared-token list (_n-gramms-intersection.txt; max). */
    sharedTokens: string;
  };
  embed: {
    /** Recipe of the frozen table. */
    recipe: Recipe;
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
    norm: "layernorm" | "rmsnorm";
    dropout: number;
    mlpRatio: number;
    /** "full": the tokenizer's id space; "compact": only ids seen in the corpus, remapped. */
    vocab: "full" | "compact";
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

/** Allowed values of the enumerated settings, by dotted key. */
export const CHOICES: Record<string, readonly string[]> = {
  "tokenizer.variant": ["2-3", "max"],
  "tokenizer.layout": ["glyphgrad", "bvv241"],
  "embed.recipe": ["paper", "paper-max", "paper-64", "clean", "random", "binary-id"],
  "model.norm": ["layernorm", "rmsnorm"],
  "model.vocab": ["full", "compact"],
  "train.backend": ["auto", "cpu", "cpu-ref", "webgpu"],
  "train.precision": ["f32", "f16"],
};

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

/**
 * Check `value` against the shape of `reference` (a complete config): every key must exist in
 * the reference with the same JSON type, and enumerated keys must hold an allowed value.
 * Throws one line naming the bad key and the valid ones.
 */
export function validateConfig(value: unknown, reference: PipelineConfig, where = "config"): void {
  const walk = (v: unknown, ref: unknown, path: string) => {
    if (isObject(ref)) {
      if (!isObject(v)) {
        throw new Error(`${where}: "${path}" must be an object, got ${typeName(v)}`);
      }
      for (const k of Object.keys(v)) {
        const full = path ? `${path}.${k}` : k;
        if (!(k in ref)) {
          const valid = Object.keys(ref).map((x) => (path ? `${path}.${x}` : x)).join(", ");
          throw new Error(`${where}: unknown key "${full}" (valid keys here: ${valid})`);
        }
        walk(v[k], ref[k], full);
      }
      return;
    }
    if (typeName(v) !== typeName(ref)) {
      throw new Error(`${where}: "${path}" must be a ${typeName(ref)}, got ${JSON.stringify(v)}`);
    }
    if (Array.isArray(ref) && ref.length && (v as unknown[]).some((x) => typeof x !== "string")) {
      throw new Error(`${where}: "${path}" must be a list of strings`);
    }
    if (typeof ref === "number" && !Number.isFinite(v as number)) {
      throw new Error(`${where}: "${path}" must be a finite number, got ${v}`);
    }
    const allowed = CHOICES[path];
    if (allowed && !allowed.includes(v as string)) {
      throw new Error(
        `${where}: "${path}" is ${JSON.stringify(v)} (valid values: ${allowed.join(", ")})`,
      );
    }
  };
  walk(value, reference, "");
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
    const n = Number(raw);
    if (raw === "" || !Number.isFinite(n)) {
      throw new Error(`--set ${key}=${raw}: "${key}" needs a number`);
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
    throw new Error(`config ${path}: invalid JSON (${(e as Error).message})`);
  }
}

/** The embedded default config (`small`), used as the reference shape for validation. */
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
  const reference = await defaultConfig();
  const isName = (CONFIG_NAMES as readonly string[]).includes(nameOrPath);
  const where = isName ? `config ${nameOrPath}` : `config ${nameOrPath}`;
  const raw = isName
    ? await readJson(new URL(`${nameOrPath}.json`, CONFIG_DIR))
    : await readJson(nameOrPath);
  validateConfig(raw, reference, where);
  let cfg = mergeConfig(reference, raw);
  if (!isObject(raw) || !("run" in raw)) {
    cfg.run = isName ? nameOrPath : nameOrPath.replace(/^.*\//, "").replace(/\.json$/, "");
  }
  for (const s of sets) cfg = applySet(cfg, s);
  validateConfig(cfg, reference, where);
  studyCells(cfg); // arms and seeds: one-line errors now rather than at the first stage
  return cfg;
}
