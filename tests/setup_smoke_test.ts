// Smoke tests of the foundation: resvg draws Unifont glyphs, Dawn finds an adapter and runs a
// WGSL kernel, and `deno task setup` is idempotent (a second run installs nothing).
import { assert, assertEquals } from "./assert.ts";
import { Resvg } from "@resvg/resvg-js";
import { create, globals } from "webgpu";
import { fontGlyphCount, setup } from "../tasks/setup.ts";

const FONT = "/usr/share/fonts/opentype/unifont/unifont.otf";

Deno.test("resvg renders Unifont 'A' into 32x32 with the glyph's exact ink", () => {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32">` +
    `<rect width="32" height="32" fill="white"/>` +
    `<text x="8" y="28" font-size="32" font-family="Unifont">A</text></svg>`;
  const img = new Resvg(svg, {
    font: { fontFiles: [FONT], loadSystemFonts: false, defaultFontFamily: "Unifont" },
  }).render();
  assertEquals([img.width, img.height], [32, 32]);
  const ink: [number, number][] = [];
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) if (img.pixels[(y * 32 + x) * 4] < 128) ink.push([x, y]);
  }
  // Unifont's 'A' has 24 ink pixels in its 8x16 bitmap; at size 32 each becomes a 2x2 block.
  assertEquals(ink.length, 96);
  const xs = ink.map((p) => p[0]), ys = ink.map((p) => p[1]);
  assertEquals([Math.min(...xs), Math.max(...xs)], [10, 21]); // 6 font pixels wide
  assertEquals([Math.min(...ys), Math.max(...ys)], [8, 27]); // 10 font pixels tall
  for (const [x, y] of ink) assert(ink.some(([u, v]) => u === 31 - x && v === y), "A is symmetric");
});

Deno.test("Unifont covers the BMP (glyph count from the maxp table)", async () => {
  assert(fontGlyphCount(await Deno.readFile(FONT)) > 50000);
});

Deno.test({
  name: "Dawn finds a WebGPU adapter and a WGSL kernel adds two vectors",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    if (!Deno.env.get("XDG_RUNTIME_DIR")) {
      Deno.mkdirSync("/tmp/glyphgrad-xdg", { recursive: true });
      Deno.env.set("XDG_RUNTIME_DIR", "/tmp/glyphgrad-xdg");
    }
    Object.assign(globalThis, globals);
    // Keep the GPU instance referenced: Dawn crashes if it is collected while work is pending.
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    assert(adapter, "no WebGPU adapter: run `deno task setup` (installs Mesa lavapipe)");
    const device = await adapter.requestDevice();
    const n = 1000;
    const a = Float32Array.from({ length: n }, (_, i) => i * 0.5);
    const b = Float32Array.from({ length: n }, (_, i) => 1000 - i);
    const mk = (d: Float32Array) => {
      const buf = device.createBuffer({
        size: d.byteLength,
        usage: GPUBufferUsage.STORAGE,
        mappedAtCreation: true,
      });
      new Float32Array(buf.getMappedRange()).set(d);
      buf.unmap();
      return buf;
    };
    const out = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const read = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const module = device.createShaderModule({
      code: `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&c)) { c[g.x] = a[g.x] + b[g.x]; }
}`,
    });
    const pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [mk(a), mk(b), out].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    enc.copyBufferToBuffer(out, 0, read, 0, n * 4);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const c = new Float32Array(read.getMappedRange().slice(0));
    for (let i = 0; i < n; i++) assertEquals(c[i], a[i] + b[i]);
    device.destroy();
    assert(gpu);
  },
});

Deno.test("deno task setup is idempotent: a second run installs nothing and reports the same", async () => {
  const first = await setup({ purpose: "test", install: true, quiet: true });
  const second = await setup({ purpose: "test", install: true, quiet: true });
  assertEquals(second.installed, []);
  assertEquals(second.status, first.status);
  assertEquals(second.missingRequired, []);
});
