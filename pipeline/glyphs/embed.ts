// The frozen input table: token strings (index = token id) -> [V, D] float32 rows by a named
// recipe. Picture recipes render each distinct character once (parallel, cached by content
// hash), compose token pictures (the paper variants' in the author's polar snake bit order),
// run PCA (full rank, or top-k for a smaller D; widened by
// repeat-interleave for a larger D) and L2-normalise rows. Saved as safetensors + JSON
// metadata; an external [V, D] table can be imported the same way.

import { loadSafetensors, saveSafetensors, writeFileAtomic } from "../../core/safetensors.ts";
import { sha256Hex } from "../hash.ts";
import denoJson from "../../deno.json" with { type: "json" };
import {
  centredCell,
  codePoints,
  DEFAULT_FONT_FILES,
  type Glyphs,
  hasGlyph,
  hiddenByShaping,
  type RenderOptions,
} from "./render.ts";
import type { Bitmap } from "./bitmap.ts";
import { renderGlyphsParallel } from "./render_pool.ts";
import {
  binaryIdVectors,
  checkRecipe,
  cleanPicture,
  identicalGroups,
  isPictureRecipe,
  makeDistinct,
  normaliseRows,
  type PictureRecipe,
  randomVectors,
  recipeCell,
  type RecipeName,
} from "./recipes.ts";
import { glyphLookup, isPaperRecipe, PAPER_VARIANTS, paperPicture } from "./paper.ts";
import { snakeOrder } from "./pillow.ts";
import { ascenderPx, loadFonts } from "./font.ts";
import { type Pca, pcaFromCovariance, pcaScoresGram } from "./pca.ts";
import { covarianceFast, linalgBackend, projectFast } from "./linalg.ts";

export const GLYPHS_FORMAT = 3; // bump when any recipe's output changes
export const DEFAULT_CACHE_DIR = ".cache/glyphs";

export interface EmbeddingOptions {
  /** Cell side: 32 (1024-dim pictures) or 64 (4096-dim). */
  cell?: number;
  /** Output width; default = cell^2. Smaller: top-k PCA; larger: repeat-interleave. */
  dModel?: number;
  /** Alias of dModel (the pipeline's name). */
  dim?: number;
  fontFiles?: string[];
  /** Cache folder (default .cache/glyphs); null disables caching. */
  cacheDir?: string | null;
  /** Render workers (default: CPU cores). */
  workers?: number;
  /** Seed of the `random` recipe and of the paper recipes' draws (the author's: 42). */
  seed?: number;
  /** Recorded in the metadata (e.g. "bvv241-2-3"). */
  tokenizerId?: string;
  /** Use core/cpu/fast's WASM matmul for the PCA products (default true). */
  fastMatmul?: boolean;
}

export interface EmbeddingMeta {
  recipe: RecipeName | "imported";
  cell: number;
  rows: number;
  cols: number;
  fonts: { file: string; sha256: string }[];
  tokenizerId: string;
  glyphgradVersion: string;
  formatVersion: number;
  /** SHA-256 of the float32 matrix bytes. */
  contentHash: string;
  /** SHA-256 of the inputs (tokens, recipe, options, fonts): the cache key. */
  inputHash: string;
  /** Rows equal to an earlier row (exact float32 equality): collisions. */
  duplicateRows: number;
  /** `clean`: pictures that needed a distinguishing mark (homoglyphs). */
  markedPictures?: number;
  /** PCA: fraction of the total variance kept by the components used. */
  explainedVariance?: number;
  linalg?: string;
  seconds: { render: number; pictures: number; pca: number; total: number };
  fromCache: boolean;
  source?: string;
}

export interface Embedding {
  matrix: Float32Array;
  rows: number;
  cols: number;
  meta: EmbeddingMeta;
}

function checkTokens(tokens: unknown): string[] {
  if (!Array.isArray(tokens) || tokens.length === 0) {
    throw new Error("glyphs: tokens must be a non-empty string[] (index = token id)");
  }
  tokens.forEach((t, i) => {
    if (typeof t !== "string") {
      throw new Error(`glyphs: token ${i} is not a string (fix the tokenizer's vocab table)`);
    }
  });
  return tokens as string[];
}

async function fontHashes(files: string[]): Promise<{ file: string; sha256: string }[]> {
  return await Promise.all(files.map(async (file) => {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch {
      throw new Error(`font file ${file} not found (install fonts-unifont or pass fontFiles)`);
    }
    return { file, sha256: await sha256Hex(bytes) };
  }));
}

/** Duplicate rows (exact byte equality) of a float32 matrix. */
export function duplicateRowCount(m: Float32Array, rows: number, cols: number): number {
  const bytes = new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
  return identicalGroups(bytes, rows, cols * 4).reduce((s, g) => s + g.length - 1, 0);
}

/** Distinct code points of all tokens, sorted. */
export function distinctCodePoints(tokens: string[]): number[] {
  const set = new Set<number>();
  for (const t of tokens) for (const cp of codePoints(t)) set.add(cp);
  return [...set].sort((a, b) => a - b);
}

/** What characterCells gives: centred cells (`clean`) and placed glyphs (paper recipes). */
export interface CharacterCells {
  /** The character's ink box centred in its cell; all zero when SVG text cannot show it. */
  cellOf: (cp: number) => Uint8Array;
  cps: number[];
  glyphs: Glyphs;
  seconds: number;
  fromCache: boolean;
}

/**
 * Rendered glyphs for the distinct characters of `tokens` (controls drawn as Pillow does),
 * cached under cacheDir by the hash of (code points, cell, font bytes).
 */
export async function characterCells(
  tokens: string[],
  opts: EmbeddingOptions = {},
): Promise<CharacterCells> {
  const cell = opts.cell ?? 32, S2 = cell * cell;
  const fontFiles = opts.fontFiles ?? DEFAULT_FONT_FILES;
  const cps = distinctCodePoints(tokens);
  const fonts = await fontHashes(fontFiles);
  const key = await sha256Hex(JSON.stringify({ f: GLYPHS_FORMAT, cell, fonts, cps }));
  const cacheDir = opts.cacheDir === undefined ? DEFAULT_CACHE_DIR : opts.cacheDir;
  const path = cacheDir ? `${cacheDir}/cells-${key.slice(0, 32)}.safetensors` : null;
  const t0 = performance.now();
  let glyphs: Glyphs | null = null, fromCache = false;
  if (path) {
    try {
      const st = await loadSafetensors(path);
      const c = st.tensors.cells, m = st.tensors.metrics;
      if (c?.dtype === "U8" && c.data.length === cps.length * S2 && m?.dtype === "I32") {
        glyphs = { pixels: c.data as Uint8Array, metrics: Int16Array.from(m.data as Int32Array) };
        fromCache = true;
      }
    } catch { /* absent or corrupt cache: render again */ }
  }
  if (!glyphs) {
    const ropts: RenderOptions = { cell, fontFiles, controls: true };
    glyphs = await renderGlyphsParallel(cps, ropts, opts.workers);
    if (path) {
      await Deno.mkdir(cacheDir!, { recursive: true });
      await saveSafetensors(path, {
        cells: { dtype: "U8", shape: [cps.length, S2], data: glyphs.pixels },
        metrics: { dtype: "I32", shape: [cps.length, 4], data: Int32Array.from(glyphs.metrics) },
      });
    }
  }
  const index = new Map(cps.map((cp, i) => [cp, i]));
  const all = glyphs, fontInfos = loadFonts(fontFiles);
  const cellOf = (cp: number) => {
    const i = index.get(cp);
    if (i === undefined) throw new Error(`glyphs: code point ${cp} was not rendered`);
    // what SVG text shows: controls, hidden and unmapped characters stay blank (hex boxes)
    if (hiddenByShaping(cp) || !hasGlyph(fontInfos, cp)) return new Uint8Array(S2);
    return centredCell(all, i, cell);
  };
  return { cellOf, cps, glyphs, seconds: (performance.now() - t0) / 1000, fromCache };
}

/** The final cell x cell pictures of all tokens ([V, cell^2] u8) for a picture recipe. */
export async function tokenPictures(
  tokens: string[],
  recipe: PictureRecipe,
  opts: EmbeddingOptions = {},
): Promise<{ pictures: Uint8Array; marked: number; renderSeconds: number }> {
  const cell = recipeCell(recipe, opts.cell), S2 = cell * cell;
  const chars = await characterCells(tokens, { ...opts, cell });
  const pictures = new Uint8Array(tokens.length * S2);
  if (isPaperRecipe(recipe)) {
    const fonts = loadFonts(opts.fontFiles ?? DEFAULT_FONT_FILES);
    const look = glyphLookup(chars.cps, chars.glyphs, fonts, cell);
    const asc = ascenderPx(fonts[0], cell), v = PAPER_VARIANTS[recipe];
    tokens.forEach((t, i) => {
      pictures.set(paperPicture(codePoints(t), look, asc, v, opts.seed ?? 42).pixels, i * S2);
    });
  } else {
    tokens.forEach((t, i) => {
      pictures.set(cleanPicture(codePoints(t), chars.cellOf, cell).pixels, i * S2);
    });
  }
  const marked = recipe === "clean" ? makeDistinct(pictures, tokens.length, S2) : 0;
  return { pictures, marked, renderSeconds: chars.seconds };
}

/** Reorder each row's pixels into the author's polar snake order, in place. */
export function toSnakeOrder(pictures: Uint8Array, rows: number, cell: number): Uint8Array {
  const order = snakeOrder(cell, cell), S2 = cell * cell, row = new Uint8Array(S2);
  for (let r = 0; r < rows; r++) {
    const p = pictures.subarray(r * S2, (r + 1) * S2);
    for (let k = 0; k < S2; k++) row[k] = p[order[k]];
    p.set(row);
  }
  return pictures;
}

/**
 * One token's final picture as a recipe draws it (cell x cell, ink 0..255), for scripts and
 * inspection; `clean` duplicate marks depend on the whole vocabulary and are not applied.
 */
export async function tokenBitmap(
  text: string,
  recipe: PictureRecipe = "clean",
  opts: EmbeddingOptions = {},
): Promise<Bitmap> {
  const cell = recipeCell(recipe, opts.cell);
  const { pictures } = await tokenPictures([text], recipe, {
    cacheDir: null,
    workers: 1,
    ...opts,
    cell,
  });
  return { width: cell, height: cell, pixels: pictures };
}

/** Repeat each column r times (repeat_interleave), truncated to `cols` columns. */
export function widen(m: Float32Array, rows: number, from: number, cols: number): Float32Array {
  const r = Math.ceil(cols / from), out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < cols; c++) out[i * cols + c] = m[i * from + Math.floor(c / r)];
  }
  return out;
}

/** Build the [V, D] table for `tokens` by `recipe` (cached by input hash under cacheDir). */
export async function buildEmbedding(
  tokens: string[],
  recipe: RecipeName | string,
  opts: EmbeddingOptions = {},
): Promise<Embedding> {
  const t0 = performance.now();
  checkTokens(tokens);
  const name = checkRecipe(recipe);
  const cell = recipeCell(name, opts.cell);
  if (cell !== 32 && cell !== 64) throw new Error(`glyphs: cell ${cell} is invalid (use 32 or 64)`);
  const native = cell * cell, cols = opts.dModel ?? opts.dim ?? native;
  if (!Number.isInteger(cols) || cols < 1) {
    throw new Error(`glyphs: dModel ${cols} is invalid (use a positive integer)`);
  }
  const fontFiles = opts.fontFiles ?? DEFAULT_FONT_FILES;
  const fonts = isPictureRecipe(name) ? await fontHashes(fontFiles) : [];
  const seed = opts.seed ?? 42;
  const inputHash = await sha256Hex(JSON.stringify({
    f: GLYPHS_FORMAT,
    recipe: name,
    cell,
    cols,
    seed: name === "random" || isPaperRecipe(name) ? seed : undefined,
    fonts: fonts.map((f) => f.sha256),
    tokens,
  }));
  const cacheDir = opts.cacheDir === undefined ? DEFAULT_CACHE_DIR : opts.cacheDir;
  const cachePath = cacheDir ? `${cacheDir}/emb-${inputHash.slice(0, 32)}.safetensors` : null;
  if (cachePath) {
    try {
      const hit = await loadEmbedding(cachePath);
      if (hit.meta.inputHash === inputHash) {
        // the cache is keyed by content: the tokenizer's name is the caller's, not the cache's
        const tokenizerId = opts.tokenizerId ?? hit.meta.tokenizerId;
        return { ...hit, meta: { ...hit.meta, tokenizerId, fromCache: true } };
      }
    } catch { /* absent or corrupt cache: build again */ }
  }
  const V = tokens.length;
  const seconds = { render: 0, pictures: 0, pca: 0, total: 0 };
  let matrix: Float32Array, marked: number | undefined, explained: number | undefined;
  let linalg: string | undefined;
  if (isPictureRecipe(name)) {
    const t1 = performance.now();
    const pics = await tokenPictures(tokens, name, { ...opts, cell, fontFiles });
    if (isPaperRecipe(name)) toSnakeOrder(pics.pictures, V, cell); // the author's bit order
    seconds.render = pics.renderSeconds;
    seconds.pictures = (performance.now() - t1) / 1000 - pics.renderSeconds;
    if (name === "clean") marked = pics.marked;
    const t2 = performance.now();
    const useFast = opts.fastMatmul ?? true, k = Math.min(cols, native);
    if (V <= native) {
      // fewer tokens than pixels: the V x V Gram route gives the same scores, much faster
      linalg = "gram";
      const g = pcaScoresGram(pics.pictures, V, native, k, 1 / 255);
      matrix = g.scores;
      explained = g.total > 0 ? g.variances.reduce((s, v) => s + v, 0) / g.total : 1;
    } else {
      linalg = await linalgBackend(useFast);
      const full = await fullPca(pics.pictures, V, native, cacheDir);
      const pca: Pca = {
        ...full.pca,
        k,
        variances: full.pca.variances.slice(0, k),
        components: full.pca.components.slice(0, k * native),
      };
      explained = full.total > 0 ? pca.variances.reduce((s, v) => s + v, 0) / full.total : 1;
      matrix = await projectFast(pca, pics.pictures, V, useFast);
    }
    if (cols > native) matrix = widen(matrix, V, native, cols);
    normaliseRows(matrix, V, cols);
    seconds.pca = (performance.now() - t2) / 1000;
  } else {
    matrix = name === "random" ? randomVectors(V, cols, seed) : binaryIdVectors(V, cols);
  }
  for (let i = 0; i < matrix.length; i++) {
    if (!Number.isFinite(matrix[i])) throw new Error(`glyphs: ${name} produced NaN (report a bug)`);
  }
  seconds.total = (performance.now() - t0) / 1000;
  const meta: EmbeddingMeta = {
    recipe: name,
    cell,
    rows: V,
    cols,
    fonts,
    tokenizerId: opts.tokenizerId ?? "unknown",
    glyphgradVersion: denoJson.version,
    formatVersion: GLYPHS_FORMAT,
    contentHash: await sha256Hex(
      new Uint8Array(matrix.buffer, matrix.byteOffset, matrix.byteLength),
    ),
    inputHash,
    duplicateRows: duplicateRowCount(matrix, V, cols),
    ...(marked !== undefined ? { markedPictures: marked } : {}),
    ...(explained !== undefined ? { explainedVariance: explained } : {}),
    ...(linalg ? { linalg } : {}),
    seconds,
    fromCache: false,
  };
  const emb = { matrix, rows: V, cols, meta };
  if (cachePath) {
    await Deno.mkdir(cacheDir!, { recursive: true });
    await saveEmbedding(cachePath, emb);
  }
  return emb;
}

/**
 * Full-rank PCA of the pictures, cached under cacheDir by the pictures' hash, so builds that
 * differ only in dModel (top-k, widening) share one eigen-decomposition.
 */
async function fullPca(
  pictures: Uint8Array,
  rows: number,
  cols: number,
  cacheDir: string | null,
): Promise<{ pca: Pca; total: number }> {
  const key = (await sha256Hex(pictures)).slice(0, 32);
  const path = cacheDir ? `${cacheDir}/pca-v${GLYPHS_FORMAT}-${key}.safetensors` : null;
  if (path) {
    try {
      const { tensors, metadata } = await loadSafetensors(path);
      const [mean, variances, components] = ["mean", "variances", "components"]
        .map((n) => tensors[n]?.data as Float64Array);
      if (components?.length === cols * cols && mean?.length === cols) {
        return {
          pca: { cols, k: cols, mean, variances, components },
          total: Number(metadata.total),
        };
      }
    } catch { /* absent or corrupt: compute */ }
  }
  // the sparse plain-TS covariance beats the dense WASM X^T X on glyph pictures (bench)
  const { mean, cov } = await covarianceFast(pictures, rows, cols, false);
  let total = 0;
  for (let i = 0; i < cols; i++) total += cov[i * cols + i];
  const pca = pcaFromCovariance(mean, cov, cols, cols);
  if (path) {
    await Deno.mkdir(cacheDir!, { recursive: true });
    const t = (data: Float64Array, shape: number[]) => ({ dtype: "F64" as const, shape, data });
    await saveSafetensors(path, {
      mean: t(pca.mean, [cols]),
      variances: t(pca.variances, [cols]),
      components: t(pca.components, [cols, cols]),
    }, { total: String(total) });
  }
  return { pca, total };
}

function sidecar(path: string): string {
  return path.replace(/\.safetensors$/, "") + ".json";
}

/**
 * Save as safetensors (tensor "embedding", [rows, cols] F32, metadata {meta: JSON}) plus a
 * JSON sidecar. `path` is a .safetensors file, or a folder (then embedding.safetensors in it).
 * Returns the two paths written.
 */
export async function saveEmbedding(
  path: string,
  emb: Embedding,
): Promise<{ safetensors: string; json: string }> {
  const file = path.endsWith(".safetensors") ? path : `${path}/embedding.safetensors`;
  if (!path.endsWith(".safetensors")) await Deno.mkdir(path, { recursive: true });
  const meta = JSON.stringify(emb.meta);
  await saveSafetensors(
    file,
    { embedding: { dtype: "F32", shape: [emb.rows, emb.cols], data: emb.matrix } },
    { format: "glyphgrad-embedding", meta },
  );
  await writeFileAtomic(sidecar(file), JSON.stringify(emb.meta, null, 2) + "\n");
  return { safetensors: file, json: sidecar(file) };
}

/**
 * Load a [V, D] table: ours (with metadata) or one made elsewhere (a single 2-D F32/F64/F16
 * tensor, or one named "embedding"/"weight"). `expectRows` checks V against the tokenizer.
 */
export async function loadEmbedding(path: string, expectRows?: number): Promise<Embedding> {
  const { tensors, metadata } = await loadSafetensors(path);
  const names = Object.keys(tensors);
  const name = ["embedding", "weight", "embeddings"].find((n) => n in tensors) ??
    (names.length === 1 ? names[0] : undefined);
  if (!name) {
    throw new Error(
      `${path}: cannot tell which tensor is the table (found ${names.join(", ") || "none"}; ` +
        `name it "embedding")`,
    );
  }
  const t = tensors[name];
  if (t.shape.length !== 2) {
    throw new Error(`${path}: tensor "${name}" has shape [${t.shape}], expected [V, D]`);
  }
  const [rows, cols] = t.shape;
  if (expectRows !== undefined && rows !== expectRows) {
    throw new Error(
      `${path}: table has ${rows} rows but the tokenizer has ${expectRows} ids (use the matching table)`,
    );
  }
  let matrix: Float32Array;
  if (t.dtype === "F32") matrix = t.data as Float32Array;
  else if (t.dtype === "F64") matrix = Float32Array.from(t.data as Float64Array);
  else if (t.dtype === "F16") matrix = Float32Array.from(t.data as Uint16Array, f16ToF32);
  else throw new Error(`${path}: dtype ${t.dtype} is not a float table (convert it to F32)`);
  for (let i = 0; i < matrix.length; i++) {
    if (!Number.isFinite(matrix[i])) {
      throw new Error(`${path}: row ${Math.floor(i / cols)} holds NaN or Inf (fix the table)`);
    }
  }
  if (metadata.format === "glyphgrad-embedding" && metadata.meta) {
    return { matrix, rows, cols, meta: JSON.parse(metadata.meta) as EmbeddingMeta };
  }
  const meta: EmbeddingMeta = {
    recipe: "imported",
    cell: 0,
    rows,
    cols,
    fonts: [],
    tokenizerId: metadata.tokenizer ?? "unknown",
    glyphgradVersion: denoJson.version,
    formatVersion: GLYPHS_FORMAT,
    contentHash: await sha256Hex(
      new Uint8Array(matrix.buffer, matrix.byteOffset, matrix.byteLength),
    ),
    inputHash: "",
    duplicateRows: duplicateRowCount(matrix, rows, cols),
    seconds: { render: 0, pictures: 0, pca: 0, total: 0 },
    fromCache: false,
    source: path,
  };
  return { matrix, rows, cols, meta };
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
