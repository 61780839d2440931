// The "cpu" backend's wasm paths for add/sub/mul/div (same shape, scalar and bias-row operands)
// and for sum reductions give the same bits as the TypeScript kernels they replaced
// (core/cpu/kernels.ts), on random shapes: one float32 operation per element, and sums added in
// the same order (a gradient norm, hence the clipping factor, must not move).

import fc from "fast-check";
import { createCpuBackend, hasWasmMatmul } from "../core/cpu/backend.ts";
import { arr, cpuStorage } from "../core/cpu/ref.ts";
import { tsKernels } from "../core/cpu/kernels.ts";
import type { Backend, Storage } from "../core/backend.ts";
import { xorshiftUniform } from "./xorshift.ts";

const cpu = createCpuBackend(), ts = tsKernels() as Backend;

function upload(be: Backend, data: Float32Array): Storage {
  const s = be.alloc(data.length, "f32");
  be.upload(s, data);
  return s;
}

const strides = (shape: number[]) =>
  shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

function sameBits(what: string, got: Float32Array, want: Float32Array): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < w.length; i++) {
    if (g[i] !== w[i]) throw new Error(`${what}[${i}]: ${got[i]} (wasm) != ${want[i]} (ts)`);
  }
}

/** A test of the wasm paths; skipped, saying so in its name, where the wasm kernels do not load. */
function wasmTest(name: string, fn: () => void): void {
  Deno.test({
    name: `${name}${hasWasmMatmul ? "" : " (skipped: no wasm)"}`,
    ignore: !hasWasmMatmul,
    fn,
  });
}

wasmTest("cpu binary add/sub/mul/div via wasm = TypeScript kernels, bit for bit", () => {
  {
    fc.assert(
      fc.property(
        fc.constantFrom("add", "sub", "mul", "div") as fc.Arbitrary<"add" | "sub" | "mul" | "div">,
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom(1, 4, 8, 12, 64, 7),
        fc.constantFrom("same", "scalar", "row"),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (op, rows, cols, kind, seed) => {
          const shape = [rows, cols], n = rows * cols;
          const a = Float32Array.from(xorshiftUniform(n, seed), (u) => 6 * u - 3);
          const bLen = kind === "same" ? n : kind === "scalar" ? 1 : cols;
          const b = Float32Array.from(xorshiftUniform(bLen, seed + 1), (u) => 0.5 + 1.5 * u);
          const sb = kind === "same" ? strides(shape) : kind === "scalar" ? [0, 0] : [0, 1];
          const A = upload(cpu, a), B = upload(cpu, b), O = cpu.alloc(n, "f32", false);
          cpu.binary(op, A, B, O, shape, strides(shape), sb);
          const want = cpuStorage(new Float32Array(n));
          ts.binary(op, cpuStorage(a), cpuStorage(b), want, shape, strides(shape), sb);
          sameBits(`${op} ${kind} [${shape}]`, arr(O) as Float32Array, arr(want) as Float32Array);
          for (const s of [A, B, O]) cpu.free(s);
        },
      ),
      { numRuns: 120 },
    );
  }
});

wasmTest("cpu sum reduce via wasm = TypeScript kernel, bit for bit", () => {
  {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(5000)),
        fc.constantFrom(1, 4, 8, 20, 3),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (outer, dim, inner, seed) => {
          const n = outer * dim * inner;
          // mixed magnitudes, so that a different order of the additions would round differently
          const x = Float32Array.from(
            xorshiftUniform(n, seed),
            (u, i) => (u - 0.3) * (i % 7 === 0 ? 1e4 : 1),
          );
          const X = upload(cpu, x), O = cpu.alloc(outer * inner, "f32", false);
          cpu.reduce("sum", X, O, outer, dim, inner);
          const want = cpuStorage(new Float32Array(outer * inner));
          ts.reduce("sum", cpuStorage(x), want, outer, dim, inner);
          sameBits(
            `sum [${outer},${dim},${inner}]`,
            arr(O) as Float32Array,
            arr(want) as Float32Array,
          );
          cpu.free(X);
          cpu.free(O);
        },
      ),
      { numRuns: 120 },
    );
  }
});
