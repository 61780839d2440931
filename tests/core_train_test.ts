// Training-loop tests of the core: a frozen embedding stays bit-identical and gets no optimizer
// state, the live-tensor count stays flat, the same seed gives the same bits, nothing passed in
// is modified, and a tiny GPT memorises a short sequence.

import { assert, assertArrayEquals } from "./assert.ts";
import { treeFlatten, valueAndGrad } from "../core/autodiff.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, gptLoss, type GPTParams, initGPT, mergeParams } from "../core/gpt.ts";
import { type AdamState, adamw, clipByGlobalNorm, cosineSchedule } from "../core/optim.ts";
import {
  disposeTree,
  liveBufferCount,
  liveTensorCount,
  type Tensor,
  tensor,
  tidy,
} from "../core/tensor.ts";

const V = 24;

function table(rows: number, cols: number): { data: Float32Array; rows: number; cols: number } {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 1.7) * 0.5;
  return { data, rows, cols };
}

interface Run {
  trainable: GPTParams;
  frozen: GPTParams;
  state: AdamState<GPTParams>;
  losses: number[];
}

/** Train `steps` AdamW steps with clipping on a fixed batch; returns the final trees. */
function train(cfg: GPTConfig, steps: number, seq: number[], seed = 7, lr = 1e-2): Run {
  const { trainable, frozen } = initGPT(cfg, { seed, frozenTable: table(V, 8) });
  const T = seq.length - 1;
  const ids = tensor(Int32Array.from(seq.slice(0, T)), [1, T]);
  const tg = tensor(Int32Array.from(seq.slice(1)), [1, T]);
  const opt = adamw({ lr, weightDecay: 0.01 });
  const sched = cosineSchedule({ warmup: 5, total: steps, peak: lr, min: lr / 10 });
  let run: Run = { trainable, frozen, state: opt.init(trainable), losses: [] };
  const vg = valueAndGrad((p: GPTParams) =>
    gptLoss(mergeParams(p, frozen), cfg, ids, tg, { train: true, seed: run.state.step })
  );
  for (let s = 0; s < steps; s++) {
    const out = tidy(() => {
      const { value, grads } = vg(run.trainable);
      const { grads: clipped } = clipByGlobalNorm(grads, 1.0);
      return { ...opt.step(run.trainable, clipped, run.state, sched(s)), value };
    });
    run.losses.push(out.value.dataSync()[0]);
    out.value.dispose();
    disposeTree([run.trainable, run.state]);
    run = { ...run, trainable: out.params, state: out.state };
  }
  ids.dispose();
  tg.dispose();
  return run;
}

const base: GPTConfig = {
  vocab: V,
  dModel: 16,
  layers: 2,
  heads: 2,
  context: 16,
  embedding: "frozen",
};
const SEQ = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3];

Deno.test("core train: frozen embedding bytes same after 20 AdamW steps, no Adam state", () => {
  setBackend("cpu");
  const { frozen: f0, trainable: t0 } = initGPT(base, { seed: 7, frozenTable: table(V, 8) });
  const before = f0.wte!.dataSync().slice();
  disposeTree([f0, t0]);
  const run = train(base, 20, SEQ);
  assertArrayEquals(run.frozen.wte!.dataSync(), before, "frozen table changed");
  const paths = treeFlatten(run.state.m).map(([p]) => p).concat(
    treeFlatten(run.state.v).map(([p]) => p),
  );
  assert(
    paths.length > 0 && paths.every((p) => !p.startsWith("wte")),
    "optimizer state for wte",
  );
  assert(run.losses[19] < run.losses[0], "loss did not go down");
  disposeTree([run.trainable, run.frozen, run.state]);
});

Deno.test("core train: live tensor and buffer counts are flat over 100 steps", () => {
  setBackend("cpu");
  const counts: number[] = [], buffers: number[] = [];
  const cfg = { ...base, dModel: 8, layers: 1 };
  const { trainable, frozen } = initGPT(cfg, { seed: 1, frozenTable: table(V, 8) });
  const ids = tensor(Int32Array.from(SEQ.slice(0, 8)), [1, 8]);
  const tg = tensor(Int32Array.from(SEQ.slice(1, 9)), [1, 8]);
  const opt = adamw({ lr: 1e-3 });
  let p = trainable, st = opt.init(trainable);
  const vg = valueAndGrad((q: GPTParams) => gptLoss(mergeParams(q, frozen), cfg, ids, tg));
  for (let s = 0; s < 100; s++) {
    const out = tidy(() => {
      const { grads, value } = vg(p);
      const c = clipByGlobalNorm(grads, 0.5);
      return { ...opt.step(p, c.grads, st), value, norm: c.norm };
    });
    disposeTree([p, st, out.value, out.norm]);
    p = out.params;
    st = out.state;
    counts.push(liveTensorCount());
    buffers.push(liveBufferCount());
  }
  assert(
    counts.every((c) => c === counts[0]),
    `live tensors drifted: ${counts[0]} -> ${counts[99]}`,
  );
  assert(
    buffers.every((c) => c === buffers[0]),
    `live buffers drifted: ${buffers[0]} -> ${buffers[99]}`,
  );
  disposeTree([p, st, frozen, ids, tg]);
});

Deno.test("core train: same seed gives the same bits (dropout on)", () => {
  setBackend("cpu");
  const cfg: GPTConfig = { ...base, embedding: "trainable", dropout: 0.1 };
  const a = train(cfg, 5, SEQ, 11), b = train(cfg, 5, SEQ, 11);
  const fa = treeFlatten(a.trainable), fb = treeFlatten(b.trainable);
  fa.forEach(([path, t], i) =>
    assertArrayEquals(t.dataSync(), fb[i][1].dataSync(), `param ${path} differs`)
  );
  assertArrayEquals(a.losses, b.losses, "losses differ");
  const c = train(cfg, 2, SEQ, 12);
  assert(c.losses[0] !== a.losses[0], "a different seed should give a different model");
  disposeTree([a, b, c].map((r) => [r.trainable, r.frozen, r.state]));
});

Deno.test("core train: a train step never modifies ids, targets or parameters", () => {
  setBackend("cpu");
  const cfg: GPTConfig = { ...base, embedding: "trainable" };
  const { trainable, frozen } = initGPT(cfg, { seed: 2 });
  const ids = tensor(Int32Array.from(SEQ.slice(0, 8)), [1, 8]);
  const tg = tensor(Int32Array.from(SEQ.slice(1, 9)), [1, 8]);
  const snap = (ts: Tensor[]) => ts.map((t) => t.dataSync().slice());
  const all = [ids, tg, ...treeFlatten(trainable).map(([, t]) => t)];
  const before = snap(all);
  const opt = adamw();
  const st = opt.init(trainable);
  const out = tidy(() => {
    const { grads } = valueAndGrad((q: GPTParams) => gptLoss(mergeParams(q, frozen), cfg, ids, tg))(
      trainable,
    );
    return opt.step(trainable, grads, st, 1e-2);
  });
  snap(all).forEach((a, i) => assertArrayEquals(a, before[i], `input ${i} was modified`));
  disposeTree([trainable, frozen, ids, tg, st, out]);
});

Deno.test("core train: a tiny GPT memorises a short sequence (loss < 0.05)", () => {
  setBackend("cpu");
  const cfg: GPTConfig = { ...base, dModel: 32, embedding: "trainable" };
  const run = train(cfg, 150, SEQ, 5, 1e-2);
  const last = run.losses[run.losses.length - 1];
  assert(last < 0.05, `final loss ${last}`);
  disposeTree([run.trainable, run.frozen, run.state]);
});
