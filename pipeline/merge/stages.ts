// The merge stages of a run (config `merge.experts` non-empty; pipeline/configs/merge-small.json).
// Every expert trains on a subset of the run's sources but with the run's one tokenizer and,
// in a frozen arm, its one frozen table: `merge/data` rebuilds each subset with the data stage's
// own code (the same documents as in the run's split) and encodes it with the run's tokenizer;
// per study cell (every arm, the trainable one being the control), `merge/<cell>/x<i>` trains
// expert i (the train stage with a variant: its data, merge.expertSteps steps),
// `merge/<cell>/ft` writes the merge (merge.json) and fine-tunes it on all the training data
// (ft/merge.json), `merge/<cell>/eval` scores each expert, the merges (logits, logprobs,
// probs) and the fine-tuned merge per language against the study cell itself, the joint model
// trained on all the data (train.steps), and `merge/report` writes the run report's section.

import { join, relative } from "node:path";
import { loadSafetensors, saveSafetensors, writeFileAtomic } from "../../core/safetensors.ts";
import type { PipelineConfig } from "../config.ts";
import { buildData, type SourceRecord } from "../data/build.ts";
import { gptScoringModel, loadCheckpointModel } from "../eval/checkpoint.ts";
import { readGroupedDocs } from "../eval/run.ts";
import { type Cell, cellSeed } from "../study.ts";
import { mix3 } from "../train/batches.ts";
import { encode, loadTokenizer } from "../tokenizer/mod.ts";
import { cellTrainOutputs } from "../train/stage.ts";
import { type ConfigContext, type ConfigStage, trainInStage } from "../stages.ts";
import { finetuneMerge } from "./finetune.ts";
import {
  groupDocs,
  meanRowCosine,
  type ModelLangs,
  PIECE_CHARS,
  pieces,
  scoreLangs,
} from "./langs.ts";
import { loadMergedModel, type MergeSpec, writeMergeSpec } from "./load.ts";
import { normalizeWeights } from "./mixture.ts";
import { mergeReport } from "./report.ts";

type C = PipelineConfig;
type Ctx = ConfigContext;

/** The experts' source lists ("kjv+sblgnt" -> ["kjv", "sblgnt"]). */
export function expertSources(cfg: C): string[][] {
  return cfg.merge.experts.map((e) => e.split("+").map((s) => s.trim()).filter(Boolean));
}

/** The merge weights as numbers summing to 1. */
export function mergeWeights(cfg: C): number[] {
  return normalizeWeights(cfg.merge.weights.map(Number), cfg.merge.experts.length);
}

/** Check the merge section against the data section; one-line errors naming the fix. */
export function checkMerge(cfg: C): void {
  const m = cfg.merge;
  if (!m.experts.length) return;
  if (m.experts.length < 2) {
    throw new Error(`merge.experts: ${m.experts.length} expert; a merge needs 2 or more`);
  }
  if (cfg.data.corpus.length) {
    throw new Error("merge: experts are cut from data.sources; a --corpus run cannot be merged");
  }
  for (const src of expertSources(cfg).flat()) {
    if (!cfg.data.sources.includes(src)) {
      throw new Error(
        `merge.experts: source "${src}" is not in data.sources (${cfg.data.sources.join(", ")})`,
      );
    }
  }
  if (cfg.data.mcShare !== 0) {
    throw new Error(
      "merge: the joint model must see the experts' data only; set data.mcShare to 0 " +
        "(--set data.mcShare=0)",
    );
  }
  if (!Number.isInteger(m.expertSteps) || m.expertSteps < 1) {
    throw new Error(`merge.expertSteps ${m.expertSteps}: needs a whole number >= 1`);
  }
  if (!Number.isInteger(m.finetuneSteps) || m.finetuneSteps < 0) {
    throw new Error(`merge.finetuneSteps ${m.finetuneSteps}: needs a whole number >= 0`);
  }
  mergeWeights(cfg);
}

const dataOut = (i: number) => `merge/data/x${i}`;

function dataStage(cfg: C): ConfigStage {
  const groups = expertSources(cfg);
  return {
    name: "merge/data",
    version: 1,
    inputs: ["data", "tokenize"],
    params: (c) => ({ experts: c.merge.experts, data: c.data }),
    outputs: () =>
      groups.flatMap((_, i) => [`${dataOut(i)}/ids.safetensors`, `${dataOut(i)}/sources.json`]),
    run: async (ctx) => {
      const full: SourceRecord[] = JSON.parse(
        await Deno.readTextFile(ctx.path("data/sources.json")),
      );
      const tok = await loadTokenizer(ctx.path("tokenize/tokenizer.json"));
      const vocab = JSON.parse(await Deno.readTextFile(ctx.path("tokenize/vocab.json")));
      const toModel = new Map<number, number>(
        (vocab.tokenizerIds as number[]).map((t, m) => [t, m]),
      );
      const info = [];
      for (const [i, sources] of groups.entries()) {
        const out = ctx.path(dataOut(i));
        // the data stage's own code on the expert's sources: the same documents, same split
        const { sources: recs } = await buildData({ ...ctx.cfg.data, sources, mcShare: 0 }, out);
        for (const r of recs) {
          const same = full.find((f) => f.name === r.name);
          if (!same || same.trainChars !== r.trainChars || same.trainDocs !== r.trainDocs) {
            throw new Error(
              `merge/data: ${r.name} split differently for expert x${i} than for the run ` +
                "(a bug: please report it)",
            );
          }
        }
        const ids = encode(tok, await Deno.readTextFile(join(out, "train.txt")));
        const model = new Int32Array(ids.length);
        ids.forEach((t, k) => {
          const m = toModel.get(t);
          if (m === undefined) {
            throw new Error(
              `merge/data: token ${t} of expert x${i} is not in the run's vocabulary`,
            );
          }
          model[k] = m;
        });
        await saveSafetensors(join(out, "ids.safetensors"), {
          train: { dtype: "I32", shape: [model.length], data: model },
        });
        info.push({ expert: `x${i}`, sources, trainTokens: model.length });
        ctx.log(`expert x${i} (${sources.join("+")}): ${model.length} training tokens`);
      }
      return { experts: info };
    },
  };
}

const cellDir = (cell: Cell) => `merge/${cell.name}`;

/**
 * Expert i's training seed: its own (independent experts: their own initial weights and data
 * order), derived from the cell's seed so that every arm of a seed index gets the same ones.
 */
export function expertSeed(cfg: C, cell: Cell, i: number): number {
  return mix3(cellSeed(cfg.train.seed, cell), 0xe4e7, i + 1);
}

function expertStage(cell: Cell, i: number): ConfigStage {
  const dir = `${cellDir(cell)}/x${i}`;
  return {
    name: dir,
    version: 1,
    inputs: [
      "tokenize",
      "merge/data",
      ...(cell.arm.kind === "trainable" ? [] : [`embed/${cell.arm.name}`]),
    ],
    params: (cfg) => ({
      model: cfg.model,
      train: { ...cfg.train, steps: cfg.merge.expertSteps },
      arm: cell.arm.spec,
      seed: cell.seedIndex,
      expertSeed: expertSeed(cfg, cell, i),
      expert: expertSources(cfg)[i],
    }),
    outputs: () => cellTrainOutputs(cell.name, dir),
    run: async (ctx) => {
      const { tensors } = await loadSafetensors(ctx.path(`${dataOut(i)}/ids.safetensors`));
      const r = await trainInStage(ctx, cell, {
        name: `${cell.name}-x${i}`,
        dir,
        trainIds: tensors.train.data as Int32Array,
        train: { steps: ctx.cfg.merge.expertSteps },
        seed: expertSeed(ctx.cfg, cell, i),
      });
      return { valLoss: r.valLoss, seconds: r.seconds };
    },
  };
}

function finetuneStage(cell: Cell, n: number): ConfigStage {
  const experts = Array.from({ length: n }, (_, i) => `${cellDir(cell)}/x${i}`);
  return {
    name: `${cellDir(cell)}/ft`,
    version: 1,
    inputs: ["tokenize", ...experts],
    params: (cfg) => ({
      weights: mergeWeights(cfg),
      steps: cfg.merge.finetuneSteps,
      lr: cfg.merge.finetuneLr,
      train: cfg.train,
      seed: cell.seedIndex,
    }),
    outputs: (cfg) => [
      `${cellDir(cell)}/merge.json`,
      ...(cfg.merge.finetuneSteps > 0
        ? [
          `${cellDir(cell)}/ft/merge.json`,
          ...experts.flatMap((_, i) =>
            ["model.safetensors", "optim.safetensors", "config.json", "log.jsonl"].map((f) =>
              `${cellDir(cell)}/ft/x${i}/${f}`
            )
          ),
        ]
        : []),
    ],
    run: async (ctx) => {
      const w = mergeWeights(ctx.cfg);
      const spec = (root: string): MergeSpec => ({
        experts: experts.map((_, i) => ({ checkpoint: ctx.path(`${root}/x${i}`), weight: w[i] })),
        mode: "logits",
      });
      const rel = (file: string) => (p: string) => relative(join(file, ".."), p);
      const base = ctx.path(`${cellDir(cell)}/merge.json`);
      await writeMergeSpec(base, spec(cellDir(cell)), rel(base));
      if (ctx.cfg.merge.finetuneSteps === 0) return { finetuned: false };
      const { tensors } = await loadSafetensors(ctx.path("tokenize/ids.safetensors"));
      const r = await finetuneMerge({
        experts: experts.map((e, i) => ({
          dir: ctx.path(e),
          out: ctx.path(`${cellDir(cell)}/ft/x${i}`),
        })),
        weights: w,
        trainIds: tensors.train.data as Int32Array,
        steps: ctx.cfg.merge.finetuneSteps,
        lr: ctx.cfg.merge.finetuneLr,
        batch: ctx.cfg.train.batch,
        seed: ctx.cfg.train.seed + cell.seedIndex,
        clip: ctx.cfg.train.clip,
        weightDecay: ctx.cfg.train.weightDecay,
        fingerprint: ctx.fingerprint,
        log: ctx.log,
      });
      const ft = ctx.path(`${cellDir(cell)}/ft/merge.json`);
      await writeMergeSpec(ft, spec(`${cellDir(cell)}/ft`), rel(ft));
      return { finetuned: true, firstLoss: r.first, lastLoss: r.last };
    },
  };
}

function evalStage(cell: Cell, n: number): ConfigStage {
  const dir = cellDir(cell);
  return {
    name: `${dir}/eval`,
    version: 1,
    inputs: ["data", `${dir}/ft`, `train/${cell.name}`],
    params: () => ({ modes: ["logits", "probs"], pieceChars: PIECE_CHARS, swap: true }),
    outputs: () => [`${dir}/langs.json`],
    run: async (ctx: Ctx) => {
      const groups = pieces(groupDocs(await readGroupedDocs(ctx.path("data/val.jsonl"))));
      const allow = cell.arm.kind === "trainable"; // the control: merged anyway, with the warning
      const out: ModelLangs[] = [];
      const warnings: string[] = [];
      const score = async (
        name: string,
        kind: string,
        load: () => Promise<Parameters<typeof scoreLangs>[0]>,
        mode?: string,
      ) => {
        const t0 = performance.now();
        const m = await load();
        out.push({ name, kind, ...(mode ? { mode } : {}), langs: await scoreLangs(m, groups) });
        ctx.log(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      };
      const experts = Array.from({ length: n }, (_, i) => ctx.path(`${dir}/x${i}`));
      for (const [i, e] of experts.entries()) {
        await score(`x${i}`, "expert", () => loadCheckpointModel(e));
      }
      const w = mergeWeights(ctx.cfg);
      const merged = (root: string, mode: string) => () =>
        loadMergedModel({
          experts: experts.map((_, i) => ({ checkpoint: ctx.path(`${root}/x${i}`), weight: w[i] })),
          mode: mode as MergeSpec["mode"],
        }, { allowTrainable: allow, log: (l) => warnings.push(l) });
      // "logprobs" is the same distribution as "logits" (mean of z - lse(z) differs from the
      // mean of z by a constant per position), so the pipeline scores logits and probs
      for (const mode of ["logits", "probs"]) {
        await score(`merge (${mode})`, "merge", merged(dir, mode), mode);
      }
      if (ctx.cfg.merge.finetuneSteps > 0) {
        await score(
          "merge (logits), fine-tuned",
          "merge-ft",
          merged(`${dir}/ft`, "logits"),
          "logits",
        );
      }
      await score("joint", "joint", () => loadCheckpointModel(ctx.path(`train/${cell.name}`)));
      // expert x0's blocks and head reading expert x1's input table: the same model when the
      // table is one frozen substrate, a model fed vectors it never saw when each learned its own
      await score("x0 on x1's input table", "swap", async () => {
        const a = await loadCheckpointModel(experts[0]), b = await loadCheckpointModel(experts[1]);
        const params = { ...a.params, wte: b.params.wte };
        return { ...a, params, model: gptScoringModel(params, a.cfg) };
      });
      // the input spaces: the same token's rows of the experts' tables
      const tables = [];
      for (const e of experts) {
        const { tensors } = await loadSafetensors(join(e, "model.safetensors"));
        tables.push(tensors.wte.data as Float32Array);
      }
      const inputCosine = meanRowCosine(tables[0], tables[1], ctx.cfg.model.dModel);
      await writeFileAtomic(
        ctx.path(`${dir}/langs.json`),
        JSON.stringify({
          cell: cell.name,
          arm: cell.arm.spec,
          warnings: [...new Set(warnings)],
          inputCosine,
          models: out,
        }) + "\n",
      );
    },
  };
}

/** The merge stages of a config ([] when merge.experts is empty). */
export function mergeStages(cfg: C, cells: Cell[]): ConfigStage[] {
  checkMerge(cfg);
  const n = cfg.merge.experts.length;
  if (n === 0) return [];
  return [
    dataStage(cfg),
    ...cells.flatMap((c) => Array.from({ length: n }, (_, i) => expertStage(c, i))),
    ...cells.map((c) => finetuneStage(c, n)),
    ...cells.map((c) => evalStage(c, n)),
    {
      name: "merge/report",
      version: 1,
      inputs: ["data", ...cells.map((c) => `${cellDir(c)}/eval`)],
      params: () => ({ cells: cells.map((c) => c.name) }),
      outputs: () => ["merge/report.md", "merge/report.json"],
      run: async (ctx) => {
        const { md, json } = await mergeReport(ctx.runDir, cells, ctx.cfg);
        await writeFileAtomic(ctx.path("merge/report.json"), JSON.stringify(json, null, 1) + "\n");
        await writeFileAtomic(ctx.path("merge/report.md"), md);
        ctx.log(`wrote ${ctx.path("merge/report.md")}`);
      },
    },
  ];
}
