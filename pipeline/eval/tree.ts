// Shared-prefix scoring for multiple choice: each question runs once through the core causal
// attention, and all its options run beside it as a second, short stream whose queries see
// the prefix keys and their own option's earlier keys only (an explicit mask), with rotary
// positions continuing from the prefix for every option. Both streams are the core forward
// (core/gpt.ts gptHidden; the options use its `positions` and `attend`). Each option is scored
// exactly as if it stood alone after the prefix, for about a quarter of the tokens. Checked
// against per-option scoring in tests/eval_checkpoint_test.ts.

import { type GPTConfig, gptHead, gptHidden, type GPTParams } from "../../core/gpt.ts";
import {
  causalAttention,
  concat,
  crossEntropy,
  gather,
  maskedFill,
  matmul,
  permute,
  reshape,
  scale,
  slice,
  softmax,
} from "../../core/ops.ts";
import { type Tensor, tensor, tidy } from "../../core/tensor.ts";
import { type ChoiceGroup, planBatches } from "./model.ts";

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

/**
 * Final residual streams (before the last norm): prefixes [B*Tp, D] then options [B*To, D],
 * stacked in one [B*(Tp+To), D] tensor. Two passes of the core forward (gptHidden): the
 * prefixes with causal attention, keeping each block's keys and values, then the options at
 * their RoPE positions, attending to those prefix keys and their own option's earlier keys.
 */
export function splitHidden(params: GPTParams, cfg: GPTConfig, p: SplitPack): Tensor {
  const { B, Tp, To } = p;
  const Dh = cfg.dModel / cfg.heads, D = cfg.dModel;
  const mask = tensor(splitMask(p), [B, 1, To, Tp + To], "i32");
  const prefixKV: { k: Tensor; v: Tensor }[] = [];
  const hp = gptHidden(params, cfg, tensor(p.preIds, [B, Tp], "i32"), {
    attend: (l, q, k, v) => {
      prefixKV[l] = { k, v };
      return causalAttention(q, k, v);
    },
  });
  const bhtd = (t: Tensor) => permute(t, [0, 2, 1, 3]);
  const ho = gptHidden(params, cfg, tensor(p.optIds, [B, To], "i32"), {
    positions: p.optPos,
    attend: (l, q, k, v) => {
      const keys = concat([prefixKV[l].k, k], 1), values = concat([prefixKV[l].v, v], 1);
      const scores = scale(matmul(bhtd(q), bhtd(keys), { transB: true }), 1 / Math.sqrt(Dh));
      return bhtd(matmul(softmax(maskedFill(scores, mask, -1e9), -1), bhtd(values)));
    },
  });
  const last = (hs: Tensor[], T: number) => reshape(hs[hs.length - 1], [B * T, D]);
  return concat([last(hp, Tp), last(ho, To)], 0);
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
    return spanNll(gptHead(params, cfg, picked), targets, spans);
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
