// Public surface of the glyphs stage: render tokens with resvg, build the frozen [V, D] table
// by recipe (paper, paper-max, paper-64, clean, random, binary-id), save / load / import it, and report on it.

export {
  codePoints,
  DEFAULT_FONT_FILES,
  hasGlyph,
  readyRenderer,
  renderChars,
  renderGlyphs,
  type RenderOptions,
  renderToken,
} from "./render.ts";
export { renderGlyphsParallel } from "./render_pool.ts";
export { type Bitmap, hexBox, inkCount, squashArea, squashNearest } from "./bitmap.ts";
export { encodePng } from "./png.ts";
export {
  binaryIdVectors,
  checkRecipe,
  cleanPicture,
  randomVectors,
  RECIPE_NAMES,
  type RecipeName,
} from "./recipes.ts";
export { augmentToken, drawToken, easyScript, PAPER_VARIANTS, paperPicture } from "./paper.ts";
export { NpRandomState, PyRandom } from "./mt19937.ts";
export { snakeOrder } from "./pillow.ts";
export { eigSym, fitPca, type Pca, pcaScoresGram, project } from "./pca.ts";
export {
  buildEmbedding,
  characterCells,
  DEFAULT_CACHE_DIR,
  duplicateRowCount,
  type Embedding,
  type EmbeddingMeta,
  type EmbeddingOptions,
  loadEmbedding,
  saveEmbedding,
  tokenBitmap,
  tokenPictures,
  toSnakeOrder,
  widen,
} from "./embed.ts";
export {
  atlasPng,
  blockCoverage,
  defaultAtlasIds,
  embeddingReport,
  nearDuplicateGroups,
  type Report,
  reportMarkdown,
  writeAtlasPng,
} from "./report.ts";
export { releaseFastKernels } from "./linalg.ts";
export { sampleVocab } from "./sample_tokens.ts";
