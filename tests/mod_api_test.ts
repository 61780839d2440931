// The public API in mod.ts works for a script: render a token and read its bitmap and vector,
// tokenize text and decode it back, and take a gradient through a small GPT, all from one import.
import { assert, assertEquals } from "./assert.ts";
import * as gg from "../mod.ts";

Deno.test("mod.ts: render a token, read its bitmap and its embedding vector", async () => {
  const bmp = await gg.tokenBitmap("Жы", "clean");
  assertEquals([bmp.width, bmp.height], [32, 32]);
  assert(bmp.pixels.some((p: number) => p > 0) && bmp.pixels.some((p: number) => p === 0));
  const tokens = ["A", "B", "Ж", "Жы", "中", "<pad>"];
  const emb = await gg.buildEmbedding(tokens, "clean", { cacheDir: null, dModel: 6 });
  assertEquals([emb.rows, emb.cols], [6, 6]);
  for (let r = 0; r < emb.rows; r++) {
    const row = emb.matrix.subarray(r * emb.cols, (r + 1) * emb.cols);
    const norm = Math.hypot(...row);
    assert(Math.abs(norm - 1) < 1e-5, `row ${r} is L2-normalised (norm ${norm})`);
  }
});

Deno.test("mod.ts: a tokenizer built from text round-trips text through ids", () => {
  const tok = gg.buildTokenizer(["the theme of the thesis", "ἐν ἀρχῇ ἦν ὁ λόγος"], {
    variant: "2-3",
    minCount: 1,
  });
  const text = "the λόγος 🙂";
  const ids = gg.encode(tok, text);
  assertEquals(gg.decode(tok, ids), text);
  assert(ids.includes(32), "space is id 32");
});

Deno.test("mod.ts: a 1-layer GPT's loss has gradients for trainable leaves only", () => {
  const cfg = {
    vocab: 16,
    dModel: 8,
    layers: 1,
    heads: 2,
    context: 8,
    embedding: "frozen" as const,
  };
  const table = {
    data: Float32Array.from({ length: 16 * 8 }, (_, i) => Math.sin(i)),
    rows: 16,
    cols: 8,
  };
  const { trainable, frozen } = gg.initGPT(cfg, { seed: 1, frozenTable: table });
  const ids = gg.tensor(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [1, 8], "i32");
  const targets = gg.tensor(Int32Array.from([2, 3, 4, 5, 6, 7, 8, 9]), [1, 8], "i32");
  const { value, grads } = gg.valueAndGrad((p: typeof trainable) =>
    gg.gptLoss(gg.mergeParams(p, frozen), cfg, ids, targets)
  )(trainable);
  const loss = value.dataSync()[0];
  assert(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
  const names = gg.treeFlatten(grads).map(([n]) => n);
  assert(!names.includes("wte"), "the frozen table gets no gradient");
  assert(names.includes("head"), "the head is trainable");
});
