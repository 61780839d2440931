// Tests of the study matrix (pipeline/study.ts and its expansion in pipeline/stages.ts): arms
// are parsed and validated against the recipe registry, arms x seeds expand into one train and
// one eval stage per cell with their own parameters (so adding a seed leaves finished cells
// alone), every arm of a seed gets the same seed, hence the same batches and the same initial
// weights of everything but the table.

import { assert, assertEquals } from "./assert.ts";
import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { treeFlatten } from "../core/autodiff.ts";
import type { GPTConfig } from "../core/gpt.ts";
import { loadConfig } from "../pipeline/config.ts";
import { pipelineStages } from "../pipeline/stages.ts";
import { cellSeed, parseArm, studyArms, studyCells } from "../pipeline/study.ts";
import { RECIPE_NAMES } from "../pipeline/glyphs/recipes.ts";
import { initTwin } from "../pipeline/train/loop.ts";
import { mix3, trainBatch } from "../pipeline/train/batches.ts";

setBackend("cpu");

function throwsLine(f: () => unknown, part: string): void {
  let msg = "";
  try {
    f();
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(
    msg.includes(part) && !msg.includes("\n"),
    `expected one line with "${part}", got "${msg}"`,
  );
}

Deno.test("study: arms are trainable, a registered recipe, or import:<file>", () => {
  assertEquals(parseArm("trainable").kind, "trainable");
  for (const r of RECIPE_NAMES) {
    assertEquals(parseArm(r), { spec: r, name: r, kind: "recipe", recipe: r });
  }
  assertEquals(parseArm("import:/x/my table.safetensors").name, "import-my_table");
  throwsLine(
    () => parseArm("frozen"),
    `unknown arm "frozen" (valid: trainable, ${RECIPE_NAMES[0]}`,
  );
  throwsLine(() => parseArm("import:"), "names no file");
  const twice = {
    study: { arms: ["paper", "paper"], seeds: 1 },
    embed: { recipe: "x", import: "" },
  };
  throwsLine(() => studyArms(twice), `"paper" is listed twice`);
  const noSeeds = { study: { arms: [], seeds: 0 }, embed: { recipe: "paper", import: "" } };
  throwsLine(() => studyCells(noSeeds), "study.seeds 0: needs a whole number >= 1");
});

Deno.test("study: an empty arm list is the classic twin (configured table + trainable)", async () => {
  const small = await loadConfig("small");
  assertEquals(studyArms(small).map((a) => a.spec), ["paper", "trainable"]);
  const clean = await loadConfig("small", ["embed.recipe=clean"]);
  assertEquals(studyArms(clean).map((a) => a.spec), ["clean", "trainable"]);
  const imp = await loadConfig("small", ["embed.import=t.safetensors"]);
  assertEquals(studyArms(imp).map((a) => a.spec), ["import:t.safetensors", "trainable"]);
});

Deno.test("study: arms x seeds expand into named stages with per-cell parameters", async () => {
  const cfg = await loadConfig("small", ["study.arms=trainable,paper,random", "study.seeds=2"]);
  const names = pipelineStages(cfg).map((s) => s.name);
  assertEquals(names, [
    "data",
    "tokenize",
    "glyphs",
    "embed/paper",
    "embed/random",
    ...["train", "eval"].flatMap((k) =>
      [0, 1].flatMap((s) => ["trainable", "paper", "random"].map((a) => `${k}/${a}-s${s}`))
    ),
    "eval",
    "report",
  ]);
  const byName = new Map(pipelineStages(cfg).map((s) => [s.name, s]));
  assertEquals(byName.get("train/trainable-s0")!.inputs, ["tokenize"]);
  assertEquals(byName.get("train/paper-s1")!.inputs, ["tokenize", "embed/paper"]);
  assertEquals(byName.get("eval/random-s1")!.inputs, ["data", "train/random-s1"]);
  // each cell's fingerprint parameters are its own: they differ between cells, and a cell's
  // parameters do not depend on how many seeds or which other arms the study has
  const params = (c: typeof cfg, n: string) =>
    JSON.stringify(pipelineStages(c).find((s) => s.name === n)!.params(c));
  const keys = names.filter((n) => n.startsWith("train/")).map((n) => params(cfg, n));
  assertEquals(new Set(keys).size, keys.length);
  const fewer = await loadConfig("small", ["study.arms=paper,trainable", "study.seeds=1"]);
  assertEquals(params(fewer, "train/paper-s0"), params(cfg, "train/paper-s0"));
  assertEquals(params(fewer, "eval/paper-s0"), params(cfg, "eval/paper-s0"));
  assert(params(fewer, "eval") !== params(cfg, "eval"), "the gathering stage follows the matrix");
});

Deno.test("study: every arm of a seed gets the same seed, batches and non-table weights", () => {
  const cfg = {
    study: { arms: ["trainable", "paper", "random"], seeds: 2 },
    embed: { recipe: "paper", import: "" },
  };
  const cells = studyCells(cfg);
  const seeds = cells.map((c) => [c.seedIndex, cellSeed(1337, c)]);
  assertEquals(seeds, [[0, 1337], [0, 1337], [0, 1337], [1, 1338], [1, 1338], [1, 1338]]);
  const ids = Int32Array.from({ length: 500 }, (_, i) => (i * 13) % 31);
  const batches = (seed: number) =>
    [0, 1, 2].map((step) => [...trainBatch(ids, mix3(seed, 0xda7a, 0), step, 4, 8).x].join());
  assertEquals(batches(cellSeed(1337, cells[0])), batches(cellSeed(1337, cells[1])));
  assert(batches(cellSeed(1337, cells[0])).join() !== batches(cellSeed(1337, cells[3])).join());
  const gpt: GPTConfig = {
    vocab: 31,
    dModel: 8,
    layers: 1,
    heads: 2,
    context: 8,
    embedding: "frozen",
    norm: "layernorm",
    dropout: 0,
    mlpRatio: 2,
  };
  const table = (k: number) => ({
    data: Float32Array.from({ length: 31 * 8 }, (_, i) => Math.sin(i * k)),
    rows: 31,
    cols: 8,
  });
  const flat = async (p: unknown) => {
    const out: Record<string, number[]> = {};
    for (const [path, t] of treeFlatten(p)) {
      if (!path.startsWith("wte")) out[path] = [...await t.data()];
    }
    return out;
  };
  const a = initTwin(gpt, 1337, table(1)), b = initTwin(gpt, 1337, table(2));
  const t = initTwin({ ...gpt, embedding: "trainable" }, 1337);
  return (async () => {
    const fa = await flat(a.trainable), fb = await flat(b.trainable), ft = await flat(t.trainable);
    assert(Object.keys(fa).length > 3);
    assertEquals(fa, fb);
    assertEquals(fa, ft);
    const other = await flat(initTwin(gpt, 1338, table(1)).trainable);
    assert(JSON.stringify(other) !== JSON.stringify(fa), "another seed, other weights");
  })();
});
