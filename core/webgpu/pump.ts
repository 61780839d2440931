// How Dawn's events are pumped while glyphgrad waits for the device. dawn.node (npm:webgpu)
// completes its promises (mapAsync, onSubmittedWorkDone, popErrorScope) from
// wgpuInstanceProcessEvents, which its AsyncRunner re-posts with the host's `setImmediate` for as
// long as any Dawn promise is pending: a busy loop on the main thread for the whole of every wait.
// On a software adapter (Mesa lavapipe) the device work runs on CPU threads of this same process,
// so that loop takes a core away from the work it waits for; measured here, the main thread burned
// as much CPU as lavapipe's two compute threads during every readback (core/webgpu/README.md).
//
// `paceDawnEvents` wraps the global `setImmediate` so that Dawn's re-posted pump (a native
// callback) runs at once for the first POLL_SPIN_MS of a wait, then every POLL_MS on a timer; other
// callers of setImmediate are untouched. `GLYPHGRAD_WEBGPU_POLL=spin` keeps dawn.node's own loop.

/** Milliseconds a wait is polled back to back before the pump goes on a timer. */
export const POLL_SPIN_MS = 2;
/** Milliseconds between pumps after that. */
export const POLL_MS = 1;

type Immediate = (cb: (...args: unknown[]) => void, ...args: unknown[]) => unknown;

let installed = false;
let inPump = false; // a paced native callback is running (its re-post continues the same wait)
let waitStart = 0;
/** Pumps run back to back and on the timer since installation (for tests and reports). */
export const pumpCounts = { immediate: 0, timer: 0 };

/** True for a function implemented in native code (dawn.node's pump is a Node-API function). */
export function isNative(f: unknown): boolean {
  return typeof f === "function" && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype
    .toString.call(f));
}

/** The delay (ms) for a pump re-posted `elapsed` ms into a wait: 0 while spinning, then POLL_MS. */
export function pumpDelay(elapsed: number): number {
  return elapsed < POLL_SPIN_MS ? 0 : POLL_MS;
}

/** The poll mode asked for by GLYPHGRAD_WEBGPU_POLL: "paced" (default) or "spin" (dawn.node's). */
export function pollMode(): "paced" | "spin" {
  const v = Deno.env.get("GLYPHGRAD_WEBGPU_POLL") ?? "paced";
  if (v !== "paced" && v !== "spin") {
    throw new Error(`GLYPHGRAD_WEBGPU_POLL=${v}: expected paced (default) or spin`);
  }
  return v;
}

/** Install the paced pump once per process (before Dawn is created; "spin" installs nothing). */
export function paceDawnEvents(mode = pollMode()): void {
  if (installed || mode === "spin") return;
  const g = globalThis as unknown as { setImmediate?: Immediate };
  const original = g.setImmediate;
  if (typeof original !== "function") return;
  installed = true;
  g.setImmediate = (cb, ...args) => {
    if (!isNative(cb)) return original(cb, ...args);
    const now = performance.now();
    if (!inPump) waitStart = now; // a new wait begins (not re-posted from a running pump)
    const run = () => {
      inPump = true;
      try {
        cb(...args);
      } finally {
        inPump = false;
      }
    };
    const delay = pumpDelay(now - waitStart);
    if (delay === 0) {
      pumpCounts.immediate++;
      return original(run);
    }
    pumpCounts.timer++;
    return setTimeout(run, delay);
  };
}
