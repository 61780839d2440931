// Peak memory of this process as the eval CLI and benchmark print it: the fast CPU kernels'
// wasm heap (high-water mark of the allocator and the size of the wasm memory, which never
// shrinks) and the resident set's high-water mark (Linux /proc/self/status VmHWM; the current
// RSS where that file is absent).

import { fastMemoryStats } from "../../core/cpu/fast/mod.ts";

/** Peak resident set size in bytes (VmHWM), or the current RSS where /proc is absent. */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s*(\d+)\s*kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return Deno.memoryUsage().rss;
}

export interface PeakMemory {
  wasmHighWaterBytes: number;
  wasmMemoryBytes: number;
  peakRssBytes: number;
}

/**
 * The figures now. `reset` then starts new high-water marks (the wasm heap's, and on Linux the
 * RSS one through /proc/self/clear_refs), so the next reading covers one phase only.
 */
export function peakMemory(reset = false): PeakMemory {
  const s = fastMemoryStats(reset);
  const out = {
    wasmHighWaterBytes: s.highWaterBytes,
    wasmMemoryBytes: s.memoryBytes,
    peakRssBytes: peakRssBytes(),
  };
  if (reset) {
    try {
      Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    } catch { /* not Linux: the RSS figure stays the process's peak */ }
  }
  return out;
}

/** "wasm heap high-water 9.0 MiB (wasm memory 16.0 MiB), peak RSS 233 MiB" */
export function formatPeakMemory(p: PeakMemory): string {
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  return `wasm heap high-water ${mib(p.wasmHighWaterBytes)} MiB (wasm memory ` +
    `${mib(p.wasmMemoryBytes)} MiB), peak RSS ${mib(p.peakRssBytes)} MiB`;
}
