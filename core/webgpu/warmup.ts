// Shader warm-up, run as a child process (`deno run -A core/webgpu/warmup.ts`): compiles the
// heavy kernels (matmul tiles and f16, attention, norms, softmax cross-entropy) through one
// small GPT training step so the driver's on-disk shader cache is filled. On lavapipe a cold
// compile takes seconds, and under `deno test` a readback that waits on one has been seen to
// stall; tests call `warmShaders()` first so that they only meet cached shaders.
import { valueAndGrad } from "../autodiff.ts";
import { setBackend } from "../registry.ts";
import { gptLoss, type GPTParams, initGPT, mergeParams } from "../gpt.ts";
import { adamw, clipByGlobalNorm } from "../optim.ts";
import { disposeTree, tensor, tidy } from "../tensor.ts";
import { createWebGPUBackend } from "./backend.ts";
import { TILES } from "./kernels_matmul.ts";
import { initWebGPU } from "./mod.ts";

const gpu = await initWebGPU();
setBackend("webgpu");
for (const tile of [TILES[0], TILES[1], TILES.find((t) => !t.vec4)!]) {
  for (const f16 of [false, true]) {
    if (f16 && !gpu.paths.f16Available) continue;
    const be = createWebGPUBackend(gpu.runtime, tile, { matmul: f16 ? "f16" : "f32" });
    const a = be.alloc(64, "f32"), o = be.alloc(64, "f32");
    be.matmul(a, a, o, 1, 8, 8, 8, false, false);
    be.matmul(a, a, o, 1, 7, 7, 7, false, false);
    await be.download(o);
  }
}
// Row kernels in both reduction variants (subgroups when in use, workgroup memory).
const wgReduce = createWebGPUBackend(gpu.runtime, gpu.tile, { subgroups: false });
for (
  const [norm, embedding, be] of [
    ["layernorm", "frozen", gpu],
    ["rmsnorm", "trainable", gpu],
    ["layernorm", "trainable", wgReduce],
    ["rmsnorm", "frozen", wgReduce],
  ] as const
) {
  setBackend(be);
  {
    const cfg = { vocab: 24, dModel: 16, layers: 1, heads: 2, context: 8, embedding, norm };
    const table = { data: new Float32Array(24 * 16).fill(0.1), rows: 24, cols: 16 };
    const { trainable, frozen } = initGPT(cfg, { seed: 1, frozenTable: table });
    const ids = tensor(Int32Array.from({ length: 8 }, (_, i) => i), [1, 8]);
    const vg = valueAndGrad((p: GPTParams) => gptLoss(mergeParams(p, frozen), cfg, ids, ids));
    const opt = adamw({});
    const state = opt.init(trainable);
    const out = tidy(() => {
      const { value, grads } = vg(trainable);
      const c = clipByGlobalNorm(grads, 1.0);
      return { ...opt.step(trainable, c.grads, state, 1e-3), value };
    });
    await out.value.data();
    disposeTree([out, trainable, frozen, state, ids]);
  }
}
setBackend(gpu);
{
  // Head size 32 (the bench and paper configs): the second attention shader bucket.
  const cfg = {
    vocab: 40,
    dModel: 64,
    layers: 1,
    heads: 2,
    context: 8,
    embedding: "trainable" as const,
  };
  const { trainable } = initGPT(cfg, { seed: 1 });
  const ids = tensor(Int32Array.from({ length: 8 }, (_, i) => i), [1, 8]);
  const vg = valueAndGrad((p: GPTParams) => gptLoss(p, cfg, ids, ids));
  const { value, grads } = tidy(() => vg(trainable));
  await value.data();
  disposeTree([value, grads, trainable, ids]);
}
gpu.dispose();
