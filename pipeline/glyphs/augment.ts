// The paper's deterministic "augmentation" of a token picture, restated from its notes: the
// random generator is reset to seed 42 for every token, so every token of one script class
// gets the same draws. Latin, Greek, Cyrillic and Armenian: rotation by one of +-4 / +-7
// degrees about the image centre (bilinear), shift by one of +-2 / +-3 px on each axis,
// pixel noise (each pixel inverted with probability 1-3%), then a light 3x3 [1 2 1] blur.
// Other scripts: 0.1% pixel noise only. Binarisation at 128 happens later, in the recipe.

import { type Bitmap, blankBitmap } from "./bitmap.ts";
import { mulberry32 } from "./rng.ts";

export const AUGMENT_SEED = 42;

// Blocks of the four scripts that get the strong augmentation (stable across Unicode versions).
const STRONG_RANGES = [
  [0x0000, 0x02af],
  [0x0370, 0x058f],
  [0x1c80, 0x1c8f],
  [0x1d00, 0x1dbf],
  [0x1e00, 0x1fff],
  [0x2c60, 0x2c7f],
  [0x2de0, 0x2dff],
  [0xa640, 0xa69f],
  [0xa720, 0xa7ff],
  [0xab30, 0xab6f],
  [0xfb00, 0xfb17],
];

/** Whether a token gets the strong (Latin/Greek/Cyrillic/Armenian) augmentation: its first
 * character decides. */
export function strongScript(cps: number[]): boolean {
  const cp = cps[0] ?? 0;
  return STRONG_RANGES.some(([a, b]) => cp >= a && cp <= b);
}

function rotateShift(b: Bitmap, degrees: number, dx: number, dy: number): Bitmap {
  const out = blankBitmap(b.width, b.height);
  const t = (degrees * Math.PI) / 180, c = Math.cos(t), s = Math.sin(t);
  const cx = (b.width - 1) / 2, cy = (b.height - 1) / 2;
  const at = (x: number, y: number) =>
    x < 0 || y < 0 || x >= b.width || y >= b.height ? 0 : b.pixels[y * b.width + x];
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < b.width; x++) {
      // inverse map: destination pixel -> source position
      const ux = x - dx - cx, uy = y - dy - cy;
      const sx = c * ux + s * uy + cx, sy = -s * ux + c * uy + cy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      const v = (1 - fx) * (1 - fy) * at(x0, y0) + fx * (1 - fy) * at(x0 + 1, y0) +
        (1 - fx) * fy * at(x0, y0 + 1) + fx * fy * at(x0 + 1, y0 + 1);
      out.pixels[y * b.width + x] = Math.round(v);
    }
  }
  return out;
}

function noise(b: Bitmap, p: number, rand: () => number): Bitmap {
  const out = { ...b, pixels: b.pixels.slice() };
  for (let i = 0; i < out.pixels.length; i++) if (rand() < p) out.pixels[i] = 255 - out.pixels[i];
  return out;
}

function blur121(b: Bitmap): Bitmap {
  const { width: w, height: h } = b, tmp = new Float64Array(w * h), out = blankBitmap(w, h);
  const px = (x: number, y: number) => b.pixels[y * w + Math.min(w - 1, Math.max(0, x))];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) tmp[y * w + x] = (px(x - 1, y) + 2 * px(x, y) + px(x + 1, y)) / 4;
  }
  const tv = (x: number, y: number) => tmp[Math.min(h - 1, Math.max(0, y)) * w + x];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      out.pixels[y * w + x] = Math.round((tv(x, y - 1) + 2 * tv(x, y) + tv(x, y + 1)) / 4);
    }
  }
  return out;
}

/** Apply the paper's augmentation to a token picture (ink intensities). */
export function augment(b: Bitmap, strong: boolean): Bitmap {
  const rand = mulberry32(AUGMENT_SEED);
  const pick = (xs: number[]) => xs[Math.floor(rand() * xs.length)];
  if (!strong) return noise(b, 0.001, rand);
  const angle = pick([-7, -4, 4, 7]), dx = pick([-3, -2, 2, 3]), dy = pick([-3, -2, 2, 3]);
  const p = 0.01 + 0.02 * rand();
  return blur121(noise(rotateShift(b, angle, dx, dy), p, rand));
}
