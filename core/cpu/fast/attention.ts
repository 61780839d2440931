// Causal self-attention on the generated SIMD kernels, threaded over (batch, head) pairs.
// Same contract as the backend's attentionForward/attentionBackward: q, k, v, out are
// [B, T, H, D]; lse is [B, H, T]; memory is O(T) per head (no T x T matrix is stored).
// Operands are staged in shared memory with the head size padded to a multiple of 4.

import { isShared, memBuffer, scratchRegions as regions } from "./memory.ts";
import { poolInfo, runJob } from "./pool.ts";
import { ATTN_BWD, ATTN_FWD } from "./jobs.ts";
import { type AttnJob, writeAttnJob } from "./attention_job.ts";
import { attnScratchFloats } from "./attention_kernels.ts";

/** Below this many multiply-adds attention runs on the main thread only. */
const PARALLEL_MIN_WORK = 1e6;

function checkDims(name: string, B: number, T: number, H: number, D: number, scale: number) {
  for (const [n, v] of [["B", B], ["T", T], ["H", H], ["D", D]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`${name}: ${n} must be a non-negative integer, got ${v}`);
    }
  }
  if (!Number.isFinite(scale)) throw new Error(`${name}: scale must be finite, got ${scale}`);
}

function checkLen(name: string, what: string, arr: Float32Array, need: number): void {
  if (!(arr instanceof Float32Array) || arr.length < need) {
    throw new Error(`${name}: ${what} must be a Float32Array of at least ${need} elements`);
  }
}

/** Copy rows of D floats from src into rows of Dp floats at float index dst (zero padding). */
function stage(
  mem: Float32Array,
  src: Float32Array,
  rows: number,
  D: number,
  Dp: number,
  dst: number,
) {
  if (D === Dp) {
    mem.set(src.length === rows * D ? src : src.subarray(0, rows * D), dst);
    return;
  }
  mem.fill(0, dst, dst + rows * Dp);
  for (let r = 0; r < rows; r++) mem.set(src.subarray(r * D, r * D + D), dst + r * Dp);
}

/** out[r, :D] (+)= mem rows of Dp floats at float index src. */
function unstage(
  mem: Float32Array,
  src: number,
  rows: number,
  D: number,
  Dp: number,
  out: Float32Array,
  add: boolean,
) {
  if (!add && D === Dp) {
    out.set(mem.subarray(src, src + rows * D));
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = src + r * Dp, o = r * D;
    if (add) { for (let d = 0; d < D; d++) out[o + d] += mem[s + d]; }
    else out.set(mem.subarray(s, s + D), o);
  }
}

/** Whether arr can be used in place (lives in shared memory, no padding needed). */
function inPlace(arr: Float32Array, D: number, Dp: number): boolean {
  return D === Dp && isShared(arr);
}

/** Float index of the operand: arr itself when usable in place, else staged at `at`. */
function operand(
  mem: Float32Array,
  arr: Float32Array,
  rows: number,
  D: number,
  Dp: number,
  at: number,
): number {
  if (inPlace(arr, D, Dp)) return arr.byteOffset / 4;
  stage(mem, arr, rows, D, Dp, at);
  return at;
}

function baseJob(T: number, H: number, Dp: number, scale: number): AttnJob {
  return {
    q: 0,
    k: 0,
    v: 0,
    o: 0,
    g: 0,
    dq: 0,
    dk: 0,
    dv: 0,
    m: 0,
    l: 0,
    scr: 0,
    T,
    H,
    D4: Dp / 4,
    scale,
  };
}

/**
 * out[b,t,h] = sum_{s<=t} softmax_s(scale q_t.k_s) v_s; lse[b,h,t] = log-sum-exp of the
 * scaled scores of row t. Synchronous; inputs are not modified.
 */
export function attentionForwardF32(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  B: number,
  T: number,
  H: number,
  D: number,
  scale: number,
): void {
  const name = "attentionForwardF32";
  checkDims(name, B, T, H, D, scale);
  const n = B * T * H * D, rows = B * T * H, heads = B * H;
  for (
    const [w, a, need] of [["q", q, n], ["k", k, n], ["v", v, n], ["out", out, n], [
      "lse",
      lse,
      heads * T,
    ]] as const
  ) {
    checkLen(name, w, a, need);
  }
  if (rows === 0) return;
  const Dp = Math.max(4, Math.ceil(D / 4) * 4), np = rows * Dp;
  const size = (a: Float32Array) => inPlace(a, D, Dp) ? 0 : np;
  const [qa, ka, va, oa, ms, ls, scr] = regions([
    size(q),
    size(k),
    size(v),
    size(out),
    heads * T,
    heads * T,
    heads * attnScratchFloats(T, Dp / 4),
  ]);
  const mem = new Float32Array(memBuffer());
  const qs = operand(mem, q, rows, D, Dp, qa);
  const ks = operand(mem, k, rows, D, Dp, ka);
  const vs = operand(mem, v, rows, D, Dp, va);
  const os = inPlace(out, D, Dp) ? out.byteOffset / 4 : oa;
  const job = {
    ...baseJob(T, H, Dp, scale),
    q: 4 * qs,
    k: 4 * ks,
    v: 4 * vs,
    o: 4 * os,
    m: 4 * ms,
    l: 4 * ls,
    scr: 4 * scr,
  };
  const work = heads * T * T * Dp;
  runJob(
    ATTN_FWD,
    (ctl) => writeAttnJob(ctl, job),
    heads,
    work >= PARALLEL_MIN_WORK && poolInfo().threads > 1,
  );
  if (!inPlace(out, D, Dp)) unstage(mem, os, rows, D, Dp, out, false);
  for (let i = 0; i < heads * T; i++) lse[i] = mem[ms + i] + Math.log(mem[ls + i]);
}

/**
 * Adds to dq, dk, dv ([B, T, H, D], zero-filled on entry per the backend contract) the
 * gradients of attention given q, k, v, out, lse from the forward pass and dout.
 */
export function attentionBackwardF32(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  dout: Float32Array,
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  B: number,
  T: number,
  H: number,
  D: number,
  scale: number,
): void {
  const name = "attentionBackwardF32";
  checkDims(name, B, T, H, D, scale);
  const n = B * T * H * D, rows = B * T * H, heads = B * H;
  const arrays = [
    ["q", q, n],
    ["k", k, n],
    ["v", v, n],
    ["out", out, n],
    ["lse", lse, heads * T],
    ["dout", dout, n],
    ["dq", dq, n],
    ["dk", dk, n],
    ["dv", dv, n],
  ] as const;
  for (const [w, a, need] of arrays) checkLen(name, w, a, need);
  if (n === 0) return;
  const Dp = Math.ceil(D / 4) * 4, np = rows * Dp;
  const size = (a: Float32Array) => inPlace(a, D, Dp) ? 0 : np;
  const grads = [dq, dk, dv];
  const at = regions([
    ...[q, k, v, out, dout, ...grads].map(size),
    isShared(lse) ? 0 : heads * T,
    heads * attnScratchFloats(T, Dp / 4),
  ]);
  const mem = new Float32Array(memBuffer());
  const [qs, ks, vs, os, gs] = [q, k, v, out, dout].map((a, i) =>
    operand(mem, a, rows, D, Dp, at[i])
  );
  // gradients accumulate in place when possible, else in zeroed scratch added back below
  const [dqs, dks, dvs] = grads.map((a, i) => {
    if (inPlace(a, D, Dp)) return a.byteOffset / 4;
    mem.fill(0, at[5 + i], at[5 + i] + np);
    return at[5 + i];
  });
  const lses = isShared(lse) ? lse.byteOffset / 4 : at[8];
  if (!isShared(lse)) mem.set(lse.subarray(0, heads * T), lses);
  const job = {
    ...baseJob(T, H, Dp, scale),
    q: 4 * qs,
    k: 4 * ks,
    v: 4 * vs,
    o: 4 * os,
    g: 4 * gs,
    dq: 4 * dqs,
    dk: 4 * dks,
    dv: 4 * dvs,
    m: 4 * lses,
    scr: 4 * at[9],
  };
  const work = 3 * heads * T * T * Dp;
  runJob(
    ATTN_BWD,
    (ctl) => writeAttnJob(ctl, job),
    heads,
    work >= PARALLEL_MIN_WORK && poolInfo().threads > 1,
  );
  [dqs, dks, dvs].forEach((at, i) => {
    if (!inPlace(grads[i], D, Dp)) unstage(mem, at, rows, D, Dp, grads[i], true);
  });
}
