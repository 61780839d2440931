// Shared-prefix scoring for multiple choice: each question runs once through the core causal
// attention, and all its options run beside it as a second, short stream whose queries see
// the prefix keys and their own option's earlier keys only (an explicit mask), with rotary
// positions continuing from the prefix for every option. Each option is scored exactly as if
// it stood alone after the prefix, for about a quarter of the tokens. Built from core ops;
// checked against per-option scoring in tests/eval_checkpoint_test.ts.

import type { GPTConfig, GPTParams, NormParams } from "../../core/gpt.ts";
import {
  add,
  causalAttention,
  concat,
  crossEntropy,
  gather,
  gelu,
  layerNorm,
  maskedFill,
  matmul,
  mul,
  permute,
  reshape,
  rmsNorm,
  rope,
  scale,
  slice,
  softmax,
  sub,
} from "../../core/ops.ts";
import { type Tensor, tensor, tidy } from "../../core/tensor.ts";
import { type ChoiceGroup, planBatches } from "./model.ts";

function normFwd(cfg: GPTConfig, x: Tensor, p: NormParams): Tensor {
  return cfg.norm === "rmsnorm" ? rmsNorm(x, p.w) : layerNorm(x, p.w, p.b!);
}

/**
 * A batch split in two: prefixes [B,Tp] (right-padded; run with the core causal attention)
 * and the options of each item packed after them [B,To] with their RoPE positions (prefix
 * length + offset in the option) and segments (k = option k, 0 = padding).
 */
export interface SplitPack {
  B: number;
  Tp: number;
  To: number;
  preIds: Int32Array;
  preLens: Int32Array;
  optIds: Int32Array;
  optPos: Int32Array;
  optSeg: Int32Array;
}

export function packSplit(groups: ChoiceGroup[]): SplitPack {
  const B = groups.length;
  const Tp = Math.max(...groups.map((g) => g.prefix.length));
  const To = Math.max(...groups.map((g) => g.conts.reduce((s, c) => s + c.length, 0)));
  const preIds = new Int32Array(B * Tp), preLens = new Int32Array(B);
  const optIds = new Int32Array(B * To), optPos = new Int32Array(B * To);
  const optSeg = new Int32Array(B * To);
  groups.forEach((g, b) => {
    preIds.set(g.prefix, b * Tp);
    preLens[b] = g.prefix.length;
    let i = b * To;
    g.conts.forEach((c, k) => {
      c.forEach((id, t) => {
        optIds[i] = id;
        optPos[i] = g.prefix.length + t;
        optSeg[i++] = k + 1;
      });
    });
  });
  return { B, Tp, To, preIds, preLens, optIds, optPos, optSeg };
}

/**
 * [B,1,To,Tp+To], 1 where option token i may NOT attend to key j: keys are the item's real
 * prefix tokens, then its option tokens; an option sees the prefix and its own earlier tokens.
 */
export function splitMask(p: SplitPack): Int32Array {
  const { B, Tp, To, optSeg } = p;
  const K = Tp + To;
  const m = new Int32Array(B * To * K).fill(1);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < To; i++) {
      const row = (b * To + i) * K;
      for (let j = 0; j < p.preLens[b]; j++) m[row + j] = 0;
      const si = optSeg[b * To + i];
      for (let j = 0; j <= i; j++) {
        if (si === 0 ? j === i : optSeg[b * To + j] === si) m[row + Tp + j] = 0;
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

/**
 * Final residual streams (before the last norm): prefixes [B*Tp, D] then options [B*To, D],
 * stacked in one [B*(Tp+To), D] tensor.
 */
export function splitHidden(params: GPTParams, cfg: GPTConfig, p: SplitPack): Tensor {
  const { B, Tp, To } = p;
  const H = cfg.heads, Dh = cfg.dModel / H, D = cfg.dModel, half = Dh / 2;
  const c = new Float32Array(B * To * half), s = new Float32Array(B * To * half);
  for (let i = 0; i < B * To; i++) {
    for (let j = 0; j < half; j++) {
      const theta = p.optPos[i] * Math.pow(10000, (-2 * j) / Dh);
      c[i * half + j] = Math.cos(theta);
      s[i * half + j] = Math.sin(theta);
    }
  }
  const cos = tensor(c, [B, To, 1, half]), sin = tensor(s, [B, To, 1, half]);
  const mask = tensor(splitMask(p), [B, 1, To, Tp + To], "i32");
  let xp = gather(params.wte!, tensor(p.preIds, [B, Tp], "i32"));
  let xo = gather(params.wte!, tensor(p.optIds, [B, To], "i32"));
  const bhtd = (t: Tensor) => permute(t, [0, 2, 1, 3]);
  for (const blk of params.blocks!) {
    const hp = normFwd(cfg, xp, blk.ln1), ho = normFwd(cfg, xo, blk.ln1);
    const heads = (h: Tensor, w: Tensor, T: number) => reshape(matmul(h, w), [B, T, H, Dh]);
    const kp = rope(heads(hp, blk.attn.wk, Tp)), vp = heads(hp, blk.attn.wv, Tp);
    const ap = causalAttention(rope(heads(hp, blk.attn.wq, Tp)), kp, vp);
    const qo = ropeAt(heads(ho, blk.attn.wq, To), cos, sin);
    const k = concat([kp, ropeAt(heads(ho, blk.attn.wk, To), cos, sin)], 1);
    const v = concat([vp, heads(ho, blk.attn.wv, To)], 1);
    const scores = scale(matmul(bhtd(qo), bhtd(k), { transB: true }), 1 / Math.sqrt(Dh));
    const ao = bhtd(matmul(softmax(maskedFill(scores, mask, -1e9), -1), bhtd(v)));
    xp = add(xp, matmul(reshape(ap, [B, Tp, D]), blk.attn.wo));
    xo = add(xo, matmul(reshape(ao, [B, To, D]), blk.attn.wo));
    const mlp = (x: Tensor) =>
      matmul(gelu(matmul(normFwd(cfg, x, blk.ln2), blk.mlp.w1)), blk.mlp.w2);
    xp = add(xp, mlp(xp));
    xo = add(xo, mlp(xo));
  }
  return concat([reshape(xp, [B * Tp, D]), reshape(xo, [B * To, D])], 0);
}

/**
 * Summed log-probability of each span of rows (one span per option): logits at `rows` of
 * splitHidden's stacked output, then the core's fused cross-entropy per span on the backend,
 * so one float per option is read back.
 */
export async function splitSpanLogLiks(
  params: GPTParams,
  cfg: GPTConfig,
  p: SplitPack,
  rows: Int32Array,
  targets: Int32Array,
  spans: [number, number][],
): Promise<number[]> {
  const out = tidy(() => {
    const picked = gather(splitHidden(params, cfg, p), tensor(rows, [rows.length], "i32"));
    return spanNll(matmul(normFwd(cfg, picked, params.lnf!), params.head!), targets, spans);
  });
  const data = await out.data() as Float32Array;
  out.dispose();
  return spans.map(([, n], i) => -data[i] * n);
}

/** Mean negative log-likelihood of each span of a [R, V] logits tensor: [spans]. */
export function spanNll(logits: Tensor, targets: Int32Array, spans: [number, number][]): Tensor {
  const t = tensor(targets, [targets.length], "i32");
  return concat(
    spans.map(([s, n]) =>
      reshape(crossEntropy(slice(logits, 0, s, s + n), slice(t, 0, s, s + n), -1), [1])
    ),
    0,
  );
}

/** Batched shared-prefix scorer (ScoringModel.choiceLogLiks) over the core GPT. */
export function treeChoiceScorer(
  params: GPTParams,
  cfg: GPTConfig,
  opts: { tokenBudget?: number } = {},
): (groups: ChoiceGroup[]) => Promise<number[][]> {
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
    // cost is dominated by the prefix; options add their tokens once each
    const lens = groups.map((g) => g.prefix.length + g.conts.reduce((s, c) => s + c.length, 0));
    const out: number[][] = new Array(groups.length);
    const plan = planBatches(lens, {
      context: cfg.context,
      vocab: cfg.vocab,
      tokenBudget: opts.tokenBudget ?? 2048,
      logitBudget: 1 << 40,
    });
    for (const idx of plan) {
      const batch = idx.map((i) => groups[i]);
      const pack = packSplit(batch);
      const optBase = pack.B * pack.Tp;
      const rows: number[] = [], targets: number[] = [];
      const spans: [number, number][] = [];
      batch.forEach((g, b) => {
        let o = optBase + b * pack.To;
        for (const c of g.conts) {
          spans.push([rows.length, c.length]);
          rows.push(b * pack.Tp + g.prefix.length - 1);
          for (let t = 1; t < c.length; t++) rows.push(o + t - 1);
          targets.push(...c);
          o += c.length;
        }
      });
      const lls = await splitSpanLogLiks(
        params,
        cfg,
        pack,
        Int32Array.from(rows),
        Int32Array.from(targets),
        spans,
      );
      let r = 0;
      batch.forEach((g, b) => {
        out[idx[b]] = g.conts.map(() => lls[r++]);
      });
    }
    return out;
  };
}
