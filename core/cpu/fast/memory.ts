// The one shared WebAssembly.Memory used by the main thread and every worker, and the
// allocator over it (heap.ts: best fit over a coalescing free list + bump pointer, 64-byte
// aligned). Bytes [0, HEAP_START) are reserved for the worker control block and the threads'
// slots of the revectorized GEMM (revec_kernels.ts: constant addresses). The memory is
// 64-bit addressed (memory64, up to 16 GiB) unless GLYPHGRAD_MEM64=0 or setFastMemory64(false)
// asks for the 32-bit one (4 GiB); the kernels are emitted for whichever it is.

import { Heap, type HeapStats } from "./heap.ts";
import { memLimits } from "./kernels.ts";
import { REVEC_SLOT_BYTES, REVEC_SLOTS } from "./revec_kernels.ts";

const PAGE = 65536;
const ALIGN = 64;
/** Control block (Int32 slots used by pool.ts) lives at byte 0. */
export const CONTROL_BYTES = 4096;
/** The revectorized GEMM's per-thread slots follow it (inside the memory's minimum size). */
export const REVEC_BASE = CONTROL_BYTES;
const HEAP_START = REVEC_BASE + REVEC_SLOTS * REVEC_SLOT_BYTES;

let memory: WebAssembly.Memory | null = null;
const heap = new Heap(HEAP_START, ALIGN, ensure);
const buffers = new WeakSet<ArrayBufferLike>();

/** Whether the memory is (or will be, when created) 64-bit addressed. */
let wide = envMem64();

function envMem64(): boolean {
  let v: string | undefined;
  try {
    v = Deno.env.get("GLYPHGRAD_MEM64");
  } catch { /* no env permission: the default */ }
  if (v === undefined || v === "") return true;
  if (v !== "0" && v !== "1") {
    throw new Error(`GLYPHGRAD_MEM64 must be 0 (32-bit, 4 GiB) or 1 (memory64, 16 GiB), got ${v}`);
  }
  return v === "1";
}

/**
 * Choose 64-bit (memory64, up to 16 GiB) or 32-bit (4 GiB) addresses for the shared memory;
 * only before the first fast kernel or allocation created it.
 */
export function setFastMemory64(on: boolean): void {
  if (memory !== null && on !== wide) {
    throw new Error(
      `setFastMemory64(${on}): the fast kernels' memory already exists with ` +
        `${wide ? 64 : 32}-bit addresses; call it before any fast kernel runs`,
    );
  }
  wide = on;
}

/** True when the shared memory is (or will be) 64-bit addressed. */
export function fastMemory64(): boolean {
  return wide;
}

/**
 * A new shared memory with the limits every kernel module imports (memLimits), 64-bit
 * addressed when `mem64`; the kernels' tests make private ones with it.
 */
export function createSharedMemory(mem64: boolean): WebAssembly.Memory {
  const { min, max } = memLimits(mem64);
  const init = mem64
    ? { initial: BigInt(min), maximum: BigInt(max), address: "i64", shared: true }
    : { initial: min, maximum: max, shared: true };
  return new WebAssembly.Memory(init as unknown as WebAssembly.MemoryDescriptor);
}

/** The shared memory (created on first use). */
export function sharedMemory(): WebAssembly.Memory {
  if (memory === null) memory = createSharedMemory(wide);
  return memory;
}

/** The current buffer of the shared memory (remembered so views into it are recognised). */
export function memBuffer(): SharedArrayBuffer {
  const buf = sharedMemory().buffer as unknown as SharedArrayBuffer;
  buffers.add(buf);
  return buf;
}

/** True when `arr` is a view into the shared wasm memory (so kernels can use it in place). */
export function isShared(arr: ArrayBufferView): boolean {
  return buffers.has(arr.buffer);
}

function ensure(end: number): void {
  const mem = sharedMemory();
  if (end <= mem.buffer.byteLength) return;
  const need = Math.ceil((end - mem.buffer.byteLength) / PAGE);
  const have = mem.buffer.byteLength / PAGE, max = memLimits(wide).max;
  if (have + need > max) {
    throw new Error(
      `fast kernels: out of wasm memory (${end} bytes > ${max / 16384} GiB); free buffers ` +
        `with freeF32 or use smaller batches${wide ? "" : ", or unset GLYPHGRAD_MEM64=0"}`,
    );
  }
  const pages = Math.max(need, Math.min(have, max - have));
  mem.grow((wide ? BigInt(pages) : pages) as number);
}

/**
 * Debug mode GLYPHGRAD_FAST_POISON=1: every block is filled with NaN when allocated and when
 * freed, so reading a fresh block before writing it, or a block after its free, gives NaN at
 * once instead of only when the allocator happens to hand out a block that held NaN.
 */
let poison = false;
try {
  poison = Deno.env.get("GLYPHGRAD_FAST_POISON") === "1";
} catch { /* no env permission: off */ }

/** Turn the NaN poisoning of allocated and freed blocks on or off (tests). */
export function setFastPoison(on: boolean): void {
  poison = on;
}

function fillNaN(ptr: number): void {
  const size = heap.sizeOf(ptr);
  if (size !== undefined) new Float32Array(memBuffer(), ptr, size / 4).fill(NaN);
}

/** Allocate `bytes` (rounded up to 64) in shared memory; returns the byte address. */
export function allocBytes(bytes: number): number {
  const ptr = heap.alloc(bytes);
  if (poison) fillNaN(ptr);
  return ptr;
}

/** Release an address returned by allocBytes. */
export function freeBytes(ptr: number): void {
  if (poison) fillNaN(ptr);
  heap.free(ptr);
}

/**
 * A Float32Array of n elements living in the shared wasm memory; matmulF32 and the
 * other kernels use such views in place (no copies). Lifetime: valid until freeF32(view);
 * after freeing, the bytes are reused by later allocations. Contents start undefined.
 */
export function allocF32(n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`allocF32: length must be a non-negative integer, got ${n}`);
  }
  const ptr = allocBytes(n * 4);
  return new Float32Array(memBuffer(), ptr, n);
}

/** Free a view returned by allocF32 (exactly that view's start). */
export function freeF32(view: Float32Array): void {
  if (!isShared(view)) throw new Error("freeF32: this array was not returned by allocF32");
  freeBytes(view.byteOffset);
}

/**
 * The allocator's bytes (heap.ts HeapStats: live, reserved up to the bump pointer and its
 * high-water mark, free blocks) and the size of the wasm memory itself (it never shrinks).
 * `resetHighWater` starts a new high-water mark after reading, to measure one phase's peak.
 */
export function fastMemoryStats(resetHighWater = false): HeapStats & { memoryBytes: number } {
  const stats = { ...heap.stats(), memoryBytes: memory?.buffer.byteLength ?? 0 };
  if (resetHighWater) heap.resetHighWater();
  return stats;
}

let scratchPtr = -1;
let scratchSize = 0;

/**
 * A scratch region of at least `bytes` (byte address), shared by all kernels and reused
 * across calls (contents undefined; valid until the next scratchBytes call).
 */
export function scratchBytes(bytes: number): number {
  if (bytes > scratchSize) {
    if (scratchPtr >= 0) freeBytes(scratchPtr);
    scratchSize = Math.ceil(bytes * 1.25 / 64) * 64;
    scratchPtr = allocBytes(scratchSize);
  }
  return scratchPtr;
}

/** Lay out scratch regions of the given float sizes (16-float aligned); returns float indices. */
export function scratchRegions(sizes: number[]): number[] {
  const aligned = sizes.map((n) => Math.ceil(n / 16) * 16);
  const base = scratchBytes(4 * aligned.reduce((x, y) => x + y, 0)) / 4;
  const at: number[] = [];
  aligned.reduce((o, n) => (at.push(o), o + n), base);
  return at;
}
