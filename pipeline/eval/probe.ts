// The semantic probe ("where do semantics appear"): for WordNet synonym pairs and random word
// pairs, the cosine similarity of the words' vectors at the input (layer 0) and after every
// Transformer layer. A word's vector at a layer is the mean over its tokens' vectors. The gap
// synonym-minus-random per layer shows where meaning shows up, for each twin.

import type { TextCodec } from "./model.ts";
import { bootstrapCI, diffOfMeansCI, type Interval } from "./stats.ts";

/** ids [T] -> one [T*dModel] array per layer, index 0 = input vectors (embedding rows). */
export type HiddenFn = (ids: Int32Array) => Promise<Float32Array[]>;

export interface ProbeLayer {
  layer: number;
  synonym: Interval;
  random: Interval;
  gap: number;
  /** 95% bootstrap interval of the gap (pairs resampled within each set). */
  gapCI: Interval;
  /** Per-pair cosines (synonym pairs, random pairs), for statistics across seeds. */
  synonymCos: number[];
  randomCos: number[];
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** Mean over T rows of a [T*d] array. */
export function meanPool(x: Float32Array, d: number): Float32Array {
  const T = x.length / d;
  const out = new Float32Array(d);
  for (let t = 0; t < T; t++) for (let i = 0; i < d; i++) out[i] += x[t * d + i] / T;
  return out;
}

export async function semanticProbe(
  hidden: HiddenFn,
  dModel: number,
  codec: TextCodec,
  pairs: { synonyms: [string, string][]; random: [string, string][] },
  seed = 0,
): Promise<ProbeLayer[]> {
  const cache = new Map<string, Float32Array[]>();
  const vecs = async (w: string) => {
    let v = cache.get(w);
    if (!v) {
      const ids = codec.encode(w);
      if (ids.length === 0) throw new Error(`eval: probe word "${w}" encodes to no tokens`);
      v = (await hidden(ids)).map((h) => meanPool(h, dModel));
      cache.set(w, v);
    }
    return v;
  };
  const sims = async (ps: [string, string][]) => {
    const perLayer: number[][] = [];
    for (const [a, b] of ps) {
      const [va, vb] = [await vecs(a), await vecs(b)];
      va.forEach((x, l) => (perLayer[l] ??= []).push(cosine(x, vb[l])));
    }
    return perLayer;
  };
  const syn = await sims(pairs.synonyms);
  const rnd = await sims(pairs.random);
  return syn.map((s, l) => {
    const synonym = bootstrapCI(s, { seed });
    const random = bootstrapCI(rnd[l], { seed });
    const gapCI = diffOfMeansCI(s, rnd[l], { seed });
    return {
      layer: l,
      synonym,
      random,
      gap: synonym.mean - random.mean,
      gapCI,
      synonymCos: s,
      randomCos: rnd[l],
    };
  });
}
