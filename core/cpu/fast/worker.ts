// Worker thread entry: sleeps on the control block of the shared memory and computes
// chunks of whatever job the main thread posts, with its own kernel instances.

import { parentPort } from "node:worker_threads";
import { runChunkAny, threadKernels } from "./jobs.ts";
import { setThreadRevec } from "./revec.ts";
import { CLAIM, claimChunk, DONE, EPOCH, ERROR, READY } from "./control.ts";

/** How long an idle worker spins before it sleeps (ms). */
const SPIN_MS = 0.05;

interface Init {
  memory: WebAssembly.Memory;
  epoch: number;
  slot: number; // this thread's slot for the revectorized GEMM (revec.ts)
  revec: boolean; // the main thread's decision to use it
}

function serve({ memory, epoch, slot, revec }: Init): void {
  setThreadRevec(slot, revec);
  threadKernels(memory);
  const ctl = new Int32Array(memory.buffer, 0, 64);
  Atomics.add(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  while (Atomics.load(ctl, EPOCH) === epoch) {
    const chunk = claimChunk(ctl, -1);
    if (chunk < 0) {
      // spin briefly for the next job (jobs often come back to back), then sleep
      const w = Atomics.load(ctl, CLAIM), spinEnd = performance.now() + SPIN_MS;
      while (Atomics.load(ctl, CLAIM) === w && performance.now() < spinEnd);
      if (Atomics.load(ctl, CLAIM) === w && Atomics.load(ctl, EPOCH) === epoch) {
        Atomics.wait(ctl, CLAIM, w);
      }
      continue;
    }
    try {
      runChunkAny(ctl, memory, chunk);
    } catch (e) {
      // report the first failure of a job once; the main thread then throws
      if (Atomics.exchange(ctl, ERROR, 1) === 0) {
        console.error(`fast kernels worker: ${e instanceof Error ? e.stack : e}`);
      }
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
  Atomics.sub(ctl, READY, 1);
}

parentPort!.once("message", (msg: Init) => serve(msg));
