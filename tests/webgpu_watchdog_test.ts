// The device-stall watchdog (core/webgpu/watchdog.ts) in child processes whose main thread is
// blocked the way a stuck native Dawn call blocks it: with work marked in flight the worker ends
// the process with its one-line message; with the work completed it lets the process finish.
// Needs no GPU: the runtime's markBusy/markIdle calls are made directly.
import { assert, assertMatch, assertThrows } from "./assert.ts";
import { watchdogSeconds } from "../core/webgpu/watchdog.ts";

const MODULE = new URL("../core/webgpu/watchdog.ts", import.meta.url).href;

async function child(body: string): Promise<{ code: number; signal: string | null; err: string }> {
  const src = `import { markBusy, markIdle, startWatchdog, stopWatchdog } from "${MODULE}";
${body}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", src],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, signal: out.signal, err: new TextDecoder().decode(out.stderr) };
}

const BLOCK = "const t0 = Date.now(); while (Date.now() - t0 < 6000) { /* stuck */ }";

Deno.test("watchdog: work in flight past the limit ends the process with one line", async () => {
  const r = await child(`startWatchdog(1); markBusy(); ${BLOCK}; console.log("not reached");`);
  assert(r.code !== 0, `the blocked child exited normally (code ${r.code})`);
  const lines = r.err.trim().split("\n").filter((l) => l.includes("webgpu:"));
  assert(lines.length === 1, `expected one watchdog line, got: ${r.err}`);
  assertMatch(lines[0], /device work has not completed for \d+ s.*--resume/);
});

Deno.test("watchdog: completed work and a stopped watchdog let the process finish", async () => {
  const r = await child(`startWatchdog(1); markBusy(); markIdle(); ${BLOCK}; stopWatchdog();`);
  assert(r.code === 0 && r.signal === null, `code ${r.code} signal ${r.signal}: ${r.err}`);
});

Deno.test("watchdog: GLYPHGRAD_WEBGPU_WATCHDOG_S is validated in one line", () => {
  const old = Deno.env.get("GLYPHGRAD_WEBGPU_WATCHDOG_S");
  try {
    Deno.env.set("GLYPHGRAD_WEBGPU_WATCHDOG_S", "soon");
    assertThrows(() => watchdogSeconds(), /expected seconds >= 0/);
    Deno.env.set("GLYPHGRAD_WEBGPU_WATCHDOG_S", "0");
    assert(watchdogSeconds() === 0, "0 turns it off");
  } finally {
    if (old === undefined) Deno.env.delete("GLYPHGRAD_WEBGPU_WATCHDOG_S");
    else Deno.env.set("GLYPHGRAD_WEBGPU_WATCHDOG_S", old);
  }
});
