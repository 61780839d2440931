// Kernel-level checks of the "webgpu" backend against "cpu-ref" for what the op suite does not
// reach through ops (AdamW, allFinite, the NaN/Inf watch flag, reused pool buffers reading as
// zero, the f16 matmul path) plus pool reuse. Skipped, with the reason in the name, when no
// WebGPU adapter exists.
import fc from "fast-check";
import { assert, assertArrayClose, assertArrayEquals } from "./assert.ts";
import { type Backend, setBackend, type Storage } from "../core/backend.ts";
import "../core/tensor.ts"; // registers the CPU backends
import { initWebGPU, warmShaders, webgpuAvailable } from "../core/webgpu/mod.ts";
import { createWebGPUBackend } from "../core/webgpu/backend.ts";
import { TILES } from "../core/webgpu/kernels_matmul.ts";

const have = await webgpuAvailable();
if (have) await warmShaders(); // compile heavy kernels in a child first (core/webgpu/warmup.ts)
const gpu = have ? await initWebGPU() : undefined;
const ref = setBackend("cpu-ref");

function test(name: string, fn: () => Promise<void>): void {
  if (!gpu) Deno.test({ name: `webgpu: ${name} (skipped: no WebGPU adapter)`, ignore: true, fn });
  else Deno.test(`webgpu: ${name}`, fn);
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
            n,
            1e-2,
            0.9,
            0.95,
            1e-8,
            wd,
            step,
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

// Two tile shapes (4x4 and 8x8 per thread) cover the generator; every extra shape costs a few
// seconds of shader compile on lavapipe. f16 inputs run on the first tile.
test("matmul tiles (all transposes, batched, ragged edges) and the f16 path match cpu-ref", async () => {
  const rt = gpu!.runtime;
  for (const tile of [TILES[0], TILES[1]]) {
    for (const f16 of [false, true]) {
      if (f16 && (!gpu!.paths.f16Available || tile !== TILES[0])) continue;
      const be = createWebGPUBackend(rt, tile, { matmulF16: f16 });
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const batch = 2, M = 37, N = 70, K = 19;
        const a = Float32Array.from({ length: batch * M * K }, (_, i) => Math.sin(i * 0.37));
        const b = Float32Array.from({ length: batch * K * N }, (_, i) => Math.cos(i * 0.11));
        const outs = [be as Backend, ref].map((x) => {
          const o = x.alloc(batch * M * N, "f32");
          x.matmul(put(x, a), put(x, b), o, batch, M, N, K, tA, tB);
          return x.download(o);
        });
        const tol = f16 ? 5e-3 : 1e-5;
        assertArrayClose(
          await outs[0],
          await outs[1],
          tol,
          `matmul ${JSON.stringify(tile)} f16=${f16}`,
        );
      }
    }
  }
});
