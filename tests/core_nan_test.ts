// NaN inputs never crash a kernel: a NaN produced inside a model flows through every op
// (forward and backward) as NaN, so training loops can detect it with allFinite and stop with
// a clear message. tensor() itself rejects NaN host data with a one-line error.

import { assert } from "./assert.ts";
import { valueAndGrad } from "../core/autodiff.ts";
import { setBackend } from "../core/registry.ts";
import * as ops from "../core/ops.ts";
import { disposeTree, type Tensor, tensor, tidy } from "../core/tensor.ts";

const cases: [string, (x: Tensor) => Tensor][] = [
  ["matmul", (x) => ops.matmul(x, ops.transpose(x))],
  ["gelu", (x) => ops.gelu(x)],
  ["softmax", (x) => ops.softmax(x)],
  ["crossEntropy", (x) => ops.crossEntropy(x, tensor(new Int32Array(8), [8], "i32"))],
  ["causalAttention", (x) => {
    const q = ops.reshape(x, [1, 8, 2, 4]);
    return ops.causalAttention(q, q, q);
  }],
  [
    "layerNorm",
    (x) => ops.layerNorm(x, tensor(new Float32Array(8).fill(1)), tensor(new Float32Array(8))),
  ],
  ["rope", (x) => ops.rope(ops.reshape(x, [1, 8, 2, 4]))],
];

for (const backend of ["cpu", "cpu-ref"]) {
  Deno.test(`core nan [${backend}]: NaN flows through every fused op without a crash`, () => {
    setBackend(backend);
    const base = tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), [8, 8]);
    for (const [name, fn] of cases) {
      tidy(() => {
        // one NaN element made on the device (0 * inf), not uploaded
        const mask = tensor(Float32Array.from({ length: 64 }, (_, i) => (i === 5 ? 0 : 1)), [8, 8]);
        const nanAt5 = ops.add(base, ops.mul(ops.log(mask), ops.scale(mask, 0)));
        const { value, grads } = valueAndGrad(([x]: Tensor[]) => ops.sum(fn(x)))([nanAt5]);
        assert(Number.isNaN(value.dataSync()[0]), `${name}: value should be NaN`);
        if (name !== "rope") { // rope is linear: its gradient does not depend on x
          assert(ops.allFinite(grads[0]).dataSync()[0] === 0, `${name}: gradient should be NaN`);
        }
      });
    }
    base.dispose();
  });
}

Deno.test("core nan: tensor() rejects NaN host data with one clear line", () => {
  let msg = "";
  try {
    tensor([1, NaN], [2]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("NaN") && !msg.includes("\n"), msg);
  disposeTree([]);
});
