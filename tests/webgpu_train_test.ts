// Training on the "webgpu" backend against the CPU: one full step of a small GPT (loss,
// every gradient, every updated parameter) equals the "cpu-ref" step within tolerance in both
// embedding modes; 50 AdamW steps give the same loss curve; the frozen table stays
// bit-identical on the device; the buffer pool stays flat over 100 steps. Skipped, with the
// reason in the name, when no WebGPU adapter exists. (f16 training: webgpu_f16_train_test.ts.)
import { assert, assertArrayClose, assertArrayEquals } from "./assert.ts";
import { valueAndGrad } from "../core/autodiff.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, gptLoss, type GPTParams, initGPT, mergeParams } from "../core/gpt.ts";
import { disposeTree, tensor, tidy } from "../core/tensor.ts";
import { initWebGPU, warmShaders, webgpuAvailable } from "../core/webgpu/mod.ts";
import { cfgOf, download, train } from "./webgpu_train_lib.ts";

const have = await webgpuAvailable();
if (have) await warmShaders(); // compile heavy kernels in a child first (core/webgpu/warmup.ts)
const gpu = have ? await initWebGPU() : undefined;

function test(name: string, fn: () => Promise<void>): void {
  if (!gpu) Deno.test({ name: `webgpu: ${name} (skipped: no WebGPU adapter)`, ignore: true, fn });
  else Deno.test(`webgpu: ${name}`, fn);
}

function closeMaps(
  a: Map<string, Float32Array>,
  b: Map<string, Float32Array>,
  tol: number,
  what: string,
) {
  assert(a.size === b.size && a.size > 0, `${what}: ${a.size} vs ${b.size} tensors`);
  for (const [k, v] of a) assertArrayClose(v, b.get(k)!, tol, `${what} ${k}`);
}

for (const mode of ["frozen", "trainable"] as const) {
  test(`one GPT training step (${mode} embedding) equals the cpu-ref step`, async () => {
    const cfg = cfgOf(mode);
    const [g, c] = [await train("webgpu", cfg, 1), await train("cpu-ref", cfg, 1)];
    assertArrayClose(g.losses, c.losses, 1e-5, "loss");
    closeMaps(g.grads, c.grads, 1e-4, "gradient");
    closeMaps(g.params, c.params, 1e-5, "updated parameter");
    if (mode === "frozen") {
      assert(!g.grads.has("wte"), "a frozen table gets no gradient");
    } else {
      assert(g.grads.has("wte"), "a trainable table gets a gradient");
    }
  });
}

test("50 steps: same loss curve as cpu, frozen table bit-identical, pool flat", async () => {
  const cfg = cfgOf("frozen");
  const [g, c] = [await train("webgpu", cfg, 50), await train("cpu", cfg, 50)];
  assertArrayClose(g.losses, c.losses, 2e-3, "loss curve");
  assert(
    g.losses[49] < g.losses[0] * 0.7,
    `loss should fall: ${g.losses[0]} -> ${g.losses[49]}`,
  );
  assertArrayEquals(g.wteAfter!, g.wteBefore!, "frozen table changed on the device");
  assertArrayEquals(g.wteBefore!, c.wteBefore!, "frozen table differs from cpu");
  const tail = g.pool.slice(5);
  assert(tail.every((n) => n === tail[0]), `pool live count not flat: ${g.pool.join(",")}`);
});

test("100 steps hold a flat number of device buffers", async () => {
  const created0 = gpu!.poolStats().created;
  const g = await train("webgpu", cfgOf("trainable"), 100, 25);
  const tail = g.pool.slice(5);
  assert(tail.every((n) => n === tail[0]), `pool live count not flat: ${g.pool.join(",")}`);
  const created = gpu!.poolStats().created - created0;
  const again = await train("webgpu", cfgOf("trainable"), 20, 25);
  assert(again.pool.every((n) => n === tail[0]), "a second run uses the same buffers");
  assert(
    gpu!.poolStats().created - created0 === created,
    "a second run creates no new buffers (all reused from the pool)",
  );
});

test("a mid-size step (rows > 256 wide, T > one attention tile, many matmul tiles) equals cpu-ref", async () => {
  // vocab 600 and d 64 make every row kernel loop; T = 70 with head size 32 spans two key tiles
  // and two query blocks; the head matmul spans ten 64-wide tiles.
  const cfg: GPTConfig = {
    vocab: 600,
    dModel: 64,
    layers: 1,
    heads: 2,
    context: 80,
    embedding: "trainable",
  };
  const run = async (backend: string) => {
    setBackend(backend);
    const { trainable, frozen } = initGPT(cfg, { seed: 5 });
    const n = 2 * 70;
    const ids = tensor(Int32Array.from({ length: n }, (_, i) => (i * 37) % 600), [2, 70]);
    const tg = tensor(Int32Array.from({ length: n }, (_, i) => (i * 91 + 3) % 600), [2, 70]);
    const vg = valueAndGrad((p: GPTParams) => gptLoss(mergeParams(p, frozen), cfg, ids, tg));
    const { value, grads } = tidy(() => vg(trainable));
    const out = { loss: (await value.data())[0], grads: await download(grads) };
    disposeTree([value, grads, trainable, frozen, ids, tg]);
    return out;
  };
  const g = await run("webgpu"), c = await run("cpu-ref");
  assertArrayClose([g.loss], [c.loss], 1e-5, "loss");
  closeMaps(g.grads, c.grads, 1e-4, "gradient");
});
