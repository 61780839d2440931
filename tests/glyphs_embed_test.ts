// The frozen table: determinism (same input, same SHA-256), the content-hash cache, the
// `clean` recipe's zero collisions on the whole BMP, the `paper` recipe's collision count,
// widening / top-k reduction, vector recipes, save / load / import and bad-input errors.

import { assert, assertEquals, assertRejects } from "./assert.ts";
import fc from "fast-check";
import {
  buildEmbedding,
  duplicateRowCount,
  loadEmbedding,
  saveEmbedding,
  widen,
} from "../pipeline/glyphs/embed.ts";
import { releaseFastKernels } from "../pipeline/glyphs/linalg.ts";
import { binaryIdVectors, randomVectors } from "../pipeline/glyphs/recipes.ts";
import { sha256Hex } from "../pipeline/hash.ts";
import { saveSafetensors } from "../core/safetensors.ts";

/**
 * A test that may start render workers and the wasm matmul pool (so no op/resource sanitizers),
 * given a fresh temporary folder; the folder and the pool are released when it ends, even by a
 * throw.
 */
function embedTest(name: string, fn: (dir: string) => Promise<void>): void {
  Deno.test({
    sanitizeOps: false,
    sanitizeResources: false,
    name,
    fn: async () => {
      const dir = await Deno.makeTempDir();
      try {
        await fn(dir);
      } finally {
        await Deno.remove(dir, { recursive: true });
        await releaseFastKernels();
      }
    },
  });
}

// A small vocabulary: ASCII, some Cyrillic/CJK/Hebrew/marks, specials, multi-character tokens.
const SMALL = [
  ...Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)),
  ..."жщѣ中国語אבג\u0301\u0308",
  "<pad>",
  "<s>",
  "the",
  "ing",
  "при",
  "中国",
];

const bytesOf = (m: Float32Array) => new Uint8Array(m.buffer, m.byteOffset, m.byteLength);

embedTest(
  "embed: same input gives the same SHA-256 (paper and clean), rows unit length",
  async () => {
    for (const recipe of ["paper", "clean"]) {
      const a = await buildEmbedding(SMALL, recipe, { cacheDir: null, workers: 1 });
      const b = await buildEmbedding(SMALL, recipe, { cacheDir: null, workers: 1 });
      assertEquals(a.meta.contentHash, b.meta.contentHash, recipe);
      assertEquals(a.meta.contentHash, await sha256Hex(bytesOf(a.matrix)));
      assertEquals([a.rows, a.cols], [SMALL.length, 1024]);
      for (let r = 0; r < a.rows; r++) {
        let s = 0;
        for (let c = 0; c < a.cols; c++) s += a.matrix[r * a.cols + c] ** 2;
        assert(Math.abs(s - 1) < 1e-4, `${recipe} row ${r} norm^2 ${s}`);
      }
    }
  },
);

embedTest("embed: the second build is served from the content-hash cache", async (dir) => {
  const first = await buildEmbedding(SMALL, "clean", { cacheDir: dir });
  const second = await buildEmbedding(SMALL, "clean", { cacheDir: dir });
  assertEquals([first.meta.fromCache, second.meta.fromCache], [false, true]);
  assertEquals(second.meta.contentHash, first.meta.contentHash);
  assertEquals(await sha256Hex(bytesOf(second.matrix)), first.meta.contentHash);
  const other = await buildEmbedding([...SMALL, "x!"], "clean", { cacheDir: dir });
  assertEquals(other.meta.fromCache, false);
});

embedTest(
  "embed: whole BMP: clean has zero collisions, paper's collision count is reported",
  async () => {
    const bmp = Array.from({ length: 0x10000 }, (_, i) => String.fromCharCode(i));
    const clean = await buildEmbedding(bmp, "clean"); // default cache: .cache/glyphs
    assertEquals(duplicateRowCount(clean.matrix, clean.rows, clean.cols), 0);
    assertEquals(clean.meta.duplicateRows, 0);
    const paper = await buildEmbedding(bmp, "paper");
    const collisions = duplicateRowCount(paper.matrix, paper.rows, paper.cols);
    assertEquals(paper.meta.duplicateRows, collisions);
    assert(collisions > 1000, `paper collisions ${collisions}: blanks and homoglyphs collide`);
    console.log(`paper recipe, whole BMP: ${collisions} rows collide with an earlier row`);
  },
);

embedTest(
  "embed: larger dModel widens by repeat-interleave, smaller keeps top-k components",
  async () => {
    const full = await buildEmbedding(SMALL, "clean", { cacheDir: null });
    const wide = await buildEmbedding(SMALL, "clean", { cacheDir: null, dModel: 2048 });
    const r = 3;
    for (let c = 0; c < 2048; c++) {
      const want = full.matrix[r * 1024 + (c >> 1)] / Math.SQRT2;
      assert(Math.abs(wide.matrix[r * 2048 + c] - want) < 1e-6, `col ${c}`);
    }
    const slim = await buildEmbedding(SMALL, "clean", { cacheDir: null, dim: 64 });
    assertEquals(slim.cols, 64);
    assert(slim.meta.explainedVariance! < 1 && slim.meta.explainedVariance! > 0.3);
  },
);

embedTest(
  "embed: the covariance route (V > 1024) caches its PCA; a top-k rebuild reuses it exactly",
  async (dir) => {
    const tokens = Array.from({ length: 1100 }, (_, i) => String.fromCharCode(0x4e00 + i));
    const full = await buildEmbedding(tokens, "paper", { cacheDir: dir });
    assertEquals([full.cols, full.meta.linalg !== "gram"], [1024, true]);
    const reused = await buildEmbedding(tokens, "paper", { cacheDir: dir, dModel: 64 });
    const fresh = await buildEmbedding(tokens, "paper", { cacheDir: null, dModel: 64 });
    assertEquals(reused.meta.contentHash, fresh.meta.contentHash);
    assert([...Deno.readDirSync(dir)].some((e) => e.name.startsWith("pca-")), "pca cached");
  },
);

Deno.test("widen: each column repeated, property over shapes", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 4 }),
      (rows, from, rep) => {
        const m = Float32Array.from({ length: rows * from }, (_, i) => i);
        const cols = from * rep, w = widen(m, rows, from, cols);
        for (let r = 0; r < rows; r++) {
          for (
            let c = 0;
            c < cols;
            c++
          ) if (w[r * cols + c] !== m[r * from + Math.floor(c / rep)]) return false;
        }
        return true;
      },
    ),
  );
});

Deno.test("vector recipes: random is seeded and distinct, binary-id is distinct and unit", () => {
  const a = randomVectors(500, 64, 7), b = randomVectors(500, 64, 7), c = randomVectors(500, 64, 8);
  assertEquals(a, b);
  assert(a.some((v, i) => v !== c[i]));
  assertEquals(duplicateRowCount(a, 500, 64), 0);
  const ids = binaryIdVectors(4096, 64);
  assertEquals(duplicateRowCount(ids, 4096, 64), 0);
  let s = 0;
  for (let k = 0; k < 64; k++) s += ids[100 * 64 + k] ** 2;
  assert(Math.abs(s - 1) < 1e-6);
});

embedTest(
  "save / load round trip; import of an external [V, D] table; bad inputs fail clearly",
  async (dir) => {
    const emb = await buildEmbedding(SMALL, "random", { cacheDir: null, dModel: 32 });
    const { safetensors, json } = await saveEmbedding(`${dir}/t.safetensors`, emb);
    const back = await loadEmbedding(safetensors, SMALL.length);
    assertEquals(back.matrix, emb.matrix);
    assertEquals(back.meta.contentHash, emb.meta.contentHash);
    assertEquals(JSON.parse(await Deno.readTextFile(json)).recipe, "random");
    const ext = Float32Array.from({ length: 10 * 4 }, (_, i) => i / 7);
    await saveSafetensors(`${dir}/ext.safetensors`, {
      weight: { dtype: "F32", shape: [10, 4], data: ext },
    });
    const imp = await loadEmbedding(`${dir}/ext.safetensors`, 10);
    assertEquals([imp.meta.recipe, imp.rows, imp.cols], ["imported", 10, 4]);
    assertEquals(imp.matrix, ext);
    await assertRejects(
      () => loadEmbedding(`${dir}/ext.safetensors`, 11),
      /10 rows but the tokenizer has 11/,
    );
    ext[5] = NaN;
    await saveSafetensors(`${dir}/nan.safetensors`, {
      weight: { dtype: "F32", shape: [10, 4], data: ext },
    });
    await assertRejects(() => loadEmbedding(`${dir}/nan.safetensors`), /NaN/);
    await assertRejects(() => loadEmbedding(`${dir}/missing.safetensors`), /not found/);
    await assertRejects(() => buildEmbedding(SMALL, "pixels"), /unknown glyph recipe/);
    await assertRejects(() => buildEmbedding(SMALL, "clean", { cell: 48 }), /cell 48/);
    await assertRejects(() => buildEmbedding([], "clean"), /non-empty/);
    await assertRejects(
      () => buildEmbedding(SMALL, "clean", { fontFiles: ["/nope.otf"], cacheDir: null }),
      /nope.otf not found/,
    );
  },
);
