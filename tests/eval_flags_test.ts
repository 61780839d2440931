// `deno task eval`'s numeric flags: strict decimal syntax and each flag's range (issue 16: an
// --items of -5 scored all 50,881 WordNet items), unit-tested on numberFlag and once end to end.

import { assert, assertEquals, assertThrows } from "./assert.ts";
import { numberFlag } from "../pipeline/eval/flags.ts";

const COUNT = { min: 0, whole: true }, POSITIVE = { min: 1, whole: true };

Deno.test("eval flags: decimal numbers in range pass, the default stands for an absent flag", () => {
  assertEquals(numberFlag(undefined, "items", 1000, POSITIVE), 1000);
  assertEquals(numberFlag("50", "items", 1000, POSITIVE), 50);
  assertEquals(numberFlag("0", "limit", 0, COUNT), 0);
  assertEquals(numberFlag("0.7", "temperature", 0, { min: 0 }), 0.7);
  assertEquals(numberFlag("1e3", "items", 1, POSITIVE), 1000);
});

Deno.test("eval flags: out of range, fractional counts and non-decimal text are one line", () => {
  assertThrows(
    () => numberFlag("-5", "items", 1000, POSITIVE),
    '--items must be a whole number from 1 up, got "-5"',
  );
  assertThrows(() => numberFlag("0", "items", 1000, POSITIVE), "from 1 up");
  assertThrows(
    () => numberFlag("2.5", "limit", 0, COUNT),
    '--limit must be a whole number from 0 up, got "2.5"',
  );
  assertThrows(
    () => numberFlag("-0.1", "temperature", 0, { min: 0 }),
    "--temperature must be a number from 0 up",
  );
  assertThrows(() => numberFlag("5", "seed", 0, { min: 0, max: 3, whole: true }), "from 0 to 3");
  for (const v of ["0x10", "", " 5", "1e", "Infinity", "NaN", "5abc", "1_000"]) {
    assertThrows(
      () => numberFlag(v, "probe", 200, COUNT),
      `--probe must be a whole number from 0 up, got "${v}"`,
    );
  }
});

Deno.test("eval flags: deno task eval --items=-5 exits 2 with the flag named", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/eval.ts", "--checkpoint", "/no/such/ckpt", "--items=-5"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 2, err);
  assert(err.startsWith('eval: --items must be a whole number from 1 up, got "-5"\n'), err);
});
