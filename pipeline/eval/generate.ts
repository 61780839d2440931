// Text generation for `deno task eval --generate`: greedy (temperature 0), temperature
// sampling and top-k sampling, seeded so the same call gives the same text; stops at max-new,
// at a stop id (`</s>`) or at a stop string.

import { seededRandom } from "../../core/rng.ts";
import { type ScoringModel, tailContext, type TextCodec } from "./model.ts";

export interface GenerateOptions {
  maxNew?: number;
  /** 0 = greedy. */
  temperature?: number;
  /** 0 = no top-k cut. */
  topK?: number;
  seed?: number;
  /** Stop when this id is produced (not included). */
  stopId?: number;
  /** Stop when the generated text contains one of these strings (cut before it). */
  stop?: string[];
}

/** Pick the next id from a log-distribution. */
export function sampleNext(
  logp: Float32Array,
  temperature: number,
  topK: number,
  rand: () => number,
): number {
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logp.length; i++) if (logp[i] > logp[best]) best = i;
    return best;
  }
  let ids = Array.from(logp.keys());
  if (topK > 0 && topK < logp.length) {
    ids.sort((a, b) => logp[b] - logp[a] || a - b);
    ids = ids.slice(0, topK);
  }
  let max = -Infinity;
  for (const i of ids) max = Math.max(max, logp[i] / temperature);
  const w = ids.map((i) => Math.exp(logp[i] / temperature - max));
  let r = rand() * w.reduce((a, b) => a + b, 0);
  for (let k = 0; k < ids.length; k++) {
    r -= w[k];
    if (r < 0) return ids[k];
  }
  return ids[ids.length - 1];
}

/** Continue `prompt`; returns only the generated text. */
export async function generate(
  model: ScoringModel,
  codec: TextCodec,
  prompt: string,
  opts: GenerateOptions = {},
): Promise<string> {
  const rand = seededRandom(opts.seed ?? 0);
  let ids = codec.encode(prompt);
  if (ids.length === 0) throw new Error("eval: empty --generate prompt; give some text");
  const out: number[] = [];
  for (let k = 0; k < (opts.maxNew ?? 100); k++) {
    const [logp] = await model.nextLogProbs([tailContext(ids, model.context)]);
    const next = sampleNext(logp, opts.temperature ?? 0, opts.topK ?? 0, rand);
    if (next === opts.stopId) break;
    out.push(next);
    if (opts.stop?.length) {
      const text = codec.decode(out);
      const at = Math.min(...opts.stop.map((s) => text.indexOf(s)).filter((i) => i >= 0));
      if (Number.isFinite(at)) return text.slice(0, at);
    }
    const grown = new Int32Array(ids.length + 1);
    grown.set(ids);
    grown[ids.length] = next;
    ids = grown;
  }
  return codec.decode(out);
}
