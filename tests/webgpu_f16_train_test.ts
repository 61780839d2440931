// f16 matmul operands on the "webgpu" backend (f32 master weights, accumulators and AdamW
// state): 30 steps follow the f32 curve to f16's precision, the frozen table stays untouched and
// the f16 copies do not leak. A file of its own: run after the f32 training tests in one
// process, this training made one lavapipe readback wait about two minutes (not root-caused).
import { assert, assertArrayClose, assertArrayEquals } from "./assert.ts";
import { initWebGPU, warmShaders, webgpuAvailable } from "../core/webgpu/mod.ts";
import { cfgOf, train } from "./webgpu_train_lib.ts";

const have = await webgpuAvailable();
if (have) await warmShaders();
const gpu = have ? await initWebGPU() : undefined;

if (!gpu) {
  Deno.test({ name: "webgpu: f16 training (skipped: no WebGPU adapter)", ignore: true, fn() {} });
} else if (!gpu.paths.f16Available) {
  Deno.test({
    name: "webgpu: f16 training (skipped: adapter lacks shader-f16)",
    ignore: true,
    fn() {},
  });
} else {
  Deno.test("webgpu: 30 steps with f16 matmuls track the f32 curve, frozen table intact, pool flat", async () => {
    // re-registers "webgpu" with the f16 path; the registry drops the f32 instance it cached
    await initWebGPU({ matmul: "f16" });
    const cfg = cfgOf("frozen");
    const [h, c] = [await train("webgpu", cfg, 30), await train("cpu", cfg, 30)];
    // rounding to f16 shifts the trajectory slowly: close for 20 steps, within 10% after
    assertArrayClose(h.losses.slice(0, 20), c.losses.slice(0, 20), 5e-3, "f16 loss curve");
    h.losses.forEach((l, i) => {
      const rel = Math.abs(l - c.losses[i]) / c.losses[i];
      assert(rel < 0.1, `step ${i + 1}: f16 loss ${l} vs f32 ${c.losses[i]}`);
    });
    assert(h.losses[29] < h.losses[0] * 0.8, `loss should fall: ${h.losses[0]} -> ${h.losses[29]}`);
    assertArrayEquals(h.wteAfter!, h.wteBefore!, "frozen table changed on the device");
    const tail = h.pool.slice(5);
    assert(tail.every((n) => n === tail[0]), `pool live count not flat: ${h.pool.join(",")}`);
  });
}
