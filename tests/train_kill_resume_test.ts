// Kill-and-resume (issue #16): `deno task pipeline train --config tiny` (as a subprocess) is
// SIGKILLed inside checkpoint writes (GLYPHGRAD_KILL_IN_CHECKPOINT=<point>@<step>, the process
// kills itself there) and at random moments of training (the parent kills it a random 0-40 ms
// after a random step line); then the same command with --resume runs. Every trial must leave
// each checkpoint that exists loadable right after the kill, and end bit-identical to an
// uninterrupted run: model.safetensors, optim.safetensors, the log's step/loss lines and the
// validation loss, with no *.tmp and one step folder left per cell. By default 4 trials (two
// aimed, two random: about a minute); GLYPHGRAD_KILL_TRIALS=N runs N (aimed points cycle through
// every save point and step), GLYPHGRAD_KILL_SEED=s repeats a random draw. A second test follows
// the training guard's printed advice on the command line (--resume --allow-changed train.lr);
// a third checks that --allow-changed takes optimizer settings only, and only with --resume.

import { assert, assertEquals } from "./assert.ts";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { hasCheckpoint, loadCheckpoint } from "../pipeline/train/checkpoint.ts";
import { readLog } from "../pipeline/train/log.ts";
import { seededRandom } from "../core/rng.ts";

const root = new URL("../", import.meta.url).pathname;
const CELLS = ["clean-s0", "trainable-s0"];
const POINTS = ["model", "optim", "config", "folder", "pointer"];
const STEPS = [4, 8, 12]; // the tiny config's checkpoints

function cli(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/pipeline.ts", ...args, "--config", "tiny"],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finish(child: Deno.ChildProcess) {
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    text: dec.decode(out.stdout) + dec.decode(out.stderr),
  };
}

/** Start a training run and SIGKILL it `delayMs` after the line of `cell` at `step`. */
async function killAtStep(run: string, cell: string, step: number, delayMs: number) {
  const child = cli(["train", "--run", run]);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const want = new RegExp(`^${cell} step\\s+${step}/12 `, "m");
  let seen = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
    if (want.test(seen)) {
      await new Promise((r) => setTimeout(r, delayMs));
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      break;
    }
  }
  reader.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
  return await child.status;
}

interface CellState {
  model: Uint8Array;
  optim: Uint8Array;
  log: unknown[];
  valLoss: number;
}

async function cellState(runDir: string, cell: string): Promise<CellState> {
  const dir = join(runDir, "train", cell);
  const result = JSON.parse(await Deno.readTextFile(join(dir, "result.json")));
  return {
    model: await Deno.readFile(join(dir, "model.safetensors")),
    optim: await Deno.readFile(join(dir, "optim.safetensors")),
    log: (await readLog(join(dir, "log.jsonl"))).map((l) => [l.step, l.loss, l.val_loss]),
    valLoss: result.valLoss,
  };
}

/** Right after a kill: every checkpoint that exists loads (the previous one is intact). */
async function checkpointsIntact(runDir: string, why: string) {
  for (const cell of CELLS) {
    const dir = join(runDir, "train", cell);
    if (await hasCheckpoint(dir)) {
      await loadCheckpoint(dir).catch((e) => {
        throw new Error(`${why}: ${cell}: checkpoint broken after the kill: ${e.message}`);
      });
    }
  }
}

/** Every *.tmp path under dir. */
async function temps(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.name.endsWith(".tmp")) out.push(path);
    else if (e.isDirectory) out.push(...await temps(path));
  }
  return out;
}

async function leftovers(runDir: string, cell: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(join(runDir, "train", cell))) names.push(e.name);
  return names.filter((n) => n.endsWith(".tmp") || /^step-/.test(n)).sort();
}

/** The upstream stages (data .. embed) of the tiny config, built once for this file's tests. */
let upstream: Promise<string> | undefined;
const made: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const d of made) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch { /* gone */ }
  }
});

function baseRun(): Promise<string> {
  upstream ??= (async () => {
    const tag = `test-kill-${crypto.randomUUID().slice(0, 8)}`;
    made.push(join(root, "runs", tag));
    const up = await finish(cli(["embed", "--run", tag])); // no training
    assertEquals(up.code, 0, up.text);
    return tag;
  })();
  return upstream;
}

/** A copy of the upstream run, named after it with `-suffix`; returns the run name. */
async function copyRun(suffix: string): Promise<string> {
  const tag = await baseRun(), run = `${tag}-${suffix}`;
  made.push(join(root, "runs", run));
  cpSync(join(root, "runs", tag), join(root, "runs", run), { recursive: true });
  return run;
}

Deno.test({
  name: "kill and resume: every SIGKILL (in saves, at random steps) resumes bit-identically",
  sanitizeResources: false,
  fn: async () => {
    const trials = Number(Deno.env.get("GLYPHGRAD_KILL_TRIALS") ?? 4);
    const seed = Number(Deno.env.get("GLYPHGRAD_KILL_SEED") ?? Date.now() % 1e9);
    const rand = seededRandom(seed);
    const refRun = await copyRun("ref"), refDir = join(root, "runs", refRun);
    const ref = await finish(cli(["train", "--run", refRun]));
    assertEquals(ref.code, 0, ref.text);
    const want = Object.fromEntries(
      await Promise.all(CELLS.map(async (c) => [c, await cellState(refDir, c)] as const)),
    );
    const counts = { aimed: 0, random: 0, killed: 0, finishedFirst: 0 };
    for (let t = 0; t < trials; t++) {
      const run = await copyRun(`t${t}`), runDir = join(root, "runs", run);
      let why: string;
      if (t % 2 === 0) { // aimed: the process kills itself inside a save
        const k = t / 2;
        const at = `${POINTS[k % POINTS.length]}@${STEPS[Math.floor(k / POINTS.length) % 3]}`;
        why = `seed ${seed} trial ${t}: kill in checkpoint at ${at}`;
        const r = await finish(cli(["train", "--run", run], { GLYPHGRAD_KILL_IN_CHECKPOINT: at }));
        assertEquals(r.signal, "SIGKILL", `${why}: ${r.text}`);
        counts.aimed++;
        counts.killed++;
      } else { // random: the parent kills it shortly after a random step line
        const cell = CELLS[Math.floor(rand() * CELLS.length)];
        const step = 1 + Math.floor(rand() * 12), delay = Math.floor(rand() * 40);
        why = `seed ${seed} trial ${t}: kill ${delay} ms after ${cell} step ${step}`;
        const status = await killAtStep(run, cell, step, delay);
        counts.random++;
        if (status.signal === "SIGKILL") counts.killed++;
        else counts.finishedFirst++;
      }
      await checkpointsIntact(runDir, why);
      // what a kill inside any atomic write leaves (the runner's and the train stage's)
      await Deno.writeTextFile(join(runDir, "manifest.json.4242.k1ll.tmp"), "{");
      await Deno.writeTextFile(join(runDir, "tokenize", "vocab.json.4242.k1ll.tmp"), "{");
      const resumed = await finish(cli(["train", "--run", run, "--resume"]));
      assertEquals(resumed.code, 0, `${why}: ${resumed.text}`);
      for (const cell of CELLS) {
        const got = await cellState(runDir, cell);
        assertEquals(got.model, want[cell].model, `${why}: ${cell} model.safetensors`);
        assertEquals(got.optim, want[cell].optim, `${why}: ${cell} optim.safetensors`);
        assertEquals(got.log, want[cell].log, `${why}: ${cell} log.jsonl`);
        assertEquals(got.valLoss, want[cell].valLoss, `${why}: ${cell} validation loss`);
        assertEquals(await leftovers(runDir, cell), ["step-00000012"], `${why}: ${cell}`);
      }
      assertEquals(await temps(runDir), [], why);
      if (trials > 4) console.log(`${why}: resumed bit-identically`);
      await Deno.remove(runDir, { recursive: true });
    }
    assertEquals(counts.aimed + counts.random, trials);
    console.log(`kill and resume: ${JSON.stringify(counts)}, seed ${seed}`);
    assert(counts.killed > 0);
    await Deno.remove(refDir, { recursive: true });
  },
});

Deno.test({
  name: "guard on the command line: the printed --resume --allow-changed advice finishes the run",
  sanitizeResources: false,
  fn: async () => {
    const run = await copyRun("guard"), cell = "trainable-s0";
    const wild = ["--set", "train.lr=1", "--set", "train.warmup=8"]; // diverges near step 6
    const first = await finish(cli([`train/${cell}`, "--run", run, ...wild]));
    assertEquals(first.code, 1, first.text);
    const line = first.text.trim().split("\n").at(-1)!;
    const m = new RegExp(
      "checkpoint \\(step (\\d+)\\) is kept .* rerun the same command with " +
        "(--resume --allow-changed train\\.lr --set train\\.lr=([\\d.]+))\\)$",
    ).exec(line);
    assert(m, line);
    const again = await finish(cli([`train/${cell}`, "--run", run, ...wild, ...m[2].split(" ")]));
    assertEquals(again.code, 0, again.text);
    const dir = join(root, "runs", run, "train", cell);
    const result = JSON.parse(await Deno.readTextFile(join(dir, "result.json")));
    assertEquals([result.resumedFrom, result.steps], [Number(m[1]), 12]);
    const events = (await Deno.readTextFile(join(dir, "log.jsonl"))).split("\n")
      .filter((l) => l.includes('"event"')).map((l) => JSON.parse(l));
    const changed = { "train.lr": { from: 1, to: Number(m[3]) } };
    assertEquals(events, [{ step: Number(m[1]), event: "resume", changed }]);
  },
});

Deno.test("cli: --allow-changed takes optimizer settings only, and only with --resume", async () => {
  const bad = await finish(cli(["train", "--resume", "--allow-changed", "train.batch", "--plan"]));
  assertEquals(bad.code, 1);
  assertEquals(bad.text.trim().split("\n").length, 1, bad.text);
  assert(
    bad.text.startsWith(
      "error: --allow-changed train.batch: not an optimizer setting --resume can change (valid: " +
        "train.lr, train.minLr, train.warmup, train.clip, train.beta1, train.beta2, " +
        "train.weightDecay)",
    ),
    bad.text,
  );
  const alone = await finish(cli(["train", "--allow-changed", "train.lr", "--plan"]));
  assertEquals(alone.code, 1);
  assert(alone.text.includes("--allow-changed only applies with --resume"), alone.text);
});
