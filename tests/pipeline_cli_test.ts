// Tests of `deno task pipeline` as a user runs it (a subprocess): one-line errors with exit
// code 1 for a bad config key or stage, a user corpus through --corpus, the second run saying
// everything is up to date, and --plan naming what would run and why.

import { assert, assertEquals } from "./assert.ts";

const root = new URL("../", import.meta.url).pathname;

async function cli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/pipeline.ts", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cli: a bad config key or stage gives one line and exit code 1", async () => {
  const bad = await cli("full", "--config", "tiny", "--set", "train.stepz=3", "--plan");
  assertEquals(bad.code, 1);
  assertEquals(bad.stderr.trim().split("\n").length, 1);
  assert(bad.stderr.startsWith('error: --set: unknown key "train.stepz" (valid keys: train.steps'));
  const stage = await cli("trian", "--config", "tiny", "--plan");
  assertEquals(stage.code, 1);
  assert(stage.stderr.includes('unknown stage "trian" (valid: full, data, tokenize'));
  const seeds = await cli("full", "--config", "tiny", "--seeds", "0", "--plan");
  assert(seeds.code === 1 && seeds.stderr.includes("--seeds 0"), seeds.stderr);
});

Deno.test("cli: --corpus data stage, then up to date, then --plan explains", async () => {
  const run = `test-cli-${crypto.randomUUID().slice(0, 8)}`;
  const corpus = [
    "--corpus",
    "fixtures/pipeline/corpus.txt",
    "--corpus",
    "fixtures/pipeline/corpus.jsonl",
  ];
  try {
    const first = await cli("data", "--config", "tiny", ...corpus, "--run", run);
    assertEquals(first.code, 0, first.stderr);
    assert(first.stdout.includes("[data] running: never run"), first.stdout);
    assert(first.stdout.includes("corpus.jsonl (?, user"), first.stdout);
    const again = await cli("data", "--config", "tiny", ...corpus, "--run", run);
    assert(again.stdout.includes("everything is up to date (1 stages)"), again.stdout);
    const plan = await cli("train", "--config", "tiny", ...corpus, "--run", run, "--plan");
    assert(/skip\s+data\s+up to date/.test(plan.stdout), plan.stdout);
    assert(/run\s+tokenize\s+never run/.test(plan.stdout), plan.stdout);
    assert(/run\s+train\/clean-s0\s+never run/.test(plan.stdout), plan.stdout);
    assert(/run\s+train\/trainable-s0\s+never run/.test(plan.stdout), plan.stdout);
    const other = await cli(
      "data",
      "--config",
      "tiny",
      "--corpus",
      "fixtures/pipeline/corpus.txt",
      "--run",
      run,
      "--plan",
    );
    assert(/run\s+data\s+param corpus changed/.test(other.stdout), other.stdout);
  } finally {
    await Deno.remove(`${root}runs/${run}`, { recursive: true }).catch(() => {});
  }
});
