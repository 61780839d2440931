// The two multiple-choice scoring protocols.
//  1. "generative" (the paper's): prompt `Question: q\nOptions: A) a B) b ...\nAnswer:`, greedy
//     generation of `genTokens` tokens (1 for MMLU, 2 for ARC in the paper), the item is right
//     when the first non-space character generated is the answer letter (no letter = wrong).
//  2. "loglik" (lm-evaluation-harness): context `Question: q\nAnswer:`, each option scored as
//     the continuation " <option>"; acc = argmax of the summed log-probability, acc_norm =
//     argmax of the sum divided by the option's length in characters (harness acc_norm; for an
//     option cut to fit the context, the scored share of it).
// Ties go to the first option (numpy argmax). Every accuracy carries a bootstrap interval
// over items and the chance level 1/choices averaged over items.

import { bootstrapCI, type Interval } from "./stats.ts";
import { LETTERS, type McItem } from "./items.ts";
import {
  type ChoiceGroup,
  groupLogLiks,
  mapNextLogProbs,
  type ScoringModel,
  tailContext,
  type TextCodec,
} from "./model.ts";

export function generativePrompt(it: McItem): string {
  const opts = it.choices.map((c, i) => `${LETTERS[i]}) ${c}`).join(" ");
  return `Question: ${it.question}\nOptions: ${opts}\nAnswer:`;
}

export function loglikContext(it: McItem): string {
  return `Question: ${it.question}\nAnswer:`;
}

export interface ProtocolResult {
  protocol: "generative" | "loglik";
  n: number;
  chance: number;
  /** metric name -> interval (generative: acc; loglik: acc, acc_norm). */
  metrics: Record<string, Interval>;
  /** per item predicted choice index (-1: no letter), for "acc". */
  predictions: number[];
  /** loglik only: per item predicted choice index for "acc_norm". */
  predictionsNorm?: number[];
  /** metric name -> per-item 1/0 (for paired comparisons between models). */
  correct: Record<string, number[]>;
  /** share of items whose prompt was cut to fit the context. */
  truncated: number;
  /** generative only: share of items where no choice letter was produced. */
  noLetter?: number;
}

export function chanceLevel(items: McItem[]): number {
  return items.reduce((s, it) => s + 1 / it.choices.length, 0) / Math.max(1, items.length);
}

export interface ScoreOptions {
  genTokens?: number;
  seed?: number;
  resamples?: number;
}

function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** Protocol 1: greedy generation of genTokens tokens, first character vs the answer letter. */
export async function scoreGenerative(
  model: ScoringModel,
  codec: TextCodec,
  items: McItem[],
  opts: ScoreOptions = {},
): Promise<ProtocolResult> {
  const genTokens = opts.genTokens ?? 1;
  let truncated = 0;
  let seqs = items.map((it) => {
    const ids = codec.encode(generativePrompt(it));
    if (ids.length > model.context - genTokens + 1) truncated++;
    return tailContext(ids, model.context - genTokens + 1);
  });
  const generated: number[][] = items.map(() => []);
  for (let step = 0; step < genTokens; step++) {
    const nexts = await mapNextLogProbs(model, seqs, argmax);
    seqs = seqs.map((s, i) => {
      const next = nexts[i];
      generated[i].push(next);
      const grown = new Int32Array(s.length + 1);
      grown.set(s);
      grown[s.length] = next;
      return tailContext(grown, model.context);
    });
  }
  let noLetter = 0;
  const predictions = items.map((it, i) => {
    const first = codec.decode(generated[i]).trimStart().charAt(0);
    const k = LETTERS.slice(0, it.choices.length).indexOf(first);
    if (first === "" || k < 0) noLetter++;
    return first === "" ? -1 : k;
  });
  const correct = predictions.map((p, i) => (p === items[i].answer ? 1 : 0));
  const n = items.length;
  return {
    protocol: "generative",
    n,
    chance: chanceLevel(items),
    metrics: { acc: bootstrapCI(correct, { seed: opts.seed, resamples: opts.resamples }) },
    correct: { acc: correct },
    predictions,
    truncated: truncated / Math.max(1, n),
    noLetter: noLetter / Math.max(1, n),
  };
}

/**
 * The scoring groups of one item within `context` tokens. Normally one group: the question's
 * last tokens (dropped from the left as needed) and every option. When an option alone does
 * not fit (>= context tokens), each option gets its own group: an option that fits keeps as
 * much question as fits beside it; one that does not is cut from the left, its dropped part
 * scored as nothing and its last kept token before the scored part serving as the context.
 */
export function fitItem(
  ctx: Int32Array,
  conts: Int32Array[],
  context: number,
): { groups: ChoiceGroup[]; cut: boolean } {
  if (context < 2) throw new Error(`eval: context ${context} is too short to score options`);
  const longest = Math.max(...conts.map((c) => c.length));
  if (longest < context) {
    const keep = Math.min(ctx.length, context - longest);
    return { groups: [{ prefix: ctx.slice(ctx.length - keep), conts }], cut: keep < ctx.length };
  }
  const groups = conts.map((c) => {
    if (c.length < context) {
      const keep = Math.min(ctx.length, context - c.length);
      return { prefix: ctx.slice(ctx.length - keep), conts: [c] };
    }
    const from = c.length - (context - 1);
    return { prefix: c.slice(from - 1, from), conts: [c.slice(from)] };
  });
  return { groups, cut: true };
}

/**
 * Summed log-probability of each option of each item, streamed through the model in bounded
 * calls (model.ts groupLogLiks), and the
 * fraction of each option's tokens that was scored (below 1 only for an option longer than the
 * context, cut from the left).
 */
export async function optionLogLiks(
  model: ScoringModel,
  codec: TextCodec,
  items: McItem[],
): Promise<{ lls: number[][]; truncated: number; scored: number[][] }> {
  let truncated = 0;
  const scored: number[][] = [];
  const perItem = items.map((it) => {
    const ctx = codec.encode(loglikContext(it));
    const conts = it.choices.map((c) => codec.encode(" " + c));
    if (conts.some((c) => c.length === 0)) throw new Error(`eval: ${it.id} has an empty option`);
    if (ctx.length === 0) throw new Error(`eval: ${it.id} has an empty question`);
    const { groups, cut } = fitItem(ctx, conts, model.context);
    if (cut) truncated++;
    const kept = groups.flatMap((g) => g.conts.map((c) => c.length));
    scored.push(kept.map((k, j) => k / conts[j].length));
    return groups;
  });
  const sums = await groupLogLiks(model, perItem.flat());
  let g = 0;
  const lls = perItem.map((gs) => gs.flatMap(() => sums[g++]));
  return { lls, truncated, scored };
}

/** Protocol 2: acc and acc_norm from option log-likelihoods. */
export async function scoreLoglik(
  model: ScoringModel,
  codec: TextCodec,
  items: McItem[],
  opts: ScoreOptions = {},
): Promise<ProtocolResult> {
  const { lls, truncated, scored } = await optionLogLiks(model, codec, items);
  const predictions = lls.map((ll) => argmax(ll));
  // acc_norm divides by the characters scored: all of the option's, or for an option cut to fit
  // the context, the same share of its characters as of its tokens.
  const normed = lls.map((ll, i) =>
    argmax(ll.map((x, j) => x / Math.max(1, [...items[i].choices[j]].length * scored[i][j])))
  );
  const acc = predictions.map((p, i) => (p === items[i].answer ? 1 : 0));
  const accNorm = normed.map((p, i) => (p === items[i].answer ? 1 : 0));
  const b = { seed: opts.seed, resamples: opts.resamples };
  return {
    protocol: "loglik",
    n: items.length,
    chance: chanceLevel(items),
    metrics: { acc: bootstrapCI(acc, b), acc_norm: bootstrapCI(accNorm, b) },
    correct: { acc, acc_norm: accNorm },
    predictions,
    predictionsNorm: normed,
    truncated: truncated / Math.max(1, items.length),
  };
}
