// Parallel row/element jobs for the elementwise kernels: cross-entropy forward (row
// log-sum-exp) and backward (softmax minus one-hot), GELU forward and backward, (log-)softmax
// rows forward and backward. The job
// lives in the control block; a chunk is a range of rows (or of 4-float groups).

import { readParams, writeParams } from "./control.ts";
import type { KernelExports } from "./kernels.ts";

export const CE_FWD = 0, CE_BWD = 1, GELU_FWD = 2, GELU_BWD = 3, SM_FWD = 4, SM_BWD = 5;

export interface RowsJob {
  mode: number;
  x: number; // logits / x (bytes)
  y: number; // targets (i32) / upstream gradient g (bytes)
  out: number; // dlogits / out (bytes)
  lse: number; // per-row lse (bytes), forward
  rows: number; // CE: N; GELU: element count
  cols: number; // CE: V
  ignore: number;
  per: number; // rows (or elements) per chunk
  useLse: number; // CE backward: 1 = read per-row lse at `lse` instead of recomputing it;
  // softmax: 1 = log-softmax
  scale: number; // CE backward: dout / count
}

const INTS: (keyof RowsJob)[] = [
  "mode",
  "x",
  "y",
  "out",
  "lse",
  "rows",
  "cols",
  "ignore",
  "per",
  "useLse",
];

export function writeRowsJob(ctl: Int32Array, j: RowsJob): void {
  writeParams(ctl, [...INTS.map((f) => j[f]), Math.fround(j.scale)]); // scale travels as f32
}

function readRowsJob(ctl: Int32Array): RowsJob {
  const j = {} as RowsJob, p = readParams(ctl, INTS.length + 1);
  INTS.forEach((f, i) => (j[f] = p[i]));
  j.scale = p[INTS.length];
  return j;
}

const GC = Math.sqrt(2 / Math.PI), GA = 0.044715;

/** Scalar GELU (tanh form) and its derivative, for the n % 4 tails. */
export function geluScalar(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GC * (x + GA * x * x * x)));
}
export function geluGradScalar(x: number): number {
  const th = Math.tanh(GC * (x + GA * x * x * x));
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GC * (1 + 3 * GA * x * x);
}

/** log-sum-exp of the V floats at byte address row. */
function rowLse(k: KernelExports, mem: Float32Array, row: number, V: number): number {
  const V4 = V >> 2;
  let mx = V4 > 0 ? k.rowMax(row, V4) : -Infinity;
  for (let i = 4 * V4; i < V; i++) mx = Math.max(mx, mem[row / 4 + i]);
  let s = V4 > 0 ? k.rowSumExp(row, V4, mx) : 0;
  for (let i = 4 * V4; i < V; i++) s += Math.exp(mem[row / 4 + i] - mx);
  return mx + Math.log(s);
}

/** Run chunk `chunk` of the rows job in `ctl` with this thread's kernels. */
export function rowsChunk(
  ctl: Int32Array,
  memory: WebAssembly.Memory,
  k: KernelExports,
  chunk: number,
): void {
  const j = readRowsJob(ctl);
  const mem = new Float32Array(memory.buffer), memI = new Int32Array(memory.buffer);
  const r0 = chunk * j.per, r1 = Math.min(j.rows, r0 + j.per);
  if (j.mode === GELU_FWD || j.mode === GELU_BWD) {
    const n4 = (r1 - r0) >> 2, end = r0 + 4 * n4;
    const x = j.x / 4, g = j.y / 4, o = j.out / 4;
    if (j.mode === GELU_FWD) {
      if (n4 > 0) k.geluTanh(j.x + 4 * r0, j.out + 4 * r0, n4);
      for (let i = end; i < r1; i++) mem[o + i] = geluScalar(mem[x + i]);
    } else {
      if (n4 > 0) k.geluTanhBwd(j.x + 4 * r0, j.y + 4 * r0, j.out + 4 * r0, n4);
      for (let i = end; i < r1; i++) mem[o + i] = geluGradScalar(mem[x + i]) * mem[g + i];
    }
    return;
  }
  if (j.mode === SM_FWD || j.mode === SM_BWD) return softmaxRows(j, mem, k, r0, r1);
  const V = j.cols, V4 = V >> 2;
  for (let r = r0; r < r1; r++) {
    const t = memI[j.y / 4 + r];
    const row = j.x + 4 * r * V, orow = j.out / 4 + r * V;
    if (t === j.ignore) {
      if (j.mode === CE_BWD) mem.fill(0, orow, orow + V);
      continue;
    }
    const lse = j.useLse ? mem[j.lse / 4 + r] : rowLse(k, mem, row, V);
    if (j.mode === CE_FWD) {
      mem[j.lse / 4 + r] = lse;
      continue;
    }
    if (V4 > 0) k.expScale(row, 4 * orow, V4, lse, j.scale);
    for (let i = 4 * V4; i < V; i++) mem[orow + i] = Math.exp(mem[row / 4 + i] - lse) * j.scale;
    mem[orow + t] -= j.scale;
  }
}

/** Rows [r0, r1) of a softmax job: x / y at j.x, dy at j.y, output at j.out (bytes). */
function softmaxRows(j: RowsJob, mem: Float32Array, k: KernelExports, r0: number, r1: number) {
  const C = j.cols, C4 = C >> 2, log = j.useLse === 1;
  for (let r = r0; r < r1; r++) {
    const x = j.x + 4 * r * C, g = j.y + 4 * r * C, o = j.out + 4 * r * C;
    const xf = x / 4, gf = g / 4, of = o / 4;
    if (j.mode === SM_FWD) {
      const lse = rowLse(k, mem, x, C);
      if (log) {
        if (C4 > 0) k.subScalar(x, o, C4, lse);
        for (let i = 4 * C4; i < C; i++) mem[of + i] = mem[xf + i] - lse;
      } else {
        if (C4 > 0) k.expScale(x, o, C4, lse, 1);
        for (let i = 4 * C4; i < C; i++) mem[of + i] = Math.exp(mem[xf + i] - lse);
      }
      continue;
    }
    let s = 0;
    if (log) {
      s = C4 > 0 ? k.rowSum(g, C4) : 0;
      for (let i = 4 * C4; i < C; i++) s += mem[gf + i];
      if (C4 > 0) k.logSoftmaxBwd(x, g, o, C4, s);
      for (let i = 4 * C4; i < C; i++) mem[of + i] = mem[gf + i] - Math.exp(mem[xf + i]) * s;
    } else {
      s = C4 > 0 ? k.rowDot(g, x, C4) : 0;
      for (let i = 4 * C4; i < C; i++) s += mem[gf + i] * mem[xf + i];
      if (C4 > 0) k.softmaxBwd(x, g, o, C4, s);
      for (let i = 4 * C4; i < C; i++) mem[of + i] = mem[xf + i] * (mem[gf + i] - s);
    }
  }
}
