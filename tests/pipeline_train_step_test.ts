// Tests of the shared training step (pipeline/train/step.ts): with clipping off the gradient
// norm is still measured (not the loss), so a non-finite gradient is seen; micro-batches average
// to the whole batch's gradient; the old parameters and optimiser state are disposed.

import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { adamw } from "../core/optim.ts";
import { mul, sqrt, sum } from "../core/ops.ts";
import { type Tensor, tensor } from "../core/tensor.ts";
import { trainStep } from "../pipeline/train/step.ts";

setBackend("cpu");

type P = { w: Tensor };
const opt = adamw({ weightDecay: 0 });
/** loss = sum(c * w^2) over rows `rows` of a fixed c: gradient 2 c w. */
const quad = (c: number[]) => (p: P) =>
  sum(mul(mul(p.w, p.w), tensor(Float32Array.from(c), [c.length])));

Deno.test("trainStep: with clip 0 the gradient norm is measured, not the loss", async () => {
  for (const clip of [0, 1]) {
    const params = { w: tensor(Float32Array.from([3, 4]), [2]) };
    const out = trainStep({
      opt,
      params,
      state: opt.init(params),
      loss: quad([1, 1]),
      clip,
      lr: 0.1,
    });
    assertEquals(await out.loss.item(), 25);
    assertAlmostEquals(await out.gradNorm.item(), 10, 1e-5, `clip ${clip}`); // |(6, 8)|
    assert(params.w.isDisposed, "the old parameters are disposed");
  }
});

Deno.test("trainStep: an infinite gradient with a finite loss shows in gradNorm (clip 0)", async () => {
  // d sqrt(w) / dw at w = 0 is +Infinity while sqrt(0) = 0
  const params = { w: tensor(Float32Array.from([0, 1]), [2]) };
  const out = trainStep({
    opt,
    params,
    state: opt.init(params),
    loss: (p: P) => sum(sqrt(p.w)),
    clip: 0,
    lr: 0.1,
  });
  assertEquals(await out.loss.item(), 1);
  assert(!Number.isFinite(await out.gradNorm.item()));
});

Deno.test("trainStep: micro-batches average to the whole batch's loss and gradient", async () => {
  const c = [1, 2, 3, 4];
  const whole = { w: tensor(Float32Array.from([1, -2, 0.5, 3]), [4]) };
  const a = trainStep({
    opt,
    params: whole,
    state: opt.init(whole),
    loss: (p: P) => mul(quad(c)(p), 0.5), // the mean of the two halves below
    clip: 0,
    lr: 0.1,
    keepGrads: true,
  });
  const split = { w: tensor(Float32Array.from([1, -2, 0.5, 3]), [4]) };
  const halves = [[1, 2, 0, 0], [0, 0, 3, 4]];
  const b = trainStep({
    opt,
    params: split,
    state: opt.init(split),
    loss: (p: P, part) => quad(halves[part])(p),
    parts: 2,
    clip: 0,
    lr: 0.1,
    keepGrads: true,
  });
  assertAlmostEquals(await b.loss.item(), await a.loss.item(), 1e-5);
  assertEquals(await b.grads!.w.data(), await a.grads!.w.data());
  assertEquals(await b.params.w.data(), await a.params.w.data());
});
