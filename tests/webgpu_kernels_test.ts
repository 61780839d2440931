// Kernel-level checks of the "webgpu" backend against "cpu-ref" for what the op suite does not
// reach through ops (AdamW, allFinite, the NaN/Inf watch flag, reused pool buffers reading as
// zero, the f16 matmul path) plus pool reuse. Skipped, with the reason in the name, when no
// WebGPU adapter exists.
import fc from "fast-check";
import { assert, assertArrayClose, assertArrayEquals, assertThrows } from "./assert.ts";
import type { Backend, Storage } from "../core/backend.ts";
import { setBackend } from "../core/registry.ts";
import "../core/tensor.ts"; // registers the CPU backends
import { initWebGPU, warmShaders, webgpuAvailable } from "../core/webgpu/mod.ts";
import { createWebGPUBackend } from "../core/webgpu/backend.ts";
import { matmulKernelExact, subgroupReductionsWork } from "../core/webgpu/selftest.ts";
import {
  subgroupMatrixGrid,
  subgroupMatrixMatmulSrc,
} from "../core/webgpu/kernels_subgroup_matrix.ts";
import { matmulSrc, tileName, TILES } from "../core/webgpu/kernels_matmul.ts";

const have = await webgpuAvailable();
if (have) await warmShaders(); // compile heavy kernels in a child first (core/webgpu/warmup.ts)
const gpu = have ? await initWebGPU() : undefined;
const ref = setBackend("cpu-ref");

function test(name: string, fn: () => Promise<void>): void {
  if (!gpu) Deno.test({ name: `webgpu: ${name} (skipped: no WebGPU adapter)`, ignore: true, fn });
  else Deno.test(`webgpu: ${name}`, fn);
}

/** A test of the f16 paths: skipped, saying so, on an adapter without shader-f16. */
function testF16(name: string, fn: () => Promise<void>): void {
  if (gpu && !gpu.paths.f16Available) {
    Deno.test({ name: `webgpu: ${name} (skipped: adapter lacks shader-f16)`, ignore: true, fn });
  } else test(name, fn);
}

function put(be: Backend, data: Float32Array | Int32Array): Storage {
  const s = be.alloc(data.length, data instanceof Int32Array ? "i32" : "f32");
  be.upload(s, data);
  return s;
}

test("AdamW update matches cpu-ref", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 50 }),
      fc.double({ min: 0, max: 0.1, noNaN: true }),
      async (n, step, wd) => {
        const rnd = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k + n));
        const p = rnd(1.3), g = rnd(2.1), m = rnd(0.7).map((x) => x * 0.1);
        const v = rnd(0.9).map((x) => x * x * 0.01);
        const outs = [gpu!, ref].map((be) => {
          const ins = [p, g, m, v].map((a) => put(be, a));
          const o = [0, 1, 2].map(() => be.alloc(n, "f32"));
          be.adamw(
            ins[0],
            ins[1],
            ins[2],
            ins[3],
            o[0],
            o[1],
            o[2],
            { n, lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: wd, step },
          );
          return o.map((s) => be.download(s));
        });
        for (let k = 0; k < 3; k++) {
          assertArrayClose(await outs[0][k], await outs[1][k], 2e-5, `adamw output ${k}`);
        }
      },
    ),
    { numRuns: 8 },
  );
});

test("allFinite and the NaN/Inf watch flag see every bad value", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5000 }),
      fc.nat(),
      fc.constantFrom(NaN, Infinity, -Infinity, 1),
      async (n, at, bad) => {
        const x = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);
        x[at % n] = bad;
        const xs = put(gpu!, x), o = gpu!.alloc(1, "f32");
        gpu!.allFinite(xs, o, n);
        gpu!.watchFinite(xs, n);
        const want = Number.isFinite(bad) ? 1 : 0;
        assertArrayEquals(await gpu!.download(o), [want], "allFinite");
        assert((await gpu!.pollFinite()) === (want === 1), "watch flag");
        assert(await gpu!.pollFinite(), "watch flag clears after a poll");
        gpu!.free(xs);
        gpu!.free(o);
      },
    ),
    { numRuns: 6 },
  );
});

test("reused pool buffers read as zeros; the pool reuses rather than grows", async () => {
  const a = put(gpu!, new Float32Array(1000).fill(7));
  await gpu!.download(a);
  gpu!.free(a);
  gpu!.flush();
  const before = gpu!.poolStats().created;
  const b = gpu!.alloc(1000, "f32");
  assert(gpu!.poolStats().created === before, "a freed buffer of the same bucket is reused");
  assertArrayEquals(await gpu!.download(b), new Float32Array(1000), "alloc is zero-filled");
  gpu!.free(put(gpu!, new Float32Array(1000).fill(5)));
  gpu!.flush();
  const z = gpu!.alloc(1000, "f32"), e = gpu!.alloc(1000, "f32");
  gpu!.unary("exp", z, e, 1000, 0, 0); // a reused buffer read as an input is zero too
  assertArrayEquals(await gpu!.download(e), new Float32Array(1000).fill(1), "input reads as zeros");
  gpu!.free(z);
  gpu!.free(e);
  const c = gpu!.alloc(1000, "f32");
  gpu!.scatterAdd(
    put(gpu!, new Float32Array(4).fill(1)),
    put(gpu!, new Int32Array([3])),
    c,
    1,
    4,
    250,
  );
  const got = await gpu!.download(c) as Float32Array;
  assertArrayEquals(got.slice(8, 16), [0, 0, 0, 0, 1, 1, 1, 1], "scatterAdd into a zeroed buffer");
  gpu!.free(b);
  gpu!.free(c);
});

// Three tiles cover the generators (vec4 4x4, vec4 8x8, scalar 4x4); each runs an aligned
// shape (the vec4 kernel) and a ragged one (the scalar kernel). Every extra shader costs a few
// seconds of compile on lavapipe. f16 inputs run on the first tile.
test("matmul kernels (vec4 and scalar, all transposes, batched, ragged) and f16 match cpu-ref", async () => {
  const rt = gpu!.runtime;
  const scalar = TILES.find((t) => !t.vec4)!;
  for (const tile of [TILES[0], TILES[1], scalar]) {
    for (const f16 of [false, true]) {
      if (f16 && (!gpu!.paths.f16Available || tile !== TILES[0])) continue;
      const be = createWebGPUBackend(rt, tile, { matmul: f16 ? "f16" : "f32" });
      const shapes = tile.vec4 ? [[36, 68, 20], [37, 70, 19]] : [[37, 70, 19]];
      for (const [M, N, K] of shapes) {
        for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
          const batch = 2;
          const a = Float32Array.from({ length: batch * M * K }, (_, i) => Math.sin(i * 0.37));
          const b = Float32Array.from({ length: batch * K * N }, (_, i) => Math.cos(i * 0.11));
          const outs = [be as Backend, ref].map((x) => {
            const o = x.alloc(batch * M * N, "f32");
            x.matmul(put(x, a), put(x, b), o, batch, M, N, K, tA, tB);
            return x.download(o);
          });
          const tol = f16 ? 5e-3 : 1e-5;
          const what = `${tileName(tile)} f16=${f16} ${M}x${N}x${K} tA=${tA} tB=${tB}`;
          assertArrayClose(await outs[0], await outs[1], tol, `matmul ${what}`);
        }
      }
    }
  }
});

testF16("f16 copies of matmul operands are made once per storage and freed with it", async () => {
  const be = createWebGPUBackend(gpu!.runtime, TILES[0], { matmul: "f16" });
  const rt = gpu!.runtime;
  const M = 8, N = 12, K = 16;
  const w = put(be, Float32Array.from({ length: K * N }, (_, i) => Math.sin(i)));
  const x = put(be, Float32Array.from({ length: M * K }, (_, i) => Math.cos(i)));
  const dy = put(be, Float32Array.from({ length: M * N }, (_, i) => Math.sin(i * 0.3)));
  const y = be.alloc(M * N, "f32"), dx = be.alloc(M * K, "f32"), dw = be.alloc(K * N, "f32");
  const before = rt.dispatches;
  be.matmul(x, w, y, 1, M, N, K, false, false); // forward: converts x and w
  be.matmul(dy, w, dx, 1, M, K, N, false, true); // dx = dy w^T: converts dy only
  be.matmul(x, dy, dw, 1, K, N, M, true, false); // dw = x^T dy: converts nothing
  assert(rt.dispatches - before === 6, `3 matmuls + 3 conversions, got ${rt.dispatches - before}`);
  be.flush();
  const live = be.poolStats().live;
  for (const s of [w, x, dy]) be.free(s);
  be.flush(); // buffers recorded in the open encoder return to the pool after the submit
  assert(be.poolStats().live === live - 6, "freeing an operand frees its f16 copy");
  const want = ref.alloc(M * K, "f32");
  ref.matmul(
    put(ref, Float32Array.from({ length: M * N }, (_, i) => Math.sin(i * 0.3))),
    put(ref, Float32Array.from({ length: K * N }, (_, i) => Math.sin(i))),
    want,
    1,
    M,
    K,
    N,
    false,
    true,
  );
  assertArrayClose(await be.download(dx), await ref.download(want), 5e-3, "dx through f16 copies");
});

test("row reductions run on subgroups where the adapter has them and their self-test passes", async () => {
  const has = gpu!.runtime.ctx.info.features.includes("subgroups");
  const verdict = await subgroupReductionsWork(gpu!.runtime);
  assert(
    verdict.ok === has,
    `self-test ${JSON.stringify(verdict)} on an adapter with${has ? "" : "out"} subgroups`,
  );
  const want = has ? "in use (row reductions)" : "no";
  assert(
    gpu!.paths.subgroups === want,
    `paths.subgroups "${gpu!.paths.subgroups}", want "${want}"`,
  );
});

// The subgroup-matrix path through the backend, on the kernel's plain-WGSL emulation (lavapipe
// has no tensor cores; tests/webgpu_subgroup_matrix_test.ts runs the real one where it exists).
testF16("f16 matmuls take the subgroup-matrix kernel when given one (emulated 8x8x8)", async () => {
  const cfg = { M: 8, N: 8, K: 8, componentType: "f16", resultComponentType: "f32" };
  const sm = { cfg, syntax: "emulate" as const };
  const be = createWebGPUBackend(gpu!.runtime, TILES[0], { matmul: "f16", subgroupMatrix: sm });
  assert(be.paths.subgroupMatrix.startsWith("in use"), be.paths.subgroupMatrix);
  const batch = 2, M = 37, N = 70, K = 19;
  const a = Float32Array.from({ length: batch * M * K }, (_, i) => Math.sin(i * 0.37));
  const b = Float32Array.from({ length: batch * K * N }, (_, i) => Math.cos(i * 0.11));
  for (const [tA, tB] of [[false, true], [true, false]]) {
    const outs = [be as Backend, ref].map((x) => {
      const o = x.alloc(batch * M * N, "f32");
      x.matmul(put(x, a), put(x, b), o, batch, M, N, K, tA, tB);
      return x.download(o);
    });
    assertArrayClose(await outs[0], await outs[1], 5e-3, `subgroup-matrix tA=${tA} tB=${tB}`);
  }
});

testF16(
  "the matmul self-test accepts a right kernel and names the first wrong element",
  async () => {
    const rt = gpu!.runtime;
    const cfg = { M: 8, N: 8, K: 8, componentType: "f16", resultComponentType: "f32" };
    const right = await matmulKernelExact(
      rt,
      subgroupMatrixMatmulSrc(cfg, "emulate"),
      (M, N, batch) => subgroupMatrixGrid(cfg, M, N, batch),
    );
    assert(right === null, `emulated kernel rejected: ${right}`);
    const tile = TILES.find((t) => !t.vec4)!;
    const halfGrid = await matmulKernelExact(rt, matmulSrc(tile, "f16"), (M, N, batch) => [
      Math.ceil(N / tile.BN),
      Math.max(1, Math.floor(M / tile.BM)), // drops the last row tile: must be caught
      batch,
    ]);
    assert(halfGrid !== null && /C\[/.test(halfGrid), `a kernel missing rows passed: ${halfGrid}`);
  },
);

test("a tensor larger than the adapter's storage binding is a one-line error", () => {
  const limit = gpu!.runtime.limits.maxStorageBufferBindingSize;
  const n = Math.floor(limit / 4) + 1;
  assertThrows(() => gpu!.alloc(n, "f32"), /exceeds this adapter's largest storage binding/);
  const ok = gpu!.alloc(1024, "f32");
  gpu!.free(ok);
  return Promise.resolve();
});
