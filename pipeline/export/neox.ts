// glyphgrad's GPT <-> the Hugging Face GPT-NeoX layout (GPTNeoXForCausalLM), as pure data
// conversions. The two are the same network when GPT-NeoX runs sequential residuals
// (use_parallel_residual: false), full rotary (rotary_pct 1.0, base 10000, rotate-half pairing
// (i, i + Dh/2), glyphgrad's core/ops.ts rope), tanh GELU ("gelu_new"), LayerNorm eps 1e-5,
// zero linear biases and an untied head. Weights: glyphgrad stores [in, out] (x @ W), GPT-NeoX
// [out, in]; query_key_value fuses q, k, v with rows ordered per head [q_h; k_h; v_h].

import type { GPTConfig } from "../../core/gpt.ts";
import type { StDict, StTensor } from "../../core/safetensors.ts";

export const NEOX_ARCH = "GPTNeoXForCausalLM";
/** glyphgrad's core LayerNorm eps and GELU form (core/ops.ts layerNorm, gelu default). */
export const LAYER_NORM_EPS = 1e-5;
export const HIDDEN_ACT = "gelu_new"; // tanh approximation, as core gelu(x, "tanh")
const ROPE_BASE = 10000;

type F32 = { dtype: "F32"; shape: number[]; data: Float32Array };
const f32 = (data: Float32Array, shape: number[]): F32 => ({ dtype: "F32", shape, data });

function hiddenOf(cfg: GPTConfig): number {
  return Math.round(cfg.dModel * (cfg.mlpRatio ?? 4));
}

/** [rows, cols] row-major -> [cols, rows]. */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

/** The GPT-NeoX config.json fields for a glyphgrad config (specials: model ids or undefined). */
export function neoxConfig(
  cfg: GPTConfig,
  ids: { bos?: number; eos?: number; pad?: number },
): Record<string, unknown> {
  if (cfg.norm === "rmsnorm") {
    throw new Error(
      "export: GPT-NeoX has LayerNorm only, this model uses RMSNorm; train with " +
        "model.norm=layernorm to export it",
    );
  }
  return {
    architectures: [NEOX_ARCH],
    model_type: "gpt_neox",
    vocab_size: cfg.vocab,
    hidden_size: cfg.dModel,
    num_hidden_layers: cfg.layers,
    num_attention_heads: cfg.heads,
    intermediate_size: hiddenOf(cfg),
    hidden_act: HIDDEN_ACT,
    rotary_pct: 1.0,
    partial_rotary_factor: 1.0,
    rotary_emb_base: ROPE_BASE,
    rope_theta: ROPE_BASE,
    max_position_embeddings: cfg.context,
    layer_norm_eps: LAYER_NORM_EPS,
    use_parallel_residual: false,
    attention_bias: true,
    attention_dropout: 0.0,
    hidden_dropout: 0.0,
    initializer_range: 0.02,
    tie_word_embeddings: false,
    use_cache: true,
    bos_token_id: ids.bos ?? null,
    eos_token_id: ids.eos ?? null,
    pad_token_id: ids.pad ?? null,
    torch_dtype: "float32",
  };
}

/** glyphgrad weights (dotted names of mergeParams, [in, out]) -> GPT-NeoX tensors. */
export function toNeox(w: StDict, cfg: GPTConfig): StDict {
  const D = cfg.dModel, H = hiddenOf(cfg), V = cfg.vocab, heads = cfg.heads, Dh = D / heads;
  const get = (name: string, shape: number[]): Float32Array => {
    const t = w[name];
    if (!t) throw new Error(`export: weight "${name}" is missing from the checkpoint`);
    if (t.dtype !== "F32" || t.shape.join() !== shape.join()) {
      throw new Error(`export: "${name}" is ${t.dtype} [${t.shape}], expected F32 [${shape}]`);
    }
    return t.data as Float32Array;
  };
  const out: Record<string, StTensor> = {};
  const p = "gpt_neox.";
  out[`${p}embed_in.weight`] = f32(get("wte", [V, D]), [V, D]);
  for (let l = 0; l < cfg.layers; l++) {
    const b = `blocks.${l}.`, n = `${p}layers.${l}.`;
    out[`${n}input_layernorm.weight`] = f32(get(`${b}ln1.w`, [D]), [D]);
    out[`${n}input_layernorm.bias`] = f32(get(`${b}ln1.b`, [D]), [D]);
    out[`${n}post_attention_layernorm.weight`] = f32(get(`${b}ln2.w`, [D]), [D]);
    out[`${n}post_attention_layernorm.bias`] = f32(get(`${b}ln2.b`, [D]), [D]);
    const [q, k, v] = ["wq", "wk", "wv"].map((m) => transpose(get(`${b}attn.${m}`, [D, D]), D, D));
    const qkv = new Float32Array(3 * D * D);
    for (let h = 0; h < heads; h++) {
      [q, k, v].forEach((src, j) => {
        const rows = src.subarray(h * Dh * D, (h + 1) * Dh * D); // output rows of head h
        qkv.set(rows, (h * 3 + j) * Dh * D);
      });
    }
    out[`${n}attention.query_key_value.weight`] = f32(qkv, [3 * D, D]);
    out[`${n}attention.query_key_value.bias`] = f32(new Float32Array(3 * D), [3 * D]);
    out[`${n}attention.dense.weight`] = f32(transpose(get(`${b}attn.wo`, [D, D]), D, D), [D, D]);
    out[`${n}attention.dense.bias`] = f32(new Float32Array(D), [D]);
    out[`${n}mlp.dense_h_to_4h.weight`] = f32(transpose(get(`${b}mlp.w1`, [D, H]), D, H), [H, D]);
    out[`${n}mlp.dense_h_to_4h.bias`] = f32(new Float32Array(H), [H]);
    out[`${n}mlp.dense_4h_to_h.weight`] = f32(transpose(get(`${b}mlp.w2`, [H, D]), H, D), [D, H]);
    out[`${n}mlp.dense_4h_to_h.bias`] = f32(new Float32Array(D), [D]);
  }
  out[`${p}final_layer_norm.weight`] = f32(get("lnf.w", [D]), [D]);
  out[`${p}final_layer_norm.bias`] = f32(get("lnf.b", [D]), [D]);
  out["embed_out.weight"] = f32(transpose(get("head", [D, V]), D, V), [V, D]);
  return out;
}

/**
 * A GPT-NeoX folder's config.json and tensors -> glyphgrad's GPTConfig and weights. Refuses
 * what glyphgrad's GPT cannot express (parallel residuals, partial rotary, another activation
 * or eps, non-zero linear biases), naming the field.
 */
export function fromNeox(
  config: Record<string, unknown>,
  t: StDict,
  embedding: "frozen" | "trainable" = "trainable",
  where = "GPT-NeoX folder",
): { cfg: GPTConfig; weights: StDict } {
  const bad = (why: string): never => {
    throw new Error(`${where}: ${why}; glyphgrad reads only GPT-NeoX models it can run exactly`);
  };
  const int = (k: string) => {
    const v = config[k];
    if (!Number.isInteger(v) || (v as number) <= 0) bad(`config.json lacks a positive "${k}"`);
    return v as number;
  };
  const want = (k: string, ok: unknown[]) => {
    if (config[k] !== undefined && !ok.includes(config[k])) bad(`${k} is ${config[k]}`);
  };
  want("use_parallel_residual", [false]);
  want("rotary_pct", [1]);
  want("hidden_act", [HIDDEN_ACT, "gelu_pytorch_tanh"]);
  want("layer_norm_eps", [LAYER_NORM_EPS]);
  want("rotary_emb_base", [ROPE_BASE]);
  if (config.rope_scaling) bad("rope_scaling is set");
  const V = int("vocab_size"), D = int("hidden_size"), layers = int("num_hidden_layers");
  const heads = int("num_attention_heads"), H = int("intermediate_size");
  const cfg: GPTConfig = {
    vocab: V,
    dModel: D,
    layers,
    heads,
    context: int("max_position_embeddings"),
    embedding,
    norm: "layernorm",
    dropout: 0,
    mlpRatio: H / D,
  };
  if (D % heads) bad(`hidden_size ${D} is not divisible by ${heads} heads`);
  const Dh = D / heads;
  const get = (name: string, shape: number[]): Float32Array => {
    const x = t[name];
    if (!x) bad(`tensor "${name}" is missing from model.safetensors`);
    if (x.dtype !== "F32" || x.shape.join() !== shape.join()) {
      bad(`"${name}" is ${x.dtype} [${x.shape}], expected F32 [${shape}]`);
    }
    return x.data as Float32Array;
  };
  const zero = (name: string, n: number) => {
    if (!t[name]) return; // attention_bias: false folders have none
    if (get(name, [n]).some((v) => v !== 0)) bad(`"${name}" is not zero`);
  };
  const w: Record<string, StTensor> = {};
  const p = "gpt_neox.";
  w.wte = f32(get(`${p}embed_in.weight`, [V, D]), [V, D]);
  for (let l = 0; l < layers; l++) {
    const b = `blocks.${l}.`, n = `${p}layers.${l}.`;
    w[`${b}ln1.w`] = f32(get(`${n}input_layernorm.weight`, [D]), [D]);
    w[`${b}ln1.b`] = f32(get(`${n}input_layernorm.bias`, [D]), [D]);
    w[`${b}ln2.w`] = f32(get(`${n}post_attention_layernorm.weight`, [D]), [D]);
    w[`${b}ln2.b`] = f32(get(`${n}post_attention_layernorm.bias`, [D]), [D]);
    const qkv = get(`${n}attention.query_key_value.weight`, [3 * D, D]);
    zero(`${n}attention.query_key_value.bias`, 3 * D);
    ["wq", "wk", "wv"].forEach((m, j) => {
      const rows = new Float32Array(D * D);
      for (let h = 0; h < heads; h++) {
        const from = (h * 3 + j) * Dh * D;
        rows.set(qkv.subarray(from, from + Dh * D), h * Dh * D);
      }
      w[`${b}attn.${m}`] = f32(transpose(rows, D, D), [D, D]);
    });
    w[`${b}attn.wo`] = f32(transpose(get(`${n}attention.dense.weight`, [D, D]), D, D), [D, D]);
    zero(`${n}attention.dense.bias`, D);
    w[`${b}mlp.w1`] = f32(transpose(get(`${n}mlp.dense_h_to_4h.weight`, [H, D]), H, D), [D, H]);
    zero(`${n}mlp.dense_h_to_4h.bias`, H);
    w[`${b}mlp.w2`] = f32(transpose(get(`${n}mlp.dense_4h_to_h.weight`, [D, H]), D, H), [H, D]);
    zero(`${n}mlp.dense_4h_to_h.bias`, D);
  }
  w["lnf.w"] = f32(get(`${p}final_layer_norm.weight`, [D]), [D]);
  w["lnf.b"] = f32(get(`${p}final_layer_norm.bias`, [D]), [D]);
  w.head = f32(transpose(get("embed_out.weight", [V, D]), V, D), [D, V]);
  return { cfg, weights: w };
}
