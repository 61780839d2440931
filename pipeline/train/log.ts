// The JSONL training log: one object per logged step ({step, loss, lr, tokens_per_s,
// grad_norm, val_loss?}), and one event line where --resume --allow-changed continued with other
// optimizer settings ({step, event: "resume", changed: {"train.lr": {from, to}}}). On --resume the
// lines after the resumed step are dropped, so a resumed run's log reads like an uninterrupted one.

import { writeFileAtomic } from "../../core/safetensors.ts";

export interface LogLine {
  step: number;
  loss: number;
  lr: number;
  tokens_per_s: number;
  grad_norm?: number;
  val_loss?: number;
  /** Bits per character of the fixed validation windows (a progress monitor for curves). */
  val_bpc?: number;
}

/**
 * Keep only the lines with step <= `step` (event lines: step < `step`, so a resume that is
 * repeated from the same checkpoint records its event once), or start empty.
 */
export async function truncateLog(path: string, step: number): Promise<void> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const kept = text.split("\n").filter((l) => {
    if (!l.trim()) return false;
    try {
      const o = JSON.parse(l) as LogLine | LogEvent;
      return "event" in o ? o.step < step : o.step <= step;
    } catch {
      return false; // a line cut by an interruption
    }
  });
  await writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
}

/** A line that records an event at a step rather than a step's numbers. */
export interface LogEvent {
  step: number;
  event: "resume";
  changed: Record<string, { from: unknown; to: unknown }>;
}

export async function appendLog(path: string, lines: (LogLine | LogEvent)[]): Promise<void> {
  if (!lines.length) return;
  await Deno.writeTextFile(path, lines.map((l) => JSON.stringify(l) + "\n").join(""), {
    append: true,
  });
}

/** The step lines of a log (event lines left out; readLogEvents has them). */
export async function readLog(path: string): Promise<LogLine[]> {
  return (await readLogAll(path)).filter((l): l is LogLine => !("event" in l));
}

export async function readLogEvents(path: string): Promise<LogEvent[]> {
  return (await readLogAll(path)).filter((l): l is LogEvent => "event" in l);
}

async function readLogAll(path: string): Promise<(LogLine | LogEvent)[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}
