// The paced Dawn event pump (core/webgpu/pump.ts): native callbacks re-posted from a running pump
// go on a timer after the spin window, script callbacks pass through untouched, a bad
// GLYPHGRAD_WEBGPU_POLL is refused, and on a real adapter a readback completes under the pump
// (skipped, saying so, without an adapter); the per-thread CPU report of the stall diagnostics.
import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  isNative,
  paceDawnEvents,
  POLL_MS,
  POLL_SPIN_MS,
  pollMode,
  pumpCounts,
  pumpDelay,
} from "../core/webgpu/pump.ts";
import { busyThreads, threadTicks } from "../core/webgpu/threads.ts";
import { openDevice, webgpuAvailable } from "../core/webgpu/device.ts";

Deno.test("pump: native callbacks are told apart from script ones", () => {
  assert(isNative(Math.max));
  assert(isNative((() => 1).bind(null))); // what a Node-API function prints like
  assert(!isNative(() => 1));
  assert(!isNative(function f() {/* [native code] */}));
  assert(!isNative("function () { [native code] }"));
});

Deno.test("pump: back to back for the spin window, then every POLL_MS", () => {
  assertEquals(pumpDelay(0), 0);
  assertEquals(pumpDelay(POLL_SPIN_MS - 0.01), 0);
  assertEquals(pumpDelay(POLL_SPIN_MS), POLL_MS);
  assertEquals(pumpDelay(60_000), POLL_MS);
});

Deno.test("pump: GLYPHGRAD_WEBGPU_POLL is checked", () => {
  const old = Deno.env.get("GLYPHGRAD_WEBGPU_POLL");
  try {
    Deno.env.set("GLYPHGRAD_WEBGPU_POLL", "busy");
    assertThrows(() => pollMode(), "GLYPHGRAD_WEBGPU_POLL=busy: expected paced (default) or spin");
    Deno.env.set("GLYPHGRAD_WEBGPU_POLL", "spin");
    assertEquals(pollMode(), "spin");
    Deno.env.delete("GLYPHGRAD_WEBGPU_POLL");
    assertEquals(pollMode(), "paced");
  } finally {
    if (old === undefined) Deno.env.delete("GLYPHGRAD_WEBGPU_POLL");
    else Deno.env.set("GLYPHGRAD_WEBGPU_POLL", old);
  }
});

Deno.test("pump: a re-posting native pump goes on the timer; script immediates do not", async () => {
  paceDawnEvents("paced");
  const before = { ...pumpCounts };
  // A pump like dawn.node's: a native-looking function that re-posts itself while a wait lasts.
  const t0 = performance.now();
  let runs = 0;
  await new Promise<void>((done) => {
    const pump = (() => {
      runs++;
      if (performance.now() - t0 < 30) setImmediate(pump);
      else done();
    }).bind(null);
    setImmediate(pump);
  });
  const immediate = pumpCounts.immediate - before.immediate;
  const timer = pumpCounts.timer - before.timer;
  assertEquals(immediate + timer, runs);
  assert(immediate >= 1 && timer >= 1, `immediate ${immediate}, timer ${timer}`);
  // 30 ms at one pump per POLL_MS after the spin window: far fewer than a busy loop's thousands.
  assert(timer <= 30 / POLL_MS + 1, `timer pumps ${timer}`);
  const still = { ...pumpCounts };
  await new Promise<void>((r) => setImmediate(() => r()));
  assertEquals(pumpCounts, still); // a script callback is not a pump
});

Deno.test("threads: the report names the threads that ran, busiest first", () => {
  const before = new Map<number, [string, number]>([[Deno.pid, ["deno", 10]], [7, ["lvp", 5]]]);
  const after = new Map<number, [string, number]>([
    [Deno.pid, ["deno", 12]],
    [7, ["lvp", 30]],
    [8, ["new", 1]],
  ]);
  assertEquals(busyThreads(before, after), `lvp:7 +25, deno(main):${Deno.pid} +2, new:8 +1`);
  assertEquals(busyThreads(after, after), "no thread used CPU");
  const now = threadTicks(); // this process, on Linux
  if (Deno.build.os === "linux") assert(now.has(Deno.pid) && now.get(Deno.pid)![1] >= 0);
});

const have = await webgpuAvailable();
Deno.test({
  name: `pump: a readback on the device completes under the paced pump${
    have ? "" : " (skipped: no WebGPU adapter)"
  }`,
  ignore: !have,
  fn: async () => {
    const { device } = await openDevice({ features: false });
    const code = `@group(0) @binding(0) var<storage, read_write> x: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var v = g.x; for (var i = 0u; i < 2000u; i++) { v = v * 1664525u + 1013904223u; }
  x[g.x] = v; }`;
    const pipe = device.createComputePipeline({
      layout: "auto",
      compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
    });
    const n = 64 * 256;
    const buf = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const staging = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipe.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: buf } }],
      }),
    );
    pass.dispatchWorkgroups(n / 64);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, staging, 0, n * 4);
    device.queue.submit([enc.finish()]);
    const pumps = pumpCounts.immediate + pumpCounts.timer;
    await staging.mapAsync(GPUMapMode.READ);
    // dawn.node's pump went through the pacer (it posts with the global setImmediate).
    assert(pumpCounts.immediate + pumpCounts.timer > pumps, "Dawn's pump was not paced");
    const got = new Uint32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    // The same LCG on the host, for a few invocations.
    for (const i of [0, 1, 777, n - 1]) {
      let v = i;
      for (let k = 0; k < 2000; k++) v = (Math.imul(v, 1664525) + 1013904223) >>> 0;
      assertEquals(got[i], v, `x[${i}]`);
    }
    device.destroy();
  },
});
