// Worker thread entry: instantiates the generated kernels on the shared memory, then
// sleeps on the control block and computes chunks of whatever job the main thread posts.

import { parentPort } from "node:worker_threads";
import type { KernelExports } from "./kernels.ts";
import { readJob, runChunk } from "./gemm_job.ts";
import { CLAIM, claimChunk, DONE, EPOCH, READY } from "./control.ts";

interface Init {
  memory: WebAssembly.Memory;
  bytes: Uint8Array;
  epoch: number;
}

function serve({ memory, bytes, epoch }: Init): void {
  const mod = new WebAssembly.Module(bytes as BufferSource);
  const inst = new WebAssembly.Instance(mod, { env: { mem: memory } });
  const k = inst.exports as unknown as KernelExports;
  const ctl = new Int32Array(memory.buffer, 0, 64);
  Atomics.add(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  while (Atomics.load(ctl, EPOCH) === epoch) {
    const chunk = claimChunk(ctl, -1);
    if (chunk < 0) {
      const w = Atomics.load(ctl, CLAIM);
      if ((w & 0xffff) === 0 && Atomics.load(ctl, EPOCH) === epoch) Atomics.wait(ctl, CLAIM, w);
      continue;
    }
    runChunk(k, readJob(ctl), chunk);
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
  Atomics.sub(ctl, READY, 1);
}

parentPort!.once("message", (msg: Init) => serve(msg));
