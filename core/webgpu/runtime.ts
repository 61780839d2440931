// The WebGPU runtime under the backend: storages on pooled buffers, compute pipelines cached by
// WGSL source, and ONE command encoder that records every kernel of a step (submitted on
// readback, on `flush()` or every few thousand dispatches). Kernel parameters go into a
// uniform arena written once per submission. No kernel reads back; `read` is the only sync point.
import type { DType, Storage } from "../backend.ts";
import { BufferPool } from "./pool.ts";
import { markBusy, markIdle } from "./watchdog.ts";
import { busyThreads, threadTicks } from "./threads.ts";
import type { GpuContext } from "./device.ts";

/** A storage on the device. `needsZero`: the buffer came from the pool and still holds garbage. */
export interface GStorage extends Storage {
  readonly size: number;
  readonly dtype: DType;
  buffer: GPUBuffer;
  needsZero: boolean;
  gen: number; // the submission generation that last recorded a command touching it
  freed: boolean;
}

/** Kernel parameters: 64 u32 words (256 bytes), floats stored as their bits. */
export class Params {
  readonly words = new Uint32Array(64);
  #f = new Float32Array(this.words.buffer);
  #i = new Int32Array(this.words.buffer);
  n = 0;
  u(x: number): this {
    this.words[this.n++] = x >>> 0;
    return this;
  }
  i(x: number): this {
    this.#i[this.n++] = x | 0;
    return this;
  }
  f(x: number): this {
    this.#f[this.n++] = x;
    return this;
  }
  us(xs: readonly number[]): this {
    for (const x of xs) this.u(x);
    return this;
  }
}

const DEBUG = Deno.env.get("GLYPHGRAD_WEBGPU_DEBUG") === "1";
const READ_TIMEOUT_MS = 1000 * Number(Deno.env.get("GLYPHGRAD_WEBGPU_TIMEOUT_S") ?? 600);
const SLOT_BYTES = 256;
const ARENA_SLOTS = 2048;
const MAX_PENDING = 2000;
export const WG = 256; // workgroup size of 1-D kernels

const ZERO_SRC = `@group(0) @binding(0) var<storage, read_write> x: array<u32>;
struct Params { w: array<vec4<u32>, 16> }
@group(0) @binding(1) var<uniform> prm: Params;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  if (i < prm.w[0][0]) { x[i] = 0u; }
}
`;

export class Runtime {
  readonly device: GPUDevice;
  /** The device's limits, read once (each `device.limits` read crosses into Dawn). */
  readonly limits: GPUSupportedLimits;
  readonly pool: BufferPool;
  #pipelines = new Map<string, GPUComputePipeline>();
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #pendingFree: GPUBuffer[] = [];
  #arenaCpu = new Uint32Array(ARENA_SLOTS * SLOT_BYTES / 4);
  #arena: GPUBuffer;
  #slots = 0;
  #gen = 1;
  #error: string | null = null;
  #pending = 0;
  dispatches = 0; // total dispatches recorded (for reports)
  submits = 0;

  constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.limits = ctx.device.limits;
    this.pool = new BufferPool(this.device);
    this.#arena = this.device.createBuffer({
      size: ARENA_SLOTS * SLOT_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.device.lost.then((l) => {
      if (l.reason !== "destroyed") this.#error ??= `WebGPU device lost: ${l.message}`;
    });
  }

  get generation(): number {
    return this.#gen;
  }

  // ---- storages --------------------------------------------------------------------------

  alloc(size: number, dtype: DType): GStorage {
    const limit = this.limits.maxStorageBufferBindingSize;
    if (size * 4 > limit) {
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      throw new Error(
        `webgpu: a tensor of ${size} values (${mib(size * 4)}) exceeds this adapter's largest ` +
          `storage binding (${mib(limit)}); lower the batch, context or vocabulary, or use ` +
          `--backend cpu`,
      );
    }
    const { buffer, fresh } = this.pool.acquire(Math.max(4, size * 4));
    return { size, dtype, buffer, needsZero: !fresh, gen: 0, freed: false };
  }

  free(s: GStorage): void {
    if (s.freed) throw new Error("webgpu: storage freed twice (a tensor was disposed twice)");
    s.freed = true;
    // Commands recorded but not submitted may still use it: return it after the next submit.
    if (s.gen === this.#gen) this.#pendingFree.push(s.buffer);
    else this.pool.release(s.buffer);
  }

  upload(s: GStorage, data: Float32Array | Int32Array, byteOffset = 0): void {
    if (s.gen === this.#gen) this.flush(); // keep program order with recorded commands
    // Host arrays on shared memory (the CPU backend's workers) are copied first.
    const own = data.buffer instanceof ArrayBuffer ? data : data.slice();
    const buf = own.buffer as ArrayBuffer;
    this.device.queue.writeBuffer(s.buffer, byteOffset, buf, own.byteOffset, own.byteLength);
  }

  touch(s: GStorage): void {
    s.gen = this.#gen;
  }

  // ---- pipelines and dispatch --------------------------------------------------------------

  #compile(code: string): GPUComputePipeline {
    const module = this.device.createShaderModule({ code });
    return this.device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
  }

  pipeline(code: string): GPUComputePipeline {
    let p = this.#pipelines.get(code);
    if (!p) {
      this.device.pushErrorScope("validation");
      p = this.#compile(code);
      this.device.popErrorScope().then((e) => {
        if (e) {
          this.#error ??= `WebGPU shader error: ${e.message.split("\n").slice(0, 6).join(" ")}`;
        }
      });
      this.#pipelines.set(code, p);
    }
    return p;
  }

  /**
   * Compile a shader now and report failure instead of recording it as the runtime's error
   * (for optional paths that fall back): null when it compiled (and is cached), else the reason.
   */
  async tryPipeline(code: string): Promise<string | null> {
    if (this.#pipelines.has(code)) return null;
    markBusy(); // a compile can block in the driver
    this.device.pushErrorScope("internal");
    this.device.pushErrorScope("validation");
    const p = this.#compile(code);
    const errs = [
      await this.#settle(this.device.popErrorScope()),
      await this.#settle(this.device.popErrorScope()),
    ];
    const e = errs.find((x) => x);
    if (e) return e.message.split("\n").map((l) => l.trim()).filter(Boolean).slice(0, 3).join(" ");
    this.#pipelines.set(code, p);
    return null;
  }

  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  /** Record one dispatch: buffers bound at 0..n-1, params (if any) at binding n. */
  dispatch(
    code: string,
    storages: (GStorage | GPUBuffer)[],
    params: Params | null,
    grid: [number, number?, number?],
  ): void {
    const [x, y = 1, z = 1] = grid;
    if (x === 0 || y === 0 || z === 0) return;
    markBusy();
    const lim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > lim || y > lim || z > lim) {
      throw new Error(`webgpu: dispatch [${x},${y},${z}] exceeds ${lim} workgroups per dimension`);
    }
    // A pooled buffer read as an input before any kernel wrote it must read as zeros. (Zeroing
    // records kernels of its own, so it goes before this dispatch claims its uniform slot.)
    for (const st of storages) if (!(st instanceof GPUBuffer) && st.needsZero) this.zero(st);
    if (this.#slots >= ARENA_SLOTS || this.#pending >= MAX_PENDING) {
      this.flush();
    }
    const pipeline = this.pipeline(code);
    const entries: GPUBindGroupEntry[] = storages.map((s, i) => {
      if (s instanceof GPUBuffer) return { binding: i, resource: { buffer: s } };
      s.gen = this.#gen;
      return { binding: i, resource: { buffer: s.buffer } };
    });
    if (params) {
      const slot = this.#slots++;
      this.#arenaCpu.set(params.words, slot * SLOT_BYTES / 4);
      entries.push({
        binding: storages.length,
        resource: { buffer: this.#arena, offset: slot * SLOT_BYTES, size: SLOT_BYTES },
      });
    }
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const pass = this.#openPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
    this.#pending++;
  }

  /** Fill a storage with zero words now (in stream order) and mark it clean. */
  zero(s: GStorage): void {
    s.needsZero = false;
    const words = Math.ceil(s.buffer.size / 4);
    this.dispatch(ZERO_SRC, [s.buffer], new Params().u(words), this.grid1(words));
    s.gen = this.#gen;
  }

  /** A 1-D grid of `n` threads in workgroups of WG, folded into y beyond the x limit. */
  grid1(n: number, wg = WG): [number, number] {
    const groups = Math.ceil(n / wg);
    const lim = this.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= lim) return [Math.max(groups, 0), 1];
    const y = Math.ceil(groups / lim);
    return [Math.ceil(groups / y), y];
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.#closePass();
    this.#encoderOpen().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  #encoderOpen(): GPUCommandEncoder {
    return this.#encoder ??= this.device.createCommandEncoder();
  }

  #openPass(): GPUComputePassEncoder {
    return this.#pass ??= this.#encoderOpen().beginComputePass();
  }

  #closePass(): void {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
  }

  /** Submit everything recorded so far; buffers freed meanwhile go back to the pool. */
  flush(): void {
    this.#closePass();
    if (this.#encoder) {
      if (this.#slots) {
        this.device.queue.writeBuffer(
          this.#arena,
          0,
          this.#arenaCpu.buffer,
          0,
          this.#slots * SLOT_BYTES,
        );
      }
      this.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
      this.submits++;
    }
    this.#slots = 0;
    this.#pending = 0;
    this.#gen++;
    for (const b of this.#pendingFree) this.pool.release(b);
    this.#pendingFree = [];
  }

  /** Copy `bytes` of a buffer to the host (submits pending work first). */
  async read(src: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    this.throwIfError();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.copy(src, offset, staging, 0, size);
    this.flush();
    await this.#settle(staging.mapAsync(GPUMapMode.READ));
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    markIdle();
    this.throwIfError();
    return out;
  }

  /**
   * Await a Dawn promise while nudging Dawn to process its events: under Deno, dawn.node's own
   * polling can leave a map or work-done callback pending for a long time (seen on lavapipe).
   */
  async #settle<T>(p: Promise<T>): Promise<T> {
    let done = false;
    const q = p.finally(() => done = true);
    const t0 = performance.now();
    let nextReport = 5000;
    let ticks = DEBUG ? threadTicks() : null;
    for (let wait = 0.5; !done; wait = Math.min(wait * 2, 8)) {
      await Promise.race([q, new Promise((r) => setTimeout(r, wait))]);
      if (!done) this.device.queue.submit([]);
      const waited = performance.now() - t0;
      if (!done && DEBUG && waited > nextReport) {
        nextReport += 10000;
        const now = threadTicks();
        console.error(
          `webgpu: a readback has waited ${waited | 0} ms; CPU since the last ` +
            `report: ${busyThreads(ticks!, now)}`,
        );
        ticks = now;
      }
      if (!done && waited > READ_TIMEOUT_MS) {
        throw new Error(
          `webgpu: Dawn reported no completion after ${READ_TIMEOUT_MS / 1000} s ` +
            `(driver stalled); set GLYPHGRAD_WEBGPU_TIMEOUT_S to wait longer`,
        );
      }
    }
    return await q;
  }

  /** Wait until the device finished everything submitted. */
  async sync(): Promise<void> {
    this.flush();
    await this.#settle(this.device.queue.onSubmittedWorkDone());
    markIdle();
    this.throwIfError();
  }

  throwIfError(): void {
    if (this.#error) throw new Error(this.#error);
  }
}
