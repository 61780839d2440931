// The stages of a run, declared as data: name, inputs (stages whose files it reads), the config
// slice that decides its output (`params`: fingerprinted, and the only settings `run` gets), the
// files it writes (relative to runs/<run>/), and the function that does the work. The runner
// (runner.ts) orders, fingerprints and skips them; each stage's body lives with its area.
//
//   data -> tokenize -> glyphs              (glyphs/stage.ts: table, report, atlas)
//                    -> embed/<arm>          (glyphs/stage.ts: one frozen arm's table)
//                    -> train/<arm>-s<k>     (train/stage.ts: one cell of the study)
//           data, train/<cell> -> eval/<cell>        (eval/run.ts)
//           glyphs, every cell -> eval -> report     (study_stage.ts, run_report.ts)
//
// The study matrix (pipeline/study.ts) expands the graph: one `embed/<arm>` per frozen arm, one
// `train/<arm>-s<k>` and `eval/<arm>-s<k>` per cell (each fingerprinted on its own, so a
// finished cell never reruns). `pipelineStages(cfg)` builds the graph of a config.

import type { PipelineConfig } from "./config.ts";
import type { Stage, StageContext } from "./runner.ts";
import { buildData, dataSourceFiles } from "./data/build.ts";
import { tokenizeCorpus, type TokenizeParams } from "./data/encode.ts";
import { cellTrainOutputs, trainCell } from "./train/stage.ts";
import { runEval } from "./eval/run.ts";
import { runReportParams, writeRunReport } from "./run_report.ts";
import { type Cell, frozenArms, studyArms, studyCells } from "./study.ts";
import { studyParams, writeStudy } from "./study_stage.ts";
import { embedStage, glyphsStage } from "./glyphs/stage.ts";
import type { CellVariant } from "./train/stage.ts";
import { growStages } from "./grow/stages.ts";
import { mergeStages } from "./merge/stages.ts";

type C = PipelineConfig;
export { checkImportedTable } from "./glyphs/stage.ts";

/**
 * The tokenize stage's parameters; the bvv241 keys appear only when that layout is chosen, so
 * runs made before they existed keep their fingerprints.
 */
function tokenizeParams(cfg: C): TokenizeParams {
  const { layout, ngrams, sharedTokens, ...rest } = cfg.tokenizer;
  const bvv = layout === "bvv241" ? { layout, ngrams, sharedTokens } : {};
  return { ...rest, ...bvv, vocab: cfg.model.vocab };
}

/** The author's list files a bvv241 run reads (checked here for a one-line error). */
async function bvv241Lists(cfg: C): Promise<string[]> {
  const t = cfg.tokenizer;
  if (t.layout !== "bvv241") return [];
  const files: [string, string][] = [["tokenizer.ngrams", t.ngrams]];
  if (t.sharedTokens) files.push(["tokenizer.sharedTokens", t.sharedTokens]);
  for (const [key, path] of files) {
    const ok = await Deno.stat(path).then((s) => s.isFile, () => false);
    if (!ok) {
      throw new Error(
        `${key} ${path}: file not found; point it at the author's list (AVBochkov/PGT on GitHub)`,
      );
    }
  }
  return files.map(([, path]) => path);
}

const dataParams = (cfg: C) => ({ ...cfg.data, benchmarks: cfg.eval.benchmarks });

const dataStage: Stage<C, ReturnType<typeof dataParams>> = {
  name: "data",
  version: 1,
  inputs: [],
  params: dataParams,
  sources: (cfg) => dataSourceFiles(dataParams(cfg)),
  outputs: () =>
    ["train.txt", "val.txt", "val.jsonl", "mc_mix.txt", "sources.json"]
      .map((f) => `data/${f}`),
  run: (ctx, p) => buildData(p, ctx.path("data"), ctx.log),
};

const tokenizeStage: Stage<C, TokenizeParams> = {
  name: "tokenize",
  version: 2, // 2: compact vocabularies add the merge closure
  inputs: ["data"],
  params: tokenizeParams,
  sources: bvv241Lists, // the author's lists are hashed by content: a changed list reruns
  outputs: () => ["tokenizer.json", "ids.safetensors", "vocab.json"].map((f) => `tokenize/${f}`),
  run: (ctx, p) => tokenizeCorpus(p, ctx.path("data"), ctx.path("tokenize"), ctx.log),
};

/** Training of one cell: the same seed for every arm of a seed index. */
function trainStage(
  cell: Cell,
): Stage<C, Pick<C, "model" | "train"> & { arm: string; seed: number }> {
  return {
    name: `train/${cell.name}`,
    version: 2,
    inputs: ["tokenize", ...(cell.arm.kind === "trainable" ? [] : [`embed/${cell.arm.name}`])],
    params: (cfg) => ({
      model: cfg.model,
      train: cfg.train,
      arm: cell.arm.spec,
      seed: cell.seedIndex,
    }),
    outputs: () => cellTrainOutputs(cell.name),
    run: async (ctx, p) => {
      const r = await trainCell({
        ...ctx,
        settings: p,
        cell,
        fingerprintOf: (train) => ctx.fingerprintFor({ ...p, train }),
      });
      return { valLoss: r.valLoss, seconds: r.seconds, frozenSha256: r.frozenSha256After };
    },
  };
}

/**
 * The context of a stage written against the whole config (pipeline/grow, pipeline/merge): it
 * fingerprints all of it (so it reruns on any change, never on a stale slice) and gets it here.
 */
export type ConfigContext = StageContext & { cfg: C };

/** A stage whose `run` reads the whole config (see withConfig). */
export type ConfigStage<P = unknown> = Omit<Stage<C, P>, "run"> & {
  run: (ctx: ConfigContext, p: P) => Promise<void | Record<string, unknown>>;
};

/** Wrap such a stage: its params carry the whole config, handed to `run` as `ctx.cfg`. */
function withConfig<P>(s: ConfigStage<P>): Stage<C, { own: P; cfg: C }> {
  return {
    ...s,
    params: (cfg) => ({ own: s.params(cfg), cfg }),
    run: (ctx, p) => s.run({ ...ctx, cfg: p.cfg }, p.own),
  };
}

/** Train a cell, or a variant of it (pipeline/grow, pipeline/merge), inside a stage. */
export function trainInStage(ctx: ConfigContext, cell: Cell, variant?: CellVariant) {
  return trainCell({
    ...ctx,
    settings: { model: ctx.cfg.model, train: ctx.cfg.train },
    cell,
    variant,
  });
}

/** The eval stage's settings: the config's eval section and the run's seed. */
export type EvalParams = C["eval"] & { seed: number };

/** The eval stage's work on checkpoints (run-relative) side by side, into `out`. */
export async function evalCheckpoints(
  ctx: StageContext,
  p: EvalParams,
  checkpoints: string[],
  out: string,
  name: string,
): Promise<void> {
  await runEval({
    checkpoints: checkpoints.map((c) => ctx.path(c)),
    benches: p.benchmarks,
    out: ctx.path(out),
    name,
    heldOut: [ctx.path("data/val.txt")],
    clozeFrom: [ctx.path("data/val.jsonl")],
    trainText: [ctx.path("data/train.txt")],
    items: p.items,
    limit: p.limit,
    probe: p.probe,
    seed: p.seed,
    log: ctx.log,
  });
}

/** Evaluation of one cell into eval/<cell>/ (the same items for every cell). */
function evalStage(cell: Cell): Stage<C, EvalParams> {
  return {
    name: `eval/${cell.name}`,
    version: 3,
    inputs: ["data", `train/${cell.name}`],
    params: (cfg) => ({ ...cfg.eval, seed: cfg.train.seed }),
    outputs: () => [`eval/${cell.name}/results.json`, `eval/${cell.name}/report.md`],
    run: (ctx, p) =>
      evalCheckpoints(ctx, p, [`train/${cell.name}`], `eval/${cell.name}`, cell.name),
  };
}

/** Every stage of a config's run, the study matrix expanded; validates the arms and seeds. */
export function pipelineStages(cfg: C): Stage<C>[] {
  const cells = studyCells(cfg), arms = studyArms(cfg);
  // growing and merging (pipeline/grow, pipeline/merge): their stages and report inputs
  const compose = [...growStages(cfg, cells), ...mergeStages(cfg, cells)].map(withConfig);
  const composeReports = compose.filter((s) => s.name.endsWith("/report")).map((s) => s.name);
  const perCell = (group: string) => cells.map((c) => `${group}/${c.name}`);
  const gather: Stage<C, ReturnType<typeof studyParams>> = {
    name: "eval",
    version: 4, // 4: params carry the run's name and scale (the report's text)
    inputs: ["glyphs", ...perCell("train"), ...perCell("eval")], // glyphs: the atlas
    params: (cfg) => studyParams(cfg, arms),
    outputs: () =>
      ["results.json", "report.md", "study.json", "study.md", "bpc-curves.svg", "bpc-curves.png"]
        .map((f) => `eval/${f}`),
    run: async (ctx, p) => {
      await writeStudy(p, ctx.runDir, cells, arms);
      ctx.log(`wrote ${ctx.path("eval/study.md")}`);
    },
  };
  const report: Stage<C, ReturnType<typeof runReportParams>> = {
    name: "report",
    version: 4, // 4: params carry what the report says of the config
    inputs: [
      "data",
      "tokenize",
      ...perCell("train"),
      ...perCell("eval"),
      "eval",
      ...composeReports,
    ],
    params: runReportParams,
    outputs: () => ["report.md"],
    run: async (ctx, p) => ctx.log(`wrote ${await writeRunReport(p, ctx.runDir, cells)}`),
  };
  return [
    dataStage,
    tokenizeStage,
    glyphsStage,
    ...frozenArms(cfg).map(embedStage),
    ...cells.map(trainStage),
    ...cells.map(evalStage),
    gather,
    report,
    ...compose,
  ];
}
