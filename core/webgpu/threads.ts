// Per-thread CPU time of this process (Linux /proc/self/task), for the stall diagnostics of
// `GLYPHGRAD_WEBGPU_DEBUG=1`: while a readback waits, which threads run (the driver's worker
// threads doing device work, or only the main thread polling Dawn) tells a slow device from a
// completion that never arrives. Elsewhere (no /proc) it reports nothing.

/** CPU ticks (user + system, 1/100 s) per thread: tid -> [name, ticks]. Empty without /proc. */
export function threadTicks(): Map<number, [string, number]> {
  const out = new Map<number, [string, number]>();
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc/self/task")];
  } catch {
    return out;
  }
  for (const e of entries) {
    try {
      const stat = Deno.readTextFileSync(`/proc/self/task/${e.name}/stat`);
      const open = stat.indexOf("("), close = stat.lastIndexOf(")");
      const rest = stat.slice(close + 2).split(" ");
      out.set(Number(e.name), [stat.slice(open + 1, close), Number(rest[11]) + Number(rest[12])]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** One line: the threads that used CPU between two snapshots, busiest first (`name:tid +ticks`). */
export function busyThreads(
  before: Map<number, [string, number]>,
  after: Map<number, [string, number]>,
): string {
  const rows: [string, number][] = [];
  for (const [tid, [name, t]] of after) {
    const d = t - (before.get(tid)?.[1] ?? 0);
    if (d > 0) rows.push([`${name}${tid === Deno.pid ? "(main)" : ""}:${tid} +${d}`, d]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  return rows.length ? rows.map((r) => r[0]).join(", ") : "no thread used CPU";
}
