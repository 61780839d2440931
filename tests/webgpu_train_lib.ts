// Shared by the webgpu training tests: a small GPT config, a frozen table, and `train`, which
// runs AdamW steps on a named backend and records losses, first-step gradients, final
// parameters, the frozen table before and after, and (on webgpu) the live pool buffers.
import { treeFlatten } from "../core/autodiff.ts";
import { getBackend, setBackend } from "../core/registry.ts";
import { type GPTConfig, gptLoss, type GPTParams, initGPT, mergeParams } from "../core/gpt.ts";
import { type AdamState, adamw } from "../core/optim.ts";
import { disposeTree, type Tensor, tensor } from "../core/tensor.ts";
import type { WebGPUBackend } from "../core/webgpu/backend.ts";
import { trainStep } from "../pipeline/train/step.ts";

export const V = 24;
const SEQ = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3];
export const cfgOf = (embedding: "frozen" | "trainable"): GPTConfig => ({
  vocab: V,
  dModel: 16,
  layers: 2,
  heads: 2,
  context: 16,
  embedding,
});

export function table(rows: number, cols: number) {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 1.7) * 0.5;
  return { data, rows, cols };
}

export interface StepResult {
  losses: number[];
  grads: Map<string, Float32Array>; // gradients of the first step
  params: Map<string, Float32Array>; // parameters after the last step
  wteBefore?: Float32Array;
  wteAfter?: Float32Array;
  pool: number[]; // live pool buffers after each step (webgpu only)
}

export async function download(tree: unknown): Promise<Map<string, Float32Array>> {
  const m = new Map<string, Float32Array>();
  for (const [p, t] of treeFlatten(tree)) m.set(p, (await t.data()) as Float32Array);
  return m;
}

/**
 * `steps` AdamW steps with clipping on the active backend, batch of 2 windows. The loss is read
 * back every `readEvery` steps (after the step, never inside it).
 */
export async function train(
  backend: string,
  cfg: GPTConfig,
  steps: number,
  readEvery = 1,
): Promise<StepResult> {
  setBackend(backend);
  const { trainable, frozen } = initGPT(cfg, { seed: 11, frozenTable: table(V, 8) });
  const T = 12;
  const ids = tensor(Int32Array.from([...SEQ.slice(0, T), ...SEQ.slice(5, 5 + T)]), [2, T]);
  const tg = tensor(Int32Array.from([...SEQ.slice(1, T + 1), ...SEQ.slice(6, 6 + T)]), [2, T]);
  const opt = adamw({ lr: 1e-2, weightDecay: 0.01 });
  let params = trainable;
  let state: AdamState<GPTParams> = opt.init(trainable);
  const res: StepResult = { losses: [], grads: new Map(), params: new Map(), pool: [] };
  if (frozen.wte) res.wteBefore = (await frozen.wte.data()) as Float32Array;
  const loss = (p: GPTParams) => gptLoss(mergeParams(p, frozen), cfg, ids, tg);
  for (let s = 0; s < steps; s++) {
    const out = trainStep({ opt, params, state, loss, clip: 1.0, lr: 1e-2, keepGrads: s === 0 });
    if (out.grads) {
      res.grads = await download(out.grads);
      disposeTree(out.grads);
    }
    if (s % readEvery === 0 || s === steps - 1) res.losses.push((await out.loss.data())[0]);
    disposeTree([out.loss, out.gradNorm]);
    params = out.params;
    state = out.state;
    const be = getBackend() as Partial<WebGPUBackend>;
    if (be.flush && be.poolStats) {
      be.flush();
      res.pool.push(be.poolStats().live);
    }
  }
  res.params = await download(params);
  if (frozen.wte) res.wteAfter = (await frozen.wte.data()) as Float32Array;
  disposeTree([params, state, frozen]);
  [ids, tg].forEach((t: Tensor) => t.dispose());
  return res;
}
