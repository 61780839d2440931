// Tests of pipeline configs: the shipped configs load and validate, `--set` overrides parse by
// type, and a bad key or value gives one line naming it and the valid ones.

import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { applySet, CONFIG_NAMES, loadConfig } from "../pipeline/config.ts";

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
