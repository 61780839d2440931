// glyphgrad against an outside reference (llm.c's method): fixtures/torch_ref/dump.* holds what
// PyTorch computed for the same tiny GPT (fixtures/torch_ref/make_dump.py): weights, a batch, the
// logits, the loss, every gradient and the parameters after 3 AdamW steps with the training
// settings of pipeline/configs/small.json. Here glyphgrad runs the same model and the same step as
// pipeline/train/loop.ts (gptLoss in train mode, valueAndGrad, clipByGlobalNorm, adamw, the
// cosineSchedule) on cpu-ref, cpu and webgpu (skipped with the reason when no adapter exists),
// and every number must agree within f32 tolerances: a convention shared by cpu-ref and ops.ts
// (RoPE pairing, GELU form, LayerNorm eps, attention scale and mask, cross-entropy reduction,
// AdamW decay and its mask, clipping, the schedule, init) fails here. No PyTorch is needed.
//
// Tolerances (f32 eps is 1.2e-7; measured maxima on all three backends in
// fixtures/torch_ref/README.md): logits, loss and gradients compare |ours - torch| <= tol *
// max|torch| over the tensor (one scale per tensor, so tiny entries do not need digits f32 cannot
// give them). Logits and loss 1e-5 (measured <= 3.8e-7: a 2-layer forward sums ~100 products per
// output). Gradients 2e-5 (measured <= 1.2e-6). Losses and gradient norms of steps 2-3 2e-5.
// Parameters after 3 steps: |ours - torch| <= 2e-5 * (1 + |torch|) (measured <= 4.2e-6; Adam's
// m / sqrt(v) turns a gradient's rounding into up to lr * 1e-3 per step on small entries). What a
// wrong convention costs, measured by changing glyphgrad and rerunning: GELU erf for tanh 1.7e-4
// in the logits, LayerNorm eps 1e-6 for 1e-5 8.3e-3, RoPE base 1000 >= 3.3e-3, decaying the norms
// too 1.4e-4 in the step-2 loss: all fail.
import { assert, assertArrayClose } from "./assert.ts";
import { treeFlatten, valueAndGrad } from "../core/autodiff.ts";
import { setBackend } from "../core/registry.ts";
import {
  type GPTConfig,
  gptLogits,
  gptLoss,
  type GPTParams,
  initGPT,
  mergeParams,
} from "../core/gpt.ts";
import { type AdamState, adamw, clipByGlobalNorm, cosineSchedule } from "../core/optim.ts";
import { loadSafetensors, type StTensor } from "../core/safetensors.ts";
import { disposeTree, tensor, tidy } from "../core/tensor.ts";
import { initWebGPU, warmShaders, webgpuAvailable } from "../core/webgpu/mod.ts";

const DIR = new URL("../fixtures/torch_ref/", import.meta.url);
const meta = JSON.parse(await Deno.readTextFile(new URL("dump.json", DIR)));
const dump = (await loadSafetensors(new URL("dump.safetensors", DIR).pathname)).tensors;
const TOL = { logits: 1e-5, grad: 2e-5, param: 2e-5 };

function get(name: string): StTensor {
  const t = dump[name];
  if (!t) {
    throw new Error(`fixtures/torch_ref/dump.safetensors has no "${name}" (rerun make_dump.py)`);
  }
  return t;
}

const cfgOf = (embedding: "frozen" | "trainable"): GPTConfig => ({ ...meta.config, embedding });

/** The dumped initial weights as glyphgrad's (trainable, frozen) trees. */
function params(embedding: "frozen" | "trainable"): { trainable: GPTParams; frozen: GPTParams } {
  const t = (path: string) => {
    const s = get("init." + path);
    return tensor(s.data as Float32Array, [...s.shape]);
  };
  const norm = (p: string) => ({ w: t(p + ".w"), b: t(p + ".b") });
  const blocks = Array.from({ length: meta.config.layers }, (_, i) => {
    const p = `blocks.${i}.`;
    return {
      ln1: norm(p + "ln1"),
      attn: {
        wq: t(p + "attn.wq"),
        wk: t(p + "attn.wk"),
        wv: t(p + "attn.wv"),
        wo: t(p + "attn.wo"),
      },
      ln2: norm(p + "ln2"),
      mlp: { w1: t(p + "mlp.w1"), w2: t(p + "mlp.w2") },
    };
  });
  const rest = { blocks, lnf: norm("lnf"), head: t("head") };
  return embedding === "frozen"
    ? { trainable: rest, frozen: { wte: t("wte") } }
    : { trainable: { wte: t("wte"), ...rest }, frozen: {} };
}

/** |a - b| <= tol * max|b| elementwise; returns the measured max |a - b| / max|b|. */
function closeScaled(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert(a.length === b.length, `${what}: ${a.length} values, torch has ${b.length}`);
  let scale = 0, err = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= tol * scale)) {
      throw new Error(`${what}: index ${i}: ours ${a[i]}, torch ${b[i]} (tol ${tol} * ${scale})`);
    }
    err = Math.max(err, d);
  }
  return scale ? err / scale : err;
}

async function leaves(tree: unknown): Promise<Map<string, Float32Array>> {
  const m = new Map<string, Float32Array>();
  for (const [p, t] of treeFlatten(tree)) m.set(p, (await t.data()) as Float32Array);
  return m;
}

/**
 * Logits, then `steps` training steps as pipeline/train/loop.ts runs them (one micro-batch):
 * lr from the schedule, loss and gradients, global-norm clipping, the AdamW step.
 */
async function run(embedding: "frozen" | "trainable") {
  const cfg = cfgOf(embedding), tr = meta.train;
  let { trainable, frozen } = params(embedding);
  const ids = tensor(get("ids").data as Int32Array, [...get("ids").shape], "i32");
  const tg = tensor(get("targets").data as Int32Array, [...get("targets").shape], "i32");
  const logits = gptLogits(mergeParams(trainable, frozen), cfg, ids);
  const out = {
    logits: (await logits.data()) as Float32Array,
    losses: [] as number[],
    norms: [] as number[],
    grads: new Map<string, Float32Array>(),
    after: new Map<string, Float32Array>(),
  };
  logits.dispose();
  const opt = adamw({ beta1: tr.beta1, beta2: tr.beta2, eps: tr.eps, weightDecay: tr.weightDecay });
  const sched = cosineSchedule({ warmup: tr.warmup, total: tr.total, peak: tr.lr, min: tr.minLr });
  let state: AdamState<GPTParams> = opt.init(trainable);
  for (let step = 0; step < meta.steps; step++) {
    const r = tidy(() => {
      const { value, grads } = valueAndGrad((p: GPTParams) =>
        gptLoss(mergeParams(p, frozen), cfg, ids, tg, { train: true, seed: step })
      )(trainable);
      const clipped = clipByGlobalNorm(grads, tr.clip);
      const next = opt.step(trainable, clipped.grads, state, sched(step));
      return { value, norm: clipped.norm, next, grads: step === 0 ? grads : undefined };
    });
    if (r.grads) out.grads = await leaves(r.grads);
    out.losses.push(await r.value.item());
    out.norms.push(await r.norm.item());
    disposeTree([trainable, state, r.value, r.norm, r.grads]);
    trainable = r.next.params;
    state = r.next.state;
  }
  out.after = await leaves(mergeParams(trainable, frozen));
  disposeTree([trainable, frozen, state, ids, tg]);
  return out;
}

async function check(backend: string, embedding: "frozen" | "trainable"): Promise<void> {
  const ref = meta.variants[embedding];
  const r = await run(embedding);
  closeScaled(r.logits, get("logits").data as Float32Array, TOL.logits, `${backend} logits`);
  closeScaled(r.losses.slice(0, 1), ref.losses.slice(0, 1), TOL.logits, `${backend} loss`);
  // later losses and norms see the updated weights: the parameter tolerance's scale
  closeScaled(r.losses, ref.losses, TOL.grad, `${backend} losses over ${meta.steps} steps`);
  closeScaled(r.norms, ref.gradNorms, TOL.grad, `${backend} gradient norms before clipping`);
  const want = Object.keys(dump).filter((k) => k.startsWith(`${embedding}.grad.`));
  assert(
    want.length === r.grads.size && want.length > 0,
    `${backend}: ${r.grads.size} gradients, torch has ${want.length}`,
  );
  for (const k of want) {
    const path = k.slice(`${embedding}.grad.`.length), g = r.grads.get(path);
    assert(g, `${backend}: no gradient for "${path}"`);
    closeScaled(g, get(k).data as Float32Array, TOL.grad, `${backend} ${embedding} grad ${path}`);
  }
  assert(embedding === "trainable" || !r.grads.has("wte"), "a frozen table got a gradient");
  const afterCount = Object.keys(dump).filter((k) => k.startsWith(`${embedding}.after.`)).length +
    (embedding === "frozen" ? 1 : 0); // the frozen table is init.wte
  assert(
    r.after.size === afterCount,
    `${backend}: ${r.after.size} parameters, torch ${afterCount}`,
  );
  for (const [path, p] of r.after) {
    const name = embedding === "frozen" && path === "wte"
      ? "init.wte"
      : `${embedding}.after.${path}`;
    const t = get(name).data as Float32Array;
    if (name === "init.wte") assert(p.every((v, i) => Object.is(v, t[i])), "frozen table moved");
    assertArrayClose(p, t, TOL.param, `${backend} ${embedding} ${path} after ${meta.steps} steps`);
  }
}

Deno.test("torch reference: the lr schedule is llm.c's warmup + cosine, step by step", () => {
  const s = meta.schedule;
  const sched = cosineSchedule({ warmup: s.warmup, total: s.total, peak: s.peak, min: s.min });
  const ours = Array.from({ length: s.steps }, (_, i) => sched(i));
  assertArrayClose(ours, s.lrs, 1e-12, "learning rates");
});

Deno.test("torch reference: initGPT draws nanoGPT's stds (0.02, residual 0.02/sqrt(2L))", () => {
  setBackend("cpu-ref");
  const { trainable } = initGPT(cfgOf("trainable"), { seed: 5 });
  for (const [path, t] of treeFlatten(trainable)) {
    const x = t.dataSync() as Float32Array;
    if (path.includes("ln")) {
      const one = path.endsWith(".w") ? 1 : 0;
      assert(x.every((v) => v === one), `${path}: a norm starts at w = 1, b = 0`);
      continue;
    }
    const resid = /attn\.wo|mlp\.w2/.test(path);
    const want = resid ? meta.initStd.residual : meta.initStd.default;
    const sd = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
    // the sample std of n >= 1024 normals is within 3 * want / sqrt(2n) <= 7% of want
    assert(Math.abs(sd - want) <= 0.07 * want, `${path}: std ${sd}, nanoGPT ${want}`);
  }
  disposeTree(trainable);
});

const have = await webgpuAvailable();
if (have) await warmShaders(); // compile heavy kernels in a child first (core/webgpu/warmup.ts)
const gpu = have ? await initWebGPU() : undefined;
for (const backend of ["cpu-ref", "cpu", "webgpu"]) {
  for (const embedding of ["trainable", "frozen"] as const) {
    const name =
      `torch reference: ${backend}, ${embedding} table: logits, loss, gradients, 3 steps`;
    if (backend === "webgpu" && !gpu) {
      Deno.test({ name: `${name} (skipped: no WebGPU adapter)`, ignore: true, fn: () => {} });
      continue;
    }
    Deno.test(name, async () => {
      setBackend(backend);
      await check(backend, embedding);
    });
  }
}
