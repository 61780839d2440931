// One parallel causal-attention job (forward or backward): byte addresses of the staged
// [B, T, H, Dp] tensors and per-(batch, head) rows, stored in the control block; a chunk
// is one (batch, head) pair.

import { readParams, writeParams } from "./control.ts";
import { attnKernels, attnScratchFloats } from "./attention_kernels.ts";

export interface AttnJob {
  q: number;
  k: number;
  v: number;
  o: number;
  g: number; // dout (backward)
  dq: number;
  dk: number;
  dv: number;
  m: number; // forward: row max; backward: lse
  l: number; // forward: row sum
  scr: number; // attnScratchFloats(T, D4) floats per (batch, head) pair
  T: number;
  H: number;
  D4: number;
  scale: number;
}

const INTS: (keyof AttnJob)[] = [
  "q",
  "k",
  "v",
  "o",
  "g",
  "dq",
  "dk",
  "dv",
  "m",
  "l",
  "scr",
  "T",
  "H",
  "D4",
];

export function writeAttnJob(ctl: Int32Array, j: AttnJob): void {
  writeParams(ctl, [...INTS.map((f) => j[f]), Math.fround(j.scale)]); // scale travels as f32
}

export function readAttnJob(ctl: Int32Array): AttnJob {
  const j = {} as AttnJob, p = readParams(ctl, INTS.length + 1);
  INTS.forEach((f, i) => (j[f] = p[i]));
  j.scale = p[INTS.length];
  return j;
}

/** Run (batch, head) pair `chunk` of the attention job in `ctl`. */
export function attnChunk(
  ctl: Int32Array,
  memory: WebAssembly.Memory,
  backward: boolean,
  fma: boolean,
  chunk: number,
): void {
  const j = readAttnJob(ctl);
  const kern = attnKernels(memory, j.D4, fma);
  const b = Math.floor(chunk / j.H), h = chunk % j.H;
  const rs = j.H * j.D4 * 16;
  const head = b * j.T * rs + h * j.D4 * 16;
  const row = chunk * j.T * 4;
  const scr = j.scr + chunk * attnScratchFloats(j.T, j.D4) * 4;
  if (!backward) {
    kern.fwd(
      j.q + head,
      j.k + head,
      j.v + head,
      j.o + head,
      j.m + row,
      j.l + row,
      j.T,
      rs,
      j.scale,
      scr,
    );
  } else {
    kern.bwd(
      j.q + head,
      j.k + head,
      j.v + head,
      j.o + head,
      j.g + head,
      j.dq + head,
      j.dk + head,
      j.dv + head,
      j.m + row,
      j.T,
      rs,
      j.scale,
      scr,
    );
  }
}
