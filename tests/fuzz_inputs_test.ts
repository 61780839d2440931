// The input fuzzer (issue 16): seeded mutations of every kind of file glyphgrad reads
// (tests/fuzz_inputs_lib.ts), each case run in a child process under a time limit. Every case must end
// in a correct result or a one-line error naming the file: no crash (TypeError / RangeError), no
// hang, no changed file accepted silently. GLYPHGRAD_FUZZ_CASES=N runs N cases in all (default
// 2,400), GLYPHGRAD_FUZZ_SEED another seed; a failure names the target and case to rerun.

import { assertEquals } from "./assert.ts";
import { TARGETS } from "./fuzz_inputs_lib.ts";

const TOTAL = Number(Deno.env.get("GLYPHGRAD_FUZZ_CASES") ?? 2400);
const SEED = Number(Deno.env.get("GLYPHGRAD_FUZZ_SEED") ?? 16);
const CHILD = new URL("./fuzz_inputs_run.ts", import.meta.url).pathname;
/** A case that takes longer is a hang (the audit's limit; cases take milliseconds here). */
const CASE_LIMIT_MS = 10_000;
/** Share of the cases per target (fast readers get more). */
const SHARE: Record<string, number> = {
  "safetensors": 4,
  "eval checkpoint": 2,
  "tokenizer JSON": 2,
  "pipeline config": 1,
  "corpus": 2,
  "benchmark JSONL": 3,
  "benchmark CSV": 2,
  "benchmark parquet": 4,
};

interface Tally {
  ok: number;
  refused: number;
  failures: string[];
}

/** Run cases [0, n) of one target in a child process; a case over the limit kills it. */
async function runTarget(name: string, n: number): Promise<Tally> {
  const tally: Tally = { ok: 0, refused: 0, failures: [] };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", CHILD, name, `${SEED}`, "0", `${n}`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let next = 0, done = false, timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      tally.failures.push(`${name} case ${next} (seed ${SEED}): hang, over ${CASE_LIMIT_MS} ms`);
      child.kill("SIGKILL");
    }, CASE_LIMIT_MS);
  };
  arm(); // the start counts as a case: a child that never reports is stopped too
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines());
  for await (const line of lines) {
    const m = JSON.parse(line);
    if (m.done) done = true;
    if (m.i === undefined) continue;
    next = m.i + 1;
    if (m.outcome === "ok") tally.ok++;
    else if (m.outcome === "refused") tally.refused++;
    else tally.failures.push(`${name} case ${m.i} (seed ${SEED}): ${m.outcome}: ${m.detail}`);
    arm();
  }
  clearTimeout(timer);
  const status = await child.status;
  const err = (await stderr).trim().split("\n").slice(-3).join(" | ");
  if (!done || !status.success) {
    tally.failures.push(`${name} case ${next} (seed ${SEED}): child ended ${status.code}: ${err}`);
  }
  return tally;
}

/** A stream of text lines. */
function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, out) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p.trim()) out.enqueue(p);
    },
    flush(out) {
      if (rest.trim()) out.enqueue(rest);
    },
  });
}

const shares = Object.values(SHARE).reduce((a, b) => a + b, 0);
for (const name of Object.keys(TARGETS)) {
  const n = Math.max(1, Math.round(TOTAL * SHARE[name] / shares));
  Deno.test(`fuzz ${name}: ${n} mutated files, each a result or a one-line error`, async () => {
    const t = await runTarget(name, n);
    console.log(
      `fuzz ${name}: ${n} cases, ${t.ok} ok, ${t.refused} refused, ` +
        `${t.failures.length} failed`,
    );
    assertEquals(t.failures.slice(0, 10), []);
    assertEquals(t.ok + t.refused, n);
  });
}
