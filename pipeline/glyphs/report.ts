// The report for people: distinct rows, groups of identical and near-identical rows (cosine
// > 0.999) with their code points, coverage by Unicode block (assigned characters that have a
// real glyph: drawn with ink), and an atlas PNG of chosen tokens as the model sees them.

import type { Bitmap } from "./bitmap.ts";
import { encodePng } from "./png.ts";
import { mulberry32 } from "../../core/rng.ts";
import { codePoints } from "./render.ts";
import { blockOf, readAssigned, readBlocks, uplus } from "./unicode.ts";
import { identicalGroups, type PictureRecipe, recipeCell } from "./recipes.ts";
import {
  characterCells,
  distinctCodePoints,
  type Embedding,
  type EmbeddingOptions,
  tokenPictures,
} from "./embed.ts";

export const NEAR_COSINE = 0.999;
const MAX_PAIR_CHECKS = 5e7;

export interface RowGroup {
  ids: number[];
  /** Each token as code points, e.g. "U+0041" or "U+0074 U+0068". */
  codePoints: string[];
}

export interface BlockCoverage {
  block: string;
  range: string;
  /** Distinct vocabulary characters in this block. */
  inVocab: number;
  assigned: number;
  /** Assigned characters the font draws with ink. */
  withGlyph: number;
}

export interface Report {
  recipe: string;
  rows: number;
  cols: number;
  distinctRows: number;
  identicalGroups: RowGroup[];
  nearGroups: RowGroup[];
  /** Why the near-duplicate search was not run, when it was not. */
  nearSkipped?: string;
  coverage: BlockCoverage[];
}

function group(ids: number[], tokens: string[]): RowGroup {
  return { ids, codePoints: ids.map((i) => codePoints(tokens[i] ?? "").map(uplus).join(" ")) };
}

/**
 * Groups of rows with cosine > threshold. Candidates come from random-hyperplane hashing
 * (LSH: TABLES tables of BITS sparse hyperplanes; a pair at cosine 0.999 shares a bucket in
 * one table with probability > 99%), then every candidate pair is checked exactly. Identical
 * rows are reduced to one representative first. Returns a reason string when buckets are too
 * crowded to check.
 */
export function nearDuplicateGroups(
  m: Float32Array,
  rows: number,
  cols: number,
  threshold = NEAR_COSINE,
  seed = 1,
): number[][] | string {
  const TABLES = 4, BITS = 24, SUPPORT = Math.min(cols, 64);
  const norm = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += m[r * cols + c] ** 2;
    norm[r] = Math.sqrt(s) || 1;
  }
  const bytes = new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
  const same = identicalGroups(bytes, rows, cols * 4);
  const isCopy = new Uint8Array(rows);
  for (const g of same) for (const i of g.slice(1)) isCopy[i] = 1;
  const rand = mulberry32(seed);
  const parent = Int32Array.from({ length: rows }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (const g of same) for (const i of g.slice(1)) parent[find(i)] = find(g[0]);
  const need = 2 - 2 * threshold;
  let checks = 0;
  for (let t = 0; t < TABLES; t++) {
    const planes = Array.from(
      { length: BITS },
      () =>
        Array.from({ length: SUPPORT }, () => [Math.floor(rand() * cols), rand() < 0.5 ? -1 : 1]),
    );
    const buckets = new Map<number, number[]>();
    for (let r = 0; r < rows; r++) {
      if (isCopy[r]) continue;
      let key = 0;
      for (let b = 0; b < BITS; b++) {
        let dot = 0;
        for (const [c, sgn] of planes[b]) dot += sgn * m[r * cols + c];
        if (dot > 0) key |= 1 << b;
      }
      const list = buckets.get(key);
      if (list) list.push(r);
      else buckets.set(key, [r]);
    }
    for (const list of buckets.values()) checks += (list.length * (list.length - 1)) / 2;
    if (checks > MAX_PAIR_CHECKS) return `hash buckets too crowded (${Math.round(checks)} pairs)`;
    for (const list of buckets.values()) {
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const a = list[i], b = list[j];
          if (find(a) === find(b)) continue;
          let dist = 0;
          const na = norm[a], nb = norm[b];
          for (let c = 0; c < cols && dist < need; c++) {
            dist += (m[a * cols + c] / na - m[b * cols + c] / nb) ** 2;
          }
          if (dist < need) parent[find(b)] = find(a);
        }
      }
    }
  }
  const groups = new Map<number, number[]>();
  for (let r = 0; r < rows; r++) {
    const k = find(r), g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  // report groups that hold at least two distinct rows (pure copies are "identical groups")
  const copyRoot = new Set(same.map((g) => g[0]));
  return [...groups.values()].filter((g) =>
    g.length > 1 &&
    g.some((i) => !isCopy[i] && !(copyRoot.has(i) && g.length === sameSize(same, i)))
  ).sort((a, b) => a[0] - b[0]);
}

function sameSize(same: number[][], root: number): number {
  return same.find((g) => g[0] === root)?.length ?? 1;
}

/** Coverage by Unicode block of the vocabulary's characters (cells from the render cache). */
export async function blockCoverage(
  tokens: string[],
  opts: EmbeddingOptions = {},
): Promise<BlockCoverage[]> {
  const blocks = readBlocks(), assigned = readAssigned();
  const { cellOf } = await characterCells(tokens, opts);
  const rows = blocks.map((b) => ({
    block: b.name,
    range: `${uplus(b.first)}..${uplus(b.last)}`,
    inVocab: 0,
    assigned: 0,
    withGlyph: 0,
  }));
  for (const cp of distinctCodePoints(tokens)) {
    const i = blockOf(blocks, cp);
    if (i < 0) continue;
    rows[i].inVocab++;
    if (!assigned[cp]) continue;
    rows[i].assigned++;
    if (cellOf(cp).some((v) => v !== 0)) rows[i].withGlyph++;
  }
  return rows.filter((r) => r.inVocab > 0);
}

/** Distinct rows, identical and near-identical groups, coverage by block. */
export async function embeddingReport(
  emb: Embedding,
  tokens: string[],
  opts: EmbeddingOptions = {},
): Promise<Report> {
  const { matrix, rows, cols } = emb;
  const bytes = new Uint8Array(matrix.buffer, matrix.byteOffset, matrix.byteLength);
  const same = identicalGroups(bytes, rows, cols * 4);
  const near = nearDuplicateGroups(matrix, rows, cols);
  const coverage = await blockCoverage(tokens, { ...opts, cell: emb.meta.cell || opts.cell });
  return {
    recipe: emb.meta.recipe,
    rows,
    cols,
    distinctRows: rows - same.reduce((s, g) => s + g.length - 1, 0),
    identicalGroups: same.map((g) => group(g, tokens)),
    nearGroups: typeof near === "string" ? [] : near.map((g) => group(g, tokens)),
    ...(typeof near === "string" ? { nearSkipped: near } : {}),
    coverage,
  };
}

/** Markdown rendering of a report (groups listed up to `maxGroups`). */
export function reportMarkdown(r: Report, maxGroups = 50): string {
  const lines = [
    `# Glyph embedding report: ${r.recipe}`,
    "",
    `- table: ${r.rows} x ${r.cols}`,
    `- distinct rows: ${r.distinctRows} (${r.rows - r.distinctRows} collide with an earlier row)`,
    `- identical groups: ${r.identicalGroups.length}`,
    `- near-identical groups (cosine > ${NEAR_COSINE}): ` +
    (r.nearSkipped
      ? `not searched: ${r.nearSkipped}`
      : `${r.nearGroups.length} (identical rows included; found by LSH, exact check)`),
    "",
  ];
  const list = (title: string, gs: RowGroup[]) => {
    lines.push(`## ${title}`, "");
    if (!gs.length) lines.push("none");
    for (const g of gs.slice(0, maxGroups)) {
      const shown = g.codePoints.slice(0, 12).join(", ");
      lines.push(`- ${g.ids.length} tokens: ${shown}${g.ids.length > 12 ? ", ..." : ""}`);
    }
    if (gs.length > maxGroups) lines.push(`- ... ${gs.length - maxGroups} more groups`);
    lines.push("");
  };
  list("Identical rows", r.identicalGroups);
  if (!r.nearSkipped) list(`Near-identical rows (cosine > ${NEAR_COSINE})`, r.nearGroups);
  lines.push(
    "## Coverage by Unicode block",
    "",
    "| block | range | in vocab | assigned | with glyph |",
  );
  lines.push("|---|---|---|---|---|");
  for (const c of r.coverage) {
    lines.push(`| ${c.block} | ${c.range} | ${c.inVocab} | ${c.assigned} | ${c.withGlyph} |`);
  }
  return lines.join("\n") + "\n";
}

/** Lay pictures (cell x cell each) out in a grid with 1-px grey separators. */
export function atlasBitmap(
  pictures: Uint8Array,
  count: number,
  cell: number,
  columns = 32,
): Bitmap {
  const cols = Math.min(columns, Math.max(1, count)), rowsN = Math.ceil(count / cols), p = cell + 1;
  const width = cols * p + 1, height = rowsN * p + 1, px = new Uint8Array(width * height).fill(60);
  for (let i = 0; i < count; i++) {
    const ox = 1 + (i % cols) * p, oy = 1 + Math.floor(i / cols) * p;
    for (let y = 0; y < cell; y++) {
      px.set(
        pictures.subarray(i * cell * cell + y * cell, i * cell * cell + (y + 1) * cell),
        (oy + y) * width + ox,
      );
    }
  }
  return { width, height, pixels: px };
}

/** PNG atlas of the chosen token ids as the recipe draws them (ink black on white). */
export async function atlasPng(
  tokens: string[],
  ids: number[],
  recipe: PictureRecipe,
  opts: EmbeddingOptions = {},
): Promise<Uint8Array> {
  const cell = recipeCell(recipe, opts.cell);
  const chosen = ids.map((i) => {
    if (!(i >= 0 && i < tokens.length)) throw new Error(`atlas: token id ${i} is out of range`);
    return tokens[i];
  });
  const { pictures } = await tokenPictures(chosen, recipe, { ...opts, cell });
  return encodePng(atlasBitmap(pictures, chosen.length, cell));
}

/** Write an atlas PNG to `path`. */
export async function writeAtlasPng(
  path: string,
  tokens: string[],
  ids: number[],
  recipe: PictureRecipe,
  opts: EmbeddingOptions = {},
): Promise<void> {
  const { writeFileAtomic } = await import("../../core/safetensors.ts");
  await writeFileAtomic(path, await atlasPng(tokens, ids, recipe, opts));
}

/** Default atlas: Latin-1, Cyrillic, CJK start, the first multi-character and special ids. */
export function defaultAtlasIds(vocab: number): number[] {
  const ranges = [[0x20, 0xff], [0x400, 0x47f], [0x4e00, 0x4e7f], [0xd800, 0xd8ff], [
    0xe000,
    0xe03f,
  ]];
  return ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i))
    .filter((i) => i < vocab);
}
