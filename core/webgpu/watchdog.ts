// Stall watchdog for device work. A driver can block the main thread inside a native Dawn call
// that never returns, where no timer of ours can run (seen once on lavapipe under load). The
// runtime marks device work in flight in shared memory (`markBusy` when it records a kernel,
// `markIdle` when a readback completes); a worker thread looks every second and ends the process
// with a one-line error once work has been in flight for the limit. Checkpoints are written
// atomically, so nothing saved is lost: rerunning with `--resume` continues.

const BASE_MS = Date.now();
/** [0]: seconds (since BASE_MS, + 1) at which the oldest unfinished device work was recorded. */
const inFlight = new Int32Array(new SharedArrayBuffer(4));

/** Device work was recorded (cheap; called on every dispatch). */
export function markBusy(): void {
  if (inFlight[0] === 0) Atomics.store(inFlight, 0, 1 + Math.floor((Date.now() - BASE_MS) / 1000));
}

/** Everything recorded so far has completed (a readback or sync returned). */
export function markIdle(): void {
  if (inFlight[0] !== 0) Atomics.store(inFlight, 0, 0);
}

/** Seconds the limit is, from GLYPHGRAD_WEBGPU_WATCHDOG_S (default 900; 0 turns it off). */
export function watchdogSeconds(): number {
  const v = Deno.env.get("GLYPHGRAD_WEBGPU_WATCHDOG_S");
  const s = v === undefined ? 900 : Number(v);
  if (!Number.isFinite(s) || s < 0) {
    throw new Error(`GLYPHGRAD_WEBGPU_WATCHDOG_S=${v}: expected seconds >= 0 (0 turns it off)`);
  }
  return s;
}

const WORKER = `
self.onmessage = (e) => {
  const { sab, base, seconds, message } = e.data;
  const a = new Int32Array(sab);
  setInterval(() => {
    const since = Atomics.load(a, 0);
    if (since === 0) return;
    const now = 1 + Math.floor((Date.now() - base) / 1000);
    if (now - since < seconds) return;
    console.error(message.replace("%s", String(now - since)));
    Deno.kill(Deno.pid, "SIGTERM");
    setTimeout(() => Deno.kill(Deno.pid, "SIGKILL"), 5000);
  }, 1000);
};
`;

let stopCurrent: (() => void) | null = null;

/** Stop the watchdog if one runs (command entry points call this before they return). */
export function stopWatchdog(): void {
  stopCurrent?.();
  stopCurrent = null;
}

/**
 * Watch device work until `stopWatchdog()` (a live worker keeps Deno running, so commands stop
 * it before they return; one watchdog per process). `seconds` 0 starts nothing. `%s` in the
 * message becomes the seconds waited.
 */
export function startWatchdog(
  seconds = watchdogSeconds(),
  message = "webgpu: device work has not completed for %s s (a driver call never returned); " +
    "stopped: checkpoints are intact, rerun with --resume (GLYPHGRAD_WEBGPU_WATCHDOG_S sets " +
    "the limit, 0 turns the watchdog off)",
): void {
  if (seconds <= 0 || stopCurrent) return;
  const url = URL.createObjectURL(new Blob([WORKER], { type: "application/javascript" }));
  const w = new Worker(url, { type: "module" });
  w.postMessage({ sab: inFlight.buffer, base: BASE_MS, seconds, message });
  stopCurrent = () => {
    w.terminate();
    URL.revokeObjectURL(url);
  };
}
