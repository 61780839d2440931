// The generated GEMM micro-kernel alone (core/cpu/fast/kernels.ts `gemm`), for every module
// variant this engine validates (relaxed-SIMD FMA and plain mul + add; 32-bit and memory64
// addresses): random packed panels of A and B, several tile and panel counts, both store
// modes (overwrite, accumulate), against the per-element chain the kernel promises: from
// zero over k in order, then plus the old value. The plain variant must match that chain
// bit for bit (f32 rounding emulated with Math.fround); the FMA one within a few ulps. The
// bytes around the output block must stay untouched.

import { kernelModuleBytes, KU, MR, NR } from "../core/cpu/fast/kernels.ts";
import { createSharedMemory } from "../core/cpu/fast/memory.ts";
import { xorshiftUniform } from "./xorshift.ts";

type Gemm = (
  pa: number,
  pb: number,
  c: number,
  ldc: number,
  kc: number,
  mTiles: number,
  nPanels: number,
  accumulate: number,
) => void;

function instance(fma: boolean, mem64: boolean): { gemm: Gemm; f32: Float32Array } | null {
  const bytes = kernelModuleBytes(fma, mem64);
  if (!WebAssembly.validate(bytes as BufferSource)) return null;
  const mem = createSharedMemory(mem64);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { mem },
  });
  return { gemm: inst.exports.gemm as Gemm, f32: new Float32Array(mem.buffer) };
}

function check(fma: boolean, mem64: boolean): void {
  const k = instance(fma, mem64);
  if (k === null) {
    if (fma) return; // no relaxed SIMD on this engine: the plain variant is what runs
    throw new Error(`the plain SIMD kernel module (mem64 ${mem64}) does not validate`);
  }
  const { gemm, f32 } = k;
  let seed = 11;
  for (const kc of [KU, 3 * KU, 64 + KU]) {
    for (const mTiles of [1, 2, 3]) {
      for (const nPanels of [1, 2]) {
        for (const accumulate of [0, 1]) {
          const rows = mTiles * MR, cols = nPanels * NR, ld = cols + 5; // 5 spare columns
          const pa = 1024, pb = pa + mTiles * kc * MR + 16, c = pb + nPanels * kc * NR + 16;
          const cLen = (rows + 1) * ld; // one spare row
          const fill = (at: number, n: number) =>
            xorshiftUniform(n, seed++).forEach((u, i) => f32[at + i] = Math.fround(u * 2 - 1));
          fill(pa, mTiles * kc * MR);
          fill(pb, nPanels * kc * NR);
          fill(c, cLen);
          const old = f32.slice(c, c + cLen);
          gemm(4 * pa, 4 * pb, 4 * c, 4 * ld, kc, mTiles, nPanels, accumulate);
          const where = `fma ${fma}, mem64 ${mem64}, kc ${kc}, ${mTiles} tiles, ` +
            `${nPanels} panels, accumulate ${accumulate}`;
          for (let i = 0; i < rows + 1; i++) {
            for (let j = 0; j < ld; j++) {
              const got = f32[c + i * ld + j];
              if (i >= rows || j >= cols) {
                if (!Object.is(got, old[i * ld + j])) {
                  throw new Error(`wrote outside the block at (${i}, ${j}) (${where})`);
                }
                continue;
              }
              const t = Math.floor(i / MR), p = Math.floor(j / NR);
              let s = 0, mag = 0;
              for (let q = 0; q < kc; q++) {
                const x = f32[pa + (t * kc + q) * MR + (i % MR)];
                const y = f32[pb + (p * kc + q) * NR + (j % NR)];
                s = Math.fround(s + (fma ? x * y : Math.fround(x * y)));
                mag += Math.abs(x * y);
              }
              if (accumulate) {
                s = Math.fround(s + old[i * ld + j]), mag += Math.abs(old[i * ld + j]);
              }
              const ok = fma ? Math.abs(got - s) <= 2 ** -21 * mag : Object.is(got, s);
              if (!ok) throw new Error(`C(${i}, ${j}) = ${got}, want ${s} (${where})`);
            }
          }
        }
      }
    }
  }
}

for (const mem64 of [false, true]) {
  for (const fma of [true, false]) {
    Deno.test(`gemm micro-kernel: per-element k-order chain (fma ${fma}, mem64 ${mem64})`, () => {
      check(fma, mem64);
    });
  }
}
