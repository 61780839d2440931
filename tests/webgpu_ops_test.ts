// The core op suite (tests/core_ops_suite.ts) on the "webgpu" backend: every op's forward and
// gradient against central differences and against "cpu-ref" on random shapes (fast-check).
// Runs on any adapter, lavapipe included; skipped (with the reason in its name) without one.
import { runOpSuite } from "./core_ops_suite.ts";
import { initWebGPU, warmShaders, webgpuAvailable } from "../core/webgpu/mod.ts";

if (await webgpuAvailable()) {
  await warmShaders(); // compile heavy kernels in a child first (see core/webgpu/warmup.ts)
  await initWebGPU();
  runOpSuite("webgpu", { numRuns: 4 });
} else {
  Deno.test({ name: "core ops [webgpu] (skipped: no WebGPU adapter)", ignore: true, fn() {} });
}
