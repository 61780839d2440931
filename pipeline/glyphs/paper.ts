// The author's glyph recipe (AVBochkov/PGT, `_tokenizer-builder-bvv241-2-3.ipynb`; the `-max`
// and `-abs` notebooks for the variants), restated from the notebooks: each character placed
// in its cell as Pillow's `getbbox` layout puts it, the strip augmented with the same draws for
// every token (both generators reset to the seed on every call), binarised at 128 and squashed
// to one cell by nearest neighbour. Pictures come out in glyphgrad's ink convention (255 = ink,
// row-major); the table builder reorders them into the author's polar snake order.

import { type Bitmap, blankBitmap } from "./bitmap.ts";
import { advancePx, findGlyph, type FontInfo } from "./font.ts";
import { NpRandomState, PyRandom } from "./mt19937.ts";
import type { Glyphs } from "./render.ts";
import {
  drawMask,
  gaussianBlur,
  resizeNearest,
  rotateNearest,
  shifted,
  whiteImage,
} from "./pillow.ts";

export interface PaperVariant {
  /** Cell side in pixels = font size. */
  cell: number;
  /** Strong augmentation: rotation drawn from uniform(-rotation, rotation) degrees. */
  rotation: number;
  /** Strong augmentation: shift drawn from randint(-shift, shift) on each axis. */
  shift: number;
  /** Strong augmentation: share of pixels set to ink (np.random.rand < noise). */
  noise: number;
}

/** Noise level of the other tokens (no rotation, shift or blur). */
export const WEAK_NOISE = 0.001;

/** `paper`: the 2-3 notebook; `paper-max`: -max / -nemo; `paper-64`: -abs (64 px). */
export const PAPER_VARIANTS = {
  "paper": { cell: 32, rotation: 4, shift: 2, noise: 0.01 },
  "paper-max": { cell: 32, rotation: 7, shift: 3, noise: 0.03 },
  "paper-64": { cell: 64, rotation: 7, shift: 3, noise: 0.03 },
} as const satisfies Record<string, PaperVariant>;

export type PaperRecipe = keyof typeof PAPER_VARIANTS;

export function isPaperRecipe(name: string): name is PaperRecipe {
  return Object.hasOwn(PAPER_VARIANTS, name);
}

/** The notebook's `is_easy_script`: every character in U+0000-024F or U+0370-058F. */
export function easyScript(cps: number[]): boolean {
  return cps.every((cp) => (cp >= 0 && cp <= 0x24f) || (cp >= 0x370 && cp <= 0x58f));
}

/** One character's glyph: its ink box (null: no ink) placed from the pen, and its advance. */
export interface PlacedGlyph {
  ink: Bitmap | null;
  /** Ink box's left edge from the pen position, in pixels. */
  left: number;
  /** Ink box's top from the baseline (negative above it), in pixels. */
  top: number;
  advance: number;
}

const floorDiv = (a: number, b: number) => Math.floor(a / b);

/**
 * The notebook's drawing of a token: an image 32n x 32 (cell n x cell), white; character i
 * drawn black with `draw.text((x, y))` at x = i*cell + (cell - w)//2, y = (cell - h)//2 -
 * bbox[1], where bbox = font.getbbox(ch) spans, across, from min(0, ink left) to max(advance,
 * ink right) and, down, from min(baseline, ink top) to max(baseline, ink bottom), measured
 * from the ascender line (`ascender` px above the baseline). A newline draws nothing (Pillow
 * takes it for multi-line text).
 */
export function drawToken(
  cps: number[],
  glyphOf: (cp: number) => PlacedGlyph,
  cell: number,
  ascender: number,
): Bitmap {
  const img = whiteImage(cell * cps.length, cell);
  cps.forEach((cp, i) => {
    const g = glyphOf(cp);
    if (!g.ink || cp === 0x0a) return;
    const x0 = Math.min(0, g.left), x1 = Math.max(g.advance, g.left + g.ink.width);
    const y0 = Math.min(ascender, ascender + g.top);
    const y1 = Math.max(ascender, ascender + g.top + g.ink.height);
    const x = i * cell + floorDiv(cell - (x1 - x0), 2), y = floorDiv(cell - (y1 - y0), 2) - y0;
    drawMask(img, g.ink, x + g.left, y + ascender + g.top);
  });
  return img;
}

/** Positions set by `np.random.rand(h, w) < level` right after seeding (same for every token). */
const noiseCache = new Map<string, Int32Array>();
function noiseMask(h: number, w: number, level: number, seed: number): Int32Array {
  const key = `${h}x${w}@${level}#${seed}`;
  let m = noiseCache.get(key);
  if (!m) {
    const r = new NpRandomState(seed).rand(h * w), at: number[] = [];
    for (let i = 0; i < r.length; i++) if (r[i] < level) at.push(i);
    m = Int32Array.from(at);
    noiseCache.set(key, m);
  }
  return m;
}

/**
 * The notebook's `augment_image` followed by the squash: both generators seeded, then rotate
 * (nearest, white fill), shift by pasting on white, noise (pixels set to ink), Gaussian blur of
 * radius 0.5 (strong tokens only), `p < 128` -> ink, nearest-neighbour resize to cell x cell.
 * Returns the picture with ink = 255, paper = 0.
 */
export function augmentToken(
  strip: Bitmap,
  strong: boolean,
  v: PaperVariant,
  seed = 42,
): Bitmap {
  const py = new PyRandom(seed);
  const rot = strong ? v.rotation : 0, sh = strong ? v.shift : 0;
  let img = rotateNearest(strip, py.uniform(-rot, rot), 255);
  const dx = py.randint(-sh, sh), dy = py.randint(-sh, sh);
  img = shifted(img, dx, dy, 255);
  for (const i of noiseMask(img.height, img.width, strong ? v.noise : WEAK_NOISE, seed)) {
    img.pixels[i] = 0;
  }
  if (strong) img = gaussianBlur(img, 0.5);
  const bw = blankBitmap(img.width, img.height);
  for (let i = 0; i < bw.pixels.length; i++) bw.pixels[i] = img.pixels[i] < 128 ? 255 : 0;
  return resizeNearest(bw, v.cell, v.cell);
}

/** A token's final picture by a paper variant (ink 255, cell x cell). */
export function paperPicture(
  cps: number[],
  glyphOf: (cp: number) => PlacedGlyph,
  ascender: number,
  v: PaperVariant,
  seed = 42,
): Bitmap {
  if (!cps.length) return augmentToken(whiteImage(v.cell, v.cell), true, v, seed);
  return augmentToken(drawToken(cps, glyphOf, v.cell, ascender), easyScript(cps), v, seed);
}

/**
 * Look-up of rendered glyphs (`glyphs` holds `cps` in order) as placed glyphs; advances come
 * from the fonts (0 where no font maps the character).
 */
export function glyphLookup(
  cps: number[],
  glyphs: Glyphs,
  fonts: FontInfo[],
  cell: number,
): (cp: number) => PlacedGlyph {
  const index = new Map(cps.map((cp, i) => [cp, i])), S2 = cell * cell;
  const memo = new Map<number, PlacedGlyph>();
  return (cp) => {
    let g = memo.get(cp);
    if (g) return g;
    const i = index.get(cp);
    if (i === undefined) throw new Error(`glyphs: code point ${cp} was not rendered`);
    const [w, h, left, top] = glyphs.metrics.subarray(4 * i, 4 * i + 4);
    let ink: Bitmap | null = null;
    if (w) {
      ink = blankBitmap(w, h);
      for (let y = 0; y < h; y++) {
        ink.pixels.set(glyphs.pixels.subarray(i * S2 + y * cell, i * S2 + y * cell + w), y * w);
      }
    }
    const f = findGlyph(fonts, cp) ?? { font: fonts[0], gid: 0 }; // unmapped: .notdef
    g = { ink, left, top, advance: Math.round(advancePx(f.font, f.gid, cell)) };
    memo.set(cp, g);
    return g;
  };
}
