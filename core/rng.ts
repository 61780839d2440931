// Deterministic seeded random numbers, the one module of them: splitmix32 (`Rng`: one u32 of
// state, serialisable for checkpoints; model init, test data) with uniform floats, normals
// (Box-Muller) and seeded random tensors; and mulberry32 generators (`mulberry32`: the glyph
// recipes; `seededRandom`: evaluation items, bootstrap, sampling, the training mix) with
// `gaussian`, `randInt`, `shuffled` and `blockBalanced`. Same seed, same bits, on every platform
// (only integer math and Math.log/cos/sqrt on doubles); fixtures/rng/sequences.json pins them.

import { type Tensor, tensor } from "./tensor.ts";

export class Rng {
  state: number;
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    this.state = seed >>> 0;
  }
  /** Resume from a saved `state`. */
  static fromState(state: number): Rng {
    const r = new Rng(0);
    r.state = state >>> 0;
    return r;
  }
  /** Next 32-bit unsigned integer (splitmix32). */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }
  /** Standard normal (Box-Muller, one value per call). */
  normal(): number {
    const u1 = (this.nextU32() + 1) / 4294967297; // (0, 1)
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

export function uniform(rng: Rng, n: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.uniform();
  return out;
}

export function normal(rng: Rng, n: number, mean = 0, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * rng.normal();
  return out;
}

/** A tensor of N(0, std^2) values drawn from rng. */
export function randn(rng: Rng, shape: number[], std = 1): Tensor {
  return tensor(normal(rng, shape.reduce((a, b) => a * b, 1), 0, std), shape);
}

/** A tensor of U[lo, hi) values drawn from rng. */
export function randu(rng: Rng, shape: number[], lo = 0, hi = 1): Tensor {
  return tensor(uniform(rng, shape.reduce((a, b) => a * b, 1), lo, hi), shape);
}

/** A generator of uniform floats in [0, 1) from a 32-bit seed (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The evaluation's generator: mulberry32 of the seed mixed with the golden ratio constant. */
export function seededRandom(seed: number): () => number {
  return mulberry32((seed >>> 0) ^ 0x9e3779b9);
}

/** Standard normal samples (Box-Muller, one per two uniforms) from a uniform generator. */
export function gaussian(rand: () => number): () => number {
  return () => {
    const u = 1 - rand(), v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** Uniform integer in [0, n). */
export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** Fisher-Yates shuffle into a new array (input untouched). */
export function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randInt(rand, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Answer positions balanced in blocks: every run of `k` consecutive calls returns each of
 * 0..k-1 once (in a seeded order), so any prefix of n answers holds each letter n/k +- 1 times.
 */
export function blockBalanced(rand: () => number, k: number): () => number {
  let block: number[] = [];
  return () => {
    if (!block.length) block = shuffled(Array.from({ length: k }, (_, i) => i), rand);
    return block.pop()!;
  };
}
