// Shared-prefix ("tree") scoring for multiple choice: one row per item holds the question
// once followed by all its options, [prefix | opt1 | opt2 | ...]. An attention mask lets each
// option see the prefix and its own earlier tokens only, and rotary positions restart after
// the prefix for every option, so each option is scored exactly as if it stood alone after
// the prefix, at about a quarter of the tokens. Built from core ops (explicit masked
// attention, rotate-half RoPE at given positions); checked against gptLogits in tests.

import type { GPTConfig, GPTParams, NormParams } from "../../core/gpt.ts";
import {
  add,
  concat,
  gather,
  gelu,
  layerNorm,
  maskedFill,
  matmul,
  mul,
  permute,
  reshape,
  rmsNorm,
  scale,
  slice,
  softmax,
  sub,
} from "../../core/ops.ts";
import { type Tensor, tensor, tidy } from "../../core/tensor.ts";
import { type ChoiceGroup, logProbAt, planBatches } from "./model.ts";

function normFwd(cfg: GPTConfig, x: Tensor, p: NormParams): Tensor {
  return cfg.norm === "rmsnorm" ? rmsNorm(x, p.w) : layerNorm(x, p.w, p.b!);
}

/** A packed batch: ids, RoPE positions and segments (0 prefix, k option k, -1 padding). */
export interface TreePack {
  ids: Int32Array;
  pos: Int32Array;
  seg: Int32Array;
  B: number;
  T: number;
}

/** Pack groups into rows [prefix | conts...], right-padded to the longest row. */
export function packTree(groups: ChoiceGroup[]): TreePack {
  const lens = groups.map((g) => g.prefix.length + g.conts.reduce((s, c) => s + c.length, 0));
  const B = groups.length, T = Math.max(...lens);
  const ids = new Int32Array(B * T), pos = new Int32Array(B * T), seg = new Int32Array(B * T);
  seg.fill(-1);
  groups.forEach((g, b) => {
    let i = b * T;
    g.prefix.forEach((id, t) => {
      ids[i] = id;
      pos[i] = t;
      seg[i++] = 0;
    });
    g.conts.forEach((c, k) => {
      c.forEach((id, t) => {
        ids[i] = id;
        pos[i] = g.prefix.length + t;
        seg[i++] = k + 1;
      });
    });
  });
  return { ids, pos, seg, B, T };
}

/** 1 where token i may NOT attend to token j: j after i, or j in another option. [B,1,T,T] */
export function treeMask(p: TreePack): Int32Array {
  const { B, T, seg } = p;
  const m = new Int32Array(B * T * T).fill(1);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      const si = seg[b * T + i];
      for (let j = 0; j <= i; j++) {
        const sj = seg[b * T + j];
        const ok = si < 0 ? j === i : sj === 0 || sj === si;
        if (ok) m[(b * T + i) * T + j] = 0;
      }
    }
  }
  return m;
}

/** Rotate-half RoPE of x [B,T,H,D] at explicit positions (cos, sin: [B,T,1,D/2]). */
function ropeAt(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const D = x.shape[3], h = D / 2;
  const x1 = slice(x, 3, 0, h), x2 = slice(x, 3, h, D);
  return concat([sub(mul(x1, cos), mul(x2, sin)), add(mul(x2, cos), mul(x1, sin))], 3);
}

/** Final residual stream [B,T,D] (before the last norm) of a packed batch. */
export function treeHidden(params: GPTParams, cfg: GPTConfig, p: TreePack): Tensor {
  const { B, T } = p;
  const H = cfg.heads, Dh = cfg.dModel / H, D = cfg.dModel, half = Dh / 2;
  const c = new Float32Array(B * T * half), s = new Float32Array(B * T * half);
  for (let i = 0; i < B * T; i++) {
    for (let j = 0; j < half; j++) {
      const theta = p.pos[i] * Math.pow(10000, (-2 * j) / Dh);
      c[i * half + j] = Math.cos(theta);
      s[i * half + j] = Math.sin(theta);
    }
  }
  const cos = tensor(c, [B, T, 1, half]), sin = tensor(s, [B, T, 1, half]);
  const mask = tensor(treeMask(p), [B, 1, T, T], "i32");
  let x = gather(params.wte!, tensor(p.ids, [B, T], "i32"));
  for (const blk of params.blocks!) {
    const h = normFwd(cfg, x, blk.ln1);
    const heads = (w: Tensor) => reshape(matmul(h, w), [B, T, H, Dh]);
    const q = permute(ropeAt(heads(blk.attn.wq), cos, sin), [0, 2, 1, 3]);
    const k = permute(ropeAt(heads(blk.attn.wk), cos, sin), [0, 2, 1, 3]);
    const v = permute(heads(blk.attn.wv), [0, 2, 1, 3]);
    const scores = maskedFill(scale(matmul(q, k, { transB: true }), 1 / Math.sqrt(Dh)), mask, -1e9);
    const a = permute(matmul(softmax(scores, -1), v), [0, 2, 1, 3]);
    x = add(x, matmul(reshape(a, [B, T, D]), blk.attn.wo));
    x = add(x, matmul(gelu(matmul(normFwd(cfg, x, blk.ln2), blk.mlp.w1)), blk.mlp.w2));
  }
  return x;
}

/** Logits [rows, V] of a packed batch at flat positions rows (b*T + t). */
export async function treeRowLogits(
  params: GPTParams,
  cfg: GPTConfig,
  p: TreePack,
  rows: Int32Array,
): Promise<Float32Array> {
  const logits = tidy(() => {
    const x = reshape(treeHidden(params, cfg, p), [p.B * p.T, cfg.dModel]);
    const picked = gather(x, tensor(rows, [rows.length], "i32"));
    return matmul(normFwd(cfg, picked, params.lnf!), params.head!);
  });
  const data = await logits.data() as Float32Array;
  logits.dispose();
  return data;
}

/** Batched shared-prefix scorer (ScoringModel.choiceLogProbs) over the core GPT. */
export function treeChoiceScorer(
  params: GPTParams,
  cfg: GPTConfig,
  opts: { tokenBudget?: number } = {},
): (groups: ChoiceGroup[]) => Promise<Float32Array[][]> {
  return async (groups) => {
    for (const g of groups) {
      const longest = Math.max(...g.conts.map((c) => c.length));
      if (g.prefix.length === 0 || g.prefix.length + longest > cfg.context) {
        throw new Error(
          `eval: prefix ${g.prefix.length} + option ${longest} tokens do not fit context ` +
            `${cfg.context}; cut the prefix first`,
        );
      }
    }
    const lens = groups.map((g) => g.prefix.length + g.conts.reduce((s, c) => s + c.length, 0));
    const out: Float32Array[][] = new Array(groups.length);
    const plan = planBatches(lens, {
      context: cfg.context,
      vocab: cfg.vocab,
      tokenBudget: opts.tokenBudget ?? 2048,
      logitBudget: 1 << 40,
    });
    for (const idx of plan) {
      const batch = idx.map((i) => groups[i]);
      const pack = packTree(batch);
      const rows: number[] = [];
      batch.forEach((g, b) => {
        let o = b * pack.T + g.prefix.length;
        for (const c of g.conts) {
          for (let t = 0; t < c.length; t++) {
            rows.push(t === 0 ? b * pack.T + g.prefix.length - 1 : o + t - 1);
          }
          o += c.length;
        }
      });
      const logits = await treeRowLogits(params, cfg, pack, Int32Array.from(rows));
      let r = 0;
      batch.forEach((g, b) => {
        out[idx[b]] = g.conts.map((c) => {
          const lp = new Float32Array(c.length);
          for (let t = 0; t < c.length; t++) lp[t] = logProbAt(logits, r++, cfg.vocab, c[t]);
          return lp;
        });
      });
    }
    return out;
  };
}
