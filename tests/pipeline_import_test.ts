// Tests for embed.import: the frozen twin's table taken from a [V, D] safetensors file made
// elsewhere (copied as is into embed/), and one-line errors when its size does not match.

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { loadConfig } from "../pipeline/config.ts";
import { runPipeline } from "../pipeline/runner.ts";
import { checkImportedTable, pipelineStages } from "../pipeline/stages.ts";
import { loadSafetensors, saveSafetensors } from "../core/safetensors.ts";

const haveData = await Deno.stat("/usr/share/bibledit/sources/kjv.xml").then(
  () => true,
  () => false,
);

Deno.test("checkImportedTable: rows and columns must match vocabulary and d_model", async () => {
  const cfg = await loadConfig("tiny");
  const want = { rows: 10, dModel: cfg.model.dModel, mode: cfg.model.vocab, vocabFile: "v.json" };
  checkImportedTable("t.safetensors", { rows: 10, cols: cfg.model.dModel }, want);
  let msg = "";
  try {
    checkImportedTable("t.safetensors", { rows: 9, cols: cfg.model.dModel }, want);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("9 rows but the vocabulary has 10 ids") && !msg.includes("\n"), msg);
  try {
    checkImportedTable("t.safetensors", { rows: 10, cols: 7 }, want);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes(`7 columns but model.dModel is ${cfg.model.dModel}`), msg);
});

Deno.test({
  name: `embed.import: the embed stage copies an external table${
    haveData ? "" : " (skipped: bibledit-data not installed; run deno task setup)"
  }`,
  ignore: !haveData,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const runDir = await Deno.makeTempDir({ prefix: "glyphgrad-import-" });
    const base = await loadConfig("tiny");
    await runPipeline(pipelineStages(base), base, runDir, {
      targets: ["tokenize"],
      log: () => {},
      quiet: true,
    });
    const vocab = JSON.parse(await Deno.readTextFile(`${runDir}/tokenize/vocab.json`)).tokens;
    const V = vocab.length, D = base.model.dModel;
    const data = Float32Array.from({ length: V * D }, (_, i) => Math.sin(i));
    const good = `${runDir}/ext.safetensors`;
    await saveSafetensors(good, { weight: { dtype: "F32", shape: [V, D], data } });
    const cfg = await loadConfig("tiny", [`embed.import=${good}`]);
    await runPipeline(pipelineStages(cfg), cfg, runDir, {
      targets: ["embed"],
      log: () => {},
      quiet: true,
    });
    const { tensors } = await loadSafetensors(`${runDir}/embed/import-ext/table.safetensors`);
    assertEquals(tensors.embedding.shape, [V, D]);
    assertEquals([...(tensors.embedding.data as Float32Array)], [...data]);

    const bad = `${runDir}/bad.safetensors`;
    const short = data.subarray(0, (V - 1) * D);
    await saveSafetensors(bad, { weight: { dtype: "F32", shape: [V - 1, D], data: short } });
    const badCfg = await loadConfig("tiny", [`embed.import=${bad}`]);
    await assertRejects(
      () =>
        runPipeline(pipelineStages(badCfg), badCfg, runDir, {
          targets: ["embed"],
          log: () => {},
          quiet: true,
        }),
      `${V - 1} rows but the vocabulary has ${V} ids`,
    );
    await Deno.remove(runDir, { recursive: true });
  },
});
