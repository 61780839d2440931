// The two small interfaces evaluation is written against, so it never waits on the core:
// a TextCodec (encode/decode text) and a ScoringModel (log-probabilities of tokens). Also the
// batching that turns any "ids [B,T] -> logits [B,T,V]" forward pass into a ScoringModel:
// requests are sorted by length, grouped under a token budget, right-padded (causal attention
// makes padding after a position invisible to it) and log-softmaxed only where asked. And the
// streaming the protocols score through (mapNextLogProbs, groupLogLiks): at most SCORE_CHUNK
// items per call into the model, so memory does not grow with the number of items.

/** Text <-> token ids. Adapt pipeline/tokenizer with `{ encode: (s) => encode(tok, s), ... }`. */
export interface TextCodec {
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

/** One sequence to score: log p(ids[t] | ids[0..t-1]) for every t in [start, ids.length). */
export interface TokenRequest {
  ids: Int32Array;
  start: number;
}

/** One question's shared prefix and its options' tokens (scored as prefix + option each). */
export interface ChoiceGroup {
  prefix: Int32Array;
  conts: Int32Array[];
}

export interface ScoringModel {
  /** Longest sequence the model accepts. */
  readonly context: number;
  readonly vocab: number;
  /** Per request, the log-probability of each token from `start` on (length ids.length-start). */
  tokenLogProbs(reqs: TokenRequest[]): Promise<Float32Array[]>;
  /** Per sequence, the full log-distribution [vocab] over the token that follows it. */
  nextLogProbs(seqs: Int32Array[]): Promise<Float32Array[]>;
  /**
   * Optional fast path: per group, per option, the summed log-probability of the option's
   * tokens given the prefix (the same number as summing tokenLogProbs on prefix + option,
   * computed with the prefix shared). Callers fall back to tokenLogProbs when it is absent.
   */
  choiceLogLiks?(groups: ChoiceGroup[]): Promise<number[][]>;
  /** Optional fast path: the sum over all requests of tokenLogProbs, and how many tokens. */
  sumLogProbs?(reqs: TokenRequest[]): Promise<{ sum: number; tokens: number }>;
}

/** A forward pass: ids laid out [B,T] row-major -> logits [B,T,V] row-major. */
export type LogitsFn = (ids: Int32Array, batch: number, time: number) => Promise<Float32Array>;

/**
 * A forward pass that returns logits only at the flat positions `rows` (b*T + t): [rows, V].
 * Lets a model skip the output head (V columns) everywhere nothing is scored.
 */
export type RowLogitsFn = (
  ids: Int32Array,
  batch: number,
  time: number,
  rows: Int32Array,
) => Promise<Float32Array>;

/** Adapt a full forward pass to the rows interface. */
export function rowsOf(forward: LogitsFn, vocab: number): RowLogitsFn {
  return async (ids, B, T, rows) => {
    const all = await forward(ids, B, T);
    const out = new Float32Array(rows.length * vocab);
    rows.forEach((r, k) => out.set(all.subarray(r * vocab, (r + 1) * vocab), k * vocab));
    return out;
  };
}

export interface BatchOptions {
  context: number;
  vocab: number;
  /** Most tokens (B*T) in one forward pass. */
  tokenBudget?: number;
  /** Most logits floats (B*T*V) read back at once; caps memory for large vocabularies. */
  logitBudget?: number;
  /** Padding id (any valid id: padded positions never influence real ones). */
  padId?: number;
}

/** log-softmax of row `row` of a [rows, V] buffer, written into `out`. */
export function logSoftmaxRow(logits: Float32Array, row: number, vocab: number, out: Float32Array) {
  const base = row * vocab;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) if (logits[base + v] > max) max = logits[base + v];
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[base + v] - max);
  const lse = max + Math.log(sum);
  for (let v = 0; v < vocab; v++) out[v] = logits[base + v] - lse;
}

/** log p(target) at one logits row without materialising the whole distribution. */
export function logProbAt(
  logits: Float32Array,
  row: number,
  vocab: number,
  target: number,
): number {
  const base = row * vocab;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) if (logits[base + v] > max) max = logits[base + v];
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[base + v] - max);
  return logits[base + target] - max - Math.log(sum);
}

/** Group indices (sorted by length, longest first) so that B*maxLen stays under the budgets. */
export function planBatches(lengths: number[], opts: BatchOptions): number[][] {
  const tokenBudget = opts.tokenBudget ?? 4096;
  const logitBudget = opts.logitBudget ?? 32 * 1024 * 1024;
  const perBatch = Math.max(1, Math.min(tokenBudget, Math.floor(logitBudget / opts.vocab)));
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const batches: number[][] = [];
  let cur: number[] = [];
  let curT = 0;
  for (const i of order) {
    const t = Math.max(curT, lengths[i]);
    if (cur.length > 0 && (cur.length + 1) * t > perBatch) {
      batches.push(cur);
      cur = [];
      curT = 0;
    }
    cur.push(i);
    curT = Math.max(curT, lengths[i]);
  }
  if (cur.length) batches.push(cur);
  return batches;
}

function checkSeq(ids: Int32Array, context: number, vocab: number) {
  if (ids.length === 0) throw new Error("eval: empty token sequence; give every item some text");
  if (ids.length > context) {
    throw new Error(
      `eval: sequence of ${ids.length} tokens exceeds context ${context}; truncate with fitContext`,
    );
  }
  for (const id of ids) {
    if (!(id >= 0 && id < vocab)) {
      throw new Error(
        `eval: token id ${id} outside vocab [0, ${vocab}); tokenizer and model differ`,
      );
    }
  }
}

/** Pack rows right-padded into one [B,T] buffer. */
function pack(seqs: Int32Array[], padId: number): { ids: Int32Array; T: number } {
  const T = Math.max(...seqs.map((s) => s.length));
  const ids = new Int32Array(seqs.length * T).fill(padId);
  seqs.forEach((s, b) => ids.set(s, b * T));
  return { ids, T };
}

/** Build a batched ScoringModel from any forward pass. */
export function batchedModel(forward: LogitsFn, opts: BatchOptions): ScoringModel {
  return batchedRowsModel(rowsOf(forward, opts.vocab), opts);
}

/** Build a batched ScoringModel from a forward pass that computes only the rows asked for. */
export function batchedRowsModel(forward: RowLogitsFn, opts: BatchOptions): ScoringModel {
  const { context, vocab } = opts;
  const padId = opts.padId ?? 0;
  return {
    context,
    vocab,
    async tokenLogProbs(reqs) {
      reqs.forEach((r) => checkSeq(r.ids, context, vocab));
      const out: Float32Array[] = new Array(reqs.length);
      for (const group of planBatches(reqs.map((r) => r.ids.length), opts)) {
        const { ids, T } = pack(group.map((i) => reqs[i].ids), padId);
        const rows: number[] = [];
        group.forEach((i, b) => {
          const r = reqs[i];
          for (let t = Math.max(1, r.start); t < r.ids.length; t++) rows.push(b * T + t - 1);
        });
        const logits = await forward(ids, group.length, T, Int32Array.from(rows));
        let k = 0;
        for (const i of group) {
          const r = reqs[i];
          const start = Math.max(1, r.start);
          const lp = new Float32Array(r.ids.length - start);
          for (let t = start; t < r.ids.length; t++) {
            lp[t - start] = logProbAt(logits, k++, vocab, r.ids[t]);
          }
          out[i] = lp;
        }
      }
      return out;
    },
    async nextLogProbs(seqs) {
      seqs.forEach((s) => checkSeq(s, context, vocab));
      const out: Float32Array[] = new Array(seqs.length);
      for (const group of planBatches(seqs.map((s) => s.length), opts)) {
        const { ids, T } = pack(group.map((i) => seqs[i]), padId);
        const rows = Int32Array.from(group, (i, b) => b * T + seqs[i].length - 1);
        const logits = await forward(ids, group.length, T, rows);
        group.forEach((i, k) => {
          const row = new Float32Array(vocab);
          logSoftmaxRow(logits, k, vocab, row);
          out[i] = row;
        });
      }
      return out;
    },
  };
}

/**
 * Most sequences (or option groups) handed to a ScoringModel in one call by the protocols, and
 * most floats of next-token distributions held at once: scoring streams through items in
 * calls of this size, so what one call holds (packed batches, distributions over the
 * vocabulary) is bounded whatever the number of items.
 */
export const SCORE_CHUNK = 1024;
export const DIST_FLOATS = 1 << 24;

/** Indices of `lengths` longest first (ties by index), the order batching packs best. */
function longestFirst(lengths: number[]): number[] {
  return lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
}

/**
 * f(log-distribution of the token after seqs[i], i) for every sequence, streamed: the model is
 * asked for at most `chunk` sequences (and DIST_FLOATS floats of distributions) at a time,
 * longest first, and each distribution is dropped once f has seen it.
 */
export async function mapNextLogProbs<T>(
  model: ScoringModel,
  seqs: Int32Array[],
  f: (logp: Float32Array, i: number) => T,
  chunk = SCORE_CHUNK,
): Promise<T[]> {
  const per = Math.max(1, Math.min(chunk, Math.floor(DIST_FLOATS / model.vocab)));
  const order = longestFirst(seqs.map((s) => s.length));
  const out: T[] = new Array(seqs.length);
  for (let k = 0; k < order.length; k += per) {
    const idx = order.slice(k, k + per);
    const dists = await model.nextLogProbs(idx.map((i) => seqs[i]));
    idx.forEach((i, j) => (out[i] = f(dists[j], i)));
  }
  return out;
}

/**
 * Summed log-probability of every option of every group (prefix + option), streamed in calls
 * of at most `chunk` groups, longest first: the model's shared-prefix path (choiceLogLiks)
 * where it has one, else tokenLogProbs on prefix + option.
 */
export async function groupLogLiks(
  model: ScoringModel,
  groups: ChoiceGroup[],
  chunk = SCORE_CHUNK,
): Promise<number[][]> {
  const order = longestFirst(
    groups.map((g) => g.prefix.length + g.conts.reduce((s, c) => s + c.length, 0)),
  );
  const out: number[][] = new Array(groups.length);
  for (let k = 0; k < order.length; k += chunk) {
    const idx = order.slice(k, k + chunk);
    const part = idx.map((i) => groups[i]);
    let sums: number[][];
    if (model.choiceLogLiks) sums = await model.choiceLogLiks(part);
    else {
      const reqs = part.flatMap((g) => g.conts.map((c) => fitContext(g.prefix, c, model.context)));
      const flat = await model.tokenLogProbs(reqs);
      let r = 0;
      sums = part.map((g) => g.conts.map(() => flat[r++].reduce((s, x) => s + x, 0)));
    }
    idx.forEach((i, j) => (out[i] = sums[j]));
  }
  return out;
}

/** The same model answering one sequence per forward pass (the unbatched peer in benchmarks). */
export function unbatched(model: ScoringModel): ScoringModel {
  return {
    context: model.context,
    vocab: model.vocab,
    async tokenLogProbs(reqs) {
      const out: Float32Array[] = [];
      for (const r of reqs) out.push((await model.tokenLogProbs([r]))[0]);
      return out;
    },
    async nextLogProbs(seqs) {
      const out: Float32Array[] = [];
      for (const s of seqs) out.push((await model.nextLogProbs([s]))[0]);
      return out;
    },
  };
}

/**
 * Join a context and a continuation into one request that fits `context` tokens, cutting the
 * context from the left (the continuation is what is scored, so it is kept whole).
 */
export function fitContext(ctx: Int32Array, cont: Int32Array, context: number): TokenRequest {
  if (cont.length === 0) throw new Error("eval: empty continuation; every option needs text");
  if (cont.length >= context) {
    throw new Error(
      `eval: option of ${cont.length} tokens does not fit context ${context}; shorten the option`,
    );
  }
  const keep = Math.min(ctx.length, context - cont.length);
  if (keep === 0) throw new Error("eval: empty context; every question needs text");
  const ids = new Int32Array(keep + cont.length);
  ids.set(ctx.subarray(ctx.length - keep));
  ids.set(cont, keep);
  return { ids, start: keep };
}

/** Keep the last `context` tokens of a prompt. */
export function tailContext(ids: Int32Array, context: number): Int32Array {
  return ids.length <= context ? ids : ids.slice(ids.length - context);
}
