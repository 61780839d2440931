// The pipeline's two glyph stages (declared in pipeline/stages.ts, run by pipeline/runner.ts).
// `glyphs`: the recipe's full-width table for the run's vocabulary, with its report (identical
// and near-identical rows, coverage by Unicode block, the table's facts) and an atlas PNG.
// `embed/<arm>`: one frozen arm's [V, d_model] table (top-k PCA of the same pictures, or a table
// imported from a file). Both read the vocabulary from the tokenize stage's files; the pictures
// are shared through the render cache (.cache/glyphs, keyed by the hash of tokens, recipe,
// options and fonts), which is a cache, not an input: embed never reads glyphs/.

import { writeFileAtomic } from "../../core/safetensors.ts";
import type { PipelineConfig } from "../config.ts";
import { sha256File } from "../hash.ts";
import type { Stage, StageContext } from "../runner.ts";
import type { Arm } from "../study.ts";
import { armTablePath } from "../train/stage.ts";
import { atlasSelection } from "./atlas_select.ts";
import { buildEmbedding, type EmbeddingMeta, loadEmbedding, saveEmbedding } from "./embed.ts";
import { isPictureRecipe, type RecipeName } from "./recipes.ts";
import { embeddingReport, reportMarkdown, writeAtlasPng } from "./report.ts";

/** The fonts the glyph pictures are drawn from (hashed into the stages' fingerprints). */
export const GLYPH_FONTS = [
  "/usr/share/fonts/opentype/unifont/unifont.otf",
  "/usr/share/fonts/opentype/unifont/unifont_upper.otf",
];

/** What the tokenize stage wrote that the glyph stages read. */
interface Vocab {
  tokens: string[];
  layout: string;
  /** "full" or "compact" (model.vocab). */
  mode: "full" | "compact";
}

async function readVocab(ctx: StageContext): Promise<Vocab> {
  return JSON.parse(await Deno.readTextFile(ctx.path("tokenize/vocab.json")));
}

/** Names the run's tokenizer in the table metadata: layout, variant, vocabulary mode, file hash. */
async function tokenizerId(ctx: StageContext, vocab: Vocab): Promise<string> {
  const path = ctx.path("tokenize/tokenizer.json");
  const { variant } = JSON.parse(await Deno.readTextFile(path));
  const sha = await sha256File(path);
  return `${vocab.layout === "bvv241" ? "bvv241" : "glyphgrad"}-${variant}-${vocab.mode} ` +
    `sha256:${sha.slice(0, 16)}`;
}

/** The facts of a built table for its report: hash, collisions, marks, PCA, fonts. */
export function tableFacts(tokens: string[], m: EmbeddingMeta): string[] {
  return [
    "## Table",
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
}

export interface GlyphsParams {
  recipe: RecipeName;
  cell: number;
}

/** The `glyphs` stage: full-width table, report.md and atlas.png in glyphs/. */
export const glyphsStage: Stage<PipelineConfig, GlyphsParams> = {
  name: "glyphs",
  version: 3, // 3: report.md is the full table report (identical/near rows, coverage)
  inputs: ["tokenize"],
  params: (cfg) => ({ recipe: cfg.embed.recipe, cell: cfg.embed.cell }),
  sources: () => GLYPH_FONTS,
  outputs: () => [
    "glyphs/table.safetensors",
    "glyphs/table.json",
    "glyphs/report.md",
    "glyphs/atlas.png",
  ],
  run: async (ctx, p) => {
    const vocab = await readVocab(ctx), tokens = vocab.tokens;
    const emb = await buildEmbedding(tokens, p.recipe, {
      cell: p.cell,
      tokenizerId: await tokenizerId(ctx, vocab),
    });
    await Deno.mkdir(ctx.path("glyphs"), { recursive: true });
    await saveEmbedding(ctx.path("glyphs/table.safetensors"), emb);
    const report = await embeddingReport(emb, tokens, { cell: p.cell });
    const md = reportMarkdown(report) + "\n" + tableFacts(tokens, emb.meta).join("\n");
    await writeFileAtomic(ctx.path("glyphs/report.md"), md);
    // the atlas shows pictures as the recipe draws them (clean pictures for the recipes that
    // draw none: random, binary-id)
    await writeAtlasPng(
      ctx.path("glyphs/atlas.png"),
      tokens,
      atlasSelection(tokens),
      isPictureRecipe(p.recipe) ? p.recipe : "clean",
      { cell: p.cell },
    );
    ctx.log(
      `${emb.rows} x ${emb.cols} table (${emb.meta.recipe}), ` +
        `${emb.meta.duplicateRows} duplicate rows, ${report.distinctRows} distinct`,
    );
    return { duplicateRows: emb.meta.duplicateRows, contentHash: emb.meta.contentHash };
  },
};

/** What a vocabulary and d_model need of an imported table. */
export interface TableWant {
  /** Model ids (rows of vocab.json). */
  rows: number;
  dModel: number;
  /** model.vocab of the run ("full" / "compact"), for the hint. */
  mode: "full" | "compact";
  /** The vocabulary file the table must be made for, for the hint. */
  vocabFile: string;
}

/**
 * An imported table must have one row per model id and model.dModel columns; otherwise a
 * one-line error naming both sizes and the fix.
 */
export function checkImportedTable(
  path: string,
  t: { rows: number; cols: number },
  want: TableWant,
): void {
  if (t.rows !== want.rows) {
    const other = want.mode === "compact" ? "full" : "compact";
    throw new Error(
      `embed.import ${path}: ${t.rows} rows but the vocabulary has ${want.rows} ids ` +
        `(model.vocab ${want.mode}; make the table for ${want.vocabFile} ` +
        `or try --set model.vocab=${other})`,
    );
  }
  if (t.cols !== want.dModel) {
    throw new Error(
      `embed.import ${path}: ${t.cols} columns but model.dModel is ${want.dModel} ` +
        `(use --set model.dModel=${t.cols} or a table of width ${want.dModel})`,
    );
  }
}

export type EmbedParams =
  | { import: string; dModel: number }
  | { recipe: RecipeName; cell: number; dModel: number };

/** The embed stage of one frozen arm: its [V, d_model] table in embed/<arm>/. */
export function embedStage(arm: Arm): Stage<PipelineConfig, EmbedParams> {
  const out = armTablePath(arm);
  return {
    name: `embed/${arm.name}`,
    version: 2,
    inputs: ["tokenize"], // vocab.json and tokenizer.json; pictures come from the render cache
    params: (cfg) => ({
      ...(arm.kind === "import"
        ? { import: arm.path! }
        : { recipe: arm.recipe as RecipeName, cell: cfg.embed.cell }),
      dModel: cfg.model.dModel,
    }),
    sources: () =>
      arm.kind === "import"
        ? [arm.path!]
        : isPictureRecipe(arm.recipe as RecipeName)
        ? GLYPH_FONTS
        : [],
    outputs: () => [out, out.replace(/\.safetensors$/, ".json")],
    run: async (ctx, p) => {
      const vocab = await readVocab(ctx), tokens = vocab.tokens;
      await Deno.mkdir(ctx.path(`embed/${arm.name}`), { recursive: true });
      if ("import" in p) {
        const emb = await loadEmbedding(p.import);
        checkImportedTable(p.import, emb, {
          rows: tokens.length,
          dModel: p.dModel,
          mode: vocab.mode,
          vocabFile: ctx.path("tokenize/vocab.json"),
        });
        await saveEmbedding(ctx.path(out), emb);
        ctx.log(`${emb.rows} x ${emb.cols} table imported from ${p.import}`);
        return { contentHash: emb.meta.contentHash, imported: p.import };
      }
      // the model's width: top-k PCA of the same pictures when narrower than the picture
      const emb = await buildEmbedding(tokens, p.recipe, {
        cell: p.cell,
        dim: p.dModel,
        tokenizerId: await tokenizerId(ctx, vocab),
      });
      await saveEmbedding(ctx.path(out), emb);
      ctx.log(
        `${emb.rows} x ${emb.cols} ${p.recipe} table for d_model ${p.dModel}` +
          (emb.meta.explainedVariance !== undefined
            ? `, PCA keeps ${(100 * emb.meta.explainedVariance).toFixed(1)}% of the variance`
            : ""),
      );
      return { contentHash: emb.meta.contentHash, duplicateRows: emb.meta.duplicateRows };
    },
  };
}
