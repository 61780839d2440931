// Grey-level bitmaps of glyphs (ink intensity 0 = paper .. 255 = full ink, row-major) and the
// small pure operations the recipes need: cropping and centring an ink box in a cell, joining cells side by
// side, nearest-neighbour and area-averaged down-scaling, and hex boxes for code points that
// have no picture of their own.

export interface Bitmap {
  width: number;
  height: number;
  pixels: Uint8Array;
}

export function blankBitmap(width: number, height: number): Bitmap {
  return { width, height, pixels: new Uint8Array(width * height) };
}

/** Number of pixels with ink >= threshold (128 = the paper's binarisation). */
export function inkCount(b: Bitmap, threshold = 128): number {
  let n = 0;
  for (const v of b.pixels) if (v >= threshold) n++;
  return n;
}

/**
 * Copy the box [x0,x1) x [y0,y1) of a `stride`-wide source into its own bitmap; a box larger
 * than the cell is area-scaled down (aspect kept) to fit.
 */
export function cropInk(
  src: Uint8Array,
  stride: number,
  box: { x0: number; y0: number; x1: number; y1: number },
  cell: number,
): Bitmap {
  const w = box.x1 - box.x0, h = box.y1 - box.y0;
  const ink: Bitmap = blankBitmap(w, h);
  for (let y = 0; y < h; y++) {
    const from = (box.y0 + y) * stride + box.x0;
    ink.pixels.set(src.subarray(from, from + w), y * w);
  }
  if (w <= cell && h <= cell) return ink;
  const s = Math.min(cell / w, cell / h);
  return squashArea(ink, Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s)));
}

/** A cell x cell bitmap holding `ink` (at most cell x cell) with its top-left at (ox, oy). */
export function placeInCell(ink: Bitmap, cell: number, ox: number, oy: number): Bitmap {
  const out = blankBitmap(cell, cell);
  for (let y = 0; y < ink.height; y++) {
    out.pixels.set(ink.pixels.subarray(y * ink.width, (y + 1) * ink.width), (oy + y) * cell + ox);
  }
  return out;
}

/** The ink box centred in a cell x cell bitmap (the `clean` recipe's placement). */
export function centreInCell(
  src: Uint8Array,
  stride: number,
  box: { x0: number; y0: number; x1: number; y1: number },
  cell: number,
): Bitmap {
  const ink = cropInk(src, stride, box, cell);
  return placeInCell(ink, cell, (cell - ink.width) >> 1, (cell - ink.height) >> 1);
}

/** Join same-height bitmaps left to right. */
export function joinCells(cells: Bitmap[]): Bitmap {
  const h = cells[0]?.height ?? 0;
  const w = cells.reduce((s, c) => s + c.width, 0);
  const out = blankBitmap(w, h);
  let x0 = 0;
  for (const c of cells) {
    if (c.height !== h) throw new Error(`joinCells: heights ${c.height} and ${h} differ`);
    for (let y = 0; y < h; y++) {
      out.pixels.set(c.pixels.subarray(y * c.width, (y + 1) * c.width), y * w + x0);
    }
    x0 += c.width;
  }
  return out;
}

/** Nearest-neighbour resize (pixel centres, as PIL's NEAREST): aliases long tokens. */
export function squashNearest(b: Bitmap, w: number, h: number): Bitmap {
  if (b.width === w && b.height === h) return b;
  const out = blankBitmap(w, h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(b.height - 1, Math.floor(((y + 0.5) * b.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(b.width - 1, Math.floor(((x + 0.5) * b.width) / w));
      out.pixels[y * w + x] = b.pixels[sy * b.width + sx];
    }
  }
  return out;
}

/** 1-D area weights: for each output index, [source index, weight] pairs summing to 1. */
function areaWeights(n: number, m: number): [number, number][][] {
  const out: [number, number][][] = [];
  const r = n / m;
  for (let i = 0; i < m; i++) {
    const a = i * r, b = (i + 1) * r, ws: [number, number][] = [];
    for (let s = Math.floor(a); s < Math.min(n, Math.ceil(b)); s++) {
      const cover = Math.min(b, s + 1) - Math.max(a, s);
      if (cover > 1e-12) ws.push([s, cover / r]);
    }
    out.push(ws);
  }
  return out;
}

/** Area-averaged (box-filter, anti-aliased) resize; grey levels kept, rounded to nearest. */
export function squashArea(b: Bitmap, w: number, h: number): Bitmap {
  if (b.width === w && b.height === h) return b;
  const wx = areaWeights(b.width, w), wy = areaWeights(b.height, h);
  const tmp = new Float64Array(b.height * w);
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (const [sx, wt] of wx[x]) s += wt * b.pixels[y * b.width + sx];
      tmp[y * w + x] = s;
    }
  }
  const out = blankBitmap(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (const [sy, wt] of wy[y]) s += wt * tmp[sy * w + x];
      out.pixels[y * w + x] = Math.min(255, Math.round(s));
    }
  }
  return out;
}

// 3x5 hex digits, one row per 3 bits (MSB = left pixel).
const HEX_DIGITS = [
  [7, 5, 5, 5, 7],
  [2, 6, 2, 2, 7],
  [7, 1, 7, 4, 7],
  [7, 1, 7, 1, 7],
  [5, 5, 7, 1, 1],
  [7, 4, 7, 1, 7],
  [7, 4, 7, 5, 7],
  [7, 1, 1, 1, 1],
  [7, 5, 7, 5, 7],
  [7, 5, 7, 1, 7],
  [2, 5, 7, 5, 5],
  [6, 5, 6, 5, 6],
  [3, 4, 4, 4, 3],
  [6, 5, 5, 5, 6],
  [7, 4, 7, 4, 7],
  [7, 4, 7, 4, 4],
];

/**
 * A Unifont-style "hex box": a square outline holding the code point's hex digits (2x2 for
 * the BMP, 3x2 beyond), drawn on a 16x16 grid and scaled to the cell. Distinct code points
 * give distinct boxes, so blank, control and unassigned characters never collide.
 */
export function hexBox(cp: number, cell: number): Bitmap {
  const g = new Uint8Array(256);
  for (let i = 0; i < 16; i++) {
    g[i] =
      g[240 + i] =
      g[16 * i] =
      g[16 * i + 15] =
        255;
  }
  const hex = cp.toString(16).toUpperCase().padStart(cp > 0xffff ? 6 : 4, "0");
  const cols = hex.length / 2, xs = cols === 2 ? [4, 9] : [2, 6, 10];
  for (let k = 0; k < hex.length; k++) {
    const glyph = HEX_DIGITS[parseInt(hex[k], 16)];
    const gx = xs[k % cols], gy = k < cols ? 2 : 9;
    for (let r = 0; r < 5; r++) {
      for (let c = 0; c < 3; c++) if ((glyph[r] >> (2 - c)) & 1) g[(gy + r) * 16 + gx + c] = 255;
    }
  }
  return squashNearest({ width: 16, height: 16, pixels: g }, cell, cell);
}
