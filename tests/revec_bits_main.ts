// Run by tests/core_fast_revec_test.ts in a child process whose V8 flags compile every wasm
// function optimized from its first call (--no-liftoff) and fuse f32x4 pairs
// (--experimental-wasm-revectorize): the revectorized pair kernel against the plain kernel,
// bit for bit, on every kc variant, both module variants and both address widths. Prints
// "checked N variants"; throws (exit code 1) on the first difference.

import { type KernelExports, kernelModuleBytes, MR, NR } from "../core/cpu/fast/kernels.ts";
import { type PairFn, REVEC_KC_MAX, revecModuleBytes } from "../core/cpu/fast/revec_kernels.ts";
import { createSharedMemory } from "../core/cpu/fast/memory.ts";
import { xorshiftUniform } from "./xorshift.ts";

type Gemm = KernelExports["gemm"];

const SLOT = 4096; // the pair module's slot in these private memories (bytes)

function instances(fma: boolean, mem64: boolean) {
  const plainBytes = kernelModuleBytes(fma, mem64);
  if (!WebAssembly.validate(plainBytes as BufferSource)) return null;
  const mem = createSharedMemory(mem64);
  const make = (b: Uint8Array) =>
    new WebAssembly.Instance(new WebAssembly.Module(b as BufferSource), { env: { mem } }).exports;
  const plain = make(plainBytes).gemm as Gemm;
  const pairs = make(revecModuleBytes(fma, mem64, SLOT)) as unknown as Record<string, PairFn>;
  return { plain, pairs, f32: new Float32Array(mem.buffer) };
}

/** Throws naming the first element where b differs from a (bit for bit, -0 != 0). */
export function same(a: Float32Array, b: Float32Array, where: string): void {
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      throw new Error(`${where}: element ${i} is ${b[i]}, the plain kernel gave ${a[i]}`);
    }
  }
}

export function checkKernels(fma: boolean, mem64: boolean): boolean {
  const k = instances(fma, mem64);
  if (k === null) {
    if (fma) return false; // no relaxed SIMD here: the plain variant is what runs
    throw new Error(`the plain SIMD kernel module (mem64 ${mem64}) does not validate`);
  }
  const { plain, pairs, f32 } = k;
  let seed = 5;
  const fill = (at: number, n: number) =>
    xorshiftUniform(n, seed++).forEach((u, i) => f32[at + i] = Math.fround(u * 2 - 1));
  for (let kc = 4; kc <= REVEC_KC_MAX; kc += 4) {
    const cases = kc % 20 === 4 ? [[1, 1, 0], [3, 2, 1], [2, 3, 0], [4, 1, 1]] : [[2, 1, 1]];
    for (const [mTiles, nPairs, accumulate] of cases) {
      const rows = mTiles * MR, cols = 2 * nPairs * NR, ld = cols + 3;
      const pa = 16384, pb = pa + mTiles * kc * MR + 16, c1 = pb + 2 * nPairs * kc * NR + 16;
      const cLen = (rows + 1) * ld, c2 = c1 + cLen + 16;
      fill(pa, mTiles * kc * MR);
      fill(pb, 2 * nPairs * kc * NR);
      fill(c1, cLen);
      f32.copyWithin(c2, c1, c1 + cLen);
      fill(SLOT / 4 - 16, 16); // the floats just below the slot must survive
      const below = f32.slice(SLOT / 4 - 16, SLOT / 4);
      plain(4 * pa, 4 * pb, 4 * c1, 4 * ld, kc, mTiles, 2 * nPairs, accumulate);
      pairs[`g16k${kc}`](4 * pa, 4 * pb, 4 * c2, 4 * ld, mTiles, nPairs, accumulate);
      const where = `fma ${fma}, mem64 ${mem64}, kc ${kc}, ${mTiles} tiles, ${nPairs} pairs, ` +
        `accumulate ${accumulate}`;
      same(f32.subarray(c1, c1 + cLen), f32.subarray(c2, c2 + cLen), where);
      same(below, f32.subarray(SLOT / 4 - 16, SLOT / 4), `${where} (floats below the slot)`);
    }
  }
  return true;
}

if (import.meta.main) {
  let n = 0;
  for (const mem64 of [false, true]) {
    for (const fma of [true, false]) {
      n += checkKernels(fma, mem64) ? 1 : 0;
    }
  }
  console.log(`checked ${n} variants`);
}
