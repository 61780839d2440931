// Glyph rendering with resvg (the WebAssembly build, fonts passed as in-memory buffers: the
// native @resvg/resvg-js build re-reads the whole font file from disk for every glyph it
// looks up, 5 MB per character for Unifont, which made it several times slower). Every
// distinct character is drawn once, many per SVG (long
// letter-spaced left-to-right text runs, positions predicted from the font's advances and
// checked with a sentinel glyph per row), its real ink bounds found in the rendered
// pixels. `renderGlyphs` keeps each ink box with its place relative to the pen (origin and
// baseline), which the paper recipes need to lay glyphs out as Pillow does; `renderChars`
// centres the ink box in a cell x cell bitmap. Controls, which SVG text cannot hold, are drawn
// on request through a private-use alias of their glyph (`controls`).

import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { createRequire } from "node:module";
import { type Bitmap, blankBitmap, cropInk, joinCells, placeInCell } from "./bitmap.ts";
import { advancePx, aliasGlyphs, findGlyph, type FontInfo, glyphId, loadFonts } from "./font.ts";

export const UNIFONT_DIR = "/usr/share/fonts/opentype/unifont";
export const DEFAULT_FONT_FILES = [
  `${UNIFONT_DIR}/unifont.otf`,
  `${UNIFONT_DIR}/unifont_upper.otf`,
];

export interface RenderOptions {
  /** Cell side in pixels; the font size equals the cell (Unifont: 2 or 4 px per font pixel). */
  cell?: number;
  /** Font files in fallback order; the first one's family is the default family. */
  fontFiles?: string[];
  /** Draw every character as its own positioned <text> (the slow path; a reference). */
  perCharacter?: boolean;
  /**
   * Draw every BMP character as Pillow's basic layout does with the first font: its own
   * glyph, unshaped (controls and default-ignorables included), through a private-use alias;
   * .notdef where the font has none (lone surrogates too). Beyond the BMP as usual.
   */
  controls?: boolean;
}

/**
 * Rendered glyphs: pixels[i*cell*cell ..] holds character i's ink box (ink 0..255) at the
 * cell's top-left; metrics[4i ..] = [width, height, left, top] of that box, left from the pen
 * position and top from the baseline (negative above it), in pixels. Width 0: no ink.
 */
export interface Glyphs {
  pixels: Uint8Array;
  metrics: Int16Array;
}

/** Private-use code points that stand for glyphs SVG text cannot hold (plane 15). */
const ALIAS_BASE = 0xf0000;

const DEBUG = Deno.env.get("GLYPH_DEBUG") === "1";
const SENTINEL = 0x48; // 'H': any glyph with ink works; its position checks a row's layout
const CHARS_PER_ROW = 64;
const ROWS_PER_SVG = 32;

/** Code points that cannot be drawn: not allowed in XML text, whitespace controls, lone halves. */
export function xmlDrawable(cp: number): boolean {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return false;
  if (cp >= 0xd800 && cp < 0xe000) return false;
  return cp !== 0xfffe && cp !== 0xffff && cp <= 0x10ffff;
}

interface Ctx {
  cell: number;
  fonts: FontInfo[];
  fontFiles: string[];
  buffers: Uint8Array[];
  /** Code point -> the private-use alias it is drawn as (controls, when asked for). */
  alias: Map<number, number>;
}

let wasmReady: Promise<void> | null = null;
const fontBuffers = new Map<string, Uint8Array>();

/** Load resvg's WebAssembly module (once per thread). */
export function readyRenderer(): Promise<void> {
  if (!wasmReady) {
    const path = createRequire(import.meta.url).resolve("@resvg/resvg-wasm/index_bg.wasm");
    wasmReady = initWasm(Deno.readFileSync(path));
  }
  return wasmReady;
}

function fontBytes(path: string): Uint8Array {
  let b = fontBuffers.get(path);
  if (!b) {
    b = Deno.readFileSync(path);
    fontBuffers.set(path, b);
  }
  return b;
}

function context(opts: RenderOptions): Ctx {
  const cell = opts.cell ?? 32;
  if (!Number.isInteger(cell) || cell < 8 || cell > 256) {
    throw new Error(`render: cell ${cell} is invalid (use 32 or 64)`);
  }
  const fontFiles = opts.fontFiles ?? DEFAULT_FONT_FILES;
  const fonts = loadFonts(fontFiles);
  if (!findGlyph(fonts, SENTINEL)) {
    throw new Error(`render: font ${fontFiles[0]} has no 'H' glyph (use a font that covers Latin)`);
  }
  const buffers = fontFiles.map(fontBytes), alias = new Map<number, number>();
  if (opts.controls) {
    // every BMP character under its alias U+F0000 + cp: drawn alone with the first font's
    // glyph, never shaped (no dotted circles, joining forms, hidden marks); lone surrogates
    // and unmapped characters get .notdef, as Pillow draws them
    const from = Array.from({ length: 0x10000 }, (_, cp) => cp);
    const extra = from.map((cp) => ALIAS_BASE + cp);
    if (extra.some((cp) => glyphId(fonts[0], cp))) {
      throw new Error(
        `render: font ${fontFiles[0]} maps plane 15 (use a font without private use)`,
      );
    }
    buffers[0] = aliasGlyphs(buffers[0], fonts[0], from, extra);
    from.forEach((cp, i) => alias.set(cp, extra[i]));
  }
  return { cell, fonts, fontFiles, buffers, alias };
}

// Default-ignorable code points of the BMP (Unicode's Default_Ignorable_Code_Point) that
// resvg's text shaping draws nothing for (measured: it does draw U+115F, U+1160, U+180F,
// U+3164): the centred cells (`clean`) leave them blank, as SVG text shows them.
const HIDDEN_RANGES = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x17b4, 0x17b5],
  [0x180b, 0x180e],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xfff0, 0xfff8],
];

/** Whether SVG text shaping hides the character (see HIDDEN_RANGES). */
export function hiddenByShaping(cp: number): boolean {
  return HIDDEN_RANGES.some(([a, b]) => cp >= a && cp <= b);
}

/** Whether this font set can draw the code point at all (drawable and mapped by a font). */
export function hasGlyph(fonts: FontInfo[], cp: number): boolean {
  return xmlDrawable(cp) && findGlyph(fonts, cp) !== null;
}

// Characters that change shape, merge, reorder or vanish when set in one run with their
// neighbours (resvg ignores unicode-bidi="bidi-override"): right-to-left scripts (Hebrew,
// Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, presentation forms, RTL blocks beyond the
// BMP), Indic and South-East Asian scripts with reordering shapers, Mongolian, Hangul
// conjoining jamo, default-ignorable characters (soft hyphen, joiners, variation selectors,
// bidi controls, tags). They always take the slow, one-<text>-per-character path.
const SHAPING_RANGES = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x0590, 0x08ff],
  [0x0900, 0x0dff],
  [0x0f00, 0x109f],
  [0x1100, 0x11ff],
  [0x1680, 0x1680],
  [0x1780, 0x18af],
  [0x1a00, 0x1cff],
  [0x2000, 0x200f],
  [0x2028, 0x202e],
  [0x205f, 0x206f],
  [0x3000, 0x3000],
  [0x3164, 0x3164],
  [0xa800, 0xa82f],
  [0xa840, 0xa87f],
  [0xa880, 0xaaff],
  [0xabc0, 0xabff],
  [0xa960, 0xa97f],
  [0xd7b0, 0xd7ff],
  [0xfb1d, 0xfdff],
  [0xfe00, 0xfe0f],
  [0xfe70, 0xfeff],
  [0xffa0, 0xffa0],
  [0xfff0, 0xfff8],
  [0x10800, 0x10fff],
  [0x11000, 0x11fff],
  [0x1bca0, 0x1bca3],
  [0x1d173, 0x1d17a],
  [0x1e800, 0x1efff],
  [0xe0000, 0xe0fff],
];

function shapesWithNeighbours(cp: number): boolean {
  return SHAPING_RANGES.some(([a, b]) => cp >= a && cp <= b);
}

function advanceOf(ctx: Ctx, cp: number): number {
  const g = findGlyph(ctx.fonts, cp) ?? { font: ctx.fonts[0], gid: 0 }; // unmapped: .notdef
  return advancePx(g.font, g.gid, ctx.cell);
}

function rasterise(ctx: Ctx, body: string, width: number, height: number): Uint8Array {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-size="${ctx.cell}" xml:space="preserve">${body}</svg>`;
  const family = ctx.fonts[0].family || "sans-serif";
  const t0 = performance.now();
  const r = new Resvg(svg, {
    font: { fontBuffers: ctx.buffers, loadSystemFonts: false, defaultFontFamily: family },
  });
  const t1 = performance.now();
  const img = r.render();
  const t2 = performance.now();
  const rgba = img.pixels;
  const t3 = performance.now();
  const alpha = new Uint8Array(width * height);
  for (let i = 0; i < alpha.length; i++) alpha[i] = rgba[4 * i + 3];
  img.free();
  r.free();
  if (DEBUG) {
    const ms = [t1 - t0, t2 - t1, t3 - t2, performance.now() - t3].map((x) => x.toFixed(0));
    console.error(`resvg ${width}x${height} parse/render/pixels/alpha ms ${ms.join(" ")}`);
  }
  return alpha;
}

/** Ink bounding box inside [x0,x1) x [y0,y1) of an alpha image, or null when blank. */
function inkBox(a: Uint8Array, stride: number, x0: number, x1: number, y0: number, y1: number) {
  let bx0 = x1, bx1 = x0, by0 = y1, by1 = y0;
  for (let y = y0; y < y1; y++) {
    const row = y * stride;
    for (let x = x0; x < x1; x++) {
      if (a[row + x]) {
        if (x < bx0) bx0 = x;
        if (x >= bx1) bx1 = x + 1;
        if (y < by0) by0 = y;
        by1 = y + 1;
      }
    }
  }
  return bx1 > bx0 ? { x0: bx0, x1: bx1, y0: by0, y1: by1 } : null;
}

const ref = (ctx: Ctx, cp: number) => `&#x${(ctx.alias.get(cp) ?? cp).toString(16)};`;

interface Row {
  cps: number[];
  at: number[]; // output offsets
}

/**
 * Render rows of drawable code points, stacked in one SVG. Fast path: one letter-spaced text
 * run per row (about twice as fast in resvg as positioning each character; spaces as
 * separators are far slower still), positions predicted from hmtx and verified by a sentinel
 * glyph at both ends. Rows whose prediction fails (kerning, reordering, a font's surprises)
 * are redrawn on the slow path: one positioned <text> per character. Characters that shape
 * with their neighbours (marks, joining scripts, conjoining jamo) always take the slow path.
 */
function renderRows(ctx: Ctx, rows: Row[], out: Glyphs, slow = false): void {
  // Row of height 1.5 cell, baseline at 1.125 cell; each character's ink window reaches M
  // pixels beyond its advance on both sides (a whole cell on the slow path, where zero-width
  // marks hang left of their origin), and the spacing 2M keeps windows apart.
  const S = ctx.cell, H = Math.round(1.5 * S), base = Math.round(1.125 * S);
  const M = slow ? S : Math.ceil(S / 2);
  const gap = 2 * M;
  const attrs = `letter-spacing="${gap}"`;
  const layout = rows.map((row) => {
    const seq = [SENTINEL, ...row.cps, SENTINEL], adv = seq.map((cp) => advanceOf(ctx, cp));
    const pos: number[] = [];
    const pitch = Math.ceil(gap + Math.max(...adv)); // whole pixels: same raster anywhere
    let x = M;
    for (let k = 0; k < seq.length; k++) {
      pos.push(slow ? M + k * pitch : x);
      x += adv[k] + gap;
    }
    return { seq, adv, pos, end: Math.ceil(pos[pos.length - 1] + adv[adv.length - 1] + M) };
  });
  const width = Math.max(...layout.map((l) => l.end)), height = H * rows.length;
  let body = "";
  layout.forEach((l, r) => {
    const y = r * H + base;
    if (slow) {
      l.seq.forEach((cp, k) => body += `<text x="${l.pos[k]}" y="${y}">${ref(ctx, cp)}</text>`);
    } else {
      body += `<text x="${M}" y="${y}" ${attrs}>${l.seq.map((c) => ref(ctx, c)).join("")}</text>`;
    }
  });
  const alpha = rasterise(ctx, body, width, height);
  const failed: Row[] = [];
  layout.forEach((l, r) => {
    const box = (k: number) =>
      inkBox(
        alpha,
        width,
        Math.max(0, Math.floor(l.pos[k] - M)),
        Math.min(width, Math.ceil(l.pos[k] + l.adv[k] + M)),
        r * H,
        r * H + H,
      );
    const n = l.seq.length, first = box(0), last = box(n - 1);
    const ok = first && last && Math.abs(last.x0 - first.x0 - (l.pos[n - 1] - l.pos[0])) < 0.5;
    if (!ok && !slow) {
      if (DEBUG) {
        console.error(`fast row failed: ${rows[r].cps.map((c) => c.toString(16)).join(" ")}`);
      }
      return failed.push(rows[r]);
    }
    for (let k = 1; k < n - 1; k++) {
      const b = box(k);
      if (!b) continue;
      const ink = cropInk(alpha, width, b, S), at = rows[r].at[k - 1];
      out.pixels.set(placeInCell(ink, S, 0, 0).pixels, at * S * S);
      const top = b.y0 - (r * H + base);
      out.metrics.set([ink.width, ink.height, Math.round(b.x0 - l.pos[k]), top], 4 * at);
    }
  });
  if (DEBUG) console.error(`rows ${rows.length} failed ${failed.length} slow ${slow}`);
  if (failed.length) renderRows(ctx, failed, out, true);
}

/**
 * Render code points into glyphs (see Glyphs); a character that cannot be drawn (control
 * without `controls`, lone surrogate, no font maps it) or has no ink (spaces) gets width 0.
 */
export async function renderGlyphs(
  cps: ArrayLike<number>,
  opts: RenderOptions = {},
): Promise<Glyphs> {
  await readyRenderer();
  const ctx = context(opts);
  const S2 = ctx.cell * ctx.cell;
  const out = { pixels: new Uint8Array(cps.length * S2), metrics: new Int16Array(cps.length * 4) };
  const fast: Row[] = [], slow: Row[] = [];
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i];
    const drawn = opts.controls
      ? ctx.alias.has(cp) || (xmlDrawable(cp) && cp <= 0x10ffff)
      : hasGlyph(ctx.fonts, cp);
    if (!drawn) continue;
    // a fractional advance would put later glyphs at sub-pixel offsets (different
    // anti-aliasing than when drawn alone), so such characters are drawn alone too
    const adv = advanceOf(ctx, cp);
    const alone = opts.perCharacter || adv === 0 || !Number.isInteger(adv) ||
      shapesWithNeighbours(cp);
    const rows = alone ? slow : fast;
    if (!rows.length || rows[rows.length - 1].cps.length === CHARS_PER_ROW) {
      rows.push({ cps: [], at: [] });
    }
    rows[rows.length - 1].cps.push(cp);
    rows[rows.length - 1].at.push(i);
  }
  for (let r = 0; r < fast.length; r += ROWS_PER_SVG) {
    renderRows(ctx, fast.slice(r, r + ROWS_PER_SVG), out);
  }
  for (let r = 0; r < slow.length; r += ROWS_PER_SVG) {
    renderRows(ctx, slow.slice(r, r + ROWS_PER_SVG), out, true);
  }
  return out;
}

/** Glyph i's ink box centred in a cell x cell bitmap (all zero when it has no ink). */
export function centredCell(g: Glyphs, i: number, cell: number): Uint8Array {
  const S2 = cell * cell, [w, h] = g.metrics.subarray(4 * i, 4 * i + 2);
  const out = new Uint8Array(S2);
  if (!w) return out;
  const ox = (cell - w) >> 1, oy = (cell - h) >> 1;
  for (let y = 0; y < h; y++) {
    out.set(g.pixels.subarray(i * S2 + y * cell, i * S2 + y * cell + w), (oy + y) * cell + ox);
  }
  return out;
}

/**
 * Render code points into cells: result[i*cell*cell ..] is cps[i]'s ink box centred in its
 * cell (ink 0..255), all zero when the character cannot be drawn or has no ink.
 */
export async function renderChars(
  cps: ArrayLike<number>,
  opts: RenderOptions = {},
): Promise<Uint8Array> {
  const cell = opts.cell ?? 32, g = await renderGlyphs(cps, opts);
  const out = new Uint8Array(cps.length * cell * cell);
  for (let i = 0; i < cps.length; i++) out.set(centredCell(g, i, cell), i * cell * cell);
  return out;
}

/** Split a token into code points (lone surrogates stay single units). */
export function codePoints(text: string): number[] {
  return Array.from(text, (c) => c.codePointAt(0)!);
}

/** A token as drawn: one centred cell per character, side by side (n*cell x cell). */
export async function renderToken(text: string, opts: RenderOptions = {}): Promise<Bitmap> {
  const cell = opts.cell ?? 32, cps = codePoints(text);
  if (cps.length === 0) return blankBitmap(cell, cell);
  const px = await renderChars(cps, opts);
  const cells = cps.map((_, i) => ({
    width: cell,
    height: cell,
    pixels: px.subarray(i * cell * cell, (i + 1) * cell * cell),
  }));
  return joinCells(cells);
}
