// A size-bucketed GPU buffer pool. Buffers are reused by bucket (powers of two and 1.5x powers
// of two, so at most ~33% waste). A released buffer only returns to the free lists after the
// commands that used it were submitted (see runtime.ts), so reuse never races pending work.

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** The bucket (allocation size in bytes) for a request of `bytes`. */
export function bucketBytes(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 4) * 4);
  let p = 256;
  while (p < b) {
    if (p * 1.5 >= b) return p * 1.5;
    p *= 2;
  }
  return p;
}

export interface PoolStats {
  live: number; // buffers handed out and not yet released
  pooled: number; // buffers waiting in free lists
  liveBytes: number;
  totalBytes: number; // bytes of every buffer the pool owns (live + pooled)
  peakBytes: number; // high-water mark of totalBytes
  created: number; // buffers ever created
}

export class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  #stats: PoolStats = { live: 0, pooled: 0, liveBytes: 0, totalBytes: 0, peakBytes: 0, created: 0 };

  constructor(private device: GPUDevice) {}

  /** A buffer of at least `bytes` (fresh ones are zero-filled; reused ones are not). */
  acquire(bytes: number): { buffer: GPUBuffer; fresh: boolean } {
    const size = bucketBytes(bytes);
    const list = this.#free.get(size);
    const s = this.#stats;
    s.live++;
    s.liveBytes += size;
    if (list && list.length) {
      s.pooled--;
      return { buffer: list.pop()!, fresh: false };
    }
    const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE });
    s.created++;
    s.totalBytes += size;
    s.peakBytes = Math.max(s.peakBytes, s.totalBytes);
    return { buffer, fresh: true };
  }

  /** Put a buffer back (call only once its users were submitted). */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(buffer);
    this.#stats.live--;
    this.#stats.liveBytes -= size;
    this.#stats.pooled++;
  }

  /** Destroy every pooled (free) buffer, returning their memory to the driver. */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const b of list) {
        this.#stats.totalBytes -= b.size;
        b.destroy();
      }
    }
    this.#free.clear();
    this.#stats.pooled = 0;
  }

  stats(): PoolStats {
    return { ...this.#stats };
  }
}
