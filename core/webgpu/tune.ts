// Start-up probe for the matmul kernel: time every candidate tile (scalar and vec4 kernels) on
// this adapter at one size and keep the fastest (no vendor tables). The choice is cached per
// adapter (name + driver) in .cache/webgpu-matmul.json so later runs start at once.
import { writeFileAtomic } from "../safetensors.ts";
import type { AdapterInfo } from "./device.ts";
import { matmulKernelSrc, type Tile, tileName, TILES } from "./kernels_matmul.ts";
import { Params, type Runtime } from "./runtime.ts";

const CACHE_DIR = new URL("../../.cache/", import.meta.url);
const CACHE = new URL("webgpu-matmul.json", CACHE_DIR);

function adapterKey(info: AdapterInfo): string {
  return `${info.vendor}|${info.name}|${info.driver}|${info.backend}`;
}

async function readCache(): Promise<Record<string, string>> {
  try {
    return JSON.parse(await Deno.readTextFile(CACHE));
  } catch {
    return {};
  }
}

/** Dispatch C = A @ B (no transposes) with a given tile (vec4 kernel where the tile says so). */
export function encodeMatmul(
  rt: Runtime,
  tile: Tile,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  M: number,
  N: number,
  K: number,
  batch = 1,
  inType: "f32" | "f16" = "f32",
): void {
  const p = new Params().u(M).u(N).u(K).u(0).u(0);
  rt.dispatch(matmulKernelSrc(tile, inType, M, N, K), [a, b, c], p, [
    Math.ceil(N / tile.BN),
    Math.ceil(M / tile.BM),
    batch,
  ]);
}

/** Seconds per call of one tile at size n (median of `reps` timed submissions). */
export async function timeTile(
  rt: Runtime,
  tile: Tile,
  n: number,
  reps: number,
  bufs: GPUBuffer[],
): Promise<number> {
  encodeMatmul(rt, tile, bufs[0], bufs[1], bufs[2], n, n, n);
  await rt.sync(); // compile + warm up
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    encodeMatmul(rt, tile, bufs[0], bufs[1], bufs[2], n, n, n);
    await rt.sync();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

/** The fastest tile on this adapter (probe once, then cached). */
export async function chooseTile(
  rt: Runtime,
  info: AdapterInfo,
  opts: { cache?: boolean } = {},
): Promise<{ tile: Tile; probed: boolean; timings: Record<string, number> }> {
  // A software adapter (lavapipe) is for correctness, never speed: probing would only cost
  // seconds of LLVM compiles per candidate, so it takes the first candidate.
  if (info.software) return { tile: TILES[0], probed: false, timings: {} };
  const key = adapterKey(info);
  const useCache = opts.cache !== false;
  if (useCache) {
    const hit = (await readCache())[key];
    const tile = TILES.find((t) => tileName(t) === hit);
    if (tile) return { tile, probed: false, timings: {} };
  }
  const n = 1024;
  const bytes = n * n * 4;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const bufs = [0, 1, 2].map(() => rt.device.createBuffer({ size: bytes, usage }));
  const fill = new Float32Array(n * n).map((_, i) => ((i * 7919) % 13) / 13 - 0.5);
  rt.device.queue.writeBuffer(bufs[0], 0, fill);
  rt.device.queue.writeBuffer(bufs[1], 0, fill);
  const timings: Record<string, number> = {};
  let best = TILES[0], bestT = Infinity;
  for (const t of TILES) {
    const s = await timeTile(rt, t, n, 5, bufs);
    timings[tileName(t)] = s;
    if (s < bestT) best = t, bestT = s;
  }
  for (const b of bufs) b.destroy();
  if (useCache) {
    const all = await readCache();
    all[key] = tileName(best);
    await Deno.mkdir(CACHE_DIR, { recursive: true });
    await writeFileAtomic(CACHE.pathname, JSON.stringify(all, null, 1) + "\n");
  }
  return { tile: best, probed: true, timings };
}
