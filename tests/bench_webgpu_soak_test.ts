// The soak's pure helpers (bench/webgpu_soak.ts): load average and scheduling policy read from
// /proc text, and the verdict line over runs (limit, failures, losses equal or not).
import { assertEquals, assertThrows } from "./assert.ts";
import { load1, type SoakRun, statPolicy, verdict } from "../bench/webgpu_soak.ts";

Deno.test("soak: load average and scheduling policy from /proc text", () => {
  assertEquals(load1("3.39 1.37 0.58 2/200 1234\n"), 3.39);
  assertThrows(() => load1("garbage"), "/proc/loadavg: cannot read");
  // 52 fields; a command name with spaces and parentheses; policy (field 41) = 2 (SCHED_RR).
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[41 - 3] = "2";
  assertEquals(statPolicy(`15594 (deno (x) y) ${fields.join(" ")}`), 2);
  if (Deno.build.os === "linux") {
    assertEquals(statPolicy(Deno.readTextFileSync("/proc/self/stat")), 0); // SCHED_OTHER
  }
});

Deno.test("soak: the verdict counts runs over the limit and failed runs, and compares losses", () => {
  const run = (seconds: number, exitCode: number | null, val = 6.81): SoakRun => ({
    index: 0,
    seconds,
    exitCode,
    longestSilenceS: 1,
    valLosses: { "clean-s0": val },
    load1Start: 1,
    load1End: 1,
    realtimeProcs: 0,
  });
  assertEquals(
    verdict([run(20, 0), run(30.04, 0)], 120),
    "2 of 2 runs finished within 120 s (0 finished later, 0 failed or killed); seconds min " +
      '20.0 max 30.0; validation losses equal in every run {"clean-s0":6.81}',
  );
  assertEquals(
    verdict([run(20, 0), run(130, 0), run(600, null), run(25, 0, 6.9)], 120),
    "2 of 4 runs finished within 120 s (1 finished later, 1 failed or killed); seconds min " +
      "20.0 max 600.0; validation losses differ in 1 runs",
  );
});
