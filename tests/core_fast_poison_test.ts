// The fast kernels' NaN-poison debug mode (GLYPHGRAD_FAST_POISON=1 / setFastPoison): fresh and
// freed blocks of the shared wasm memory read NaN, and a GPT trained on the "cpu" backend with
// worker threads and poisoning on gives the same bits as with it off, so no kernel, op or
// training step reads memory it did not write (a fresh block, or one already freed).

import { assert, assertArrayEquals } from "./assert.ts";
import { valueAndGrad } from "../core/autodiff.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, gptLoss, type GPTParams, initGPT, mergeParams } from "../core/gpt.ts";
import { adamw, clipByGlobalNorm } from "../core/optim.ts";
import { disposeTree, tensor, tidy } from "../core/tensor.ts";
import {
  allocF32,
  fastStats,
  freeF32,
  setFastPoison,
  setFastThreads,
  warmupFast,
} from "../core/cpu/fast/mod.ts";

Deno.test("fast poison: fresh and freed blocks read NaN, real data survives", () => {
  setFastPoison(true);
  try {
    const a = allocF32(100);
    assert(a.every((x) => Number.isNaN(x)), "a fresh block is not poisoned");
    a.fill(1.5);
    const b = allocF32(37);
    assert(a.every((x) => x === 1.5), "allocating b touched a");
    const view = new Float32Array(a.buffer, a.byteOffset, a.length);
    freeF32(a);
    assert(view.every((x) => Number.isNaN(x)), "a freed block is not poisoned");
    freeF32(b);
  } finally {
    setFastPoison(false);
  }
});

const V = 512, T = 64, B = 8;
const cfg: GPTConfig = {
  vocab: V,
  dModel: 16,
  layers: 2,
  heads: 2,
  context: T,
  embedding: "frozen",
};

function table(): { data: Float32Array; rows: number; cols: number } {
  const data = new Float32Array(V * 16);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 1.7) * 0.5;
  return { data, rows: V, cols: 16 };
}

/** Losses and final parameters of `steps` AdamW steps on a fixed batch (logits [512, 512]). */
function train(steps: number): { losses: number[]; norms: number[]; params: Float32Array[] } {
  const { trainable, frozen } = initGPT(cfg, { seed: 3, frozenTable: table() });
  const seq = Int32Array.from({ length: B * (T + 1) }, (_, i) => (i * 7919 + (i >> 3)) % V);
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    x.set(seq.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    y.set(seq.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  const ids = tensor(x, [B, T]), tg = tensor(y, [B, T]);
  const opt = adamw({ lr: 1e-2, weightDecay: 0.01 });
  let p = trainable, st = opt.init(trainable);
  const vg = valueAndGrad((q: GPTParams) => gptLoss(mergeParams(q, frozen), cfg, ids, tg));
  const losses: number[] = [], norms: number[] = [];
  for (let s = 0; s < steps; s++) {
    const out = tidy(() => {
      const { grads, value } = vg(p);
      const c = clipByGlobalNorm(grads, 1.0);
      return { ...opt.step(p, c.grads, st), value, norm: c.norm };
    });
    losses.push(out.value.dataSync()[0]);
    norms.push(out.norm.dataSync()[0]);
    disposeTree([p, st, out.value, out.norm]);
    p = out.params;
    st = out.state;
  }
  const params = Object.values(p).flatMap((t) => (t && "dataSync" in t ? [t.dataSync()] : []));
  disposeTree([p, st, frozen, ids, tg]);
  return { losses, norms, params: params as Float32Array[] };
}

Deno.test({
  name: "fast poison: GPT training with 2 threads is finite and bit-identical with poisoning on",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    setBackend("cpu");
    setFastThreads(2);
    await warmupFast();
    fastStats(true);
    const plain = train(4);
    assert(fastStats().parallelJobs > 0, "the run used no worker thread");
    setFastPoison(true);
    let poisoned;
    try {
      poisoned = train(4);
    } finally {
      setFastPoison(false);
    }
    const finite = (a: number[]) => a.every(Number.isFinite);
    assert(finite(plain.losses) && finite(plain.norms), `plain run: ${plain.losses}`);
    assert(
      finite(poisoned.losses) && finite(poisoned.norms),
      `poisoned run read freed or fresh memory: losses ${poisoned.losses}, norms ${poisoned.norms}`,
    );
    assertArrayEquals(poisoned.losses, plain.losses, "losses depend on memory contents");
    assertArrayEquals(poisoned.norms, plain.norms, "gradient norms depend on memory contents");
    plain.params.forEach((a, i) =>
      assertArrayEquals(poisoned.params[i], a, `parameter ${i} depends on memory contents`)
    );
  },
});
