// The core op suite (tests/core_ops_suite.ts) on the "webgpu" backend: every op's forward and
// gradient against central differences and against "cpu-ref" on random shapes (fast-check).
// Where the adapter's subgroups passed their self-test, "webgpu" reduces rows on subgroups and
// the reduction ops run a second time with workgroup-memory reductions ("webgpu-wg-reduce").
// Runs on any adapter, lavapipe included; skipped (with the reason in its name) without one.
import { runOpSuite } from "./core_ops_suite.ts";
import { registerBackend } from "../core/registry.ts";
import { createWebGPUBackend } from "../core/webgpu/backend.ts";
import { initWebGPU, warmShaders, webgpuAvailable } from "../core/webgpu/mod.ts";

const REDUCING_OPS = [
  "sum over axes",
  "max over an axis",
  "softmax",
  "logSoftmax",
  "crossEntropy with ignoreIndex",
  "layerNorm",
  "rmsNorm",
];

if (await webgpuAvailable()) {
  await warmShaders(); // compile heavy kernels in a child first (see core/webgpu/warmup.ts)
  const gpu = await initWebGPU();
  runOpSuite("webgpu", { numRuns: 4 });
  if (gpu.paths.subgroups.startsWith("in use")) {
    const wg = createWebGPUBackend(gpu.runtime, gpu.tile, { subgroups: false });
    registerBackend("webgpu-wg-reduce", () => wg);
    runOpSuite("webgpu-wg-reduce", { numRuns: 4, ops: REDUCING_OPS });
  } else {
    Deno.test({
      name: `core ops [webgpu-wg-reduce] (skipped: "webgpu" already reduces in workgroup ` +
        `memory; subgroups ${gpu.paths.subgroups})`,
      ignore: true,
      fn() {},
    });
  }
} else {
  Deno.test({ name: "core ops [webgpu] (skipped: no WebGPU adapter)", ignore: true, fn() {} });
}
