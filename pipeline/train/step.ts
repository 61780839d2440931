// One optimiser step, shared by the training loop (loop.ts), the benchmarks
// (bench/lib/train_step.ts) and the webgpu training tests (tests/webgpu_train_lib.ts): the loss
// and gradients of each micro-batch, accumulated and averaged; the global gradient norm (clipped
// to `clip` when clip > 0, measured either way); the optimiser step, which frees each old
// parameter, its optimiser state and its gradient as soon as that leaf is updated (so the peak
// holds one leaf twice, not the whole model); the new ones are returned (dispose-and-swap). Nothing is read
// back: the caller reads `loss` / `gradNorm` when it wants to, and disposes them.
// The parameters to train are passed explicitly: the loss closure merges in whatever stays fixed
// (a frozen embedding table, frozen blocks), so freezing is a matter of what the caller passes.

import { valueAndGrad } from "../../core/autodiff.ts";
import {
  type AdamState,
  addTrees,
  clipFactor,
  globalNorm,
  type Optimizer,
  scaleTree,
} from "../../core/optim.ts";
import { add, scale } from "../../core/ops.ts";
import { disposeTree, type Tensor, tidy } from "../../core/tensor.ts";

export interface StepInput<P> {
  opt: Optimizer;
  /** The trainable parameters (and only those): they get gradients and optimiser state. */
  params: P;
  state: AdamState<P>;
  /** Scalar loss of micro-batch `part` (0..parts-1); builds its own input tensors. */
  loss: (params: P, part: number) => Tensor;
  /** Micro-batches the step's batch is cut into (default 1); losses and gradients are averaged. */
  parts?: number;
  /** Global-norm clipping threshold; 0 = no clipping (the norm is still measured). */
  clip: number;
  lr: number;
  /** Keep the (unclipped, averaged) gradients in the result (tests); the caller disposes them. */
  keepGrads?: boolean;
}

export interface StepOutput<P> {
  params: P;
  state: AdamState<P>;
  /** Mean loss over the micro-batches (a scalar tensor, not read back). */
  loss: Tensor;
  /** Global L2 norm of the gradients before clipping (a scalar tensor). */
  gradNorm: Tensor;
  grads?: P;
}

/** Loss and gradients of one batch, accumulated over `parts` micro-batches and averaged. */
export function batchGrads<P>(
  params: P,
  loss: (params: P, part: number) => Tensor,
  parts = 1,
): { value: Tensor; grads: P } {
  let acc: { value: Tensor; grads: P } | undefined;
  for (let i = 0; i < parts; i++) {
    const r = tidy(() => valueAndGrad((p: P) => loss(p, i))(params));
    if (!acc) acc = r;
    else {
      const prev: { value: Tensor; grads: P } = acc;
      acc = tidy(() => ({ value: add(prev.value, r.value), grads: addTrees(prev.grads, r.grads) }));
      disposeTree([prev, r]);
    }
  }
  if (parts === 1) return acc!;
  const sum = acc!;
  const mean = tidy(() => ({
    value: scale(sum.value, 1 / parts),
    grads: scaleTree(sum.grads, 1 / parts),
  }));
  disposeTree(sum);
  return mean;
}

/**
 * One step: gradients, norm (and clipping), optimiser update, then the input parameters and
 * state are disposed and replaced by the returned ones.
 */
export function trainStep<P>(s: StepInput<P>): StepOutput<P> {
  const parts = s.parts ?? 1;
  if (!Number.isInteger(parts) || parts < 1) {
    throw new Error(`trainStep: parts must be a whole number >= 1, got ${parts}`);
  }
  const out = tidy(() => {
    const { value, grads } = batchGrads(s.params, s.loss, parts);
    const norm = globalNorm(grads);
    const factor = s.clip > 0 ? clipFactor(norm, s.clip) : undefined;
    // leaf by leaf: clip, update, free the old leaf (peak memory: one leaf's copy, not a tree's)
    const next = s.opt.step(s.params, grads, s.state, s.lr, {
      scale: factor,
      consume: { params: true, grads: !s.keepGrads },
    });
    return { ...next, loss: value, gradNorm: norm, grads: s.keepGrads ? grads : undefined };
  });
  disposeTree([s.params, s.state.m, s.state.v]);
  return out;
}
