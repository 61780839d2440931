// A merged model as `deno task eval` and the merge stages load it: a list of checkpoint
// folders with weights and a mode, given as "a,b" (with --weights 0.5,0.5 and --merge-mode) or
// as a JSON file {"experts": [{"checkpoint": "a", "weight": 0.5}, ...], "mode": "logits"}
// (checkpoint paths relative to the JSON file). Before merging it checks that the experts share
// a substrate: the same vocabulary, tokenizer and frozen input table. A trainable-embedding
// expert is refused (or, with allowTrainable, merged with a warning) because each such expert
// learned its own input space.

import { dirname, isAbsolute, join } from "node:path";
import { type CheckpointModel, loadCheckpointModel } from "../eval/checkpoint.ts";
import type { TextCodec } from "../eval/model.ts";
import { checkMode, type MergeMode, mixtureModel, normalizeWeights } from "./mixture.ts";
import { writeFileAtomic } from "../../core/safetensors.ts";

export interface MergeSpec {
  experts: { checkpoint: string; weight: number }[];
  mode: MergeMode;
}

/** Is this --checkpoint value a merge ("a,b" or a merge JSON file)? */
export function isMergeSpec(s: string): boolean {
  return s.includes(",") || s.endsWith(".json");
}

/** Parse "a,b" (+ weights, mode) or read a merge JSON file into a MergeSpec. */
export async function parseMergeSpec(
  s: string,
  weights: number[] = [],
  mode = "logits",
): Promise<MergeSpec> {
  if (!s.endsWith(".json")) {
    const dirs = s.split(",").map((d) => d.trim()).filter(Boolean);
    if (dirs.length < 2) throw new Error(`merge "${s}": name at least two checkpoints (a,b)`);
    const w = normalizeWeights(weights, dirs.length);
    return {
      experts: dirs.map((checkpoint, i) => ({ checkpoint, weight: w[i] })),
      mode: checkMode(mode),
    };
  }
  let raw: { experts?: { checkpoint?: unknown; weight?: unknown }[]; mode?: unknown };
  try {
    raw = JSON.parse(await Deno.readTextFile(s));
  } catch (e) {
    throw new Error(`merge ${s}: cannot read a merge JSON file (${(e as Error).message})`);
  }
  const list = Array.isArray(raw.experts) ? raw.experts : [];
  if (list.length < 2 || list.some((x) => typeof x?.checkpoint !== "string")) {
    throw new Error(
      `merge ${s}: needs "experts": [{"checkpoint": "<dir>", "weight": 0.5}, ...] with 2 or more`,
    );
  }
  const w = normalizeWeights(
    list.map((x) => (x.weight === undefined ? 1 : Number(x.weight))),
    list.length,
  );
  const base = dirname(s);
  return {
    experts: list.map((x, i) => {
      const c = x.checkpoint as string;
      return { checkpoint: isAbsolute(c) ? c : join(base, c), weight: w[i] };
    }),
    mode: checkMode(typeof raw.mode === "string" ? raw.mode : "logits"),
  };
}

/** Write a merge JSON file (paths relative to it), atomically. */
export async function writeMergeSpec(path: string, spec: MergeSpec, relTo: (p: string) => string) {
  const out = {
    experts: spec.experts.map((e) => ({ checkpoint: relTo(e.checkpoint), weight: e.weight })),
    mode: spec.mode,
  };
  await writeFileAtomic(path, JSON.stringify(out, null, 2) + "\n");
}

/** What the substrate check needs of one loaded expert. */
export interface ExpertInfo {
  dir: string;
  embedding: string;
  vocab: number;
  tokenizerSha256?: string;
  frozenSha256?: string;
  vocabProbe?: string;
}

/**
 * The substrate check: same vocabulary, tokenizer and frozen table. Returns a warning line for
 * trainable embeddings when allowed, throws one line otherwise; "" when the merge is sound.
 */
export function checkMergeable(experts: ExpertInfo[], allowTrainable = false): string {
  const a = experts[0];
  for (const b of experts.slice(1)) {
    if (b.vocab !== a.vocab || b.vocabProbe !== a.vocabProbe) {
      throw new Error(
        `merge: ${a.dir} and ${b.dir} have different vocabularies (merge models of one tokenize stage)`,
      );
    }
    if (a.tokenizerSha256 && b.tokenizerSha256 && a.tokenizerSha256 !== b.tokenizerSha256) {
      throw new Error(
        `merge: ${a.dir} and ${b.dir} were trained with different tokenizers (merge models of one run)`,
      );
    }
  }
  const trainable = experts.filter((e) => e.embedding !== "frozen");
  if (trainable.length) {
    const msg = `merge: ${
      trainable.map((e) => e.dir).join(", ")
    } learned ${
      trainable.length > 1 ? "their own input embeddings" : "its own input embedding"
    }, so the experts read different vectors for the same token and their logits come from ` +
      "unrelated input spaces (merge experts trained on one frozen table; " +
      "--allow-trainable-merge merges them anyway, as a control)";
    if (!allowTrainable) throw new Error(msg);
    return `warning: ${msg}`;
  }
  for (const b of experts.slice(1)) {
    if (b.frozenSha256 !== a.frozenSha256) {
      throw new Error(
        `merge: ${a.dir} and ${b.dir} were trained on different frozen tables ` +
          "(merge experts trained on one table)",
      );
    }
  }
  return "";
}

/** A probe text in every script of the corpus: two experts must encode it to the same ids. */
const PROBE =
  "In the beginning \u0395\u03bd \u03b1\u03c1\u03c7\u1fc7 \u05d1\u05e8\u05d0\u05e9\u05d9\u05ea " +
  "\u0432 \u043d\u0430\u0447\u0430\u043b\u0435 \u592a\u521d 0123 ,.;";

/** The substrate facts of a loaded checkpoint (its config.json and its table's hash). */
export async function expertInfo(m: CheckpointModel): Promise<ExpertInfo> {
  const meta = m.meta as {
    tokenizerSha256?: string;
    embedding?: { frozenSha256?: string } | null;
  };
  let frozenSha256 = meta.embedding?.frozenSha256;
  if (m.cfg.embedding === "frozen" && !frozenSha256 && m.params.wte) {
    const { sha256OfArray } = await import("../hash.ts");
    frozenSha256 = await sha256OfArray(await m.params.wte.data() as Float32Array);
  }
  return {
    dir: m.dir,
    embedding: m.cfg.embedding,
    vocab: m.cfg.vocab,
    tokenizerSha256: meta.tokenizerSha256,
    frozenSha256,
    vocabProbe: Array.from(m.codec.encode(PROBE)).join(","),
  };
}

/** Load a merge: every expert, the substrate check, and the mixture as a CheckpointModel. */
export async function loadMergedModel(
  spec: MergeSpec,
  opts: {
    allowTrainable?: boolean;
    codec?: TextCodec;
    tokenBudget?: number;
    name?: string;
    log?: (l: string) => void;
  } = {},
): Promise<CheckpointModel & { experts: CheckpointModel[]; warning: string }> {
  const experts: CheckpointModel[] = [];
  for (const e of spec.experts) {
    experts.push(await loadCheckpointModel(e.checkpoint, { codec: opts.codec }));
  }
  const warning = checkMergeable(await Promise.all(experts.map(expertInfo)), opts.allowTrainable);
  if (warning) (opts.log ?? console.error)(warning);
  const weights = spec.experts.map((e) => e.weight);
  const first = experts[0];
  return {
    ...first,
    dir: spec.experts.map((e) => e.checkpoint).join(","),
    name: opts.name ??
      `merge(${experts.map((m) => m.name).join(", ")}; ${spec.mode} ${
        weights.map((w) => w.toFixed(2)).join("/")
      })`,
    model: mixtureModel(
      experts.map((m) => ({ params: m.params, cfg: m.cfg })),
      weights,
      spec.mode,
      { tokenBudget: opts.tokenBudget },
    ),
    hidden: undefined,
    experts,
    warning,
  };
}

export interface EvalModelOptions {
  /** Weights of a comma-separated merge (default equal). */
  mergeWeights?: number[];
  mergeMode?: string;
  /** Merge trainable-embedding experts with a warning instead of refusing (the control). */
  allowTrainableMerge?: boolean;
  codec?: TextCodec;
  tokenBudget?: number;
  log?: (l: string) => void;
}

/** One --checkpoint value: a checkpoint folder, or a merge ("a,b" or a merge JSON file). */
export async function loadEvalModel(
  spec: string,
  opts: EvalModelOptions = {},
): Promise<CheckpointModel> {
  const isDir = await Deno.stat(spec).then((st) => st.isDirectory, () => false);
  if (isDir || !isMergeSpec(spec)) {
    return await loadCheckpointModel(spec, { codec: opts.codec, tokenBudget: opts.tokenBudget });
  }
  const merge = await parseMergeSpec(spec, opts.mergeWeights, opts.mergeMode);
  return await loadMergedModel(merge, {
    allowTrainable: opts.allowTrainableMerge,
    codec: opts.codec,
    tokenBudget: opts.tokenBudget,
    log: opts.log,
  });
}
