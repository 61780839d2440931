// The TypeScript fallback kernels of the "cpu" backend (core/cpu/kernels.ts, used when the WASM
// kernels are absent) as their own backend "cpu-ts": the shared op suite against "cpu-ref", and
// attention forced through several small head chunks.

import { assertArrayClose } from "./assert.ts";
import { registerBackend, setBackend } from "../core/registry.ts";
import { fastKernels, setAttentionChunkFloats } from "../core/cpu/kernels.ts";
import { createRefBackend } from "../core/cpu/ref.ts";
import { valueAndGrad } from "../core/autodiff.ts";
import * as ops from "../core/ops.ts";
import { Rng } from "../core/rng.ts";
import { disposeTree, type Tensor, tensor } from "../core/tensor.ts";
import { runOpSuite } from "./core_ops_suite.ts";

registerBackend("cpu-ts", () => ({ ...createRefBackend(), ...fastKernels(), name: "cpu-ts" }));

runOpSuite("cpu-ts", { numRuns: 12 });

/** Attention values and gradients on one backend (downloaded). */
function attention(backend: string, data: Float32Array[], shape: number[]) {
  setBackend(backend);
  const xs = data.map((d) => tensor(d, shape));
  const c = tensor(data[0].map((v, i) => Math.sin(v + i)), shape);
  const f = ([q, k, v]: Tensor[]) => ops.sum(ops.mul(ops.causalAttention(q, k, v), c));
  const { value, grads } = valueAndGrad(f)(xs);
  const out = [value.dataSync(), ...grads.map((g) => g.dataSync())];
  disposeTree([xs, c, value, grads]);
  return out;
}

Deno.test("core ops [cpu-ts]: attention split into small head chunks matches cpu-ref", () => {
  const rng = new Rng(5), shape = [3, 7, 2, 4];
  const data = [0, 1, 2].map(() => Float32Array.from({ length: 168 }, () => rng.normal()));
  const want = attention("cpu-ref", data, shape);
  setAttentionChunkFloats(7 * 7 * 2); // two heads per chunk, last chunk partial
  try {
    const got = attention("cpu-ts", data, shape);
    got.forEach((g, i) => assertArrayClose(g, want[i], 1e-4, `output ${i}`));
  } finally {
    setAttentionChunkFloats(1 << 23);
  }
});
