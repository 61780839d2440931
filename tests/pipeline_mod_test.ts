// Tests for the public surfaces pipeline/mod.ts and pipeline/eval/mod.ts: the documented
// functions are exported (and are the very functions of their modules).

import { assertEquals } from "./assert.ts";
import * as pipeline from "../pipeline/mod.ts";
import * as evaluation from "../pipeline/eval/mod.ts";
import { runEval } from "../pipeline/eval/run.ts";
import { runPipeline } from "../pipeline/runner.ts";

Deno.test("pipeline/mod.ts exports the pipeline API", async () => {
  const names = [
    "loadConfig",
    "runPipeline",
    "planPipeline",
    "trainModel",
    "saveCheckpoint",
    "loadCheckpoint",
    "buildData",
  ] as const;
  for (const n of names) assertEquals(typeof pipeline[n], "function", n);
  const stages = pipeline.pipelineStages(await pipeline.loadConfig("small"));
  assertEquals(stages.map((s) => s.name), [
    "data",
    "tokenize",
    "glyphs",
    "embed/paper",
    "train/paper-s0",
    "train/trainable-s0",
    "eval/paper-s0",
    "eval/trainable-s0",
    "eval",
    "report",
  ]);
  assertEquals(pipeline.runPipeline, runPipeline);
  assertEquals(pipeline.evaluation.runEval, runEval);
  assertEquals(typeof pipeline.glyphs.buildEmbedding, "function");
  assertEquals(typeof pipeline.tokenizer.encode, "function");
});

Deno.test("pipeline/eval/mod.ts exports the evaluation API", () => {
  const names = [
    "loadBench",
    "scoreGenerative",
    "scoreLoglik",
    "scoreLoglikLetter",
    "scorePaper",
    "formatMcPrompt",
    "subjectBreakdown",
    "pairedDiffCI",
    "lmMetrics",
    "generate",
    "buildDefinitionItems",
    "buildClozeItems",
    "assertNoOverlap",
    "semanticProbe",
    "loadCheckpointModel",
    "runEval",
    "writeReport",
  ] as const;
  for (const n of names) assertEquals(typeof evaluation[n], "function", n);
  assertEquals(typeof evaluation.plots.lineChartSvg, "function");
  assertEquals(typeof evaluation.plots.svgToPng, "function");
});
