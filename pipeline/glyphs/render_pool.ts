// Parallel rendering: splits the code points into batches and hands them to Deno workers
// (default: one per CPU core), each running renderGlyphs; the glyphs come back in order.

import { type Glyphs, renderGlyphs, type RenderOptions } from "./render.ts";

const BATCH = 2048;

/** renderGlyphs over `workers` Deno workers (1 = in this thread). Same bytes either way. */
export async function renderGlyphsParallel(
  cps: ArrayLike<number>,
  opts: RenderOptions = {},
  workers = navigator.hardwareConcurrency || 2,
): Promise<Glyphs> {
  const cell = opts.cell ?? 32, S2 = cell * cell;
  const all = Array.from(cps);
  if (workers <= 1 || all.length <= BATCH) return renderGlyphs(all, opts);
  const out = { pixels: new Uint8Array(all.length * S2), metrics: new Int16Array(all.length * 4) };
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
        w.onmessage = (e: MessageEvent<{ id: number; glyphs?: Glyphs; error?: string }>) => {
          if (e.data.error) return reject(new Error(e.data.error));
          out.pixels.set(e.data.glyphs!.pixels, e.data.id * BATCH * S2);
          out.metrics.set(e.data.glyphs!.metrics, e.data.id * BATCH * 4);
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
