// The thread pool: the main thread's kernel instance, lazily started workers (node
// worker_threads, unref'd so they never hold the process open), and runJob, which
// splits a job's chunks between the main thread and the workers and returns only when
// all are done (synchronous: the main thread blocks with Atomics.wait).

import { Worker } from "node:worker_threads";
import type { KernelExports } from "./kernels.ts";
import { runChunkAny, threadFma, threadKernels } from "./jobs.ts";
import { revecDecision, type RevecMode, setRevecMode } from "./revec.ts";
import { CLAIM, claimChunk, DONE, EPOCH, ERROR, KIND, READY } from "./control.ts";
import { sharedMemory } from "./memory.ts";

/** How long the main thread spins for the last chunks before it sleeps (ms). */
const SPIN_MS = 0.1;

/** Counters of how parallel jobs went (see fastStats in mod.ts). */
const stats = { jobs: 0, parallelJobs: 0, chunks: 0, chunksOnMain: 0, mainWaitMs: 0 };

let workers: Worker[] = [];
let started = false;
let seq = 0;
let wantThreads = defaultThreads();

function defaultThreads(): number {
  let n = 2;
  try {
    n = navigator.hardwareConcurrency || 2;
    const env = Deno.env.get("GLYPHGRAD_THREADS");
    if (env !== undefined && env !== "") n = Number(env);
  } catch { /* no env permission: keep the core count */ }
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`GLYPHGRAD_THREADS must be a positive integer, got ${n}`);
  }
  return n;
}

/**
 * The main thread's kernel instance (compiled on first use) and the process's choice of GEMM
 * kernel (revec.ts: made once, with that instance; workers are told it when they start).
 */
function mainThread(): { kernels: KernelExports; revec: { on: boolean; how: string } } {
  const memory = sharedMemory(), kernels = threadKernels(memory);
  return { kernels, revec: revecDecision(memory, kernels, threadFma(memory)) };
}

/** The main thread's kernel instance (compiled on first use). */
export function mainKernels(): KernelExports {
  return mainThread().kernels;
}

function control(): Int32Array {
  return new Int32Array(sharedMemory().buffer, 0, 64);
}

/** Start the workers if not yet started (they become usable once they report READY). */
function startWorkers(): void {
  if (started) return;
  started = true;
  const memory = sharedMemory(), revec = mainThread().revec.on;
  try {
    for (let i = 0; i < wantThreads - 1; i++) {
      const w = new Worker(new URL("./worker.ts", import.meta.url));
      w.unref();
      w.postMessage({ memory, epoch: Atomics.load(control(), EPOCH), slot: i + 1, revec });
      workers.push(w);
    }
  } catch (e) {
    // e.g. no read permission for worker.ts: keep going on the main thread alone
    console.warn(
      `fast kernels: worker threads unavailable (${String(e).split("\n")[0]}); running ` +
        "single-threaded (grant --allow-read or set GLYPHGRAD_THREADS=1 to silence this)",
    );
    for (const w of workers) w.terminate();
    workers = [];
    wantThreads = 1;
  }
}

/**
 * Run all `total` chunks of a job of `kind` whose parameters `write` puts in the control
 * block; in parallel when `parallel` and workers are ready. Returns when all are done.
 */
export function runJob(
  kind: number,
  write: (ctl: Int32Array) => void,
  total: number,
  parallel: boolean,
): void {
  const memory = sharedMemory();
  mainThread(); // the GEMM kernel choice is made before the main thread runs any chunk
  if (parallel && wantThreads > 1) startWorkers();
  const ctl = control();
  ctl[KIND] = kind;
  write(ctl);
  stats.jobs++;
  stats.chunks += total;
  if (!parallel || total < 2 || Atomics.load(ctl, READY) <= 0) {
    for (let c = 0; c < total; c++) runChunkAny(ctl, memory, c);
    stats.chunksOnMain += total;
    return;
  }
  stats.parallelJobs++;
  if (total > 0xffff) throw new Error(`fast kernels: too many chunks (${total})`);
  Atomics.store(ctl, DONE, 0);
  seq = (seq + 1) & 0x7fff;
  Atomics.store(ctl, CLAIM, (seq << 16) | total);
  Atomics.notify(ctl, CLAIM);
  let failure: unknown = undefined;
  for (let c = claimChunk(ctl, seq); c >= 0; c = claimChunk(ctl, seq)) {
    try {
      runChunkAny(ctl, memory, c);
    } catch (e) {
      failure = e;
    }
    Atomics.add(ctl, DONE, 1);
    stats.chunksOnMain++;
    if (failure !== undefined) break;
  }
  // After a failure, close the job to further claims; wait for the chunks already claimed
  // (a later job must not see their DONE increments).
  const expected = failure === undefined ? total : total - closeClaims(ctl, seq);
  const waitStart = performance.now();
  // Spin briefly before sleeping: a futex wake-up can cost milliseconds on a busy machine.
  const spinEnd = performance.now() + SPIN_MS;
  for (let d = Atomics.load(ctl, DONE); d < expected; d = Atomics.load(ctl, DONE)) {
    if (performance.now() > spinEnd) Atomics.wait(ctl, DONE, d);
  }
  stats.mainWaitMs += performance.now() - waitStart;
  if (Atomics.exchange(ctl, ERROR, 0) !== 0 && failure === undefined) {
    failure = new Error("fast kernels: a worker thread failed on a chunk (see its error above)");
  }
  if (failure !== undefined) throw failure;
}

/** Stop further claims of job `seq`; returns how many chunks were left unclaimed. */
function closeClaims(ctl: Int32Array, seq: number): number {
  while (true) {
    const w = Atomics.load(ctl, CLAIM);
    if ((w >>> 16) !== seq || (w & 0xffff) === 0) return 0;
    if (Atomics.compareExchange(ctl, CLAIM, w, seq << 16) === w) return w & 0xffff;
  }
}

/**
 * Threads available (main + workers), whether SIMD (and relaxed FMA) is used, and whether
 * the GEMM runs on the revectorized pair kernels (and how that was decided).
 */
export function poolInfo(): {
  threads: number;
  simd: boolean;
  fma: boolean;
  revec: boolean;
  revecHow: string;
} {
  const { revec } = mainThread();
  const fma = threadFma(sharedMemory());
  return { threads: wantThreads, simd: true, fma, revec: revec.on, revecHow: revec.how };
}

/** Choose the GEMM kernels: "auto" (probe), "on" (pair kernels) or "off"; restarts the pool. */
export function setRevec(mode: RevecMode): void {
  setRevecMode(mode);
  shutdownPool();
}

/** Use n threads in total (main + n-1 workers) from now on; restarts the pool. */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setThreads: need an integer >= 1, got ${n}`);
  shutdownPool();
  wantThreads = n;
}

/** Stop the workers (they are restarted lazily by the next parallel job). */
export function shutdownPool(): void {
  if (!started) return;
  const ctl = control();
  Atomics.add(ctl, EPOCH, 1);
  Atomics.notify(ctl, CLAIM);
  for (const w of workers) w.terminate();
  workers = [];
  started = false;
}

/** Start the workers and resolve once all report ready (or reject after timeoutMs). */
export async function readyPool(timeoutMs = 20000): Promise<number> {
  if (wantThreads > 1) startWorkers();
  const ctl = control();
  const t0 = Date.now();
  while (Atomics.load(ctl, READY) < wantThreads - 1) {
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(
        `fast kernels: workers not ready after ${timeoutMs} ms; try GLYPHGRAD_THREADS=1`,
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return wantThreads;
}

/** A copy of the job counters since start (or the last reset). */
export function poolStats(reset = false): typeof stats {
  const copy = { ...stats };
  if (reset) {
    Object.assign(stats, { jobs: 0, parallelJobs: 0, chunks: 0, chunksOnMain: 0, mainWaitMs: 0 });
  }
  return copy;
}
