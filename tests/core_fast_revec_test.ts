// The revectorized GEMM pair kernel (core/cpu/fast/revec_kernels.ts) against the plain
// kernel (kernels.ts `gemm`, itself tested against the per-element chain in
// core_fast_gemm_kernel_test.ts): the two must give the same bits on every kc variant, tile
// and pair count, both store modes, both module variants (relaxed FMA, plain mul + add) and
// both address widths; the bytes around the output and the slot's neighbours stay untouched.
// Then matmulF32 with the pair kernels forced on and forced off (setFastRevec) on shapes
// with odd panel counts, partial tiles, K not a multiple of the K block, transposes, batches
// and 1 or 2 threads: same bits. The suite runs under the V8 flag the tasks pass
// (--experimental-wasm-revectorize), so the fused code is what is checked; without the flag
// the same wasm runs unfused and must agree all the same.

import { memLimits, MR, NR } from "../core/cpu/fast/kernels.ts";
import { REVEC_KC_MAX, REVEC_SLOT_BYTES, REVEC_SLOTS } from "../core/cpu/fast/revec_kernels.ts";
import { checkKernels, same } from "./revec_bits_main.ts";
import { REVEC_BASE } from "../core/cpu/fast/memory.ts";
import { KC_MAX } from "../core/cpu/fast/matmul.ts";
import {
  allocF32,
  fastInfo,
  freeF32,
  matmulF32,
  setFastRevec,
  setFastThreads,
  shutdownFast,
} from "../core/cpu/fast/mod.ts";
import { xorshiftUniform } from "./xorshift.ts";
import { fileURLToPath } from "node:url";

for (const mem64 of [false, true]) {
  for (const fma of [true, false]) {
    Deno.test(`revec pair kernel = plain kernel bit for bit (fma ${fma}, mem64 ${mem64})`, () => {
      checkKernels(fma, mem64);
    });
  }
}

Deno.test("revec pair kernel = plain kernel bit for bit in V8's optimized, fused code", async () => {
  const script = fileURLToPath(new URL("./revec_bits_main.ts", import.meta.url));
  const flags = "--experimental-wasm-revectorize,--no-liftoff,--trace-wasm-revectorize";
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--v8-flags=${flags}`, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`revec_bits_main.ts failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  const checked = Number(/checked (\d+) variants/.exec(text)?.[1] ?? 0);
  if (checked < 1) throw new Error(`no variant checked:\n${text.slice(-500)}`);
  // V8 traces each function it fuses: all 16 kc variants of every module checked
  const fused = (text.match(/Decided to vectorize, \d+ revectorizable nodes/g) ?? []).length;
  if (fused < 16 * checked) {
    throw new Error(
      `V8 fused ${fused} functions, expected the 16 pair kernels of ${checked} modules`,
    );
  }
});

Deno.test("revec slots lie between the control block and the heap, inside the minimum memory", () => {
  const end = REVEC_BASE + REVEC_SLOTS * REVEC_SLOT_BYTES;
  if (REVEC_BASE < 4096) throw new Error(`slots start at ${REVEC_BASE}, inside the control block`);
  for (const mem64 of [false, true]) {
    const minBytes = memLimits(mem64).min * 65536;
    if (end > minBytes) throw new Error(`slots end at ${end} > minimum memory ${minBytes}`);
  }
  // one slot holds a [kc][16] B pair at the largest kc, then the 5 x 16 tile
  const need = REVEC_KC_MAX * 2 * NR * 4 + MR * 2 * NR * 4;
  if (need > REVEC_SLOT_BYTES) throw new Error(`a slot needs ${need} bytes > ${REVEC_SLOT_BYTES}`);
  if (KC_MAX > REVEC_KC_MAX) throw new Error(`KC_MAX ${KC_MAX} > unrolled ${REVEC_KC_MAX}`);
  // the heap starts after the slots: a fresh allocation never lands in one
  const a = allocF32(16);
  try {
    if (a.byteOffset < end) throw new Error(`allocF32 gave ${a.byteOffset} < slots' end ${end}`);
  } finally {
    freeF32(a);
  }
});

function matmulBits(
  batch: number,
  M: number,
  N: number,
  K: number,
  tA: boolean,
  tB: boolean,
  seed: number,
): Float32Array {
  const a = allocF32(batch * M * K), b = allocF32(batch * K * N), o = allocF32(batch * M * N);
  try {
    a.set(xorshiftUniform(a.length, seed).map((u) => u * 2 - 1));
    b.set(xorshiftUniform(b.length, seed + 1).map((u) => u * 2 - 1));
    matmulF32(a, b, o, batch, M, N, K, tA, tB);
    return o.slice();
  } finally {
    freeF32(a);
    freeF32(b);
    freeF32(o);
  }
}

Deno.test("matmulF32: pair kernels on and off give the same bits (1 and 2 threads)", () => {
  const shapes: [number, number, number, number, boolean, boolean][] = [
    [1, 7, 24, 100, false, false], // partial tile, 3 panels (odd), K 2 blocks of 52
    [1, 40, 64, 64, true, false], // one K block, 4 panels
    [2, 33, 40, 130, false, true], // batch, 5 panels, K 3 blocks of 44
    [1, 256, 256, 2048, true, false], // a weight-gradient shape (N-split)
    [1, 300, 48, 256, false, true],
    [3, 5, 16, 4, false, false],
  ];
  try {
    for (const threads of [1, 2]) {
      setFastThreads(threads);
      shapes.forEach(([batch, M, N, K, tA, tB], i) => {
        setFastRevec("off");
        if (fastInfo().revec) throw new Error("setFastRevec('off') left the pair kernels on");
        const off = matmulBits(batch, M, N, K, tA, tB, 100 + i);
        setFastRevec("on");
        if (!fastInfo().revec) throw new Error("setFastRevec('on') left the pair kernels off");
        const on = matmulBits(batch, M, N, K, tA, tB, 100 + i);
        same(off, on, `threads ${threads}, shape ${[batch, M, N, K, tA, tB].join(" x ")}`);
      });
    }
  } finally {
    setFastRevec("auto");
    shutdownFast();
  }
});

Deno.test("setFastRevec refuses an unknown mode with a one-line error", () => {
  try {
    setFastRevec("fast" as "on");
    throw new Error("accepted an unknown mode");
  } catch (e) {
    const msg = (e as Error).message;
    if (!/mode must be "auto", "on" or "off", got fast/.test(msg)) throw e;
  } finally {
    setFastRevec("auto");
  }
});
