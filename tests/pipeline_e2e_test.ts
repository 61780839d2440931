// The `tiny` pipeline end to end on real data with the real stages (data, tokenizer, glyph
// embedding, training of both twins, evaluation, report), then: a second run does nothing,
// changing one training parameter plans exactly train -> eval -> report, and the manifest
// records every artifact's hash and each source's package, version and licence.

import { assert, assertEquals } from "./assert.ts";
import { loadConfig } from "../pipeline/config.ts";
import { planPipeline, readManifest, runPipeline } from "../pipeline/runner.ts";
import { pipelineStages } from "../pipeline/stages.ts";

const glyphsBuilt = await Deno.stat(new URL("../pipeline/glyphs/embed.ts", import.meta.url))
  .then(() => true, () => false);
const corpusInstalled = await Deno.stat("/usr/share/bibledit/sources/kjv.xml")
  .then(() => true, () => false);
const why = !glyphsBuilt
  ? " (skipped: pipeline/glyphs/embed.ts not built yet)"
  : !corpusInstalled
  ? " (skipped: bibledit-data not installed; run deno task setup)"
  : "";

Deno.test({
  name: `e2e: tiny pipeline trains both twins, evaluates, reports, then is up to date${why}`,
  ignore: why !== "",
  sanitizeResources: false, // the fast CPU backend keeps its worker pool for the process
  sanitizeOps: false,
  fn: async () => {
    const runDir = await Deno.makeTempDir({ prefix: "glyphgrad-e2e-" });
    const cfg = await loadConfig("tiny");
    const STAGES = pipelineStages(cfg);
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    const ran = await runPipeline(STAGES, cfg, runDir, { targets: ["full"], log, quiet: true });
    assertEquals(ran, STAGES.map((s) => s.name));
    const report = await Deno.readTextFile(`${runDir}/report.md`);
    assert(report.includes("character unigram baseline"), "report has the baseline");
    const png = await Deno.readFile(`${runDir}/glyphs/atlas.png`);
    assertEquals([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    assert(report.includes("](eval/atlas.png)"), "report shows the glyph atlas");
    const table = JSON.parse(await Deno.readTextFile(`${runDir}/glyphs/table.json`));
    assert(
      JSON.stringify(table).includes("glyphgrad-2-3-compact sha256:"),
      "table metadata names the tokenizer",
    );
    assert(
      /frozen \[V, d\] table SHA-256 before training `[0-9a-f]{64}`, after `[0-9a-f]{64}`: identical/
        .test(report),
      "report states the frozen table hash",
    );
    const m = await readManifest(runDir, cfg.run);
    const sources =
      (m.stages.data.info as { sources: { package: string; version: string; licence: string }[] })
        .sources;
    assert(sources.length >= 3 && sources.every((s) => s.package && s.version && s.licence));
    for (const rec of Object.values(m.stages)) {
      for (const o of Object.values(rec.outputs)) assert(/^[0-9a-f]{64}$/.test(o.sha256));
    }
    assert(report.indexOf("## Verdict") < report.indexOf("## Training"), "the verdict opens");
    assert(report.includes("One seed cannot decide"), "one seed says it cannot decide");
    assert(report.includes("## Study: arms x seeds"), "report has the study table");
    assert(report.includes("](eval/bpc-curves.png)"), "report shows the curves");
    for (const model of ["clean-s0", "trainable-s0"]) {
      const ck = JSON.parse(await Deno.readTextFile(`${runDir}/train/${model}/config.json`));
      assertEquals(ck.step, cfg.train.steps);
    }

    lines.length = 0;
    assertEquals(await runPipeline(STAGES, cfg, runDir, { targets: ["full"], log }), []);
    assert(lines.some((l) => l.startsWith("everything is up to date")), lines.join("\n"));

    const changed = { ...cfg, train: { ...cfg.train, steps: cfg.train.steps + 1 } };
    const plan = await planPipeline(STAGES, changed, runDir, { targets: ["full"] });
    assertEquals(plan.filter((p) => p.action === "run").map((p) => p.stage), [
      "train/clean-s0",
      "train/trainable-s0",
      "eval/clean-s0",
      "eval/trainable-s0",
      "eval",
      "report",
    ]);
    assert(
      plan.find((p) => p.stage === "train/clean-s0")!.reasons[0]
        .startsWith("param train.steps changed"),
    );
    // a second seed adds its cells and reruns only the gathering stages
    const more = { ...cfg, study: { ...cfg.study, seeds: 2 } };
    const plan2 = await planPipeline(pipelineStages(more), more, runDir, { targets: ["full"] });
    assertEquals(plan2.filter((p) => p.action === "run").map((p) => p.stage), [
      "train/clean-s1",
      "train/trainable-s1",
      "eval/clean-s1",
      "eval/trainable-s1",
      "eval",
      "report",
    ]);
    await Deno.remove(runDir, { recursive: true });
  },
});
