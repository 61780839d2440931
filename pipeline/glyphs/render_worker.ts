// Deno worker entry for parallel rendering: receives {id, cps, opts}, answers {id, glyphs} (or
// {id, error}) with the glyphs of renderGlyphs.

import { renderGlyphs, type RenderOptions } from "./render.ts";

interface Job {
  id: number;
  cps: number[];
  opts: RenderOptions;
}

const scope = self as unknown as Worker;

scope.onmessage = async (e: MessageEvent<Job>) => {
  const { id, cps, opts } = e.data;
  try {
    const glyphs = await renderGlyphs(cps, opts);
    scope.postMessage({ id, glyphs }, [
      glyphs.pixels.buffer as ArrayBuffer,
      glyphs.metrics.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    scope.postMessage({ id, error: (err as Error).message });
  }
};
