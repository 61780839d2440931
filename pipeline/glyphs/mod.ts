// Public surface of the glyphs stage: render tokens with resvg, build the frozen [V, D] table
// by recipe (paper, clean, random, binary-id), save / load / import it, and report on it.

export {
  codePoints,
  DEFAULT_FONT_FILES,
  hasGlyph,
  readyRenderer,
  renderChars,
  type RenderOptions,
  renderToken,
} from "./render.ts";
export { renderCharsParallel } from "./render_pool.ts";
export { type Bitmap, hexBox, inkCount, squashArea, squashNearest } from "./bitmap.ts";
export { encodePng } from "./png.ts";
export {
  binaryIdVectors,
  checkRecipe,
  randomVectors,
  RECIPE_NAMES,
  type RecipeName,
  tokenPicture,
} from "./recipes.ts";
export { augment } from "./augment.ts";
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
  widen,
} from "./embed.ts";
export {
  atlasPng,
  blockCoverage,
  defaultAtlasIds,
  embeddingReport,
  glyphReport,
  nearDuplicateGroups,
  type Report,
  reportMarkdown,
  writeAtlasPng,
} from "./report.ts";
export { releaseFastKernels } from "./linalg.ts";
export { sampleVocab } from "./sample_tokens.ts";
