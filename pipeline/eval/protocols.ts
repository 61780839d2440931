// The multiple-choice scoring protocols (the report names which one each figure comes from):
//  1. "generative": prompt `Question: q\nOptions: A) a B) b ...\nAnswer:` (formatMcPrompt),
//     greedy generation until the first non-space character, at most `genTokens` tokens (3),
//     right when that character is the answer letter. With a tokenizer whose space is its own
//     token, the paper's single token after `Answer:` is always a space; this variant lets the
//     letter come next, which is what the paper's protocol means to measure.
//  2. "paper": the author's `_models_benchmarking.py` exactly (see paper.ts).
//  3. "loglik" (lm-evaluation-harness `mmlu_continuation` / `arc_easy`): context
//     `Question: q\nAnswer:`, each option scored as the continuation " <option>"; acc = argmax
//     of the summed log-probability, acc_norm = argmax of the sum divided by the option's length
//     in characters, acc_bytes = divided by its UTF-8 bytes (fairer across scripts). For an
//     option cut to fit the context: the scored share of it.
//  4. "loglik-letter" (the harness's `mmlu` default): the options listed in the prompt
//     (`q\nA. a\nB. b\nAnswer:`), the continuations " A", " B", ... scored; acc.
// Questions are stripped as the harness does. Prompts that list the options are never cut:
// shots (--shots, from the dev split) are dropped first, and an item whose own prompt cannot fit
// is skipped and counted (`skipped`), apart from loglik's left-cut contexts (`truncated`).
// Ties go to the first option (numpy argmax). Every accuracy carries a bootstrap interval over
// the scored items and the chance level 1/choices averaged over items.

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
import {
  fitShots,
  formatMcPrompt,
  harnessContinuationPrompt,
  harnessLetterPrompt,
  letterContinuations,
  shotText,
  subjectHeader,
} from "./prompts.ts";

/** The generative protocol's prompt (the paper's MMLU format). */
export function generativePrompt(it: McItem): string {
  const p = formatMcPrompt(it.question.trim(), it.choices);
  return it.passage ? `Context: ${it.passage.trim()}\n${p}` : p;
}

export function loglikContext(it: McItem): string {
  return harnessContinuationPrompt(it);
}

export type ProtocolName = "generative" | "loglik" | "loglik-letter" | "paper";

/** The paper variant's repeated sampled decodings and the author's interval over them. */
export interface RunStats {
  runs: number;
  temperature: number;
  /** accuracy of each run (0..1) */
  accs: number[];
  mean: number;
  /** population standard deviation over runs (numpy std) */
  std: number;
  /** the author's interval half-width: 1.96 * std / sqrt(runs) */
  ci95: number;
}

export interface ProtocolResult {
  protocol: ProtocolName;
  /** Which variant ran, in words (shown in the report). */
  variant?: string;
  /** Items scored (after skipping those that cannot fit). */
  n: number;
  chance: number;
  /** metric name -> interval (generative/paper/loglik-letter: acc; loglik: acc, acc_norm, acc_bytes). */
  metrics: Record<string, Interval>;
  /** per scored item predicted choice index (-1: no letter), for "acc". */
  predictions: number[];
  /** loglik only: per item predicted choice index for "acc_norm". */
  predictionsNorm?: number[];
  /** metric name -> per scored item 1/0 (paper: share of runs right), for paired comparisons. */
  correct: Record<string, number[]>;
  /** indices (into the benchmark's items) of the scored items, when some were skipped. */
  scored?: number[];
  /** share of items whose prompt was cut to fit the context (loglik). */
  truncated: number;
  /** share of items skipped because their question and options cannot fit the context. */
  skipped?: number;
  /** mean number of few-shot examples kept per scored item. */
  shots?: number;
  /** generative only: share of items where no choice letter was produced. */
  noLetter?: number;
  /** paper only: the repeated sampled runs. */
  runs?: RunStats;
}

export function chanceLevel(items: McItem[]): number {
  return items.reduce((s, it) => s + 1 / it.choices.length, 0) / Math.max(1, items.length);
}

/** Most tokens the generative protocol generates looking for the letter (`--gen-tokens`). */
export const DEFAULT_GEN_TOKENS = 3;

export interface ScoreOptions {
  /** generative: most tokens generated while looking for the first non-space character. */
  genTokens?: number;
  seed?: number;
  resamples?: number;
  /** Few-shot examples per item (from `dev`, by the item's subject); 0 by default. */
  shots?: number;
  dev?: Record<string, McItem[]>;
  /** Items per forward-pass round (bounds the per-item distributions held at once). */
  chunk?: number;
}

function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** The dev examples offered to an item (the first `shots` of its subject's dev split). */
function shotItems(it: McItem, opts: ScoreOptions): McItem[] {
  if (!opts.shots || !opts.dev) return [];
  return (opts.dev[it.subject ?? ""] ?? []).slice(0, opts.shots);
}

/** Prompt ids of each item within `budget` tokens (shots dropped first), null = skipped. */
export function planPrompts(
  codec: TextCodec,
  items: McItem[],
  budget: number,
  format: (it: McItem) => string,
  answer: (it: McItem) => string,
  opts: ScoreOptions,
  /** the header line before the shots, given the item and how many shots are kept */
  header: (it: McItem, shots: number) => string,
): { prompts: (Int32Array | null)[]; shots: number; noHeader: number } {
  let kept = 0, noHeader = 0;
  const prompts = items.map((it) => {
    const ex = shotItems(it, opts).map((d) => shotText(format(d), answer(d)));
    const fit = fitShots(codec, (k) => header(it, k), ex, format(it), budget);
    if (fit) kept += fit.shots;
    if (fit && !fit.header && header(it, 0) !== "") noHeader++;
    return fit ? fit.ids : null;
  });
  const n = prompts.filter((p) => p).length;
  return { prompts, shots: n ? kept / n : 0, noHeader: n ? noHeader / n : 0 };
}

/** Split items into those with a prompt and the skipped share. */
function scoredOnly(prompts: (Int32Array | null)[]) {
  const scored = prompts.flatMap((p, i) => (p ? [i] : []));
  return { scored, skipped: (prompts.length - scored.length) / Math.max(1, prompts.length) };
}

/**
 * Continue every prompt by up to `maxNew` tokens, `pick` choosing each next id from its
 * log-distribution; a sequence stops early once `done(generated)` holds. Rounds of `chunk`
 * sequences at a time. Returns the generated ids per prompt.
 */
export async function continuePrompts(
  model: ScoringModel,
  prompts: Int32Array[],
  maxNew: number,
  pick: (logp: Float32Array, i: number) => number,
  done: (generated: number[]) => boolean = () => false,
  chunk = 256,
): Promise<number[][]> {
  const generated: number[][] = prompts.map(() => []);
  for (let from = 0; from < prompts.length; from += chunk) {
    let live = prompts.slice(from, from + chunk).map((ids, k) => ({ i: from + k, ids }));
    for (let step = 0; step < maxNew && live.length; step++) {
      const nexts = await mapNextLogProbs(
        model,
        live.map((l) => l.ids),
        (lp, k) => pick(lp, live[k].i),
      );
      live = live.flatMap((l, k) => {
        const next = nexts[k];
        generated[l.i].push(next);
        if (done(generated[l.i])) return [];
        const grown = new Int32Array(l.ids.length + 1);
        grown.set(l.ids);
        grown[l.ids.length] = next;
        return [{ i: l.i, ids: tailContext(grown, model.context) }];
      });
    }
  }
  return generated;
}

/**
 * Protocol 1: greedy generation until the first non-space character (at most genTokens
 * tokens, default 3), compared with the answer letter.
 */
export async function scoreGenerative(
  model: ScoringModel,
  codec: TextCodec,
  items: McItem[],
  opts: ScoreOptions = {},
): Promise<ProtocolResult> {
  const genTokens = opts.genTokens ?? DEFAULT_GEN_TOKENS;
  const { prompts, shots } = planPrompts(
    codec,
    items,
    model.context - genTokens + 1,
    generativePrompt,
    (it) => LETTERS[it.answer],
    opts,
    (it, k) => (k ? subjectHeader(it.subject) : ""),
  );
  const { scored, skipped } = scoredOnly(prompts);
  const firstChar = (ids: number[]) => codec.decode(ids).trimStart().charAt(0);
  const generated = await continuePrompts(
    model,
    scored.map((i) => prompts[i]!),
    genTokens,
    (lp) => argmax(lp),
    (g) => firstChar(g) !== "",
    opts.chunk,
  );
  let noLetter = 0;
  const predictions = scored.map((i, k) => {
    const first = firstChar(generated[k]);
    const j = first === "" ? -1 : LETTERS.slice(0, items[i].choices.length).indexOf(first);
    if (j < 0) noLetter++;
    return j;
  });
  const correct = predictions.map((p, k) => (p === items[scored[k]].answer ? 1 : 0));
  const n = scored.length;
  return {
    protocol: "generative",
    variant: `greedy, up to ${genTokens} tokens until the first non-space character` +
      (opts.shots ? `, ${opts.shots}-shot` : ""),
    n,
    chance: chanceLevel(scored.map((i) => items[i])),
    metrics: { acc: bootstrapCI(correct, { seed: opts.seed, resamples: opts.resamples }) },
    correct: { acc: correct },
    predictions,
    ...(n < items.length ? { scored } : {}),
    truncated: 0,
    skipped,
    shots,
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

/** What optionLogLiks scores: each item's context ids and its option continuations. */
export interface OptionFormat {
  context: (it: McItem, i: number) => Int32Array;
  options: (it: McItem) => string[];
}

/** The harness's continuation format: `Question: q\nAnswer:`, options " <text>". */
export function continuationFormat(codec: TextCodec): OptionFormat {
  return {
    context: (it) => codec.encode(loglikContext(it)),
    options: (it) => it.choices.map((c) => " " + c),
  };
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
  format: OptionFormat = continuationFormat(codec),
): Promise<{ lls: number[][]; truncated: number; scored: number[][] }> {
  let truncated = 0;
  const scored: number[][] = [];
  const perItem = items.map((it, i) => {
    const ctx = format.context(it, i);
    const conts = format.options(it).map((c) => codec.encode(c));
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

/** Protocol 3: acc, acc_norm and acc_bytes from option log-likelihoods. */
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
  const per = (len: (c: string) => number) =>
    lls.map((ll, i) =>
      argmax(ll.map((x, j) => x / Math.max(1, len(items[i].choices[j]) * scored[i][j])))
    );
  const normed = per((c) => [...c].length);
  const bytes = per((c) => utf8.encode(c).length);
  const right = (ps: number[]) => ps.map((p, i) => (p === items[i].answer ? 1 : 0));
  const [acc, accNorm, accBytes] = [right(predictions), right(normed), right(bytes)];
  const b = { seed: opts.seed, resamples: opts.resamples };
  return {
    protocol: "loglik",
    variant: "option text after `Question: q\\nAnswer:` (harness mmlu_continuation)",
    n: items.length,
    chance: chanceLevel(items),
    metrics: {
      acc: bootstrapCI(acc, b),
      acc_norm: bootstrapCI(accNorm, b),
      acc_bytes: bootstrapCI(accBytes, b),
    },
    correct: { acc, acc_norm: accNorm, acc_bytes: accBytes },
    predictions,
    predictionsNorm: normed,
    truncated: truncated / Math.max(1, items.length),
  };
}

const utf8 = new TextEncoder();

/**
 * Protocol 4 (the harness's `mmlu` default): options listed as `A. a` lines, the subject
 * header and `shots` dev examples (`... Answer: B`) before it, " A" / " B" ... scored.
 */
export async function scoreLoglikLetter(
  model: ScoringModel,
  codec: TextCodec,
  items: McItem[],
  opts: ScoreOptions = {},
): Promise<ProtocolResult> {
  // the longest continuation (" A" .. " J") decides the room left for the prompt
  const room = Math.max(
    ...items.map((it) => {
      return Math.max(...letterContinuations(it).map((c) => codec.encode(c).length));
    }),
    1,
  );
  const { prompts, shots, noHeader } = planPrompts(
    codec,
    items,
    model.context - room,
    harnessLetterPrompt,
    (it) => LETTERS[it.answer],
    opts,
    (it) => subjectHeader(it.subject),
  );
  const { scored, skipped } = scoredOnly(prompts);
  const kept = scored.map((i) => items[i]);
  const { lls } = await optionLogLiks(model, codec, kept, {
    context: (_it, k) => prompts[scored[k]]!,
    options: letterContinuations,
  });
  const predictions = lls.map((ll) => argmax(ll));
  const acc = predictions.map((p, k) => (p === kept[k].answer ? 1 : 0));
  return {
    protocol: "loglik-letter",
    variant: 'letters " A".." D" after the listed options (harness mmlu)' +
      (opts.shots ? `, ${opts.shots}-shot` : "") +
      (noHeader
        ? `; subject header dropped to fit for ${(100 * noHeader).toFixed(1)}% of items`
        : ""),
    n: kept.length,
    chance: chanceLevel(kept),
    metrics: { acc: bootstrapCI(acc, { seed: opts.seed, resamples: opts.resamples }) },
    correct: { acc },
    predictions,
    ...(kept.length < items.length ? { scored } : {}),
    truncated: 0,
    skipped,
    shots,
  };
}
