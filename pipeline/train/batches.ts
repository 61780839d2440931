// Deterministic batches for training and validation. The training batch of a step is a pure
// function of (seed, step): window starts come from a hash, so both twins see the same data in
// the same order and a resumed run continues exactly where it stopped (no hidden cursor).

/** A 32-bit mix of three integers (murmur3 finaliser over a running combination). */
export function mix3(a: number, b: number, c: number): number {
  let h = (Math.imul(a >>> 0, 0x9e3779b1) ^ Math.imul(b >>> 0, 0x85ebca77)) >>> 0;
  h = (h + Math.imul(c >>> 0, 0xc2b2ae3d)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface Batch {
  /** Input ids [B, T] row-major. */
  x: Int32Array;
  /** Target ids [B, T] (the next token of each input). */
  y: Int32Array;
}

/** Copy the windows starting at `starts` (each T+1 tokens long) into inputs and targets. */
export function windowsAt(ids: Int32Array, starts: number[], T: number): Batch {
  const B = starts.length;
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  starts.forEach((s, b) => {
    x.set(ids.subarray(s, s + T), b * T);
    y.set(ids.subarray(s + 1, s + T + 1), b * T);
  });
  return { x, y };
}

function checkLength(ids: Int32Array, T: number, what: string): void {
  if (ids.length < T + 2) {
    throw new Error(
      `${what}: only ${ids.length} tokens, need at least ${T + 2} for context ${T} ` +
        "(use more text or a smaller model.context)",
    );
  }
}

/** The training batch of `step`: B windows at hashed positions. */
export function trainBatch(
  ids: Int32Array,
  seed: number,
  step: number,
  B: number,
  T: number,
): Batch {
  checkLength(ids, T, "training split");
  const span = ids.length - T; // a window [s, s+T] needs s + T < ids.length
  const starts = Array.from({ length: B }, (_, b) => mix3(seed, step, b) % span);
  return windowsAt(ids, starts, T);
}

/** Fixed validation batches: `n` batches of B windows evenly spread over the split. */
export function valBatches(ids: Int32Array, n: number, B: number, T: number): Batch[] {
  checkLength(ids, T, "validation split");
  const span = ids.length - T;
  const total = n * B;
  const starts = Array.from({ length: total }, (_, i) => Math.floor((i * span) / total));
  return Array.from({ length: n }, (_, k) => windowsAt(ids, starts.slice(k * B, k * B + B), T));
}

/**
 * Non-overlapping windows covering the whole split: every token after the first is predicted
 * exactly once (for bits per character). The last window is shorter and padded with target -1.
 */
export function coverBatches(ids: Int32Array, B: number, T: number): Batch[] {
  const starts: number[] = [];
  for (let s = 0; s + 1 < ids.length; s += T) starts.push(s);
  const out: Batch[] = [];
  for (let k = 0; k < starts.length; k += B) {
    const chunk = starts.slice(k, k + B);
    const x = new Int32Array(chunk.length * T), y = new Int32Array(chunk.length * T).fill(-1);
    chunk.forEach((s, b) => {
      const n = Math.min(T, ids.length - 1 - s);
      x.set(ids.subarray(s, s + n), b * T);
      y.set(ids.subarray(s + 1, s + 1 + n), b * T);
    });
    out.push({ x, y });
  }
  return out;
}
