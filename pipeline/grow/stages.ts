// The grow stages of a run (config `grow.blocks` = N > 0; pipeline/configs/grow-small.json).
// For each frozen-arm cell of the study: `grow/<cell>/b1` trains a 1-block model, then
// `grow/<cell>/bk` adds block k on the frozen k-1-block parent (pipeline/grow/init.ts), each on
// train.steps / N steps of the cell's data order; `grow/<cell>/eval` evaluates b1..bN and the
// jointly trained N-block study cell (train/<cell>, model.layers = N, train.steps steps: the
// same number of tokens) side by side with the eval stage's body; `grow/report` writes the
// section of the run report. Training reuses the train stage (trainCell with a variant), so
// fingerprints, --plan and --resume work as for any cell.

import { join } from "node:path";
import { writeFileAtomic } from "../../core/safetensors.ts";
import type { PipelineConfig } from "../config.ts";
import {
  type ConfigContext,
  type ConfigStage,
  evalCheckpoints,
  type EvalParams,
  trainInStage,
} from "../stages.ts";
import type { Cell } from "../study.ts";
import { cellTrainOutputs } from "../train/stage.ts";
import { frozenBlocksIdentical, growFromParent } from "./init.ts";
import { growReport } from "./report.ts";

type C = PipelineConfig;
type Ctx = ConfigContext;

/** Steps of each grow stage: train.steps / blocks (a whole number; else a one-line error). */
export function stepsPerStage(cfg: C): number {
  const n = cfg.grow.blocks, s = cfg.train.steps / n;
  if (!Number.isInteger(s) || s < 1) {
    throw new Error(
      `grow.blocks ${n}: train.steps ${cfg.train.steps} must be a multiple of it ` +
        `(each grown block trains train.steps / ${n} steps; e.g. --set train.steps=${n * 100})`,
    );
  }
  return s;
}

/** Check the grow section: blocks a whole number, model.layers = blocks, frozen arms only. */
export function checkGrow(cfg: C, cells: Cell[]): void {
  const n = cfg.grow.blocks;
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`grow.blocks ${n}: needs a whole number (0 = off, N = grow to N blocks)`);
  }
  if (n === 0) return;
  if (cfg.model.layers !== n) {
    throw new Error(
      `grow.blocks ${n}: model.layers is ${cfg.model.layers}; the jointly trained comparison ` +
        `has the grown model's size (--set model.layers=${n})`,
    );
  }
  if (!cells.some((c) => c.arm.kind !== "trainable")) {
    throw new Error("grow: no frozen arm in study.arms (growing needs a frozen input table)");
  }
  stepsPerStage(cfg);
}

const dirOf = (cell: string, k: number) => `grow/${cell}/b${k}`;

function growTrainStage(cell: Cell, k: number, steps: number): ConfigStage {
  const dir = dirOf(cell.name, k);
  return {
    name: dir,
    version: 1,
    inputs: ["tokenize", `embed/${cell.arm.name}`, ...(k > 1 ? [dirOf(cell.name, k - 1)] : [])],
    params: (cfg) => ({
      model: { ...cfg.model, layers: k },
      train: { ...cfg.train, steps },
      arm: cell.arm.spec,
      seed: cell.seedIndex,
      grow: { block: k, parentInit: "frozen blocks + table, parent's lnf and head" },
    }),
    outputs: () => [
      ...cellTrainOutputs(cell.name, dir),
      ...(k > 1 ? [`${dir}/frozen_check.json`] : []),
    ],
    run: async (ctx) => {
      const r = await trainInStage(ctx, cell, {
        name: `${cell.name}-b${k}`,
        dir,
        layers: k,
        train: { steps },
        init: k === 1 ? undefined : (gpt, table) =>
          growFromParent(
            ctx.path(dirOf(cell.name, k - 1)),
            ctx.path(dir),
            gpt,
            ctx.cfg.train.seed + cell.seedIndex,
            table,
          ),
      });
      if (k === 1) return { valLoss: r.valLoss, seconds: r.seconds };
      const check = await frozenBlocksIdentical(ctx.path(dir), ctx.path(dirOf(cell.name, k - 1)));
      if (check.differing.length || check.frozenWithOptimizerState.length) {
        throw new Error(
          `grow ${dir}: frozen tensors changed (${check.differing.join(", ")}) or have optimizer ` +
            `state (${check.frozenWithOptimizerState.join(", ")}) (a bug: please report it)`,
        );
      }
      await writeFileAtomic(ctx.path(`${dir}/frozen_check.json`), JSON.stringify(check) + "\n");
      ctx.log(`${dir}: ${check.tensors} frozen tensors bit-identical to the parent's`);
      return { valLoss: r.valLoss, seconds: r.seconds, frozenTensorsIdentical: check.tensors };
    },
  };
}

function growEvalStage(cell: Cell, n: number): ConfigStage {
  const models = [
    ...Array.from({ length: n }, (_, i) => dirOf(cell.name, i + 1)),
    `train/${cell.name}`,
  ];
  return {
    name: `grow/${cell.name}/eval`,
    version: 1,
    inputs: ["data", ...models],
    params: (cfg) => ({ ...cfg.eval, seed: cfg.train.seed }),
    outputs: () => [`grow/${cell.name}/eval/results.json`, `grow/${cell.name}/eval/report.md`],
    run: (ctx: Ctx, p) =>
      evalCheckpoints(ctx, p as EvalParams, models, `grow/${cell.name}/eval`, `grow-${cell.name}`),
  };
}

/** The grow stages of a config ([] when grow.blocks is 0). */
export function growStages(cfg: C, cells: Cell[]): ConfigStage[] {
  checkGrow(cfg, cells);
  const n = cfg.grow.blocks;
  if (n === 0) return [];
  const steps = stepsPerStage(cfg);
  const grown = cells.filter((c) => c.arm.kind !== "trainable");
  return [
    ...grown.flatMap((c) => Array.from({ length: n }, (_, i) => growTrainStage(c, i + 1, steps))),
    ...grown.map((c) => growEvalStage(c, n)),
    {
      name: "grow/report",
      version: 2, // 2: the generative protocol's no-letter shares
      inputs: grown.map((c) => `grow/${c.name}/eval`),
      params: () => ({ blocks: n, steps, cells: grown.map((c) => c.name) }),
      outputs: () => ["grow/report.md", "grow/report.json"],
      run: async (ctx) => {
        const { md, json } = await growReport(ctx.runDir, grown, n, steps, ctx.cfg);
        await writeFileAtomic(ctx.path("grow/report.json"), JSON.stringify(json, null, 1) + "\n");
        await writeFileAtomic(ctx.path("grow/report.md"), md);
        ctx.log(`wrote ${join(ctx.runDir, "grow/report.md")}`);
      },
    },
  ];
}
