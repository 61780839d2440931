// The glyph report: near-duplicate search finds planted near-copies (cosine > 0.999) and
// leaves clearly different rows apart, coverage by block, markdown sections, atlas PNG.

import { assert, assertEquals } from "./assert.ts";
import fc from "fast-check";
import {
  atlasPng,
  blockCoverage,
  embeddingReport,
  nearDuplicateGroups,
  reportMarkdown,
} from "../pipeline/glyphs/report.ts";
import { buildEmbedding } from "../pipeline/glyphs/embed.ts";
import { randomVectors } from "../pipeline/glyphs/recipes.ts";

Deno.test("near duplicates: planted copies at cosine > 0.999 are grouped, 0.99 ones are not", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
      const rows = 400, cols = 64, m = randomVectors(rows, cols, seed);
      const noise = randomVectors(2, cols, seed + 1);
      // row 10 := row 3 + small noise (cos ~ 0.9999); row 20 := row 5 + larger noise (cos ~ 0.99)
      for (let c = 0; c < cols; c++) {
        m[10 * cols + c] = m[3 * cols + c] + 0.01 * noise[c];
        m[20 * cols + c] = m[5 * cols + c] + 0.14 * noise[cols + c];
      }
      const groups = nearDuplicateGroups(m, rows, cols);
      if (typeof groups === "string") return false;
      return groups.length === 1 && groups[0].join() === "3,10";
    }),
    { numRuns: 20 },
  );
});

Deno.test({
  name: "report: coverage by block, markdown sections, atlas PNG",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const tokens = ["A", "B", "\u0378", "中", "\u0000", "ab", "<pad>"];
    const cov = await blockCoverage(tokens, { cacheDir: null });
    const latin = cov.find((c) => c.block === "Basic Latin")!;
    // A, B, U+0000, a, b, <, p, d, > ; U+0000 is assigned but drawn blank
    assertEquals([latin.inVocab, latin.assigned, latin.withGlyph], [9, 9, 8]);
    const greek = cov.find((c) => c.block === "Greek and Coptic")!;
    assertEquals([greek.inVocab, greek.assigned], [1, 0]); // U+0378 is unassigned
    const emb = await buildEmbedding(tokens, "paper", { cacheDir: null });
    const md = reportMarkdown(await embeddingReport(emb, tokens, { cacheDir: null }));
    for (
      const s of ["distinct rows: 7", "## Coverage by Unicode block", "| CJK Unified Ideographs |"]
    ) {
      assert(md.includes(s), `markdown lacks "${s}"`);
    }
    const png = await atlasPng(tokens, [0, 1, 3, 5], "clean", { cacheDir: null });
    assertEquals([...png.subarray(1, 4)], [80, 78, 71]); // "PNG"
    const dv = new DataView(png.buffer, png.byteOffset);
    assertEquals([dv.getUint32(16), dv.getUint32(20)], [4 * 33 + 1, 33 + 1]);
  },
});
