// Small seeded random source for evaluation (bootstrap resampling, benchmark building, sampling):
// mulberry32, so the same seed gives the same items and intervals on every machine.

/** Returns a function yielding uniform floats in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): () => number {
  let a = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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
