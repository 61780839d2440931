// Tests of pipeline configs: the shipped configs load and validate, `--set` overrides parse by
// type, and a bad key or value gives one line naming it and the valid ones.

import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import {
  applySet,
  CHOICES,
  CONFIG_NAMES,
  defaultConfig,
  leafKeys,
  loadConfig,
  SCHEMA,
} from "../pipeline/config.ts";
import { RECIPE_NAMES } from "../pipeline/glyphs/recipes.ts";

Deno.test("config: the shipped configs load, are valid and name their run", async () => {
  for (const name of CONFIG_NAMES) {
    const cfg = await loadConfig(name);
    assertEquals(cfg.run, name);
    assert(cfg.train.steps > 0 && cfg.model.dModel % cfg.model.heads === 0);
  }
  const paper = await loadConfig("paper");
  assertEquals(
    [paper.model.layers, paper.model.dModel, paper.model.heads, paper.model.context],
    [16, 1024, 32, 1024],
  );
  assertEquals(paper.tokenizer.variant, "2-3");
});

Deno.test("config: --set overrides parse by the type of the current value", async () => {
  let cfg = await loadConfig("tiny", ["train.steps=2000", "embed.recipe=random"]);
  assertEquals(cfg.train.steps, 2000);
  assertEquals(cfg.embed.recipe, "random");
  cfg = applySet(cfg, "data.sources=kjv,oshb");
  assertEquals(cfg.data.sources, ["kjv", "oshb"]);
  cfg = applySet(cfg, "train.lr=1e-3");
  assertEquals(cfg.train.lr, 0.001);
});

Deno.test("config: a bad key names the key and the valid ones", async () => {
  const cfg = await loadConfig("tiny");
  const e = assertThrows(() => applySet(cfg, "train.stepz=3"), /unknown key "train\.stepz"/);
  assert(e.message.includes("train.steps") && e.message.includes("train.lr"), e.message);
  assertThrows(() => applySet(cfg, "nope=1"), /unknown key "nope" \(valid keys: run, data\./);
  assertThrows(() => applySet(cfg, "train.steps=many"), /"train\.steps" needs a number/);
  assertThrows(() => applySet(cfg, "train.steps"), /expected key=value/);
  await assertRejects(
    () => loadConfig("tiny", ["embed.recipe=fancy"]),
    /"embed\.recipe" is "fancy" \(valid values: paper, paper-max, paper-64, clean, random, binary-id\)/,
  );
});

Deno.test("config: a config file with an unknown key or wrong type is refused", async () => {
  const dir = await Deno.makeTempDir();
  const bad = `${dir}/bad.json`;
  await Deno.writeTextFile(bad, JSON.stringify({ model: { dmodel: 64 } }));
  await assertRejects(() => loadConfig(bad), /unknown key "model\.dmodel" \(valid keys here: /);
  await Deno.writeTextFile(bad, JSON.stringify({ train: { steps: "10" } }));
  await assertRejects(() => loadConfig(bad), /"train\.steps" must be a number/);
  await Deno.writeTextFile(bad, "{ nope");
  await assertRejects(() => loadConfig(bad), /invalid JSON/);
  await assertRejects(() => loadConfig(`${dir}/missing.json`), /file not found/);
  const ok = `${dir}/mine.json`;
  await Deno.writeTextFile(ok, JSON.stringify({ train: { steps: 7 } }));
  const cfg = await loadConfig(ok);
  assertEquals([cfg.run, cfg.train.steps], ["mine", 7]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("config: values out of range are one-line errors naming the key and the range", async () => {
  const cases: [string, RegExp][] = [
    ["train.lr=-1", /--set train\.lr=-1: "train\.lr" must be a number > 0, got -1/],
    ["train.batch=2.5", /"train\.batch" must be a whole number >= 1, got 2\.5/],
    ["train.warmup=-3", /"train\.warmup" must be a whole number >= 0, got -3/],
    ["train.steps=0", /"train\.steps" must be a whole number >= 1, got 0/],
    ["train.steps=0x10", /"train\.steps" needs a number \(decimal, e\.g\. 12\)/],
    ["train.lr=", /"train\.lr" needs a number/],
    ["train.beta2=1", /"train\.beta2" must be a number >= 0 and < 1, got 1/],
    ["model.dropout=1.5", /"model\.dropout" must be a number >= 0 and < 1/],
    [
      "run=../../escape_glyphgrad",
      /"run" is "\.\.\/\.\.\/escape_glyphgrad": must be a folder name/,
    ],
    ["run=a/b", /must be a folder name under runs\//],
    ["data.corpus=notes.md", /"data\.corpus" has "notes\.md" \(use \.txt or \.jsonl files\)/],
  ];
  for (const [set, re] of cases) {
    const e = await assertRejects(() => loadConfig("tiny", [set]), re);
    assert(!e.message.includes("\n"), e.message);
  }
  // the same rules hold for a config file
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ train: { lr: -1 } }));
  await assertRejects(() => loadConfig(`${dir}/bad.json`), /"train\.lr" must be a number > 0/);
  await Deno.remove(dir, { recursive: true });
  const ok = await loadConfig("tiny", ["train.steps=16", "train.lr=3e-4", "run=my-run_2.b"]);
  assertEquals([ok.train.steps, ok.train.lr, ok.run], [16, 3e-4, "my-run_2.b"]);
});

Deno.test("config: SCHEMA covers exactly the keys of the shipped default config", async () => {
  const keys = leafKeys(await defaultConfig()).sort();
  assertEquals(Object.keys(SCHEMA).sort(), keys);
  assertEquals(CHOICES["embed.recipe"], RECIPE_NAMES);
});
