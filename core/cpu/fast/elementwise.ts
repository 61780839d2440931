// Fast fused cross-entropy and GELU (tanh form) on the generated SIMD kernels, threaded
// over rows / element ranges. Same contracts as the backend's crossEntropyForward/Backward,
// unary "geluTanh" and binary "geluTanhBwd" (same-shape case). Synchronous.

import { isShared, memBuffer, scratchRegions as regions } from "./memory.ts";
import { poolInfo, runJob } from "./pool.ts";
import { ROWS } from "./jobs.ts";
import {
  CE_BWD,
  CE_FWD,
  GELU_BWD,
  GELU_FWD,
  type RowsJob,
  SM_BWD,
  SM_FWD,
  writeRowsJob,
} from "./rows_job.ts";

/** Below this many elements the kernels run on the main thread only. */
const PARALLEL_MIN_ELEMS = 1 << 18;

function need(name: string, what: string, arr: ArrayBufferView & { length: number }, n: number) {
  if (arr.length < n) {
    throw new Error(`${name}: ${what} has ${arr.length} elements, the shapes need ${n}`);
  }
}

function count(name: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new Error(`${name}: ${what} must be a non-negative integer, got ${v}`);
  }
}

/** Float index of `arr` in shared memory: in place if it lives there, else copied to `at`. */
function place(mem: Float32Array, arr: Float32Array, n: number, at: number): number {
  if (isShared(arr)) return arr.byteOffset / 4;
  mem.set(arr.length === n ? arr : arr.subarray(0, n), at);
  return at;
}

function run(job: RowsJob, chunks: number, elems: number): void {
  const parallel = elems >= PARALLEL_MIN_ELEMS && poolInfo().threads > 1;
  runJob(ROWS, (ctl) => writeRowsJob(ctl, job), chunks, parallel);
}

const BASE: RowsJob = {
  mode: 0,
  x: 0,
  y: 0,
  out: 0,
  lse: 0,
  rows: 0,
  cols: 0,
  ignore: 0,
  per: 1,
  useLse: 0,
  scale: 0,
};

/**
 * Cross-entropy argument checks, in order: N and V, logits [N, V], targets [N], then each
 * (name, array, length) of `more` that is given (undefined = optional and absent), then the
 * targets' range; returns the number of valid (not ignored) rows.
 */
function checkCrossEntropy(
  name: string,
  logits: Float32Array,
  targets: Int32Array,
  N: number,
  V: number,
  ignoreIndex: number,
  more: [string, Float32Array | undefined, number][],
): number {
  count(name, "N", N);
  count(name, "V", V);
  need(name, "logits", logits, N * V);
  need(name, "targets", targets, N);
  for (const [what, arr, n] of more) if (arr !== undefined) need(name, what, arr, n);
  return checkTargets(name, targets, N, V, ignoreIndex);
}

function checkTargets(name: string, t: Int32Array, N: number, V: number, ignore: number): number {
  let valid = 0;
  for (let r = 0; r < N; r++) {
    const x = t[r];
    if (x === ignore) continue;
    if (!(x >= 0 && x < V)) {
      throw new Error(
        `${name}: target ${x} of row ${r} is outside [0, ${V}) and is not ignoreIndex`,
      );
    }
    valid++;
  }
  return valid;
}

function rowsPer(N: number, V: number): number {
  return Math.max(1, Math.min(N, Math.ceil(16384 / Math.max(V, 1))));
}

/**
 * out[0] = mean over rows with targets[r] != ignoreIndex of logsumexp(logits[r]) -
 * logits[r, targets[r]]; 0 when every row is ignored. logits [N, V], targets i32 [N].
 * If lseOut [N] is given it receives each valid row's logsumexp (for the backward pass).
 */
export function crossEntropyForwardF32(
  logits: Float32Array,
  targets: Int32Array,
  out: Float32Array,
  N: number,
  V: number,
  ignoreIndex: number,
  lseOut?: Float32Array,
): void {
  const name = "crossEntropyForwardF32";
  const valid = checkCrossEntropy(name, logits, targets, N, V, ignoreIndex, [
    ["out", out, 1],
    ["lseOut", lseOut, N],
  ]);
  if (valid === 0) {
    out[0] = 0;
    return;
  }
  const [xa, ta, la] = regions([isShared(logits) ? 0 : N * V, N, N]);
  const mem = new Float32Array(memBuffer());
  const x = place(mem, logits, N * V, xa);
  new Int32Array(mem.buffer).set(targets.subarray(0, N), ta);
  const per = rowsPer(N, V);
  const job = { ...BASE, mode: CE_FWD, x: 4 * x, y: 4 * ta, lse: 4 * la, rows: N, cols: V };
  run({ ...job, ignore: ignoreIndex, per }, Math.ceil(N / per), N * V);
  let sum = 0;
  for (let r = 0; r < N; r++) {
    const t = targets[r];
    if (t !== ignoreIndex) sum += mem[la + r] - mem[x + r * V + t];
  }
  out[0] = sum / valid;
  if (lseOut !== undefined) {
    for (let r = 0; r < N; r++) lseOut[r] = targets[r] === ignoreIndex ? 0 : mem[la + r];
  }
}

/**
 * dlogits[r, :] = (softmax(logits[r]) - onehot(targets[r])) * dout[0] / count for valid rows,
 * 0 for ignored rows (count = number of valid rows). Pass the forward's lseOut as `lse` to
 * skip recomputing each row's logsumexp.
 */
export function crossEntropyBackwardF32(
  logits: Float32Array,
  targets: Int32Array,
  dout: Float32Array,
  dlogits: Float32Array,
  N: number,
  V: number,
  ignoreIndex: number,
  lse?: Float32Array,
): void {
  const name = "crossEntropyBackwardF32";
  const valid = checkCrossEntropy(name, logits, targets, N, V, ignoreIndex, [
    ["dout", dout, 1],
    ["dlogits", dlogits, N * V],
    ["lse", lse, N],
  ]);
  if (valid === 0 || N * V === 0) {
    dlogits.fill(0, 0, N * V);
    return;
  }
  const outIn = isShared(dlogits);
  const [xa, ta, oa, la] = regions([
    isShared(logits) ? 0 : N * V,
    N,
    outIn ? 0 : N * V,
    lse === undefined ? 0 : N,
  ]);
  const mem = new Float32Array(memBuffer());
  const x = place(mem, logits, N * V, xa);
  const o = outIn ? dlogits.byteOffset / 4 : oa;
  new Int32Array(mem.buffer).set(targets.subarray(0, N), ta);
  const l = lse === undefined ? 0 : place(mem, lse, N, la);
  const per = rowsPer(N, V);
  const job = { ...BASE, mode: CE_BWD, x: 4 * x, y: 4 * ta, out: 4 * o, rows: N, cols: V };
  const scale = dout[0] / valid;
  const useLse = lse === undefined ? 0 : 1;
  run({ ...job, ignore: ignoreIndex, per, scale, lse: 4 * l, useLse }, Math.ceil(N / per), N * V);
  if (!outIn) dlogits.set(mem.subarray(o, o + N * V));
}

/**
 * Places x, g (when given) and out (n floats each) in shared memory: in place where they
 * live there, else in scratch (x and g copied); returns the memory view and float indices.
 */
function stageXGOut(x: Float32Array, g: Float32Array | null, out: Float32Array, n: number) {
  const outIn = isShared(out);
  const [xa, ga, oa] = regions([
    isShared(x) ? 0 : n,
    g === null || isShared(g) ? 0 : n,
    outIn ? 0 : n,
  ]);
  const mem = new Float32Array(memBuffer());
  const xi = place(mem, x, n, xa), gi = g === null ? 0 : place(mem, g, n, ga);
  const o = outIn ? out.byteOffset / 4 : oa;
  return { mem, xi, gi, o, outIn };
}

function geluJob(
  mode: number,
  x: Float32Array,
  g: Float32Array | null,
  out: Float32Array,
  n: number,
) {
  const { mem, xi, gi, o, outIn } = stageXGOut(x, g, out, n);
  const per = 4 * Math.max(1024, Math.ceil(n / 64 / 4));
  run({ ...BASE, mode, x: 4 * xi, y: 4 * gi, out: 4 * o, rows: n, per }, Math.ceil(n / per), n);
  if (!outIn) out.set(mem.subarray(o, o + n));
}

/** out[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) for i < n. */
export function geluTanhF32(x: Float32Array, out: Float32Array, n: number): void {
  count("geluTanhF32", "n", n);
  need("geluTanhF32", "x", x, n);
  need("geluTanhF32", "out", out, n);
  if (n > 0) geluJob(GELU_FWD, x, null, out, n);
}

/** out[i] = d/dx geluTanh(x[i]) * g[i] for i < n. */
export function geluTanhBwdF32(x: Float32Array, g: Float32Array, out: Float32Array, n: number) {
  count("geluTanhBwdF32", "n", n);
  need("geluTanhBwdF32", "x", x, n);
  need("geluTanhBwdF32", "g", g, n);
  need("geluTanhBwdF32", "out", out, n);
  if (n > 0) geluJob(GELU_BWD, x, g, out, n);
}

function softmaxJob(
  name: string,
  mode: number,
  x: Float32Array,
  g: Float32Array | null,
  out: Float32Array,
  rows: number,
  cols: number,
  log: boolean,
) {
  count(name, "rows", rows);
  count(name, "cols", cols);
  const n = rows * cols;
  need(name, mode === SM_FWD ? "x" : "y", x, n);
  if (g !== null) need(name, "dy", g, n);
  need(name, mode === SM_FWD ? "out" : "dx", out, n);
  if (n === 0) return;
  const { mem, xi, gi, o, outIn } = stageXGOut(x, g, out, n);
  const per = rowsPer(rows, cols);
  const job = { ...BASE, mode, x: 4 * xi, y: 4 * gi, out: 4 * o, rows, cols, per };
  run({ ...job, useLse: log ? 1 : 0 }, Math.ceil(rows / per), n);
  if (!outIn) out.set(mem.subarray(o, o + n));
}

/** Row softmax (or log-softmax when `log`) of x [rows, cols] into out. */
export function softmaxF32(
  x: Float32Array,
  out: Float32Array,
  rows: number,
  cols: number,
  log: boolean,
): void {
  softmaxJob("softmaxF32", SM_FWD, x, null, out, rows, cols, log);
}

/**
 * dx from y = softmax(x) and dy: dx = y (dy - sum(dy y)); for log-softmax (y = log p):
 * dx = dy - exp(y) sum(dy). Rows x cols.
 */
export function softmaxBackwardF32(
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  rows: number,
  cols: number,
  log: boolean,
): void {
  softmaxJob("softmaxBackwardF32", SM_BWD, y, dy, dx, rows, cols, log);
}
