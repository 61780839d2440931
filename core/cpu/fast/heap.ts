// Address-range allocator behind core/cpu/fast/memory.ts, kept free of WebAssembly so it can be
// tested on its own: best fit over a coalescing free list, then a bump pointer.
//  - A request is rounded up to the alignment and served by the smallest free block that holds
//    it (lowest address among equals); the rest of that block stays free.
//  - A freed block merges with free neighbours on both sides; a free block that reaches the top
//    lowers the bump pointer instead of being listed, so freeing everything empties the heap.
// So the footprint follows the bytes live at once, not the number of distinct sizes ever asked
// for (the exact-size free lists this replaces kept every size's blocks for that size only, and
// a loop over batches of ever new shapes, as evaluation is, grew until 4 GiB).

/**
 * Free blocks are kept sorted by (size, address) in two parallel arrays (a single packed
 * number key would overflow 2^53 for blocks of gigabytes in a 16 GiB memory64).
 */

export interface HeapStats {
  /** Bytes in live allocations and their count. */
  liveBytes: number;
  liveCount: number;
  /** Bytes from the heap start to the bump pointer now, and the most it has ever been. */
  reservedBytes: number;
  highWaterBytes: number;
  /** Bytes in free blocks below the bump pointer, and how many blocks. */
  freeBytes: number;
  freeBlocks: number;
}

export class Heap {
  #top: number;
  #peak: number;
  readonly #live = new Map<number, number>(); // ptr -> size
  readonly #freeAt = new Map<number, number>(); // start -> size
  readonly #freeEnd = new Map<number, number>(); // end -> start
  readonly #sizes: number[] = []; // free blocks sorted by (size, address): sizes
  readonly #addrs: number[] = []; // ... and addresses

  /**
   * @param start first usable address (a multiple of align)
   * @param align every block's address and size is a multiple of it (a power of two)
   * @param reserve called with the end address before the bump pointer passes it (may throw)
   */
  constructor(
    readonly start: number,
    readonly align: number,
    readonly reserve: (end: number) => void = () => {},
  ) {
    if (start % align !== 0) throw new Error(`Heap: start ${start} is not a multiple of ${align}`);
    this.#top = this.#peak = start;
  }

  /** Allocate `bytes` (rounded up to align, at least align); returns the address. */
  alloc(bytes: number): number {
    const size = Math.max(this.align, Math.ceil(bytes / this.align) * this.align);
    const i = this.#lowerBound(size, 0);
    let ptr: number;
    if (i < this.#sizes.length) {
      ptr = this.#addrs[i];
      const have = this.#freeAt.get(ptr)!;
      this.#unlist(ptr, have, i);
      if (have > size) this.#list(ptr + size, have - size);
    } else {
      this.reserve(this.#top + size);
      ptr = this.#top;
      this.#top += size;
      this.#peak = Math.max(this.#peak, this.#top);
    }
    this.#live.set(ptr, size);
    return ptr;
  }

  /** Release an address returned by alloc. */
  free(ptr: number): void {
    const size = this.#live.get(ptr);
    if (size === undefined) {
      throw new Error(`fast kernels: freeing address ${ptr} that is not allocated (double free?)`);
    }
    this.#live.delete(ptr);
    let start = ptr, end = ptr + size;
    const before = this.#freeEnd.get(start);
    if (before !== undefined) {
      this.#unlist(before, start - before);
      start = before;
    }
    const after = this.#freeAt.get(end);
    if (after !== undefined) {
      this.#unlist(end, after);
      end += after;
    }
    if (end === this.#top) this.#top = start;
    else this.#list(start, end - start);
  }

  /** The size an address was allocated with (undefined when it is not live). */
  sizeOf(ptr: number): number | undefined {
    return this.#live.get(ptr);
  }

  stats(): HeapStats {
    let liveBytes = 0;
    for (const s of this.#live.values()) liveBytes += s;
    let freeBytes = 0;
    for (const s of this.#freeAt.values()) freeBytes += s;
    return {
      liveBytes,
      liveCount: this.#live.size,
      reservedBytes: this.#top - this.start,
      highWaterBytes: this.#peak - this.start,
      freeBytes,
      freeBlocks: this.#freeAt.size,
    };
  }

  /** Start a new high-water mark from the current extent (to measure one phase's peak). */
  resetHighWater(): void {
    this.#peak = this.#top;
  }

  /** Free blocks as [start, size], by address (for tests). */
  freeList(): [number, number][] {
    return [...this.#freeAt].sort((a, b) => a[0] - b[0]);
  }

  /** Live blocks as [start, size], by address (for tests). */
  liveList(): [number, number][] {
    return [...this.#live].sort((a, b) => a[0] - b[0]);
  }

  /** Index of the first free block not below (size, start). */
  #lowerBound(size: number, start: number): number {
    let lo = 0, hi = this.#sizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.#sizes[mid];
      if (s < size || (s === size && this.#addrs[mid] < start)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #list(start: number, size: number): void {
    this.#freeAt.set(start, size);
    this.#freeEnd.set(start + size, start);
    const at = this.#lowerBound(size, start);
    this.#sizes.splice(at, 0, size);
    this.#addrs.splice(at, 0, start);
  }

  #unlist(start: number, size: number, at = this.#lowerBound(size, start)): void {
    this.#freeAt.delete(start);
    this.#freeEnd.delete(start + size);
    this.#sizes.splice(at, 1);
    this.#addrs.splice(at, 1);
  }
}
