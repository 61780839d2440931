// Deno worker entry for parallel rendering: receives {id, cps, opts}, answers {id, cells} (or
// {id, error}) with the cells of renderChars.

import { renderChars, type RenderOptions } from "./render.ts";

interface Job {
  id: number;
  cps: number[];
  opts: RenderOptions;
}

const scope = self as unknown as Worker;

scope.onmessage = async (e: MessageEvent<Job>) => {
  const { id, cps, opts } = e.data;
  try {
    const cells = await renderChars(cps, opts);
    scope.postMessage({ id, cells }, [cells.buffer as ArrayBuffer]);
  } catch (err) {
    scope.postMessage({ id, error: (err as Error).message });
  }
};
