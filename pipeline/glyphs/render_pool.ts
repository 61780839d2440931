// Parallel rendering: splits the code points into batches and hands them to Deno workers
// (default: one per CPU core), each running renderChars; the cells come back in order.

import { renderChars, type RenderOptions } from "./render.ts";

const BATCH = 2048;

/** renderChars over `workers` Deno workers (1 = in this thread). Same bytes either way. */
export async function renderCharsParallel(
  cps: ArrayLike<number>,
  opts: RenderOptions = {},
  workers = navigator.hardwareConcurrency || 2,
): Promise<Uint8Array> {
  const cell = opts.cell ?? 32, S2 = cell * cell;
  const all = Array.from(cps);
  if (workers <= 1 || all.length <= BATCH) return renderChars(all, opts);
  const out = new Uint8Array(all.length * S2);
  const batches: number[][] = [];
  for (let i = 0; i < all.length; i += BATCH) batches.push(all.slice(i, i + BATCH));
  const url = new URL("./render_worker.ts", import.meta.url).href;
  const pool = Array.from({ length: Math.min(workers, batches.length) }, () => {
    return new Worker(url, { type: "module" });
  });
  let next = 0;
  try {
    await Promise.all(pool.map((w) =>
      new Promise<void>((resolve, reject) => {
        const send = () => {
          if (next >= batches.length) return resolve();
          const id = next++;
          w.postMessage({ id, cps: batches[id], opts });
        };
        w.onmessage = (e: MessageEvent<{ id: number; cells?: Uint8Array; error?: string }>) => {
          if (e.data.error) return reject(new Error(e.data.error));
          out.set(e.data.cells!, e.data.id * BATCH * S2);
          send();
        };
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`render worker failed: ${e.message}`));
        };
        send();
      })
    ));
  } finally {
    for (const w of pool) w.terminate();
  }
  return out;
}
