// Embedding recipes, selectable by name. Picture recipes turn a token's characters into one
// cell x cell picture: `paper`, `paper-max` and `paper-64` follow the author's notebooks
// (paper.ts: Pillow layout, the same seeded augmentation for every token, binarised, nearest
// squash, polar snake bit order); `clean` (no augmentation, ink boxes centred, hex boxes for
// characters without ink, area-averaged squash, grey levels kept, duplicates made distinct).
// Vector recipes need no pictures: `random` (seeded unit vectors) and `binary-id` (the id's
// bits). `trainable` is not built here: the model owns a trainable table.

import { type Bitmap, hexBox, joinCells, squashArea } from "./bitmap.ts";
import { isPaperRecipe, PAPER_VARIANTS, type PaperRecipe } from "./paper.ts";
import { gaussian, mulberry32 } from "../../core/rng.ts";

export type PictureRecipe = PaperRecipe | "clean";
export type RecipeName = PictureRecipe | "random" | "binary-id";
export const RECIPE_NAMES: RecipeName[] = [
  ...(Object.keys(PAPER_VARIANTS) as PaperRecipe[]),
  "clean",
  "random",
  "binary-id",
];

export function isPictureRecipe(r: RecipeName): r is PictureRecipe {
  return r === "clean" || isPaperRecipe(r);
}

export function checkRecipe(name: string): RecipeName {
  if (!(RECIPE_NAMES as string[]).includes(name)) {
    throw new Error(
      `unknown glyph recipe "${name}" (use one of ${RECIPE_NAMES.join(", ")}; ` +
        `"trainable" is a model option, not a table)`,
    );
  }
  return name as RecipeName;
}

/** The cell a recipe draws: the paper variants fix it, the others take the option (32). */
export function recipeCell(recipe: RecipeName, cell?: number): number {
  if (!isPaperRecipe(recipe)) return cell ?? 32;
  const want = PAPER_VARIANTS[recipe].cell;
  if (cell !== undefined && cell !== want) {
    throw new Error(
      `glyphs: recipe ${recipe} draws ${want}-px cells, not ${cell} (set embed.cell=${want})`,
    );
  }
  return want;
}

/**
 * One token's `clean` picture (ink 0..255, cell x cell). `cellOf(cp)` gives the character's
 * ink box centred in its cell (all zero when it has no ink: then a hex box stands in).
 */
export function cleanPicture(
  cps: number[],
  cellOf: (cp: number) => Uint8Array,
  cell: number,
): Bitmap {
  const cells = (cps.length ? cps : [-1]).map((cp): Bitmap => {
    if (cp < 0) return { width: cell, height: cell, pixels: new Uint8Array(cell * cell) };
    const px = cellOf(cp);
    return px.every((v) => v === 0) ? hexBox(cp, cell) : { width: cell, height: cell, pixels: px };
  });
  return squashArea(joinCells(cells), cell, cell);
}

function hashBytes(b: Uint8Array): number {
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < b.length; i++) {
    h1 = Math.imul(h1 ^ b[i], 0x01000193);
    h2 = Math.imul(h2 ^ b[i], 0x5bd1e995) ^ (h2 >>> 13);
  }
  return (h1 >>> 0) * 0x200000 + (h2 >>> 11);
}

/** Group row indices of a [n, size] byte table by identical content (groups of >= 2). */
export function identicalGroups(pics: Uint8Array, n: number, size: number): number[][] {
  const byHash = new Map<number, number[][]>();
  for (let i = 0; i < n; i++) {
    const row = pics.subarray(i * size, (i + 1) * size), h = hashBytes(row);
    const groups = byHash.get(h) ?? [];
    const g = groups.find((g) => sameBytes(pics, g[0], i, size));
    if (g) g.push(i);
    else groups.push([i]);
    byHash.set(h, groups);
  }
  return [...byHash.values()].flat().filter((g) => g.length > 1).sort((a, b) => a[0] - b[0]);
}

function sameBytes(pics: Uint8Array, a: number, b: number, size: number): boolean {
  for (let k = 0; k < size; k++) if (pics[a * size + k] !== pics[b * size + k]) return false;
  return true;
}

/**
 * Make every picture distinct, in id order: a picture equal to an earlier one gets a mark,
 * the bits of a counter k = 1, 2, ... flipping the grey level (xor 128) of the top-left
 * pixels in raster order, until it is unique. Returns how many pictures were marked.
 */
export function makeDistinct(pics: Uint8Array, n: number, size: number): number {
  const seen = new Map<number, number[]>();
  const find = (i: number) =>
    (seen.get(hashBytes(pics.subarray(i * size, (i + 1) * size))) ?? [])
      .some((j) => sameBytes(pics, i, j, size));
  let marked = 0;
  for (let i = 0; i < n; i++) {
    if (find(i)) {
      const orig = pics.slice(i * size, (i + 1) * size);
      for (let k = 1; find(i); k++) {
        pics.set(orig, i * size);
        for (let bit = 0; k >> bit; bit++) if ((k >> bit) & 1) pics[i * size + bit] ^= 128;
      }
      marked++;
    }
    const h = hashBytes(pics.subarray(i * size, (i + 1) * size));
    seen.set(h, [...(seen.get(h) ?? []), i]);
  }
  return marked;
}

/** L2-normalise each row in place (a zero row stays zero). */
export function normaliseRows(m: Float32Array, rows: number, cols: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += m[r * cols + c] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = 0; c < cols; c++) m[r * cols + c] *= inv;
  }
  return m;
}

/** `random` recipe: seeded Gaussian rows, L2-normalised (distinct with probability 1). */
export function randomVectors(rows: number, cols: number, seed = 42): Float32Array {
  const g = gaussian(mulberry32(seed)), m = new Float32Array(rows * cols);
  for (let i = 0; i < m.length; i++) m[i] = g();
  return normaliseRows(m, rows, cols);
}

/** `binary-id` recipe: +-1 for the bits of the id (LSB first), tiled to width, normalised. */
export function binaryIdVectors(rows: number, cols: number): Float32Array {
  const bits = Math.max(1, Math.ceil(Math.log2(Math.max(2, rows))));
  if (cols < bits) {
    throw new Error(
      `binary-id: ${cols} columns cannot hold ${bits}-bit ids (use dModel >= ${bits})`,
    );
  }
  const m = new Float32Array(rows * cols), v = 1 / Math.sqrt(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) m[r * cols + c] = (r >> (c % bits)) & 1 ? v : -v;
  }
  return m;
}
