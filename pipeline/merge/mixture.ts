// A merge of models trained on the same frozen table and tokenizer (the companion paper's
// "mixture by logit averaging"): per position, the experts' outputs are combined with weights
// that sum to 1, with no training. Modes: "logits" (the weighted mean of the raw logits, the
// paper's), "logprobs" (the weighted mean of log-probabilities, renormalised: a geometric
// mixture) and "probs" (log of the weighted mean of probabilities: an arithmetic mixture).
// `combineRows` is the pure rule; `mixtureModel` turns loaded experts into a ScoringModel;
// `mixtureLogits` is the differentiable version used to fine-tune a merge.

import type { GPTConfig, GPTParams } from "../../core/gpt.ts";
import { gptLogits } from "../../core/gpt.ts";
import { add, scale } from "../../core/ops.ts";
import { type Tensor, tensor, tidy } from "../../core/tensor.ts";
import { gptRowLogits } from "../eval/checkpoint.ts";
import { batchedRowsModel, logSoftmaxRow, type ScoringModel } from "../eval/model.ts";

export const MERGE_MODES = ["logits", "logprobs", "probs"] as const;
export type MergeMode = typeof MERGE_MODES[number];

export interface Expert {
  params: GPTParams;
  cfg: GPTConfig;
}

/** Weights as given, checked (finite, >= 0, not all 0) and scaled to sum to 1; [] = equal. */
export function normalizeWeights(weights: number[], n: number): number[] {
  if (weights.length === 0) return Array(n).fill(1 / n);
  if (weights.length !== n) {
    throw new Error(`merge: ${weights.length} weights for ${n} models (give one weight per model)`);
  }
  if (weights.some((w) => !Number.isFinite(w) || w < 0)) {
    throw new Error(`merge: weights must be finite numbers >= 0, got ${weights.join(",")}`);
  }
  const total = weights.reduce((s, w) => s + w, 0);
  if (total <= 0) {
    throw new Error("merge: the weights sum to 0 (give at least one positive weight)");
  }
  return weights.map((w) => w / total);
}

/** Check a mode name; a bad one is a one-line error naming the valid ones. */
export function checkMode(mode: string): MergeMode {
  if (!(MERGE_MODES as readonly string[]).includes(mode)) {
    throw new Error(`merge: unknown mode "${mode}" (valid: ${MERGE_MODES.join(", ")})`);
  }
  return mode as MergeMode;
}

/**
 * Combine the experts' logits [rows, V] (one buffer per expert) into one [rows, V] buffer of
 * logits whose softmax is the merged distribution. `weights` must already sum to 1.
 */
export function combineRows(
  parts: Float32Array[],
  weights: number[],
  vocab: number,
  mode: MergeMode,
): Float32Array {
  const n = parts[0].length, rows = n / vocab;
  if (parts.some((p) => p.length !== n)) throw new Error("merge: experts returned different sizes");
  const out = new Float32Array(n);
  if (mode === "logits") {
    parts.forEach((p, e) => {
      for (let i = 0; i < n; i++) out[i] += weights[e] * p[i];
    });
    return out;
  }
  const lp = new Float32Array(vocab);
  const acc = new Float64Array(vocab);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    parts.forEach((p, e) => {
      logSoftmaxRow(p, r, vocab, lp);
      for (let v = 0; v < vocab; v++) {
        acc[v] += mode === "logprobs" ? weights[e] * lp[v] : weights[e] * Math.exp(lp[v]);
      }
    });
    for (let v = 0; v < vocab; v++) {
      out[r * vocab + v] = mode === "logprobs" ? acc[v] : Math.log(acc[v]);
    }
  }
  return out;
}

/** A batched ScoringModel whose next-token distribution is the merge of the experts'. */
export function mixtureModel(
  experts: Expert[],
  weights: number[],
  mode: MergeMode,
  opts: { tokenBudget?: number } = {},
): ScoringModel {
  const cfg = experts[0].cfg;
  const w = normalizeWeights(weights, experts.length);
  return batchedRowsModel(async (ids, B, T, rows) => {
    const parts: Float32Array[] = [];
    for (const e of experts) {
      const logits = tidy(() =>
        gptRowLogits(
          e.params,
          e.cfg,
          tensor(ids, [B, T], "i32"),
          Int32Array.from(rows),
        )
      );
      parts.push(await logits.data() as Float32Array);
      logits.dispose();
    }
    return combineRows(parts, w, cfg.vocab, mode);
  }, {
    context: Math.min(...experts.map((e) => e.cfg.context)),
    vocab: cfg.vocab,
    tokenBudget: opts.tokenBudget ?? 2048,
    logitBudget: 1 << 40,
  });
}

/** The weighted mean of the experts' logits [B, T, V], differentiable (fine-tuning a merge). */
export function mixtureLogits(
  experts: Expert[],
  weights: number[],
  ids: Tensor,
  opts: { train?: boolean; seed?: number } = {},
): Tensor {
  let acc: Tensor | undefined;
  experts.forEach((e, i) => {
    const part = scale(gptLogits(e.params, e.cfg, ids, opts), weights[i]);
    acc = acc ? add(acc, part) : part;
  });
  return acc!;
}
