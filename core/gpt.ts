// The paper's GPT, nanoGPT style: token embedding (frozen glyph table or trainable), pre-norm
// blocks of causal self-attention with rotary positions and a 4x GELU MLP, a final norm and an
// untied trainable output head. Weights are stored [in, out] so a linear layer is x @ W; there
// are no biases in linear layers, so the parameter count is 12 d^2 per block + 2 V d + norms.

import { Rng } from "./rng.ts";
import {
  add,
  causalAttention,
  composite,
  crossEntropy,
  dropout,
  gather,
  gelu,
  layerNorm,
  matmul,
  reshape,
  rmsNorm,
  rope,
} from "./ops.ts";
import { type Tensor, tensor } from "./tensor.ts";
import { chunkedHeadLoss } from "./head_loss.ts";

export interface GPTConfig {
  vocab: number;
  dModel: number;
  layers: number;
  heads: number;
  context: number;
  embedding: "frozen" | "trainable";
  norm?: "layernorm" | "rmsnorm";
  dropout?: number;
  mlpRatio?: number; // default 4
}

export interface NormParams {
  w: Tensor;
  b?: Tensor; // LayerNorm only
}

export interface BlockParams {
  ln1: NormParams;
  attn: { wq: Tensor; wk: Tensor; wv: Tensor; wo: Tensor };
  ln2: NormParams;
  mlp: { w1: Tensor; w2: Tensor };
}

/** A (possibly partial) parameter tree; mergeParams(trainable, frozen) is complete. */
export interface GPTParams {
  wte?: Tensor;
  blocks?: BlockParams[];
  lnf?: NormParams;
  head?: Tensor;
}

export interface FrozenTable {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** Throw a one-line error if the config is unusable. */
export function validateConfig(cfg: GPTConfig): void {
  const ints: (keyof GPTConfig)[] = ["vocab", "dModel", "layers", "heads", "context"];
  for (const k of ints) {
    const v = cfg[k] as number;
    if (!Number.isInteger(v) || v <= 0) {
      throw new Error(`GPTConfig.${k} must be a positive integer, got ${v}`);
    }
  }
  if (cfg.dModel % cfg.heads) {
    throw new Error(`GPTConfig: dModel ${cfg.dModel} is not divisible by heads ${cfg.heads}`);
  }
  if ((cfg.dModel / cfg.heads) % 2) {
    throw new Error(`GPTConfig: head size ${cfg.dModel / cfg.heads} must be even for RoPE`);
  }
  if (cfg.embedding !== "frozen" && cfg.embedding !== "trainable") {
    throw new Error(`GPTConfig.embedding must be "frozen" or "trainable", got ${cfg.embedding}`);
  }
  const p = cfg.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new Error(`GPTConfig.dropout must be in [0, 1), got ${p}`);
}

function hidden(cfg: GPTConfig): number {
  return Math.round(cfg.dModel * (cfg.mlpRatio ?? 4));
}

/** Parameter counts: total (including a frozen table) and trainable. */
export function countParams(cfg: GPTConfig): { total: number; trainable: number } {
  const d = cfg.dModel, h = hidden(cfg);
  const normSize = cfg.norm === "rmsnorm" ? d : 2 * d;
  const block = 4 * d * d + 2 * d * h + 2 * normSize;
  const rest = cfg.layers * block + normSize + d * cfg.vocab;
  const wte = cfg.vocab * d;
  return { total: rest + wte, trainable: cfg.embedding === "frozen" ? rest : rest + wte };
}

/** Widen a [V, Dv] table to [V, d] by repeating each component d/Dv times (repeat_interleave). */
export function widenTable(t: FrozenTable, d: number): Float32Array {
  if (t.data.length !== t.rows * t.cols) {
    throw new Error(`frozenTable: ${t.data.length} values but rows*cols = ${t.rows * t.cols}`);
  }
  if (t.cols === d) return t.data;
  if (t.cols > d || d % t.cols) {
    throw new Error(
      `frozenTable: width ${t.cols} cannot be widened to dModel ${d} ` +
        "(need a divisor of dModel; reduce it with PCA first)",
    );
  }
  const r = d / t.cols, out = new Float32Array(t.rows * d);
  for (let i = 0; i < t.rows; i++) {
    for (let j = 0; j < t.cols; j++) {
      const v = t.data[i * t.cols + j];
      for (let k = 0; k < r; k++) out[i * d + j * r + k] = v;
    }
  }
  return out;
}

/**
 * Seeded initialisation: N(0, 0.02) weights, residual projections (wo, w2) scaled by
 * 1/sqrt(2 layers), norms at 1 (bias 0). Frozen mode puts the (widened) table in frozen.wte.
 */
export function initGPT(
  cfg: GPTConfig,
  opts: { seed: number; frozenTable?: FrozenTable },
): { trainable: GPTParams; frozen: GPTParams } {
  validateConfig(cfg);
  const rng = new Rng(opts.seed);
  const d = cfg.dModel, h = hidden(cfg), V = cfg.vocab;
  const std = 0.02, resid = 0.02 / Math.sqrt(2 * cfg.layers);
  const randn = (shape: number[], s: number) => {
    const n = shape[0] * (shape[1] ?? 1), a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = s * rng.normal();
    return tensor(a, shape);
  };
  const norm = (): NormParams =>
    cfg.norm === "rmsnorm" ? { w: tensor(new Float32Array(d).fill(1), [d]) } : {
      w: tensor(new Float32Array(d).fill(1), [d]),
      b: tensor(new Float32Array(d), [d]),
    };
  let wte: Tensor;
  if (cfg.embedding === "frozen") {
    if (!opts.frozenTable) throw new Error('initGPT: embedding "frozen" needs opts.frozenTable');
    if (opts.frozenTable.rows !== V) {
      throw new Error(`initGPT: frozenTable has ${opts.frozenTable.rows} rows but vocab is ${V}`);
    }
    wte = tensor(widenTable(opts.frozenTable, d), [V, d]);
  } else wte = randn([V, d], std);
  const blocks: BlockParams[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    blocks.push({
      ln1: norm(),
      attn: {
        wq: randn([d, d], std),
        wk: randn([d, d], std),
        wv: randn([d, d], std),
        wo: randn([d, d], resid),
      },
      ln2: norm(),
      mlp: { w1: randn([d, h], std), w2: randn([h, d], resid) },
    });
  }
  const trainable: GPTParams = { blocks, lnf: norm(), head: randn([d, V], std) };
  if (cfg.embedding === "frozen") return { trainable, frozen: { wte } };
  return { trainable: { wte, ...trainable }, frozen: {} };
}

/**
 * The full parameter tree (trainable leaves plus frozen ones). Blocks merge index by index, so
 * a grown model keeps its lower blocks frozen (`frozen.blocks[i]`) and trains the top ones
 * (`trainable.blocks[j]`, the others null).
 */
export function mergeParams(trainable: GPTParams, frozen: GPTParams): GPTParams {
  const out = { ...frozen, ...trainable };
  if (trainable.blocks && frozen.blocks) {
    const n = Math.max(trainable.blocks.length, frozen.blocks.length);
    out.blocks = Array.from({ length: n }, (_, i) => trainable.blocks![i] ?? frozen.blocks![i]);
  }
  return out;
}

/** The final norm's (or a block's) LayerNorm / RMSNorm of x, as cfg.norm says. */
export function normFwd(cfg: GPTConfig, x: Tensor, p: NormParams): Tensor {
  if (cfg.norm === "rmsnorm") return rmsNorm(x, p.w);
  if (!p.b) throw new Error("GPT params: a LayerNorm is missing its bias b");
  return layerNorm(x, p.w, p.b);
}

/**
 * Self-attention of one block on q, k, v [B, T, H, Dh] (q and k already rotated); returns
 * [B, T, H, Dh]. The default is causal attention over the sequence itself.
 */
export type AttendFn = (layer: number, q: Tensor, k: Tensor, v: Tensor) => Tensor;

export interface HiddenOptions {
  /** Apply dropout (cfg.dropout), seeded by `seed`. */
  train?: boolean;
  seed?: number;
  /** RoPE position of each id, [B * T] row-major (default 0..T-1 in every row). */
  positions?: Int32Array;
  /** Replace each block's causal self-attention (e.g. to attend to a shared prefix too). */
  attend?: AttendFn;
}

/**
 * The one GPT forward: the residual stream [B, T, D] at the input (index 0) and after every
 * block, for i32 ids [B, T]. Logits (gptLogits), evaluation's hidden states and its
 * shared-prefix scoring (pipeline/eval) are all built on it.
 */
export function gptHidden(
  params: GPTParams,
  cfg: GPTConfig,
  ids: Tensor,
  opts: HiddenOptions = {},
): Tensor[] {
  const { wte, blocks } = params;
  if (!wte || !blocks) throw new Error("gptHidden: params need wte and blocks (mergeParams)");
  if (ids.rank !== 2 || ids.dtype !== "i32") {
    throw new Error(`gptHidden: ids must be i32 [B, T], got ${ids}`);
  }
  const [B, T] = ids.shape;
  const H = cfg.heads, Dh = cfg.dModel / H, D = cfg.dModel;
  const p = opts.train ? cfg.dropout ?? 0 : 0;
  let seed = (opts.seed ?? 0) >>> 0;
  const drop = (t: Tensor) => (p > 0 ? dropout(t, p, seed = (seed + 0x632be5ab) >>> 0) : t);
  const rot = (t: Tensor) => rope(t, { positions: opts.positions });
  const attend = opts.attend ?? ((_l, q, k, v) => causalAttention(q, k, v));
  let x = drop(gather(wte, ids)); // [B, T, D]
  const out = [x];
  blocks.forEach((blk, l) => {
    const h = normFwd(cfg, x, blk.ln1);
    const heads = (w: Tensor) => reshape(matmul(h, w), [B, T, H, Dh]);
    const q = rot(heads(blk.attn.wq)), k = rot(heads(blk.attn.wk)), v = heads(blk.attn.wv);
    const a = reshape(attend(l, q, k, v), [B, T, D]);
    x = add(x, drop(matmul(a, blk.attn.wo)));
    const h2 = normFwd(cfg, x, blk.ln2);
    x = add(x, drop(matmul(gelu(matmul(h2, blk.mlp.w1)), blk.mlp.w2)));
    out.push(x);
  });
  return out;
}

/** Logits [B, T, V] for i32 ids [B, T] (T <= context). train: apply dropout (seeded). */
export function gptLogits(
  params: GPTParams,
  cfg: GPTConfig,
  ids: Tensor,
  opts: { train?: boolean; seed?: number } = {},
): Tensor {
  const { wte, blocks, lnf, head } = params;
  if (!wte || !blocks || !lnf || !head) {
    throw new Error("gptLogits: params are incomplete; pass mergeParams(trainable, frozen)");
  }
  if (ids.rank !== 2 || ids.dtype !== "i32") {
    throw new Error(`gptLogits: ids must be i32 [B, T], got ${ids}`);
  }
  if (ids.shape[1] > cfg.context) {
    throw new Error(`gptLogits: sequence length ${ids.shape[1]} exceeds context ${cfg.context}`);
  }
  return composite(() => {
    const hs = gptHidden(params, cfg, ids, opts);
    return gptHead(params, cfg, hs[hs.length - 1]);
  });
}

/** Logits [..., V] of residual-stream rows x [..., D]: the final norm, then the output head. */
export function gptHead(params: GPTParams, cfg: GPTConfig, x: Tensor): Tensor {
  if (!params.lnf || !params.head) throw new Error("gptHead: params need lnf and head");
  return matmul(normFwd(cfg, x, params.lnf), params.head);
}

/** Mean next-token cross-entropy; targets i32 [B, T] with -1 = ignore. */
export function gptLoss(
  params: GPTParams,
  cfg: GPTConfig,
  ids: Tensor,
  targets: Tensor,
  opts: { train?: boolean; seed?: number } = {},
): Tensor {
  const V = params.head?.shape[1] ?? 0;
  if (ids.size * V <= FUSED_HEAD_MIN) {
    return composite(() => crossEntropy(gptLogits(params, cfg, ids, opts), targets, -1));
  }
  if (!params.lnf || !params.head) throw new Error("gptLoss: params need lnf and head");
  const { lnf, head } = params;
  return composite(() => {
    const hs = gptHidden(params, cfg, ids, opts);
    return chunkedHeadLoss(normFwd(cfg, hs[hs.length - 1], lnf), head, targets, -1);
  });
}

/**
 * Above this many logits (B * T * V) the loss uses the chunked fused head + cross-entropy
 * (core/head_loss.ts), which never holds all the logits; below it the plain head and
 * cross-entropy (the same bits as before it existed).
 */
export const FUSED_HEAD_MIN = 2 ** 25;
