// Slots of the shared control block (Int32 indices at byte 0 of the shared memory)
// through which the main thread hands chunks of a job to the workers.

/** (seq << 16) | chunksLeft: claimed by compare-exchange; chunk index = chunksLeft - 1. */
export const CLAIM = 0;
/** Chunks finished in the current job. */
export const DONE = 1;
/** Pool generation: a worker exits when it differs from the one it was started with. */
export const EPOCH = 2;
/** Workers that have instantiated their kernels. */
export const READY = 3;

/** Claim one chunk of job `seq` (or of any job when seq < 0); returns its index or -1. */
export function claimChunk(ctl: Int32Array, seq: number): number {
  while (true) {
    const w = Atomics.load(ctl, CLAIM);
    const left = w & 0xffff;
    if (left === 0 || (seq >= 0 && (w >>> 16) !== seq)) return -1;
    if (Atomics.compareExchange(ctl, CLAIM, w, w - 1) === w) return left - 1;
  }
}
/** Set to 1 by a worker whose chunk threw (the main thread then throws). */
export const ERROR = 4;
/** Which kernel the current job runs (see jobs.ts). */
export const KIND = 15;
/** First Int32 slot of the current job's parameters (they are f64 slots from its byte on). */
export const JOB_SLOT = 16;
/** At most this many f64 job parameters (they end before byte 4096, the heap's start). */
const MAX_PARAMS = 64;

/**
 * Write a job's parameters as f64 slots after JOB_SLOT: exact for any address of a 16 GiB
 * memory (Int32 slots wrapped above 2 GiB). Visible to the workers through the Atomics on CLAIM.
 */
export function writeParams(ctl: Int32Array, values: number[]): void {
  if (values.length > MAX_PARAMS) throw new Error(`fast kernels: ${values.length} job params`);
  new Float64Array(ctl.buffer, ctl.byteOffset + 4 * JOB_SLOT, values.length).set(values);
}

/** The first n f64 job parameters (see writeParams). */
export function readParams(ctl: Int32Array, n: number): Float64Array {
  return new Float64Array(ctl.buffer, ctl.byteOffset + 4 * JOB_SLOT, n);
}
