// The one shared WebAssembly.Memory used by the main thread and every worker, and the
// allocator over it (heap.ts: best fit over a coalescing free list + bump pointer, 64-byte
// aligned). Bytes [0, HEAP_START) are reserved for the worker control block.

import { Heap, type HeapStats } from "./heap.ts";
import { MEM_MAX_PAGES, MEM_MIN_PAGES } from "./kernels.ts";

const PAGE = 65536;
const ALIGN = 64;
/** Control block (Int32 slots used by pool.ts) lives at byte 0. */
export const CONTROL_BYTES = 4096;
const HEAP_START = CONTROL_BYTES;

let memory: WebAssembly.Memory | null = null;
const heap = new Heap(HEAP_START, ALIGN, ensure);
const buffers = new WeakSet<ArrayBufferLike>();

/** The shared memory (created on first use). */
export function sharedMemory(): WebAssembly.Memory {
  if (memory === null) {
    memory = new WebAssembly.Memory({
      initial: MEM_MIN_PAGES,
      maximum: MEM_MAX_PAGES,
      shared: true,
    });
  }
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
  const have = mem.buffer.byteLength / PAGE;
  if (have + need > MEM_MAX_PAGES) {
    throw new Error(
      `fast kernels: out of wasm memory (${end} bytes > 4 GiB); ` +
        "free buffers with freeF32 or use smaller batches",
    );
  }
  mem.grow(Math.max(need, Math.min(have, MEM_MAX_PAGES - have)));
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
