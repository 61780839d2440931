// The few Pillow image operations the author's glyph recipe uses, restated from Pillow's
// documented behaviour and C sources (libImaging Geometry.c, BoxBlur.c, Paste.c) so that the
// pictures come out bit for bit the same. Images here are 8-bit grey in Pillow's convention:
// 0 = black (ink), 255 = white (paper), row-major.

import { type Bitmap, blankBitmap } from "./bitmap.ts";

/** A white (255) image. */
export function whiteImage(width: number, height: number): Bitmap {
  const b = blankBitmap(width, height);
  b.pixels.fill(255);
  return b;
}

/**
 * Draw a glyph mask (coverage 0..255, `mask` w x h) in black with its top-left at (x, y),
 * clipped to the image, blending as Pillow's draw_bitmap does for an "L" image:
 * out = (out * (255 - a) + 0 * a) / 255 with Pillow's rounding.
 */
export function drawMask(img: Bitmap, mask: Bitmap, x: number, y: number): void {
  for (let v = 0; v < mask.height; v++) {
    const ty = y + v;
    if (ty < 0 || ty >= img.height) continue;
    for (let u = 0; u < mask.width; u++) {
      const tx = x + u, a = mask.pixels[v * mask.width + u];
      if (tx < 0 || tx >= img.width || a === 0) continue;
      const t = img.pixels[ty * img.width + tx] * (255 - a) + 128;
      img.pixels[ty * img.width + tx] = ((t >> 8) + t) >> 8;
    }
  }
}

/** Python's round(x, 15): the double nearest to x rounded to 15 decimals. */
function round15(x: number): number {
  return parseFloat(x.toFixed(15));
}

/**
 * `img.rotate(angle, expand=0, fillcolor=fill)` with the default NEAREST resampling:
 * counter-clockwise by `angle` degrees about (w/2, h/2). Pillow builds the inverse affine map
 * in double precision (cos/sin rounded to 15 decimals) and runs it in 16.16 fixed point,
 * sampling at pixel centres; pixels that map outside keep the fill colour.
 */
export function rotateNearest(img: Bitmap, angle: number, fill = 255): Bitmap {
  let a = angle % 360;
  if (a < 0) a += 360; // Python's float modulo takes the divisor's sign
  if (a === 0) return { ...img, pixels: img.pixels.slice() };
  if (a === 90 || a === 180 || a === 270) {
    throw new Error(`rotate: ${a} degrees is a transpose in Pillow (not supported here)`);
  }
  const { width: w, height: h } = img, cx = w / 2, cy = h / 2;
  const r = -(a * (Math.PI / 180));
  const m = [round15(Math.cos(r)), round15(Math.sin(r)), 0, round15(-Math.sin(r)), 0, 0];
  m[4] = round15(Math.cos(r));
  m[2] = m[0] * -cx + m[1] * -cy + 0 + cx;
  m[5] = m[3] * -cx + m[4] * -cy + 0 + cy;
  for (const [x, y] of [[0, 0], [w, h], [0, h], [w, 0]]) {
    if (
      Math.abs(x * m[0] + y * m[1] + m[2]) >= 32768 || Math.abs(x * m[3] + y * m[4] + m[5]) >= 32768
    ) {
      throw new Error(`rotate: image ${w}x${h} too large for Pillow's fixed-point path`);
    }
  }
  const fix = (v: number) => Math.floor(v * 65536 + 0.5);
  const a0 = fix(m[0]), a1 = fix(m[1]), a3 = fix(m[3]), a4 = fix(m[4]);
  const a2 = fix(m[2] + m[0] * 0.5 + m[1] * 0.5), a5 = fix(m[5] + m[3] * 0.5 + m[4] * 0.5);
  const out = blankBitmap(w, h);
  out.pixels.fill(fill);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const xin = Math.floor((a2 + y * a1 + x * a0) / 65536);
      const yin = Math.floor((a5 + y * a4 + x * a3) / 65536);
      if (xin >= 0 && xin < w && yin >= 0 && yin < h) {
        out.pixels[y * w + x] = img.pixels[yin * w + xin];
      }
    }
  }
  return out;
}

/** `Image.new(size, fill).paste(img, (dx, dy))`: the image moved by (dx, dy) on `fill`. */
export function shifted(img: Bitmap, dx: number, dy: number, fill = 255): Bitmap {
  const { width: w, height: h } = img, out = blankBitmap(w, h);
  out.pixels.fill(fill);
  for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
    for (let x = Math.max(0, dx); x < Math.min(w, w + dx); x++) {
      out.pixels[y * w + x] = img.pixels[(y - dy) * w + (x - dx)];
    }
  }
  return out;
}

/** Pillow's box radius for a Gaussian of `radius` made of `passes` box blurs (float32). */
export function gaussianBoxRadius(radius: number, passes: number): number {
  const f = Math.fround;
  const sigma2 = f(f(f(radius) * f(radius)) / passes);
  const L = f(Math.sqrt(12.0 * sigma2 + 1.0));
  const l = f(Math.floor((L - 1.0) / 2.0));
  let a = f(f(2 * l + 1) * f(f(l * f(l + 1)) - f(3 * sigma2)));
  a = f(a / f(6 * f(sigma2 - f(f(l + 1) * f(l + 1)))));
  return f(l + a);
}

/** One horizontal pass of Pillow's extended box blur (integer part r, fraction in the weights). */
function boxPass(src: Uint8Array, w: number, h: number, radius: number): Uint8Array {
  const r = Math.trunc(radius);
  const ww = Math.trunc(Math.fround(16777216 / Math.fround(Math.fround(radius * 2) + 1)));
  const fw = Math.floor((16777216 - (r * 2 + 1) * ww) / 2);
  const out = new Uint8Array(w * h);
  const at = (row: number, x: number) => src[row + Math.min(w - 1, Math.max(0, x))];
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += at(row, x + k);
      const bulk = acc * ww + (at(row, x - r - 1) + at(row, x + r + 1)) * fw;
      out[row + x] = Math.floor((bulk + 8388608) / 16777216);
    }
  }
  return out;
}

function transpose(src: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[x * h + y] = src[y * w + x];
  return out;
}

/** `img.filter(ImageFilter.GaussianBlur(radius))`: `passes` box blurs across, then down. */
export function gaussianBlur(img: Bitmap, radius: number, passes = 3): Bitmap {
  const br = gaussianBoxRadius(radius, passes), { width: w, height: h } = img;
  if (br === 0) return { ...img, pixels: img.pixels.slice() };
  let p = img.pixels;
  for (let i = 0; i < passes; i++) p = boxPass(p, w, h, br);
  p = transpose(p, w, h);
  for (let i = 0; i < passes; i++) p = boxPass(p, h, w, br);
  return { width: w, height: h, pixels: transpose(p, h, w) };
}

/**
 * `resize((w, h), NEAREST)` (what Pillow does for a mode-'1' image whatever filter is asked):
 * output pixel x samples source column floor(x0 + sx * (x + 0.5)) with the scale
 * accumulated in double precision as Pillow's ImagingScaleAffine does.
 */
export function resizeNearest(img: Bitmap, w: number, h: number): Bitmap {
  if (img.width === w && img.height === h) return { ...img, pixels: img.pixels.slice() };
  const sx = img.width / w, sy = img.height / h, cols = new Int32Array(w);
  let xo = sx * 0.5;
  for (let x = 0; x < w; x++, xo += sx) cols[x] = xo < 0 ? -1 : Math.trunc(xo);
  const out = blankBitmap(w, h);
  let yo = sy * 0.5;
  for (let y = 0; y < h; y++, yo += sy) {
    const yi = yo < 0 ? -1 : Math.trunc(yo);
    if (yi < 0 || yi >= img.height) continue;
    for (let x = 0; x < w; x++) {
      if (cols[x] >= 0 && cols[x] < img.width) {
        out.pixels[y * w + x] = img.pixels[yi * img.width + cols[x]];
      }
    }
  }
  return out;
}

/**
 * The author's `image_to_bitlist_polar_snake` order of a w x h picture: pixel indices
 * (y*w + x) sorted by distance from (w/2, h/2), then angle atan2(dy, dx), then x, then y.
 * Distances compare as exact squared distances (equal distances tie as in Python).
 */
export function snakeOrder(w: number, h: number): Int32Array {
  const cx = w / 2, cy = h / 2, idx: number[] = [];
  const d2 = new Float64Array(w * h), th = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x, dx = x - cx, dy = y - cy;
      d2[i] = dx * dx + dy * dy;
      th[i] = Math.atan2(dy, dx);
      idx.push(i);
    }
  }
  idx.sort((a, b) =>
    d2[a] - d2[b] || th[a] - th[b] || (a % w) - (b % w) || Math.floor(a / w) - Math.floor(b / w)
  );
  return Int32Array.from(idx);
}
