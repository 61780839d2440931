// The core GPT as evaluation sees it: load a checkpoint folder, turn it into a ScoringModel
// (batched, output head applied only at the rows that are scored), a TextCodec and a
// per-layer hidden-state function for the semantic probe.
//
// Checkpoint layout assumed (written by the train stage):
//   <dir>/config.json        { "gpt": GPTConfig, "tokenizer": "<path>", "model"?: "<name>",
//                            "vocabIds"?: ... } (pipeline/train/checkpoint.ts writes this)
//                            (a "model" object is accepted for "gpt", a bare GPTConfig with a
//                            "tokenizer" key too); the tokenizer path is tried relative to
//                            <dir>, then as given. "vocabIds" (number[] or a JSON file path),
//                            or an I32 tensor "vocab_ids" in model.safetensors, maps model id i
//                            to tokenizer id vocabIds[i] for a compact vocabulary.
//   <dir>/model.safetensors  one F32 tensor per leaf of mergeParams(trainable, frozen), named
//                            by treeFlatten's dotted path: wte, blocks.0.ln1.w, ..., head.
// A folder written by `deno task export` (GPT-NeoX layout, pipeline/export) loads too: its
// weights are converted back (export/neox.ts fromNeox) and its "glyphgrad" block names the
// tokenizer and compact vocabulary.

import { dirname, join } from "node:path";
import {
  decodeSafetensors,
  readFileOrExplain,
  type StTensor,
} from "../../core/safetensors.ts";
import {
  type GPTConfig,
  gptHead,
  gptHidden,
  gptLogits,
  type GPTParams,
  validateConfig,
} from "../../core/gpt.ts";
import { sha256Hex } from "../hash.ts";
import { CHECKPOINT_FORMAT } from "../train/checkpoint.ts";
import { gather, reshape } from "../../core/ops.ts";
import { type Tensor, tensor, tidy } from "../../core/tensor.ts";
import { decode, encode, EOS, loadTokenizer } from "../tokenizer/mod.ts";
import { compactDecode, compactEncode, compactTokenizer } from "../tokenizer/compact.ts";
import { fromNeox, NEOX_ARCH } from "../export/neox.ts";
import {
  batchedModel,
  batchedRowsModel,
  planBatches,
  type ScoringModel,
  type TextCodec,
  type TokenRequest,
} from "./model.ts";
import type { HiddenFn } from "./probe.ts";
import { spanNll, treeChoiceScorer } from "./tree.ts";

export interface CheckpointModel {
  dir: string;
  name: string;
  cfg: GPTConfig;
  params: GPTParams;
  codec: TextCodec;
  /** The model id of `</s>` (generation stops there), when the vocabulary has it. */
  stopId?: number;
  model: ScoringModel;
  /** Per-layer hidden states for the probe (absent for a merge of several models). */
  hidden?: HiddenFn;
  /** The raw config.json. */
  meta: Record<string, unknown>;
}

/** Logits at `rows` of the last residual stream [B, T, D] (flattened to [B*T, D]). */
function headAtRows(params: GPTParams, cfg: GPTConfig, hs: Tensor[], rows: Int32Array): Tensor {
  const last = reshape(hs[hs.length - 1], [-1, cfg.dModel]);
  return gptHead(params, cfg, gather(last, tensor(rows, [rows.length], "i32")));
}

/** Logits [rows.length, V] at the flat positions `rows` (b*T + t) of ids [B, T]. */
export function gptRowLogits(
  params: GPTParams,
  cfg: GPTConfig,
  ids: Tensor,
  rows: Int32Array,
): Tensor {
  return headAtRows(params, cfg, gptHidden(params, cfg, ids), rows);
}

export interface GptModelOptions {
  tokenBudget?: number;
  /** "rows" (default): head only where scored; "full": core gptLogits on every position. */
  mode?: "rows" | "full";
  /** Score options with the question shared (tree mask); default true in "rows" mode. */
  sharePrefix?: boolean;
}

/** A batched ScoringModel over the core GPT. */
export function gptScoringModel(
  params: GPTParams,
  cfg: GPTConfig,
  opts: GptModelOptions = {},
): ScoringModel {
  const base = { context: cfg.context, vocab: cfg.vocab, tokenBudget: opts.tokenBudget ?? 2048 };
  if (opts.mode === "full") {
    return batchedModel(async (ids, B, T) => {
      const logits = tidy(() => gptLogits(params, cfg, tensor(ids, [B, T], "i32")));
      const data = await logits.data() as Float32Array;
      logits.dispose();
      return data;
    }, { ...base, logitBudget: 64 * 1024 * 1024 });
  }
  const model = batchedRowsModel(async (ids, B, T, rows) => {
    const logits = tidy(() => {
      const hs = gptHidden(params, cfg, tensor(ids, [B, T], "i32"));
      return headAtRows(params, cfg, hs, Int32Array.from(rows));
    });
    const data = await logits.data() as Float32Array;
    logits.dispose();
    return data;
  }, { ...base, logitBudget: 1 << 40 });
  const sumLogProbs = async (reqs: TokenRequest[]) => {
    let sum = 0, tokens = 0;
    for (
      const group of planBatches(reqs.map((r) => r.ids.length), { ...base, logitBudget: 1 << 40 })
    ) {
      const T = Math.max(...group.map((i) => reqs[i].ids.length));
      const ids = new Int32Array(group.length * T);
      const rows: number[] = [], targets: number[] = [];
      group.forEach((i, b) => {
        const r = reqs[i];
        ids.set(r.ids, b * T);
        for (let t = Math.max(1, r.start); t < r.ids.length; t++) {
          rows.push(b * T + t - 1);
          targets.push(r.ids[t]);
        }
      });
      if (rows.length === 0) continue;
      const nll = tidy(() => {
        const hs = gptHidden(params, cfg, tensor(ids, [group.length, T], "i32"));
        const logits = headAtRows(params, cfg, hs, Int32Array.from(rows));
        return spanNll(logits, Int32Array.from(targets), [[0, rows.length]]);
      });
      sum -= (await nll.data())[0] * rows.length;
      nll.dispose();
      tokens += rows.length;
    }
    return { sum, tokens };
  };
  if (opts.sharePrefix === false) return { ...model, sumLogProbs };
  return {
    ...model,
    sumLogProbs,
    choiceLogLiks: treeChoiceScorer(params, cfg, { tokenBudget: base.tokenBudget }),
  };
}

/** Per-layer hidden states of one sequence as [T*D] arrays (probe input). */
export function gptHiddenFn(params: GPTParams, cfg: GPTConfig): HiddenFn {
  return async (ids) => {
    const hs = tidy(() => gptHidden(params, cfg, tensor(ids, [1, ids.length], "i32")));
    const out: Float32Array[] = [];
    for (const h of hs) out.push(await h.data() as Float32Array);
    hs.forEach((h) => h.dispose());
    return out;
  };
}

/** Nested params from dotted names ("blocks.0.attn.wq"); numeric segments become arrays. */
export function unflattenParams(named: Record<string, Tensor>): GPTParams {
  const root: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(named)) {
    const parts = name.split(".");
    let node: Record<string, unknown> = root;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) node[p] = t;
      else node = (node[p] ??= /^\d+$/.test(parts[i + 1]) ? [] : {}) as Record<string, unknown>;
    });
  }
  return root as GPTParams;
}

/** Every tensor the model reads, by dotted name, with its shape (core/gpt.ts initGPT's tree). */
export function expectedParamShapes(cfg: GPTConfig): Map<string, number[]> {
  const [V, D] = [cfg.vocab, cfg.dModel];
  const H = Math.round(D * (cfg.mlpRatio ?? 4)); // core/gpt.ts hidden()
  const out = new Map<string, number[]>([["wte", [V, D]], ["head", [D, V]]]);
  const norm = (name: string) => {
    out.set(`${name}.w`, [D]);
    if (cfg.norm !== "rmsnorm") out.set(`${name}.b`, [D]);
  };
  norm("lnf");
  for (let i = 0; i < cfg.layers; i++) {
    norm(`blocks.${i}.ln1`);
    norm(`blocks.${i}.ln2`);
    for (const k of ["wq", "wk", "wv", "wo"]) out.set(`blocks.${i}.attn.${k}`, [D, D]);
    out.set(`blocks.${i}.mlp.w1`, [D, H]);
    out.set(`blocks.${i}.mlp.w2`, [H, D]);
  }
  return out;
}

/**
 * The saved tensors are exactly the ones the model reads, each with its shape and finite values:
 * none missing (MLP and norm biases included), none unknown, none NaN or infinite.
 */
function checkTensors(named: Record<string, StTensor>, cfg: GPTConfig, where: string) {
  const blocks = Object.keys(named).filter((n) => /^blocks\.\d+\./.test(n))
    .map((n) => Number(n.split(".")[1]));
  const saved = blocks.length ? Math.max(...blocks) + 1 : 0;
  if (saved !== cfg.layers) {
    throw new Error(`${where}: ${saved} blocks saved, config says ${cfg.layers}`);
  }
  const want = expectedParamShapes(cfg); // after the block count: a damaged "layers" is no loop
  for (const [name, shape] of want) {
    const t = named[name];
    if (!t) throw new Error(`${where}: tensor "${name}" missing; was it saved from mergeParams?`);
    if (t.shape.join() !== shape.join()) {
      throw new Error(`${where}: "${name}" has shape [${t.shape}], config needs [${shape}]`);
    }
    const bad = (t.data as Float32Array).findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new Error(
        `${where}: "${name}" holds ${t.data[bad]} at index ${bad}; restore a good copy`,
      );
    }
  }
  const extra = Object.keys(named).find((n) => !want.has(n));
  if (extra) {
    throw new Error(
      `${where}: unexpected tensor "${extra}" (not part of a ${cfg.layers}-layer model)`,
    );
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new Error(`eval: cannot read ${path}; is this a checkpoint folder from the train stage?`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new Error(`eval: ${path} is not valid JSON; re-save the checkpoint`);
  }
  return j;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

async function exists(p: string) {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Load <dir>/config.json + <dir>/model.safetensors (+ tokenizer) into an evaluable model. */
export async function loadCheckpointModel(
  dir: string,
  opts: GptModelOptions & { codec?: TextCodec } = {},
): Promise<CheckpointModel> {
  const meta = await readJson(join(dir, "config.json"));
  if (!isObject(meta)) {
    throw new Error(`eval: ${dir}/config.json is not a JSON object; re-save the checkpoint`);
  }
  // an exported GPT-NeoX folder (pipeline/export): its "glyphgrad" block names the tokenizer
  const neox = (meta.architectures as unknown[] | undefined)?.includes(NEOX_ARCH) ?? false;
  const info = (neox ? meta.glyphgrad ?? {} : meta) as Record<string, unknown>;
  const modelPath = join(dir, "model.safetensors");
  const bytes = await readFileOrExplain(modelPath);
  // a train-stage checkpoint records the weights' SHA-256: a changed byte is refused, not scored
  const files = meta.files as Record<string, unknown> | undefined;
  const recorded = isObject(files) ? files["model.safetensors"] : undefined;
  if (recorded !== undefined || meta.format === CHECKPOINT_FORMAT) {
    if (typeof recorded !== "string") {
      throw new Error(`eval: ${dir}/config.json records no SHA-256 for model.safetensors`);
    }
    if ((await sha256Hex(bytes)) !== recorded) {
      throw new Error(
        `eval: ${modelPath} does not match the SHA-256 in config.json (corrupt or edited); ` +
          "restore a good copy or train again",
      );
    }
  }
  let { tensors } = decodeSafetensors(bytes, modelPath);
  let cfg = (meta.gpt ?? meta.model ?? meta) as GPTConfig;
  if (!isObject(cfg)) throw new Error(`eval: ${dir}/config.json "gpt" is not an object`);
  if (neox) {
    const embedding = info.embedding === "frozen" ? "frozen" : "trainable";
    ({ cfg, weights: tensors } = fromNeox(meta, tensors, embedding, `eval: ${dir}`));
  }
  for (const k of ["vocab", "dModel", "layers", "heads", "context"] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) {
      throw new Error(`eval: ${dir}/config.json lacks a positive integer gpt.${k}`);
    }
  }
  try {
    validateConfig(cfg);
  } catch (e) {
    throw new Error(`eval: ${dir}/config.json: ${(e as Error).message}`);
  }
  const weights: Record<string, StTensor> = {};
  let vocabIds: ArrayLike<number> | undefined;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "vocab_ids") {
      if (t.dtype !== "I32" || t.shape.join() !== `${cfg.vocab}`) {
        throw new Error(
          `eval: ${modelPath} "vocab_ids" is ${t.dtype} [${t.shape}]; expected I32 [${cfg.vocab}]`,
        );
      }
      vocabIds = t.data as Int32Array;
      continue;
    }
    if (t.dtype !== "F32") {
      throw new Error(`eval: ${dir}/model.safetensors "${name}" is ${t.dtype}; expected F32`);
    }
    weights[name] = t;
  }
  checkTensors(weights, cfg, `eval: ${modelPath}`);
  const named: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(weights)) {
    named[name] = tensor(t.data as Float32Array, t.shape, "f32");
  }
  const params = unflattenParams(named);
  let codec = opts.codec;
  let stopId: number | undefined; // the model id of </s>, where the vocabulary has it
  if (!codec) {
    const tp = info.tokenizer;
    if (typeof tp !== "string") {
      throw new Error(`eval: ${dir}/config.json has no "tokenizer" path; add it or pass a codec`);
    }
    const path = (await exists(join(dir, tp))) ? join(dir, tp) : tp;
    const tok = await loadTokenizer(path);
    // the codec decodes model output only (generated / sampled ids), which may end inside a
    // UTF-8 sequence or pair byte tokens wrongly: U+FFFD instead of an error
    codec = {
      encode: (s) => encode(tok, s),
      decode: (ids) => decode(tok, ids, { invalid: "replace" }),
    };
    if (info.vocabIds !== undefined) {
      vocabIds = typeof info.vocabIds === "string"
        ? (await readJson(join(dir, info.vocabIds))) as unknown as number[]
        : info.vocabIds as number[];
      if (!Array.isArray(vocabIds) || vocabIds.length !== cfg.vocab) {
        throw new Error(
          `eval: ${dir}/config.json "vocabIds" is not a list of ${cfg.vocab} tokenizer ids`,
        );
      }
    }
    if (vocabIds) {
      // a compact vocabulary: the tokenizer restricted to the model's rows (tokenizer/compact.ts,
      // the rule an exported tokenizer.json follows too)
      const ct = compactTokenizer(tok, vocabIds);
      codec = {
        encode: (s) => compactEncode(ct, s),
        decode: (ids) => compactDecode(ct, ids, { invalid: "replace" }),
      };
      const eos = Array.prototype.indexOf.call(vocabIds, EOS);
      stopId = eos >= 0 ? eos : undefined;
    } else if (EOS < cfg.vocab) stopId = EOS;
  }
  const name = typeof info.name === "string"
    ? info.name
    : typeof info.model === "string"
    ? info.model
    : `${dirname(join(dir, "x")).split("/").pop()} (${cfg.embedding})`;
  return {
    dir,
    name,
    cfg,
    params,
    codec,
    stopId,
    model: gptScoringModel(params, cfg, opts),
    hidden: gptHiddenFn(params, cfg),
    meta,
  };
}
