// The stages of a run, declared as data: name, inputs (stages whose outputs it reads), the
// config slice that decides its output, the files it writes (relative to runs/<run>/), and the
// function that does the work. The runner (runner.ts) orders, fingerprints and skips them.
// The glyph table is built for the tokenizer's vocabulary, so "tokenize" comes before
// "glyphs"/"embed": data -> tokenize -> glyphs -> embed -> train -> eval -> report.
// The study matrix (pipeline/study.ts) expands the graph: one `embed/<arm>` stage per frozen
// arm, one `train/<arm>-s<k>` and `eval/<arm>-s<k>` stage per cell (each fingerprinted on its
// own, so a finished cell never reruns), and `eval` gathers the cells into the study's
// statistics, verdict and curves. `pipelineStages(cfg)` builds the graph of a config.

import { writeFileAtomic } from "../core/safetensors.ts";
import type { PipelineConfig } from "./config.ts";
import type { Stage, StageContext } from "./runner.ts";
import { buildData, dataSourceFiles } from "./data/build.ts";
import { tokenizeCorpus } from "./data/encode.ts";
import { armTablePath, cellTrainOutputs, type CellVariant, trainCell } from "./train/stage.ts";
import { writeRunReport } from "./run_report.ts";
import { type Arm, type Cell, frozenArms, studyArms, studyCells } from "./study.ts";
import { writeStudy } from "./study_stage.ts";
import { sha256File } from "./hash.ts";
import { atlasSelection } from "./glyphs/atlas_select.ts";
import { isPictureRecipe, type RecipeName } from "./glyphs/recipes.ts";
import { growStages } from "./grow/stages.ts";
import { mergeStages } from "./merge/stages.ts";

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

/** The glyph embedding API of pipeline/glyphs/embed.ts, as the pipeline uses it. */
interface GlyphApi {
  writeAtlasPng(
    path: string,
    tokens: string[],
    ids: number[],
    recipe: string,
    opts: { cell: number },
  ): Promise<void>;
  buildEmbedding(
    tokens: string[],
    recipe: string,
    opts: { cell: number; dim?: number; tokenizerId: string },
  ): Promise<{ rows: number; cols: number; meta: GlyphMeta }>;
  saveEmbedding(path: string, emb: unknown): Promise<unknown>;
  loadEmbedding(path: string): Promise<{ rows: number; cols: number; meta: GlyphMeta }>;
}

interface GlyphMeta {
  recipe: string;
  rows: number;
  cols: number;
  duplicateRows: number;
  contentHash: string;
  explainedVariance?: number;
  markedPictures?: number;
  fonts: { file: string; sha256: string }[];
  seconds: Record<string, number>;
}

/** The fonts the glyph pictures are drawn from (hashed into the glyphs stage fingerprint). */
const GLYPH_FONTS = [
  "/usr/share/fonts/opentype/unifont/unifont.otf",
  "/usr/share/fonts/opentype/unifont/unifont_upper.otf",
];

async function glyphModule(stage: string): Promise<GlyphApi> {
  const g = await optionalModule("./glyphs/mod.ts", stage, [
    "buildEmbedding",
    "saveEmbedding",
    "loadEmbedding",
    "writeAtlasPng",
  ]);
  return g as unknown as GlyphApi;
}

/** A short Markdown note on the glyph table: size, collisions, fonts. */
export function glyphReport(tokens: string[], m: GlyphMeta): string {
  const lines = [
    `# Glyph table (${m.recipe})`,
    "",
    `- ${m.rows} tokens x ${m.cols} dimensions; content SHA-256 \`${m.contentHash}\``,
    `- rows identical to an earlier row (collisions): ${m.duplicateRows}`,
    ...(m.markedPictures !== undefined
      ? [`- pictures given a distinguishing mark: ${m.markedPictures}`]
      : []),
    ...(m.explainedVariance !== undefined
      ? [`- PCA variance kept: ${(100 * m.explainedVariance).toFixed(2)}%`]
      : []),
    `- multi-character tokens: ${tokens.filter((t) => [...t].length > 1).length}`,
    ...m.fonts.map((f) => `- font ${f.file} (SHA-256 \`${f.sha256}\`)`),
    "",
  ];
  return lines.join("\n");
}

/** Names the run's tokenizer in the table metadata: layout, vocabulary mode, file hash. */
async function tokenizerId(ctx: Ctx): Promise<string> {
  const sha = await sha256File(ctx.path("tokenize/tokenizer.json"));
  const t = ctx.cfg.tokenizer;
  return `${t.layout === "bvv241" ? "bvv241" : "glyphgrad"}-${t.variant}-${ctx.cfg.model.vocab} ` +
    `sha256:${sha.slice(0, 16)}`;
}

/**
 * An imported table must have one row per model id and model.dModel columns; otherwise a
 * one-line error naming both sizes and the fix.
 */
export function checkImportedTable(
  path: string,
  t: { rows: number; cols: number },
  vocab: number,
  cfg: C,
): void {
  if (t.rows !== vocab) {
    const other = cfg.model.vocab === "compact" ? "full" : "compact";
    throw new Error(
      `embed.import ${path}: ${t.rows} rows but the vocabulary has ${vocab} ids ` +
        `(model.vocab ${cfg.model.vocab}; make the table for runs/${cfg.run}/tokenize/vocab.json ` +
        `or try --set model.vocab=${other})`,
    );
  }
  if (t.cols !== cfg.model.dModel) {
    throw new Error(
      `embed.import ${path}: ${t.cols} columns but model.dModel is ${cfg.model.dModel} ` +
        `(use --set model.dModel=${t.cols} or a table of width ${cfg.model.dModel})`,
    );
  }
}

/**
 * The tokenize stage's parameters; the bvv241 keys appear only when that layout is chosen, so
 * runs made before they existed keep their fingerprints.
 */
function tokenizeParams(cfg: C): Record<string, unknown> {
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

async function readVocabTokens(ctx: Ctx): Promise<string[]> {
  return JSON.parse(await Deno.readTextFile(ctx.path("tokenize/vocab.json"))).tokens;
}

/** The stages before the study matrix: data, tokenize, glyphs (shared by every cell). */
const BASE_STAGES: Stage<C>[] = [
  {
    name: "data",
    version: 1,
    inputs: [],
    params: (cfg) => ({ ...cfg.data, benchmarks: cfg.eval.benchmarks }),
    sources: (cfg) => dataSourceFiles({ ...cfg.data, benchmarks: cfg.eval.benchmarks }),
    outputs: () => [
      "data/train.txt",
      "data/val.txt",
      "data/val.jsonl",
      "data/mc_mix.txt",
      "data/sources.json",
    ],
    run: (ctx) =>
      buildData(
        { ...ctx.cfg.data, benchmarks: ctx.cfg.eval.benchmarks },
        ctx.path("data"),
        ctx.log,
      ),
  },
  {
    name: "tokenize",
    version: 2, // 2: compact vocabularies add the merge closure
    inputs: ["data"],
    params: (cfg) => tokenizeParams(cfg),
    // the author's lists are hashed by content: a changed list reruns the stage
    sources: (cfg) => bvv241Lists(cfg),
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
    version: 2,
    inputs: ["tokenize"],
    params: (cfg) => ({ recipe: cfg.embed.recipe, cell: cfg.embed.cell }),
    sources: () => GLYPH_FONTS,
    outputs: () => [
      "glyphs/table.safetensors",
      "glyphs/table.json",
      "glyphs/report.md",
      "glyphs/atlas.png",
    ],
    run: async (ctx) => {
      const g = await glyphModule("glyphs");
      const tokens = await readVocabTokens(ctx);
      const emb = await g.buildEmbedding(tokens, ctx.cfg.embed.recipe, {
        cell: ctx.cfg.embed.cell,
        tokenizerId: await tokenizerId(ctx),
      });
      await Deno.mkdir(ctx.path("glyphs"), { recursive: true });
      await g.saveEmbedding(ctx.path("glyphs/table.safetensors"), emb);
      const md = glyphReport(tokens, emb.meta);
      await writeFileAtomic(ctx.path("glyphs/report.md"), md);
      // the atlas shows pictures as the recipe draws them (clean pictures for the recipes
      // that draw none: random, binary-id)
      const r: string = ctx.cfg.embed.recipe;
      const ids = atlasSelection(tokens);
      await g.writeAtlasPng(
        ctx.path("glyphs/atlas.png"),
        tokens,
        ids,
        r === "random" || r === "binary-id" ? "clean" : r,
        {
          cell: ctx.cfg.embed.cell,
        },
      );
      ctx.log(
        `${emb.rows} x ${emb.cols} table (${emb.meta.recipe}), ` +
          `${emb.meta.duplicateRows} duplicate rows`,
      );
      return { duplicateRows: emb.meta.duplicateRows, contentHash: emb.meta.contentHash };
    },
  },
];

/** The embed stage of one frozen arm: its [V, d_model] table in embed/<arm>/. */
function embedStage(arm: Arm): Stage<C> {
  const out = armTablePath(arm);
  return {
    name: `embed/${arm.name}`,
    version: 2,
    inputs: ["tokenize"],
    params: (cfg) => ({
      ...(arm.kind === "import"
        ? { import: arm.path }
        : { recipe: arm.recipe, cell: cfg.embed.cell }),
      dModel: cfg.model.dModel,
    }),
    sources:
      () => (arm.kind === "import"
        ? [arm.path!]
        : isPictureRecipe(arm.recipe as RecipeName)
        ? GLYPH_FONTS
        : []),
    outputs: () => [out, out.replace(/\.safetensors$/, ".json")],
    run: async (ctx) => {
      const g = await glyphModule("embed");
      const tokens = await readVocabTokens(ctx);
      const d = ctx.cfg.model.dModel;
      await Deno.mkdir(ctx.path(`embed/${arm.name}`), { recursive: true });
      if (arm.kind === "import") {
        const emb = await g.loadEmbedding(arm.path!);
        checkImportedTable(arm.path!, emb, tokens.length, ctx.cfg);
        await g.saveEmbedding(ctx.path(out), emb);
        ctx.log(`${emb.rows} x ${emb.cols} table imported from ${arm.path}`);
        return { contentHash: emb.meta.contentHash, imported: arm.path };
      }
      // the model's width: top-k PCA of the same pictures when narrower than the picture
      // (the glyph renderer caches its pictures, so nothing is drawn twice)
      const emb = await g.buildEmbedding(tokens, arm.recipe!, {
        cell: ctx.cfg.embed.cell,
        dim: d,
        tokenizerId: await tokenizerId(ctx),
      });
      await g.saveEmbedding(ctx.path(out), emb);
      ctx.log(
        `${emb.rows} x ${emb.cols} ${arm.recipe} table for d_model ${d}` +
          (emb.meta.explainedVariance !== undefined
            ? `, PCA keeps ${(100 * emb.meta.explainedVariance).toFixed(1)}% of the variance`
            : ""),
      );
      return { contentHash: emb.meta.contentHash, duplicateRows: emb.meta.duplicateRows };
    },
  };
}

/** Training of one cell: the same seed for every arm of a seed index. */
function trainStage(cell: Cell): Stage<C> {
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
    run: async (ctx) => {
      const r = await trainInStage(ctx, cell);
      return { valLoss: r.valLoss, seconds: r.seconds, frozenSha256: r.frozenSha256After };
    },
  };
}

/** Train a cell, or a variant of it (pipeline/grow, pipeline/merge), inside a stage. */
export function trainInStage(ctx: Ctx, cell: Cell, variant?: CellVariant) {
  return trainCell({
    cfg: ctx.cfg,
    runDir: ctx.runDir,
    cell,
    fingerprint: ctx.fingerprint,
    resume: ctx.resume,
    quiet: ctx.quiet,
    log: ctx.log,
    variant,
  });
}

/** Evaluation of one cell into eval/<cell>/ (the same items for every cell). */
function evalStage(cell: Cell): Stage<C> {
  return {
    name: `eval/${cell.name}`,
    version: 3,
    inputs: ["data", `train/${cell.name}`],
    params: (cfg) => ({ ...cfg.eval, seed: cfg.train.seed }),
    outputs: () => [`eval/${cell.name}/results.json`, `eval/${cell.name}/report.md`],
    run: (ctx) => evalCheckpoints(ctx, [`train/${cell.name}`], `eval/${cell.name}`, cell.name),
  };
}

/** The eval stage's work on checkpoints (run-relative) side by side, into `out`. */
export async function evalCheckpoints(
  ctx: Ctx,
  checkpoints: string[],
  out: string,
  name: string,
): Promise<void> {
  const e = await optionalModule("./eval/run.ts", "eval", ["runEval"]);
  await (e.runEval as (o: Record<string, unknown>) => Promise<unknown>)({
    checkpoints: checkpoints.map((c) => ctx.path(c)),
    benches: ctx.cfg.eval.benchmarks,
    out: ctx.path(out),
    name,
    heldOut: [ctx.path("data/val.txt")],
    clozeFrom: [ctx.path("data/val.jsonl")],
    trainText: [ctx.path("data/train.txt")],
    items: ctx.cfg.eval.items,
    limit: ctx.cfg.eval.limit,
    probe: ctx.cfg.eval.probe,
    seed: ctx.cfg.train.seed,
    log: ctx.log,
  });
}

/** Every stage of a config's run, the study matrix expanded; validates the arms and seeds. */
export function pipelineStages(cfg: C): Stage<C>[] {
  const cells = studyCells(cfg);
  const arms = studyArms(cfg);
  // growing and merging (pipeline/grow, pipeline/merge): their stages and report inputs
  const compose = [...growStages(cfg, cells), ...mergeStages(cfg, cells)];
  const composeReports = compose.filter((s) => s.name.endsWith("/report")).map((s) => s.name);
  return [
    ...BASE_STAGES,
    ...frozenArms(cfg).map(embedStage),
    ...cells.map(trainStage),
    ...cells.map(evalStage),
    {
      name: "eval",
      version: 3,
      inputs: [
        "glyphs",
        ...cells.map((c) => `train/${c.name}`),
        ...cells.map((c) => `eval/${c.name}`),
      ],
      params: () => ({ arms: arms.map((a) => a.spec), seeds: cfg.study.seeds }),
      outputs: () => [
        "eval/results.json",
        "eval/report.md",
        "eval/study.json",
        "eval/study.md",
        "eval/bpc-curves.svg",
        "eval/bpc-curves.png",
      ],
      run: async (ctx) => {
        await writeStudy(ctx.cfg, ctx.runDir, cells, arms);
        ctx.log(`wrote ${ctx.path("eval/study.md")}`);
      },
    },
    ...compose,
    {
      name: "report",
      version: 3,
      inputs: ["data", "tokenize", "eval", ...composeReports],
      params: () => ({}),
      outputs: () => ["report.md"],
      run: async (ctx) => {
        const path = await writeRunReport(ctx.cfg, ctx.runDir, cells);
        ctx.log(`wrote ${path}`);
      },
    },
  ];
}
