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

Deno.test("cli: --run, --seeds, --backend and --corpus are checked like the config keys", async () => {
  const escape = `${root}../escape_glyphgrad_${crypto.randomUUID().slice(0, 8)}`;
  const name = `../../${escape.split("/").at(-1)}`;
  const run = await cli("data", "--config", "tiny", "--run", name);
  assertEquals(run.code, 1);
  assert(run.stderr.startsWith(`error: --run ${name}: "run" is`), run.stderr);
  assert(!(await Deno.stat(escape).then(() => true, () => false)), "nothing written outside");
  const seeds = await cli("full", "--config", "tiny", "--seeds", "1.5", "--plan");
  assert(seeds.stderr.includes('--seeds 1.5: "study.seeds" must be a whole number >= 1'));
  const be = await cli("full", "--config", "tiny", "--backend", "tpu", "--plan");
  assert(be.stderr.includes('--backend tpu: "train.backend" is "tpu" (valid values: auto'));
  const md = await cli("full", "--config", "tiny", "--corpus", "README.md", "--plan");
  assert(md.stderr.includes('"data.corpus" has "README.md" (use .txt or .jsonl'), md.stderr);
  const gone = await cli("full", "--config", "tiny", "--corpus", "missing.txt", "--plan");
  assert(gone.stderr.startsWith("error: --corpus missing.txt: file not found"), gone.stderr);
  const steps = await cli("full", "--config", "tiny", "--set", "train.steps=0", "--plan");
  assert(steps.stderr.includes('"train.steps" must be a whole number >= 1, got 0'));
  for (const r of [run, seeds, be, md, gone, steps]) {
    assertEquals([r.code, r.stderr.trim().split("\n").length], [1, 1], r.stderr);
  }
});
