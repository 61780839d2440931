// Training progress for people: a one-line bar redrawn in place on a terminal (step, loss,
// tokens/s, ETA), plain log lines every k steps when output is not a terminal.

export interface ProgressState {
  model: string;
  step: number;
  total: number;
  loss: number;
  tokensPerS: number;
  /** Seconds left, or NaN when unknown. */
  etaS: number;
  valLoss?: number;
}

/** "1h02m", "3m05s", "12s" */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** The text of one progress line; `bar` adds a 20-cell bar. */
export function formatProgress(p: ProgressState, bar: boolean): string {
  const frac = p.total ? p.step / p.total : 1;
  const cells = 20, full = Math.round(frac * cells);
  const b = bar ? `[${"#".repeat(full)}${".".repeat(cells - full)}] ` : "";
  const width = String(p.total).length;
  const val = p.valLoss !== undefined ? ` val ${p.valLoss.toFixed(4)}` : "";
  return `${p.model} ${b}step ${String(p.step).padStart(width)}/${p.total} ` +
    `loss ${p.loss.toFixed(4)}${val} ${Math.round(p.tokensPerS)} tok/s ` +
    `ETA ${formatDuration(p.etaS)}`;
}

/** A reporter that draws on a TTY and prints every `every` steps otherwise. */
export function progressReporter(opts: {
  every: number;
  tty?: boolean;
  write?: (s: string) => void;
}) {
  const tty = opts.tty ?? Deno.stdout.isTerminal();
  const enc = new TextEncoder();
  const write = opts.write ?? ((s: string) => Deno.stdout.writeSync(enc.encode(s)));
  let drawn = false;
  return {
    update(p: ProgressState, force = false): void {
      if (tty) {
        write(`\r\x1b[2K${formatProgress(p, true)}`);
        drawn = true;
      } else if (force || p.step % opts.every === 0 || p.step === p.total) {
        write(formatProgress(p, false) + "\n");
      }
    },
    /** Print a line above the bar (e.g. a validation result). */
    note(line: string): void {
      write(tty && drawn ? `\r\x1b[2K${line}\n` : `${line}\n`);
    },
    done(): void {
      if (tty && drawn) write("\n");
      drawn = false;
    },
  };
}
