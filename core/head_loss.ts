// The output head fused with the cross-entropy, chunked over rows: loss = mean over rows of
// CE(h @ W, targets) without ever holding the [N, V] logits at once. Forward and backward walk
// the rows in chunks of `chunkRows`: each chunk's logits (and, in the backward, its dlogits) are
// made, used and freed; the backward recomputes them from h and W instead of keeping them.
// Written with the Backend primitives only (copyStrided, matmul, crossEntropy*, binary, reduce),
// so every backend runs it. With one chunk it is the unfused op up to float rounding of the
// per-chunk mean (a chunk's mean times its count of valid rows, summed, over the total count).

import type { Backend, Storage } from "./backend.ts";
import { fromStorage, type Tensor } from "./tensor.ts";
import { recordOrFree } from "./tape.ts";

/** Rows per chunk so that one chunk's logits hold about 2^24 floats (64 MiB). */
export function headChunkRows(V: number): number {
  return Math.max(1, Math.floor(2 ** 24 / V));
}

/** Scratch storages freed together. */
class Scratch {
  readonly #list: Storage[] = [];
  constructor(readonly be: Backend) {}
  /** `zero` false: the kernel it is passed to writes every element (no zero fill). */
  f32(n: number, zero = true): Storage {
    const s = this.be.alloc(n, "f32", zero);
    this.#list.push(s);
    return s;
  }
  i32(n: number): Storage {
    const s = this.be.alloc(n, "i32");
    this.#list.push(s);
    return s;
  }
  free(): void {
    for (const s of this.#list.splice(0)) this.be.free(s);
  }
}

/** out = a op b for 1-element storages. */
function scalarOp(
  be: Backend,
  op: "add" | "mul" | "div" | "max",
  a: Storage,
  b: Storage,
  out: Storage,
) {
  be.binary(op, a, b, out, [1], [1], [1]);
}

/** Number of rows r0 <= r < r1 whose target is not ignoreIndex, as a 1-element f32 storage. */
function validCount(
  s: Scratch,
  targets: Storage,
  r0: number,
  r1: number,
  ignore: Storage,
): Storage {
  const be = s.be, n = r1 - r0;
  const t = s.i32(n), tf = s.f32(n), eq = s.f32(n), valid = s.f32(n), count = s.f32(1);
  be.copyStrided(targets, t, [n], [1], r0, [1], 0);
  be.cast(t, tf, n);
  be.binary("eq", tf, ignore, eq, [n], [1], [0]);
  be.unary("affine", eq, valid, n, -1, 1); // 1 - eq
  be.reduce("sum", valid, count, 1, n, 1);
  return count;
}

/** Rows r0 .. r1 of h [N, D] and of the targets, copied into fresh storages. */
function chunkRows(
  s: Scratch,
  h: Storage,
  targets: Storage,
  D: number,
  r0: number,
  r1: number,
): { hc: Storage; tc: Storage } {
  const n = r1 - r0, hc = s.f32(n * D), tc = s.i32(n);
  s.be.copyStrided(h, hc, [n, D], [D, 1], r0 * D, [D, 1], 0);
  s.be.copyStrided(targets, tc, [n], [1], r0, [1], 0);
  return { hc, tc };
}

/**
 * Mean cross-entropy of h [..., D] @ head [D, V] against i32 targets [...] (same leading
 * size; rows whose target is ignoreIndex are left out; 0 when all are), computed chunkRows rows
 * at a time. Differentiable in h and head.
 */
export function chunkedHeadLoss(
  h: Tensor,
  head: Tensor,
  targets: Tensor,
  ignoreIndex = -1,
  chunkRows_ = headChunkRows(head.shape[head.rank - 1]),
): Tensor {
  const be = h.backend;
  if (head.backend !== be || targets.backend !== be) {
    throw new Error("chunkedHeadLoss: h, head and targets must live on one backend; move them");
  }
  if (h.dtype !== "f32" || head.dtype !== "f32") {
    throw new Error(`chunkedHeadLoss: h and head must be f32, got ${h} and ${head}`);
  }
  if (targets.dtype !== "i32") {
    throw new Error(`chunkedHeadLoss: targets must be i32, got ${targets}`);
  }
  if (head.rank !== 2 || h.shape[h.rank - 1] !== head.shape[0]) {
    throw new Error(
      `chunkedHeadLoss: head must be [D, V] with D = h's last axis, got h [${h.shape}] and ` +
        `head [${head.shape}]`,
    );
  }
  const [D, V] = head.shape, N = h.size / D;
  if (targets.size !== N) {
    throw new Error(`chunkedHeadLoss: ${targets.size} targets for ${N} rows of h [${h.shape}]`);
  }
  if (!Number.isInteger(chunkRows_) || chunkRows_ < 1) {
    throw new Error(`chunkedHeadLoss: chunkRows must be a positive integer, got ${chunkRows_}`);
  }
  const chunks: [number, number][] = [];
  for (let r = 0; r < N; r += chunkRows_) chunks.push([r, Math.min(N, r + chunkRows_)]);

  const out = fromStorage(be, be.alloc(1, "f32"), []);
  const lseAll = fromStorage(be, be.alloc(N, "f32"), [N]); // saved for the backward
  const s = new Scratch(be);
  try {
    const ignore = s.f32(1), one = s.f32(1);
    be.fill(ignore, 1, ignoreIndex);
    be.fill(one, 1, 1);
    let acc = s.f32(1); // sum over chunks of (chunk mean * chunk count)
    for (const [r0, r1] of chunks) {
      const n = r1 - r0, { hc, tc } = chunkRows(s, h.storage, targets.storage, D, r0, r1);
      const logits = be.alloc(n * V, "f32", false);
      be.matmul(hc, head.storage, logits, 1, n, V, D, false, false);
      const mean = s.f32(1), part = s.f32(1), next = s.f32(1), lse = s.f32(n);
      be.crossEntropyForward(logits, tc, mean, lse, n, V, ignoreIndex);
      be.copyStrided(lse, lseAll.storage, [n], [1], 0, [1], r0);
      be.free(logits);
      scalarOp(be, "mul", mean, validCount(s, targets.storage, r0, r1, ignore), part);
      scalarOp(be, "add", acc, part, next);
      acc = next;
    }
    const denom = s.f32(1);
    scalarOp(be, "max", validCount(s, targets.storage, 0, N, ignore), one, denom);
    scalarOp(be, "div", acc, denom, out.storage);
  } finally {
    s.free();
  }

  return recordOrFree(out, [h, head], [lseAll], (g, needs) => {
    const dh = needs[0] ? fromStorage(be, be.alloc(N * D, "f32"), h.shape) : null;
    let dW: Storage | null = null;
    const t = new Scratch(be);
    try {
      const ignore = t.f32(1), one = t.f32(1), denom = t.f32(1), perRow = t.f32(1);
      be.fill(ignore, 1, ignoreIndex);
      be.fill(one, 1, 1);
      scalarOp(be, "max", validCount(t, targets.storage, 0, N, ignore), one, denom);
      scalarOp(be, "div", g.storage, denom, perRow); // dloss / count
      const c = new Scratch(be); // one chunk's scratch
      try {
        for (const [r0, r1] of chunks) {
          const n = r1 - r0, { hc, tc } = chunkRows(c, h.storage, targets.storage, D, r0, r1);
          // the CE backward divides by the chunk's own count: hand it g * count_c / count
          const dout = c.f32(1);
          scalarOp(be, "mul", perRow, validCount(c, targets.storage, r0, r1, ignore), dout);
          const logits = c.f32(n * V, false), dl = c.f32(n * V, false);
          be.matmul(hc, head.storage, logits, 1, n, V, D, false, false);
          const lse = c.f32(n); // this chunk's rows of the forward's saved log-sum-exp
          be.copyStrided(lseAll.storage, lse, [n], [1], r0, [1], 0);
          be.crossEntropyBackward(logits, tc, lse, dout, dl, n, V, ignoreIndex);
          if (dh) {
            const dhc = c.f32(n * D, false);
            be.matmul(dl, head.storage, dhc, 1, n, D, V, false, true);
            be.copyStrided(dhc, dh.storage, [n, D], [D, 1], 0, [D, 1], r0 * D);
          }
          if (needs[1]) {
            const part = be.alloc(D * V, "f32", false);
            be.matmul(hc, dl, part, 1, D, V, n, true, false);
            if (dW === null) dW = part;
            else {
              const sum = be.alloc(D * V, "f32", false);
              be.binary("add", dW, part, sum, [D * V], [1], [1]);
              be.free(dW);
              be.free(part);
              dW = sum;
            }
          }
          c.free();
        }
      } finally {
        c.free();
      }
    } finally {
      t.free();
    }
    return [dh, dW === null ? null : fromStorage(be, dW, head.shape)];
  }, [targets]);
}
