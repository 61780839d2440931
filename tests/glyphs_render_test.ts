// Glyph rendering: golden ink counts (verified once by looking at the rendered cells), the
// fast batched path equals the one-text-per-character path, hex boxes, bitmap helpers.

import { assert, assertEquals } from "./assert.ts";
import fc from "fast-check";
import { renderChars, renderToken } from "../pipeline/glyphs/render.ts";
import {
  hexBox,
  inkCount,
  joinCells,
  squashArea,
  squashNearest,
} from "../pipeline/glyphs/bitmap.ts";

// Unifont at 32 px: each font pixel is 2x2, so counts are 4x the glyph's pixel count.
const GOLDEN: [string, number, number][] = [
  ["Latin A", 0x41, 96],
  ["Cyrillic Zhe", 0x416, 120],
  ["CJK zhong", 0x4e2d, 192],
  ["Hebrew alef", 0x5d0, 76],
  ["combining acute", 0x301, 16],
  ["control SOH (not drawable: blank)", 0x1, 0],
];

Deno.test("render: golden ink counts of Latin, Cyrillic, CJK, Hebrew, a mark, a control", async () => {
  const px = await renderChars(GOLDEN.map((g) => g[1]));
  GOLDEN.forEach(([name, , want], i) => {
    const cell = { width: 32, height: 32, pixels: px.subarray(i * 1024, (i + 1) * 1024) };
    assertEquals(inkCount(cell), want, name);
  });
});

Deno.test("render: 64-px cells hold 4x the ink of 32-px cells (Unifont scales exactly)", async () => {
  const px = await renderChars([0x41, 0x4e2d], { cell: 64 });
  const a = { width: 64, height: 64, pixels: px.subarray(0, 4096) };
  const z = { width: 64, height: 64, pixels: px.subarray(4096) };
  assertEquals([inkCount(a), inkCount(z)], [96 * 4, 192 * 4]);
});

Deno.test("render: glyphs are centred in the cell from their ink bounds", async () => {
  const px = await renderChars([0x41]);
  let x0 = 32, x1 = 0, y0 = 32, y1 = 0;
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      if (px[y * 32 + x]) {
        [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
      }
    }
  }
  assert(
    Math.abs(x0 - (31 - x1)) <= 1 && Math.abs(y0 - (31 - y1)) <= 1,
    `box ${x0}..${x1} ${y0}..${y1}`,
  );
});

Deno.test("render: batched runs equal one <text> per character on a sample of blocks", async () => {
  const cps: number[] = [];
  for (const start of [0x20, 0x300, 0x400, 0x590, 0x900, 0x3040, 0x4e00, 0xac00, 0xff00]) {
    for (let i = 0; i < 48; i++) cps.push(start + i);
  }
  const fast = await renderChars(cps);
  const slow = await renderChars(cps, { perCharacter: true });
  let differ = 0;
  for (let i = 0; i < cps.length; i++) {
    const a = fast.subarray(i * 1024, (i + 1) * 1024), b = slow.subarray(i * 1024, (i + 1) * 1024);
    if (a.some((v, k) => v !== b[k])) differ++;
  }
  assertEquals(differ, 0);
});

Deno.test("render: a token is its characters' cells side by side", async () => {
  const t = await renderToken("Aж中");
  assertEquals([t.width, t.height], [96, 32]);
  assertEquals(inkCount(t), 96 + 0 + 192 + inkCount(await renderToken("ж")));
});

Deno.test("hex boxes: distinct for every code point of a sample, 4 digits BMP / 6 beyond", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0x10ffff }),
      fc.integer({ min: 0, max: 0x10ffff }),
      (a, b) => {
        const same = hexBox(a, 32).pixels.every((v, i) => v === hexBox(b, 32).pixels[i]);
        return same === (a === b);
      },
    ),
    { numRuns: 200 },
  );
  assertEquals(inkCount(hexBox(0x1, 32)), 416); // border 60 + digits 0,0,0,1 (12+12+12+8), x4
});

Deno.test("bitmap: area squash keeps total ink, nearest squash picks pixels", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.uint8Array({ minLength: 1024, maxLength: 1024 }),
      (n, px) => {
        const cells = Array.from({ length: n }, () => ({ width: 32, height: 32, pixels: px }));
        const strip = joinCells(cells);
        const area = squashArea(strip, 32, 32), near = squashNearest(strip, 32, 32);
        const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
        const diff = Math.abs(sum(area.pixels) * n - sum(strip.pixels));
        return diff <= 0.5 * 1024 * n && near.pixels.every((v) => px.includes(v));
      },
    ),
    { numRuns: 30 },
  );
});

const DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const hasDejavu = await Deno.stat(DEJAVU).then(() => true, () => false);

Deno.test({
  name:
    "render: a kerning, ligature, fractional-advance font gives the same cells batched and alone" +
    (hasDejavu ? "" : " (skipped: fonts-dejavu-core not installed)"),
  ignore: !hasDejavu,
  fn: async () => {
    const fontFiles = [DEJAVU, "/usr/share/fonts/opentype/unifont/unifont.otf"];
    const cps = [..."AVAWTo fiffjgyQ@Жж中אب\u0301"].map((c) => c.codePointAt(0)!);
    const fast = await renderChars(cps, { fontFiles });
    const slow = await renderChars(cps, { fontFiles, perCharacter: true });
    assertEquals(fast, slow);
    assert(fast.subarray(0, 1024).some((v) => v > 0 && v < 255), "anti-aliased grey levels kept");
  },
});

Deno.test("tokenBitmap: paper pictures are binary, clean draws a hex box for a control", async () => {
  const { tokenBitmap } = await import("../pipeline/glyphs/embed.ts");
  const paper = await tokenBitmap("the", "paper");
  assert(paper.pixels.every((v) => v === 0 || v === 255));
  assertEquals(inkCount(await tokenBitmap("\u0001", "clean")), inkCount(hexBox(1, 32)));
  // paper draws Unifont's own control picture (a dashed box around "SOH"), as Pillow does
  assert(inkCount(await tokenBitmap("\u0001", "paper")) > 100);
});
