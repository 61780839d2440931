// `deno task bench glyphs [--json] [--recipe paper|paper-max|clean] [--workers N] [--sample N]`:
// time to build the frozen [65536, 1024] table of a 2-3-shaped vocabulary (every BMP code
// point, specials, 2-3 character tokens) from a cold cache: rendering, pictures, PCA, total,
// and the warm (cached) rebuild. Peers measured in the same run on a sample of characters:
// the naive way (one glyph per SVG with the native @resvg/resvg-js build and font files) and
// our one-<text>-per-character slow path; PCA products on the WASM matmul vs plain TS.

import { parseArgs } from "node:util";
import process from "node:process";
import { Resvg as NativeResvg } from "@resvg/resvg-js";
import { buildEmbedding, distinctCodePoints, tokenPictures } from "../pipeline/glyphs/embed.ts";
import { DEFAULT_FONT_FILES, hasGlyph, renderChars } from "../pipeline/glyphs/render.ts";
import { renderGlyphsParallel } from "../pipeline/glyphs/render_pool.ts";
import { loadFonts } from "../pipeline/glyphs/font.ts";
import { covarianceFast, releaseFastKernels } from "../pipeline/glyphs/linalg.ts";
import { sampleVocab } from "../pipeline/glyphs/sample_tokens.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    recipe: { type: "string", default: "paper" },
    workers: { type: "string", default: String(navigator.hardwareConcurrency || 2) },
    sample: { type: "string", default: "256" },
  },
});
const workers = Number(values.workers), sample = Number(values.sample);
if (!(workers >= 1) || !(sample >= 16)) {
  console.error("bench glyphs: --workers must be >= 1 and --sample >= 16");
  Deno.exit(2);
}
const secs = (t0: number) => (performance.now() - t0) / 1000;

const tokens = sampleVocab();
const cps = distinctCodePoints(tokens);
const cacheDir = await Deno.makeTempDir({ prefix: "glyphs-bench-" });

// 1. the whole table from a cold cache, then again from the warm cache
const cpu = () => {
  const u = process.cpuUsage(); // all threads of this process, render workers included
  return (u.user + u.system) / 1e6;
};
let t0 = performance.now();
const cpu0 = cpu();
const emb = await buildEmbedding(tokens, values.recipe, { cacheDir, workers });
const cold = secs(t0), coldCpu = cpu() - cpu0;
t0 = performance.now();
const warm = await buildEmbedding(tokens, values.recipe, { cacheDir, workers });
const cached = secs(t0);

// 2. rendering alone (all distinct characters, no cache), for a clean render figure
t0 = performance.now();
await renderGlyphsParallel(cps, { controls: true }, workers);
const renderAll = secs(t0);

// 3. peers on an evenly spaced sample of drawable characters
const fonts = loadFonts(DEFAULT_FONT_FILES);
const drawable = cps.filter((cp) => hasGlyph(fonts, cp));
const picks = Array.from(
  { length: sample },
  (_, i) => drawable[Math.floor((i * drawable.length) / sample)],
);
t0 = performance.now();
for (const cp of picks) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48" font-size="32">` +
    `<text x="16" y="36">&#x${cp.toString(16)};</text></svg>`;
  new NativeResvg(svg, {
    font: { fontFiles: DEFAULT_FONT_FILES, loadSystemFonts: false, defaultFontFamily: "Unifont" },
  }).render().pixels;
}
const naive = secs(t0);
t0 = performance.now();
await renderChars(picks, { perCharacter: true });
const perChar = secs(t0);
t0 = performance.now();
await renderChars(picks);
const batched = secs(t0);

// 4. PCA covariance product on 8192 pictures: WASM matmul vs plain TS
const sub = tokens.slice(0, 8192);
const { pictures } = await tokenPictures(sub, "clean", { cacheDir });
t0 = performance.now();
await covarianceFast(pictures, sub.length, 1024, true);
const covFast = secs(t0);
t0 = performance.now();
await covarianceFast(pictures, sub.length, 1024, false);
const covPlain = secs(t0);
await releaseFastKernels();
await Deno.remove(cacheDir, { recursive: true });

const perSec = (n: number, s: number) => Math.round(n / s);
const result = {
  bench: "glyphs",
  provisional: "2-core machine shared with other engineers: figures vary with load",
  loadavg1: Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]),
  recipe: values.recipe,
  rows: emb.rows,
  cols: emb.cols,
  distinctChars: cps.length,
  workers,
  seconds: {
    render: +emb.meta.seconds.render.toFixed(2),
    pictures: +emb.meta.seconds.pictures.toFixed(2),
    pca: +emb.meta.seconds.pca.toFixed(2),
    total: +cold.toFixed(2),
    totalCpu: +coldCpu.toFixed(2),
    cached: +cached.toFixed(3),
    renderOnly: +renderAll.toFixed(2),
  },
  rowsPerSecond: perSec(emb.rows, cold),
  cachedHit: warm.meta.fromCache,
  linalg: emb.meta.linalg,
  duplicateRows: emb.meta.duplicateRows,
  peers: {
    sampleChars: sample,
    naiveNativeOneSvgPerGlyph: {
      charsPerSecond: perSec(sample, naive),
      projectedRenderSeconds: +((naive / sample) * cps.length).toFixed(1),
    },
    wasmOneTextPerChar: { charsPerSecond: perSec(sample, perChar) },
    wasmBatchedRuns: { charsPerSecond: perSec(sample, batched) },
  },
  covariance8192Rows: {
    wasmMatmulSeconds: +covFast.toFixed(2),
    plainTsSeconds: +covPlain.toFixed(2),
  },
};
if (values.json) console.log(JSON.stringify(result));
else {
  const s = result.seconds, p = result.peers;
  console.log(`glyphs bench (${result.provisional}; load ${result.loadavg1})`);
  console.log(
    `  ${values.recipe} table ${result.rows} x ${result.cols}, ${cps.length} distinct chars`,
  );
  console.log(
    `  cold build: total ${s.total} s = render ${s.render} + pictures ${s.pictures} + PCA ${s.pca}`,
  );
  console.log(
    `  (${result.rowsPerSecond} rows/s); cached rebuild ${s.cached} s; render alone ${s.renderOnly} s`,
  );
  console.log(
    `  peers on ${sample} chars: naive native one-SVG-per-glyph ${p.naiveNativeOneSvgPerGlyph.charsPerSecond}/s` +
      ` (all chars: ~${p.naiveNativeOneSvgPerGlyph.projectedRenderSeconds} s),` +
      ` wasm one-text-per-char ${p.wasmOneTextPerChar.charsPerSecond}/s, batched ${p.wasmBatchedRuns.charsPerSecond}/s`,
  );
  console.log(
    `  covariance of 8192 x 1024: wasm matmul ${result.covariance8192Rows.wasmMatmulSeconds} s,` +
      ` plain TS ${result.covariance8192Rows.plainTsSeconds} s; linalg ${result.linalg}; paper collisions ${result.duplicateRows}`,
  );
}
