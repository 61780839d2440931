// Tiny fake models and an ASCII codec for the evaluation tests (not a test file itself):
// each fake is a ScoringModel whose behaviour is known by hand, so protocol scores can be
// checked exactly.

import type { ScoringModel, TextCodec } from "../pipeline/eval/model.ts";

/** One token per character, ids = char codes, vocab 128 (ASCII only). */
export const asciiCodec: TextCodec = {
  encode(text) {
    const ids = new Int32Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128) throw new Error(`asciiCodec: non-ASCII character in ${JSON.stringify(text)}`);
      ids[i] = c;
    }
    return ids;
  },
  decode: (ids) => String.fromCharCode(...Array.from(ids)),
};

/** A model that emits `next(prefixText)` with probability ~1 and scores every token by rule. */
export function ruleModel(
  next: (prefix: string) => string,
  tokenLp: (prefix: string, token: string) => number = () => -1,
  context = 512,
): ScoringModel {
  return {
    context,
    vocab: 128,
    tokenLogProbs(reqs) {
      return Promise.resolve(reqs.map((r) => {
        const out = new Float32Array(r.ids.length - r.start);
        for (let t = r.start; t < r.ids.length; t++) {
          out[t - r.start] = tokenLp(
            asciiCodec.decode(r.ids.subarray(0, t)),
            String.fromCharCode(r.ids[t]),
          );
        }
        return out;
      }));
    },
    nextLogProbs(seqs) {
      return Promise.resolve(seqs.map((s) => {
        const lp = new Float32Array(128).fill(-30);
        lp[next(asciiCodec.decode(s)).charCodeAt(0)] = 0;
        return lp;
      }));
    },
  };
}

/** Constant distribution: vowels get logit 2, every other ASCII char 0. */
export function vowelLover(): ScoringModel {
  const lse = Math.log(5 * Math.exp(2) + 123);
  return ruleModel(() => "a", (_p, tok) => ("aeiou".includes(tok) ? 2 : 0) - lse);
}
