// Language-model metrics on held-out text: mean next-token loss (nats), perplexity, and bits
// per character, which stays comparable across tokenizers because it divides the total
// information by characters (code points) rather than by tokens. Each document is cut into
// windows of `context` tokens that overlap by one token, so every token after the first is
// predicted exactly once. This is the project's one definition of validation bits per
// character; the per-document sums let the study bootstrap it over documents.

import type { ScoringModel, TextCodec, TokenRequest } from "./model.ts";

export interface LmMetrics {
  loss: number;
  perplexity: number;
  bitsPerChar: number;
  tokens: number;
  chars: number;
  docs: number;
  /** Per used document: summed negative log-likelihood (nats) of its predicted tokens. */
  docNll: number[];
  /** Per used document: characters its predicted tokens spell (all but the first token). */
  docChars: number[];
}

/** Windows [w, w+context), w stepping by context-1; each predicts its tokens after the first. */
export function windows(ids: Int32Array, context: number): TokenRequest[] {
  const out: TokenRequest[] = [];
  if (context < 2) throw new Error(`eval: context ${context} too small for LM metrics; need >= 2`);
  for (let w = 0; w + 1 < ids.length; w += context - 1) {
    out.push({ ids: ids.subarray(w, Math.min(ids.length, w + context)), start: 1 });
  }
  return out;
}

export async function lmMetrics(
  model: ScoringModel,
  codec: TextCodec,
  docs: string[],
): Promise<LmMetrics> {
  const docNll: number[] = [], docChars: number[] = [];
  let nll = 0, tokens = 0, chars = 0;
  for (const doc of docs) {
    const ids = codec.encode(doc);
    if (ids.length < 2) continue;
    const reqs = windows(ids, model.context);
    let d = 0;
    if (model.sumLogProbs) {
      const r = await model.sumLogProbs(reqs);
      d = -r.sum;
      tokens += r.tokens;
    } else {
      for (const lp of await model.tokenLogProbs(reqs)) {
        for (const x of lp) d -= x;
        tokens += lp.length;
      }
    }
    const c = [...doc].length - [...codec.decode(ids.subarray(0, 1))].length;
    docNll.push(d);
    docChars.push(c);
    nll += d;
    chars += c;
  }
  if (docNll.length === 0) {
    throw new Error("eval: held-out text too short for LM metrics; give more text");
  }
  if (!Number.isFinite(nll)) {
    throw new Error("eval: non-finite held-out loss; the checkpoint has NaN/inf");
  }
  const loss = nll / tokens;
  return {
    loss,
    perplexity: Math.exp(loss),
    bitsPerChar: nll / Math.LN2 / Math.max(1, chars),
    tokens,
    chars,
    docs: docNll.length,
    docNll,
    docChars,
  };
}
