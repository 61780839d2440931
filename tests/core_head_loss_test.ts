// The chunked fused output head + cross-entropy (core/head_loss.ts) against the unfused
// crossEntropy(matmul(h, W)): loss and gradients of h and W for chunk sizes from 1 row to more
// than all rows, ignored rows (one whole chunk ignored, and every row ignored), a 3-D h and a
// frozen head; on "cpu-ref" and "cpu", and on "webgpu" where an adapter exists (small shapes:
// lavapipe is slow).

import { assert, assertArrayClose, assertThrows } from "./assert.ts";
import { valueAndGrad } from "../core/autodiff.ts";
import { setBackend } from "../core/registry.ts";
import { chunkedHeadLoss, headChunkRows } from "../core/head_loss.ts";
import * as ops from "../core/ops.ts";
import { Rng } from "../core/rng.ts";
import { disposeTree, keep, type Tensor, tensor, tidy } from "../core/tensor.ts";
import { initWebGPU, webgpuAvailable } from "../core/webgpu/mod.ts";

function rand(rng: Rng, shape: number[], s = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: n }, () => s * rng.normal()), shape);
}

interface Case {
  lead: number[]; // h's leading shape (rows = their product)
  D: number;
  V: number;
  chunk: number;
  ignored: number[]; // rows whose target is -1
  trainHead: boolean;
}

/** Loss and gradients of the chunked and the unfused head + CE agree for one case. */
async function check(c: Case, seed: number): Promise<void> {
  const rng = new Rng(seed), N = c.lead.reduce((a, b) => a * b, 1);
  const h = rand(rng, [...c.lead, c.D]), W = rand(rng, [c.D, c.V], 0.7);
  const t = Int32Array.from(
    { length: N },
    (_, i) => (c.ignored.includes(i) ? -1 : (i * 7 + seed) % c.V),
  );
  const targets = tensor(t, c.lead);
  const cot = 1.7; // a cotangent other than 1 checks that the backward scales by it
  const run = (fused: boolean) =>
    keep(
      valueAndGrad(([x, w]: Tensor[]) => {
        const head = c.trainHead ? w : W;
        const loss = fused
          ? chunkedHeadLoss(x, head, targets, -1, c.chunk)
          : ops.crossEntropy(ops.matmul(x, head), targets, -1);
        return ops.mul(loss, cot);
      })([h, W]),
    );
  const a = run(true), b = run(false);
  const what = `lead [${c.lead}] D ${c.D} V ${c.V} chunk ${c.chunk} ignored [${c.ignored}]`;
  const close = async (x: Tensor, y: Tensor, name: string) =>
    assertArrayClose(await x.data(), await y.data(), 2e-5, `${name} differs (${what})`);
  await close(a.value, b.value, "loss");
  await close(a.grads[0], b.grads[0], "dh");
  if (c.trainHead) await close(a.grads[1], b.grads[1], "dW");
  if (c.ignored.length === N) assert((await a.value.data())[0] === 0, "all rows ignored: loss 0");
  disposeTree([a, b, h, W, targets]);
}

const CASES: Case[] = [
  { lead: [7], D: 5, V: 11, chunk: 1, ignored: [], trainHead: true },
  { lead: [7], D: 5, V: 11, chunk: 3, ignored: [1, 6], trainHead: true },
  { lead: [7], D: 5, V: 11, chunk: 3, ignored: [3, 4, 5], trainHead: true }, // a whole chunk
  { lead: [7], D: 5, V: 11, chunk: 7, ignored: [0], trainHead: true },
  { lead: [7], D: 5, V: 11, chunk: 10, ignored: [], trainHead: false },
  { lead: [2, 5], D: 8, V: 33, chunk: 4, ignored: [2], trainHead: true },
  { lead: [2, 5], D: 8, V: 33, chunk: 4, ignored: [], trainHead: false },
  { lead: [4], D: 3, V: 6, chunk: 2, ignored: [0, 1, 2, 3], trainHead: true },
];

function suite(backend: string, cases: Case[]): void {
  Deno.test(`chunked head + cross-entropy equals the unfused one [${backend}]`, async () => {
    setBackend(backend);
    for (const [i, c] of cases.entries()) await check(c, 11 + i);
  });
}

suite("cpu-ref", CASES);
suite("cpu", CASES);
if (await webgpuAvailable()) {
  await initWebGPU();
  suite("webgpu", [CASES[2], CASES[5]]);
} else {
  Deno.test({ name: "chunked head [webgpu] (skipped: no WebGPU adapter)", ignore: true, fn() {} });
}

Deno.test("chunked head: chunk rows hold ~2^24 logits, bad inputs are rejected", () => {
  setBackend("cpu-ref");
  assert(headChunkRows(65536) === 256 && headChunkRows(1 << 30) === 1, "chunk rows");
  tidy(() => {
    const h = tensor(new Float32Array(6), [2, 3]), W = tensor(new Float32Array(12), [3, 4]);
    const t = tensor(new Int32Array(2), [2]);
    assertThrows(
      () => chunkedHeadLoss(h, tensor(new Float32Array(8), [2, 4]), t),
      /head must be \[D, V\]/,
    );
    assertThrows(
      () => chunkedHeadLoss(h, W, tensor(new Int32Array(3), [3])),
      /3 targets for 2 rows/,
    );
    assertThrows(
      () => chunkedHeadLoss(h, W, tensor(new Float32Array(2), [2])),
      /targets must be i32/,
    );
    assertThrows(() => chunkedHeadLoss(h, W, t, -1, 0), /chunkRows must be a positive integer/);
  });
});
