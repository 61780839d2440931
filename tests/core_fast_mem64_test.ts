// memory64: the fast kernels on tensors that lie above the 4 GiB a 32-bit memory can address.
// A 4 GiB spacer (allocated, never touched, so it costs address space, not RAM) pushes every
// later allocation past 2^32; then a GPT's loss and gradients on "cpu" (1 and 2 threads, so the
// worker jobs read their f64 parameter slots) must match "cpu-ref", and the matmul,
// cross-entropy and GELU kernels must match float64 loops on operands placed there. The heap's
// bookkeeping is checked on its own for addresses and blocks beyond 2^32 bytes.

import { assert, assertArrayClose, assertEquals } from "./assert.ts";
import { treeFlatten, valueAndGrad } from "../core/autodiff.ts";
import { setBackend } from "../core/registry.ts";
import { Heap } from "../core/cpu/fast/heap.ts";
import {
  allocF32,
  crossEntropyForwardF32,
  fastMemoryStats,
  fastStats,
  freeF32,
  geluTanhF32,
  matmulF32,
  setFastMemory64,
  setFastThreads,
  shutdownFast,
  warmupFast,
} from "../core/cpu/fast/mod.ts";
import { geluTanh } from "../core/cpu/ref.ts";
import { type GPTConfig, gptLoss, type GPTParams, initGPT, mergeParams } from "../core/gpt.ts";
import { Rng } from "../core/rng.ts";
import { disposeTree, tensor } from "../core/tensor.ts";

const GiB = 2 ** 30;

Deno.test("heap: addresses and blocks beyond 2^32 bytes keep best fit and coalescing", () => {
  const h = new Heap(4096, 64);
  const a = h.alloc(3 * GiB), b = h.alloc(5 * GiB), c = h.alloc(100);
  assertEquals([a, b, c], [4096, 4096 + 3 * GiB, 4096 + 8 * GiB]);
  h.free(a);
  const d = h.alloc(GiB + 64); // best fit: the freed 3 GiB block, lowest address
  assertEquals(d, 4096);
  h.free(b);
  assertEquals(h.freeList(), [[4096 + GiB + 64, 7 * GiB - 64]]); // merged with b
  const e = h.alloc(6 * GiB);
  assertEquals(e, 4096 + GiB + 64);
  for (const p of [c, d, e]) h.free(p);
  assertEquals([h.liveList(), h.freeList(), h.stats().reservedBytes], [[], [], 0]);
});

setFastMemory64(true);
const spacer = allocF32(GiB + 2 ** 20); // 4 GiB + 4 MiB, never written

Deno.test("memory64: later allocations lie above 4 GiB", () => {
  const x = allocF32(16);
  assert(x.byteOffset > 4 * GiB, `allocation at ${x.byteOffset} is below 4 GiB`);
  x.fill(3);
  assertEquals(x[15], 3);
  freeF32(x);
  assert(fastMemoryStats().memoryBytes > 4 * GiB, "the wasm memory grew past 4 GiB");
});

function gptRun(backend: string) {
  const cfg: GPTConfig = {
    vocab: 1000,
    dModel: 64,
    layers: 2,
    heads: 2,
    context: 48,
    embedding: "trainable",
  };
  setBackend(backend);
  const { trainable, frozen } = initGPT(cfg, { seed: 5 });
  const rng = new Rng(6);
  const ids = tensor(Int32Array.from({ length: 4 * 48 }, () => rng.int(1000)), [4, 48]);
  const tg = tensor(Int32Array.from({ length: 4 * 48 }, () => rng.int(1000)), [4, 48]);
  const { value, grads } = valueAndGrad((p: GPTParams) =>
    gptLoss(mergeParams(p, frozen), cfg, ids, tg)
  )(trainable);
  const high = value.storage as unknown as { data: Float32Array };
  const out = {
    where: high.data?.byteOffset ?? 0,
    loss: value.dataSync(),
    grads: treeFlatten(grads).map(([p, g]) => [p, g.dataSync()] as const),
  };
  disposeTree([trainable, frozen, ids, tg, value, grads]);
  return out;
}

for (const threads of [1, 2]) {
  Deno.test(`memory64: a GPT's loss and gradients above 4 GiB equal cpu-ref (${threads} threads)`, async () => {
    setFastThreads(threads);
    try {
      await warmupFast();
      fastStats(true);
      const a = gptRun("cpu"), b = gptRun("cpu-ref");
      if (threads > 1) assert(fastStats().parallelJobs > 0, "no job ran on the workers' pool");
      assert(a.where > 4 * GiB, `the loss lives at ${a.where}, below 4 GiB`);
      assertArrayClose(a.loss, b.loss, 1e-5, "loss");
      a.grads.forEach(([p, g], i) => assertArrayClose(g, b.grads[i][1], 1e-4, `grad ${p}`));
    } finally {
      shutdownFast();
    }
  });
}

Deno.test("memory64: matmul, cross-entropy and GELU kernels above 4 GiB match float64 loops", () => {
  setFastThreads(2);
  const rng = new Rng(3);
  const M = 67, N = 130, K = 300, V = 1031, R = 260;
  const a = allocF32(M * K), b = allocF32(K * N), c = allocF32(M * N);
  const logits = allocF32(R * V), loss = allocF32(1), gin = allocF32(R * V), gout = allocF32(R * V);
  try {
    for (const v of [a, b, logits]) for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    assert(a.byteOffset > 4 * GiB && gout.byteOffset > 4 * GiB, "operands above 4 GiB");
    matmulF32(a, b, c, 1, M, N, K, false, false);
    const want = new Float64Array(M * N);
    for (let i = 0; i < M; i++) {
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < N; j++) want[i * N + j] += a[i * K + k] * b[k * N + j];
      }
    }
    assertArrayClose(c, want, 1e-3, "matmul");
    const t = Int32Array.from({ length: R }, (_, i) => (i * 13) % V);
    crossEntropyForwardF32(logits, t, loss, R, V, -1);
    let sum = 0;
    for (let r = 0; r < R; r++) {
      let mx = -Infinity, s = 0;
      for (let j = 0; j < V; j++) mx = Math.max(mx, logits[r * V + j]);
      for (let j = 0; j < V; j++) s += Math.exp(logits[r * V + j] - mx);
      sum += mx + Math.log(s) - logits[r * V + t[r]];
    }
    assertArrayClose(loss, [sum / R], 1e-5, "cross-entropy");
    gin.set(logits);
    geluTanhF32(gin, gout, R * V);
    assertArrayClose(gout, Float64Array.from(gin, geluTanh), 1e-5, "GELU");
  } finally {
    for (const v of [a, b, c, logits, loss, gin, gout]) freeF32(v);
    shutdownFast();
  }
});

Deno.test("memory64: the spacer is released", () => {
  freeF32(spacer);
  shutdownFast();
});
