// WebGPU soak: N consecutive tiny trainings on the webgpu backend, each a fresh process
// (`deno run -A tasks/pipeline.ts train --config tiny --backend webgpu --run <run> --force`),
// timed, with the longest silence in each run's output, the 1-minute load average and the number of
// real-time (SCHED_FIFO/RR) user processes beside it, and the validation losses checked equal across
// runs. A run over --limit seconds fails the soak; one still going at --kill seconds is ended.
// Not part of the test suite (minutes of device time):
//   deno run -A bench/webgpu_soak.ts [--runs 20] [--limit 120] [--kill 600] [--run soak]
//                                    [--poll paced|spin] [--json] [--out soak.json]
import { parseArgs } from "node:util";
import { join } from "node:path";

export interface SoakRun {
  index: number;
  seconds: number;
  exitCode: number | null; // null: ended by --kill
  longestSilenceS: number; // the longest gap between two output lines
  valLosses: Record<string, number>; // per cell, from train/<cell>/result.json
  load1Start: number;
  load1End: number;
  realtimeProcs: number; // SCHED_FIFO/RR user processes seen at the start of the run
}

/** The 1-minute load average from /proc/loadavg text. */
export function load1(text: string): number {
  const v = Number(text.split(" ")[0]);
  if (!Number.isFinite(v)) throw new Error(`/proc/loadavg: cannot read "${text.slice(0, 40)}"`);
  return v;
}

/** Scheduling policy from /proc/<pid>/stat text (field 41): 1 FIFO, 2 RR; null if unreadable. */
export function statPolicy(stat: string): number | null {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const policy = Number(rest[38]); // fields from 3 on; policy is field 41
  return Number.isInteger(policy) ? policy : null;
}

function realtimeProcesses(): number {
  let n = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const cmdline = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      const policy = statPolicy(stat);
      if (cmdline && (policy === 1 || policy === 2)) n++; // kernel threads have no cmdline
    } catch {
      // the process ended meanwhile
    }
  }
  return n;
}

/** A verdict line over the runs: how many failed, went over the limit, the slowest, the losses. */
export function verdict(runs: SoakRun[], limitS: number): string {
  const failed = runs.filter((r) => r.exitCode !== 0).length;
  const over = runs.filter((r) => r.exitCode === 0 && r.seconds > limitS).length;
  const first = JSON.stringify(runs[0]?.valLosses ?? {});
  const differ = runs.filter((r) => JSON.stringify(r.valLosses) !== first).length;
  const secs = runs.map((r) => r.seconds);
  return `${runs.length - failed - over} of ${runs.length} runs finished within ${limitS} s ` +
    `(${over} finished later, ${failed} failed or killed); seconds min ` +
    `${Math.min(...secs).toFixed(1)} max ${Math.max(...secs).toFixed(1)}; validation losses ` +
    (differ ? `differ in ${differ} runs` : `equal in every run ${first}`);
}

async function readLosses(runDir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    for await (const e of Deno.readDir(join(runDir, "train"))) {
      if (!e.isDirectory) continue;
      try {
        const r = JSON.parse(await Deno.readTextFile(join(runDir, "train", e.name, "result.json")));
        out[e.name] = r.valLoss;
      } catch {
        // no result: the run did not finish this cell
      }
    }
  } catch {
    // no train folder
  }
  return Object.fromEntries(Object.entries(out).sort());
}

async function oneRun(
  index: number,
  a: { run: string; killS: number; poll: string; root: string },
): Promise<SoakRun> {
  const load1Start = load1(await Deno.readTextFile("/proc/loadavg"));
  const realtimeProcs = realtimeProcesses();
  const runDir = join(a.root, "runs", a.run);
  await Deno.remove(join(runDir, "train"), { recursive: true }).catch(() => {});
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(a.root, "tasks/pipeline.ts"),
      "train",
      "--config",
      "tiny",
      "--backend",
      "webgpu",
      "--run",
      a.run,
      "--force",
    ],
    cwd: a.root,
    env: { GLYPHGRAD_WEBGPU_POLL: a.poll },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let last = performance.now(), longest = 0;
  const watch = async (s: ReadableStream<Uint8Array>) => {
    for await (const _ of s) {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }
  };
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, a.killS * 1000);
  const [status] = await Promise.all([child.status, watch(child.stdout), watch(child.stderr)]);
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  longest = Math.max(longest, performance.now() - last);
  return {
    index,
    seconds,
    exitCode: killed ? null : status.code,
    longestSilenceS: longest / 1000,
    valLosses: await readLosses(runDir),
    load1Start,
    load1End: load1(await Deno.readTextFile("/proc/loadavg")),
    realtimeProcs,
  };
}

if (import.meta.main) {
  const { values: v } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "20" },
      limit: { type: "string", default: "120" },
      kill: { type: "string", default: "600" },
      run: { type: "string", default: "soak" },
      poll: { type: "string", default: "paced" },
      json: { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const runs = Number(v.runs), limitS = Number(v.limit), killS = Number(v.kill);
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs ${v.runs}: expected >= 1`);
  if (!(limitS > 0 && killS >= limitS)) {
    throw new Error(`--limit ${v.limit} --kill ${v.kill}: expected 0 < limit <= kill seconds`);
  }
  if (v.poll !== "paced" && v.poll !== "spin") {
    throw new Error(`--poll ${v.poll}: expected paced or spin`);
  }
  const root = new URL("..", import.meta.url).pathname;
  const results: SoakRun[] = [];
  for (let i = 1; i <= runs; i++) {
    const r = await oneRun(i, { run: v.run, killS, poll: v.poll, root });
    results.push(r);
    if (!v.json) {
      console.log(
        `run ${String(i).padStart(2)}: ${r.seconds.toFixed(1).padStart(6)} s, exit ` +
          `${r.exitCode ?? "killed"}, longest silence ${r.longestSilenceS.toFixed(1)} s, load ` +
          `${r.load1Start.toFixed(1)}->${
            r.load1End.toFixed(1)
          }, realtime procs ${r.realtimeProcs}, ` +
          `val ${Object.values(r.valLosses).map((x) => x.toFixed(4)).join(" / ")}`,
      );
    }
  }
  const line = verdict(results, limitS);
  if (v.out) {
    const text = JSON.stringify({ poll: v.poll, limitS, verdict: line, runs: results }, null, 2);
    await Deno.writeTextFile(v.out + ".tmp", text + "\n");
    await Deno.rename(v.out + ".tmp", v.out);
  }
  console.log(v.json ? JSON.stringify({ poll: v.poll, verdict: line, runs: results }) : line);
}
