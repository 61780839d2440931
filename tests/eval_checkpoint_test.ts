// Tests for the core-GPT adapter: a checkpoint saved in the assumed layout loads back, the
// batched rows-only scorer equals log-softmax of core gptLogits, hidden states end where
// gptLogits starts its head, and bad checkpoints fail with one line.

import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import { asciiCodec } from "./eval_fakes.ts";
import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, gptHidden, gptLogits, initGPT, mergeParams } from "../core/gpt.ts";
import { treeFlatten } from "../core/autodiff.ts";
import { tensor } from "../core/tensor.ts";
import {
  decodeSafetensors,
  loadSafetensors,
  saveSafetensors,
  type StDict,
} from "../core/safetensors.ts";
import { sha256Hex } from "../pipeline/hash.ts";
import { CHECKPOINT_FORMAT } from "../pipeline/train/checkpoint.ts";
import { loadCheckpointModel } from "../pipeline/eval/checkpoint.ts";
import { logSoftmaxRow } from "../pipeline/eval/model.ts";
import { optionLogLiks, scoreLoglik } from "../pipeline/eval/protocols.ts";
import { packSplit, splitMask } from "../pipeline/eval/tree.ts";
import { loadBench } from "../pipeline/eval/loaders.ts";
import { lmMetrics } from "../pipeline/eval/lm_metrics.ts";
import { generate } from "../pipeline/eval/generate.ts";
import { buildTokenizer, BYTE_FIRST, saveTokenizer, UNK } from "../pipeline/tokenizer/mod.ts";

setBackend("cpu-ref");

const cfg: GPTConfig = {
  vocab: 128,
  dModel: 16,
  layers: 2,
  heads: 2,
  context: 64,
  embedding: "trainable",
  norm: "layernorm",
};

async function saveCheckpoint(c: GPTConfig, seed: number, gain = 1): Promise<string> {
  const dir = await Deno.makeTempDir();
  const { trainable, frozen } = initGPT(c, { seed });
  const st: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of treeFlatten(mergeParams(trainable, frozen))) {
    const data = (t.dataSync() as Float32Array).map((x) => (/ln|lnf/.test(name) ? x : x * gain));
    st[name] = { dtype: "F32", shape: [...t.shape], data };
  }
  await saveSafetensors(`${dir}/model.safetensors`, st);
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ gpt: c, tokenizer: "none" }));
  return dir;
}

Deno.test("checkpoint scorer equals log-softmax of gptLogits (rows and full modes)", async () => {
  const dir = await saveCheckpoint(cfg, 3);
  const ck = await loadCheckpointModel(dir, { codec: asciiCodec, tokenBudget: 40 });
  const full = await loadCheckpointModel(dir, { codec: asciiCodec, mode: "full" });
  const seqs = ["Question: hi\nAnswer:", "abc", "a longer sequence of text"].map(asciiCodec.encode);
  const got = await ck.model.nextLogProbs(seqs);
  const got2 = await full.model.nextLogProbs(seqs);
  for (const [i, s] of seqs.entries()) {
    const logits = gptLogits(ck.params, cfg, tensor(s, [1, s.length], "i32")).dataSync();
    const want = new Float32Array(128);
    logSoftmaxRow(logits as Float32Array, s.length - 1, 128, want);
    want.forEach((w, v) => assertAlmostEquals(got[i][v], w, 1e-4, `seq ${i} id ${v}`));
    want.forEach((w, v) => assertAlmostEquals(got2[i][v], w, 1e-4, `full seq ${i} id ${v}`));
  }
  const reqs = seqs.map((ids) => ({ ids, start: 2 }));
  const a = await ck.model.tokenLogProbs(reqs);
  const b = await full.model.tokenLogProbs(reqs);
  a.forEach((x, i) => x.forEach((v, k) => assertAlmostEquals(v, b[i][k], 1e-4)));
  const hs = gptHidden(ck.params, cfg, tensor(seqs[1], [1, 3], "i32"));
  assertEquals(hs.length, cfg.layers + 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoint model runs both protocols on a fixture end to end", async () => {
  const dir = await saveCheckpoint({ ...cfg, norm: "rmsnorm" }, 5);
  const ck = await loadCheckpointModel(dir, { codec: asciiCodec });
  const { items } = await loadBench("jsonl:fixtures/eval/generic.jsonl");
  const r = await scoreLoglik(ck.model, ck.codec, items);
  assertEquals(r.n, 4);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bad checkpoints fail with one clear line", async () => {
  const dir = await saveCheckpoint(cfg, 1);
  await assertRejects(() => loadCheckpointModel("/no/such/ckpt"), "cannot read");
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ gpt: { ...cfg, layers: 3 } }));
  await assertRejects(
    () => loadCheckpointModel(dir, { codec: asciiCodec }),
    "2 blocks saved, config says 3",
  );
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ gpt: { ...cfg, dModel: 8 } }));
  await assertRejects(() => loadCheckpointModel(dir, { codec: asciiCodec }), '"wte"');
  await Deno.writeTextFile(`${dir}/config.json`, "{not json");
  await assertRejects(() => loadCheckpointModel(dir), "not valid JSON");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("eval checkpoints: null config, missing or extra tensors, bad values are one line", async () => {
  const dir = await saveCheckpoint(cfg, 1);
  const load = () => loadCheckpointModel(dir, { codec: asciiCodec });
  const good = (await loadSafetensors(`${dir}/model.safetensors`)).tensors;
  const withTensors = async (t: StDict) => await saveSafetensors(`${dir}/model.safetensors`, t);
  const plain = async (re: string) => {
    const e = await assertRejects(load, re);
    assert(e.constructor === Error, `${e.constructor.name}: ${e.message}`);
  };
  try {
    for (const text of ["null", "3", "[]", '"s"']) {
      await Deno.writeTextFile(`${dir}/config.json`, text);
      await plain("config.json is not a JSON object");
    }
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ gpt: null }));
    await plain("lacks a positive integer gpt.vocab");
    // a huge integer "layers" (a fuzzed config): refused by the block count, not looped over
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ gpt: { ...cfg, layers: 1e308 } }),
    );
    await plain("2 blocks saved, config says 1e+308");
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ gpt: { ...cfg, heads: 3 } }));
    await plain("not divisible by heads 3");
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ gpt: cfg, tokenizer: "none" }));
    for (const name of ["blocks.0.mlp.w1", "blocks.1.mlp.w2", "blocks.0.ln1.b", "lnf.b"]) {
      const { [name]: _, ...rest } = good;
      await withTensors(rest);
      await plain(`tensor "${name}" missing`);
    }
    await withTensors({ ...good, "blocks.0.mlp.w1": { ...good["blocks.0.mlp.w2"] } });
    await plain('"blocks.0.mlp.w1" has shape [64,16], config needs [16,64]');
    await withTensors({ ...good, "blocks.0.mlp.w3": good["blocks.0.mlp.w2"] });
    await plain('unexpected tensor "blocks.0.mlp.w3"');
    const inf = Float32Array.from(good.head.data as Float32Array);
    inf[5] = Infinity;
    await withTensors({ ...good, head: { ...good.head, data: inf } });
    await plain('"head" holds Infinity at index 5');
    await withTensors(good);
    await load(); // the untouched weights load again
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval checkpoints: weights that differ from the SHA-256 in config.json are refused", async () => {
  const dir = await saveCheckpoint(cfg, 1);
  try {
    const bytes = await Deno.readFile(`${dir}/model.safetensors`);
    const meta = { format: CHECKPOINT_FORMAT, gpt: cfg, tokenizer: "none" };
    const files = { "model.safetensors": await sha256Hex(bytes) };
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...meta, files }));
    const ok = await loadCheckpointModel(dir, { codec: asciiCodec });
    assertEquals(ok.cfg.vocab, cfg.vocab);
    // the audit's edit: exponent bits of one value of "head" flipped (a finite, huge weight)
    const { tensors } = decodeSafetensors(bytes);
    const h = tensors.head.data as Float32Array;
    new DataView(h.buffer, h.byteOffset).setUint8(3, 0x7e);
    assert(Number.isFinite(h[0]) && Math.abs(h[0]) > 1e30);
    await saveSafetensors(`${dir}/model.safetensors`, tensors);
    const e = await assertRejects(
      () => loadCheckpointModel(dir, { codec: asciiCodec }),
      `${dir}/model.safetensors does not match the SHA-256 in config.json`,
    );
    assert(e.constructor === Error);
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(meta));
    await assertRejects(
      () => loadCheckpointModel(dir, { codec: asciiCodec }),
      "records no SHA-256 for model.safetensors",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shared-prefix (tree) scoring equals scoring each option on its own", async () => {
  const dir = await saveCheckpoint({ ...cfg, context: 40 }, 7, 6); // sharp attention
  const tree = await loadCheckpointModel(dir, { codec: asciiCodec, tokenBudget: 100 });
  const plain = await loadCheckpointModel(dir, { codec: asciiCodec, sharePrefix: false });
  const { items } = await loadBench("mmlu:fixtures/eval/mmlu"); // long prompts get cut to fit
  const generic = (await loadBench("jsonl:fixtures/eval/generic.jsonl")).items;
  const all = [...items, ...generic];
  const a = await optionLogLiks(tree.model, asciiCodec, all);
  const b = await optionLogLiks(plain.model, asciiCodec, all);
  assertEquals(a.truncated, b.truncated);
  a.lls.forEach((ll, i) =>
    ll.forEach((x, j) => assertAlmostEquals(x, b.lls[i][j], 2e-3, `${i}/${j}`))
  );
  const spread = a.lls.map((ll) => Math.max(...ll) - Math.min(...ll));
  assert(spread.every((d) => d > 0.5), `options must score differently: ${spread}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fused LM-metric and option sums equal the per-token path", async () => {
  const dir = await saveCheckpoint({ ...cfg, context: 24 }, 9, 4);
  const ck = await loadCheckpointModel(dir, { codec: asciiCodec, tokenBudget: 64 });
  const slow = { ...ck.model, sumLogProbs: undefined, choiceLogLiks: undefined };
  const docs = ["In the beginning God created the heaven and the earth.", "And the earth was."];
  const [a, b] = [
    await lmMetrics(ck.model, asciiCodec, docs),
    await lmMetrics(slow, asciiCodec, docs),
  ];
  assertEquals(a.tokens, b.tokens);
  assertAlmostEquals(a.loss, b.loss, 1e-4);
  assertAlmostEquals(a.bitsPerChar, b.bitsPerChar, 1e-4);
  const { items } = await loadBench("jsonl:fixtures/eval/generic.jsonl");
  const [x, y] = [
    await optionLogLiks(ck.model, asciiCodec, items),
    await optionLogLiks(slow, asciiCodec, items),
  ];
  x.lls.forEach((ll, i) => ll.forEach((v, j) => assertAlmostEquals(v, y.lls[i][j], 2e-3)));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("split mask: options see their prefix and themselves, never padding", () => {
  const p = packSplit([{
    prefix: Int32Array.of(1, 2),
    conts: [Int32Array.of(3), Int32Array.of(4, 5)],
  }, {
    prefix: Int32Array.of(6),
    conts: [Int32Array.of(7)],
  }]);
  assertEquals([p.Tp, p.To], [2, 3]);
  assertEquals(Array.from(p.optPos), [2, 2, 3, 1, 0, 0]);
  const m = splitMask(p);
  const row = (b: number, i: number) =>
    Array.from(m.subarray((b * 3 + i) * 5, (b * 3 + i + 1) * 5));
  assertEquals(row(0, 1), [0, 0, 1, 0, 1]); // first token of option 2: prefix + itself
  assertEquals(row(0, 2), [0, 0, 1, 0, 0]);
  assertEquals(row(1, 0), [0, 1, 0, 1, 1]); // prefix of length 1: padded key 1 hidden
  assertEquals(row(1, 1), [0, 1, 1, 0, 1]); // padding token: only itself (and prefix)
});

Deno.test("checkpoint codec decodes invalid byte sequences as U+FFFD instead of throwing", async () => {
  const dir = await saveCheckpoint(cfg, 5);
  const tok = buildTokenizer(["abc abc"], { variant: "2-3" });
  await saveTokenizer(`${dir}/tokenizer.json`, tok);
  // model id 1 is the byte token <0xFF> (never valid UTF-8 alone), ids 2..127 the same code
  // points (single characters)
  const vocabIds = [UNK, BYTE_FIRST + 0xFF, ...Array.from({ length: 126 }, (_, i) => i + 2)];
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({ gpt: cfg, tokenizer: "tokenizer.json", vocabIds }),
  );
  const ck = await loadCheckpointModel(dir);
  assertEquals(ck.codec.decode([1, 97]), "\uFFFDa");
  const text = await generate(ck.model, ck.codec, "abc", { maxNew: 8, temperature: 1, seed: 3 });
  assertEquals(typeof text, "string");
});
