// Child process of the input fuzzer (tests/fuzz_inputs_test.ts): runs cases [from, to) of one
// target and prints each result as a JSON line as it ends, so that the parent can time every
// case and kill a child whose case hangs (or that an unhandled rejection ends).
// Usage: deno run -A --no-check tests/fuzz_inputs_run.ts <target> <seed> <from> <to>

import { rng, TARGETS } from "./fuzz_inputs_lib.ts";

const [target, seed, from, to] = [Deno.args[0], ...Deno.args.slice(1).map(Number)];
const t = TARGETS[target];
const dir = await Deno.makeTempDir({ prefix: "glyphgrad-fuzz-" });
const say = (x: unknown) => console.log(JSON.stringify(x));
try {
  const files = await t.setup(dir);
  say({ ready: true });
  for (let i = from; i < to; i++) {
    let res;
    try {
      res = await t.run(dir, files, rng(seed * 1_000_003 + i));
    } catch (e) {
      res = { outcome: "crash", detail: `harness: ${(e as Error).stack ?? e}` };
    }
    say({ i, ...res });
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
say({ done: true });
