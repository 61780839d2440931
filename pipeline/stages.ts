// The stages of a run, declared as data: name, inputs (stages whose outputs it reads), the
// config slice that decides its output, the files it writes (relative to runs/<run>/), and the
// function that does the work. The runner (runner.ts) orders, fingerprints and skips them.
// The glyph table is built for the tokenizer's vocabulary, so "tokenize" comes before
// "glyphs"/"embed": data -> tokenize -> glyphs -> embed -> train -> eval -> report.

import type { PipelineConfig } from "./config.ts";
import type { Stage, StageContext } from "./runner.ts";
import { buildData, dataSourceFiles } from "./data/build.ts";
import { tokenizeCorpus } from "./data/encode.ts";
import { modelNames, runTrainStage, trainOutputs } from "./train/stage.ts";
import { writeRunReport } from "./run_report.ts";

type C = PipelineConfig;
type Ctx = StageContext<C>;

/**
 * Load another area's module that may not exist yet: a missing file or function gives the
 * one-line "not built yet" error; a module that exists but fails to load reports its error.
 */
export async function optionalModule(
  rel: string,
  stage: string,
  needs: string[],
): Promise<Record<string, (...a: never[]) => unknown>> {
  const url = new URL(rel, import.meta.url);
  const exists = await Deno.stat(url).then(() => true, () => false);
  if (!exists) throw new Error(`${stage}: not built yet (pipeline/${rel.slice(2)} is missing)`);
  const mod = await import(url.href);
  const missing = needs.filter((n) => typeof mod[n] !== "function");
  if (missing.length) {
    throw new Error(
      `${stage}: not built yet (pipeline/${rel.slice(2)} has no ${missing.join(", ")})`,
    );
  }
  return mod;
}

async function readVocabTokens(ctx: Ctx): Promise<string[]> {
  return JSON.parse(await Deno.readTextFile(ctx.path("tokenize/vocab.json"))).tokens;
}

export const STAGES: Stage<C>[] = [
  {
    name: "data",
    version: 1,
    inputs: [],
    params: (cfg) => cfg.data,
    sources: (cfg) => dataSourceFiles(cfg.data),
    outputs: () => ["data/train.txt", "data/val.txt", "data/val.jsonl", "data/sources.json"],
    run: (ctx) => buildData(ctx.cfg.data, ctx.path("data"), ctx.log),
  },
  {
    name: "tokenize",
    version: 1,
    inputs: ["data"],
    params: (cfg) => ({ ...cfg.tokenizer, vocab: cfg.model.vocab }),
    outputs: () => ["tokenize/tokenizer.json", "tokenize/ids.safetensors", "tokenize/vocab.json"],
    run: (ctx) =>
      tokenizeCorpus(
        { ...ctx.cfg.tokenizer, vocab: ctx.cfg.model.vocab },
        ctx.path("data"),
        ctx.path("tokenize"),
        ctx.log,
      ),
  },
  {
    name: "glyphs",
    version: 1,
    inputs: ["tokenize"],
    params: (cfg) => ({ recipe: cfg.embed.recipe, cell: cfg.embed.cell }),
    outputs: () => ["glyphs/report.md", "glyphs/atlas.png"],
    run: async (ctx) => {
      const g = await optionalModule("./glyphs/mod.ts", "glyphs", ["glyphReport"]);
      const tokens = await readVocabTokens(ctx);
      await Deno.mkdir(ctx.path("glyphs"), { recursive: true });
      const out = await (g.glyphReport as (
        t: string[],
        o: Record<string, unknown>,
      ) => Promise<{ markdown: string; atlasPng: Uint8Array }>)(tokens, {
        recipe: ctx.cfg.embed.recipe,
        cell: ctx.cfg.embed.cell,
      });
      await Deno.writeTextFile(ctx.path("glyphs/report.md"), out.markdown);
      await Deno.writeFile(ctx.path("glyphs/atlas.png"), out.atlasPng);
    },
  },
  {
    name: "embed",
    version: 1,
    inputs: ["tokenize"],
    params: (cfg) => ({ ...cfg.embed, dModel: cfg.model.dModel }),
    outputs: () => ["embed/table.safetensors"],
    run: async (ctx) => {
      const g = await optionalModule("./glyphs/mod.ts", "embed", [
        "buildEmbedding",
        "saveEmbedding",
      ]);
      const tokens = await readVocabTokens(ctx);
      await Deno.mkdir(ctx.path("embed"), { recursive: true });
      const emb = await (g.buildEmbedding as (
        t: string[],
        r: string,
        o: Record<string, unknown>,
      ) => Promise<unknown>)(tokens, ctx.cfg.embed.recipe, {
        cell: ctx.cfg.embed.cell,
        dim: ctx.cfg.model.dModel,
      });
      await (g.saveEmbedding as (p: string, e: unknown) => Promise<void>)(
        ctx.path("embed/table.safetensors"),
        emb,
      );
    },
  },
  {
    name: "train",
    version: 1,
    inputs: ["data", "tokenize", "embed"],
    params: (cfg) => ({ model: cfg.model, train: cfg.train }),
    outputs: (cfg) => trainOutputs(cfg.train.seeds),
    run: async (ctx) => {
      const s = await runTrainStage({
        cfg: ctx.cfg,
        runDir: ctx.runDir,
        fingerprint: ctx.fingerprint,
        resume: ctx.resume,
        log: ctx.log,
      });
      return {
        unigramBpc: s.unigramBpc,
        models: s.models.map((m) => ({
          model: m.model,
          valBpc: m.valBpc,
          valLoss: m.valLoss,
          frozenSha256: m.frozenSha256After,
        })),
      };
    },
  },
  {
    name: "eval",
    version: 1,
    inputs: ["data", "train", "glyphs"],
    params: (cfg) => cfg.eval,
    outputs: () => ["eval/results.json", "eval/report.md"],
    run: async (ctx) => {
      const e = await optionalModule("./eval/run.ts", "eval", ["runEval"]);
      const seeds = ctx.cfg.train.seeds;
      await (e.runEval as (o: Record<string, unknown>) => Promise<unknown>)({
        checkpoints: modelNames(seeds).map((m) => ctx.path(`train/${m}`)),
        benches: ctx.cfg.eval.benchmarks,
        out: ctx.path("eval"),
        name: ctx.cfg.run,
        heldOut: [ctx.path("data/val.txt")],
        trainText: [ctx.path("data/train.txt")],
        items: ctx.cfg.eval.items,
        atlas: ctx.path("glyphs/atlas.png"),
        seed: ctx.cfg.train.seed,
        log: ctx.log,
      });
    },
  },
  {
    name: "report",
    version: 1,
    inputs: ["data", "train", "eval"],
    params: () => ({}),
    outputs: () => ["report.md"],
    run: async (ctx) => {
      const path = await writeRunReport(ctx.cfg, ctx.runDir);
      ctx.log(`wrote ${path}`);
    },
  },
];
