// Tests of layer-wise growth (pipeline/grow): a 2-block child trained on its frozen 1-block
// parent keeps the parent's block and the table bit-identical, holds no optimizer state for
// them, trains its new block, final norm and head, and records its lineage; mergeParams merges
// blocks index by index; a parent of the wrong depth is refused with one line.

import { assert, assertEquals, assertThrows } from "./assert.ts";
import { join } from "node:path";
import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, initGPT, mergeParams } from "../core/gpt.ts";
import { tensor } from "../core/tensor.ts";
import { trainModel, type TrainSpec } from "../pipeline/train/loop.ts";
import { loadCheckpoint } from "../pipeline/train/checkpoint.ts";
import { frozenBlocksIdentical, growFromParent, growInit } from "../pipeline/grow/init.ts";

setBackend("cpu");

const V = 40, D = 16;
const ids = Int32Array.from({ length: 2000 }, (_, i) => (i * 5 + (i >> 2)) % V);
const table = {
  data: Float32Array.from({ length: V * D }, (_, i) => Math.cos(i * 0.31)),
  rows: V,
  cols: D,
};

function spec(dir: string, layers: number, over: Partial<TrainSpec> = {}): TrainSpec {
  const gpt: GPTConfig = {
    vocab: V,
    dModel: D,
    layers,
    heads: 2,
    context: 8,
    embedding: "frozen",
    norm: "layernorm",
    mlpRatio: 2,
  };
  return {
    model: `g${layers}`,
    dir,
    gpt,
    train: {
      steps: 5,
      batch: 3,
      lr: 0.01,
      minLr: 0.001,
      warmup: 1,
      weightDecay: 0.1,
      beta1: 0.9,
      beta2: 0.95,
      clip: 1,
      seed: 3,
      valEvery: 5,
      valBatches: 1,
      checkpointEvery: 5,
      logEvery: 5,
      backend: "cpu",
      precision: "f32",
      microBatch: 0,
    },
    seed: 3,
    trainIds: ids,
    valIds: ids.subarray(0, 200),
    frozenTable: table,
    charLen: new Float64Array(V).fill(1),
    fingerprint: "fp",
    resume: false,
    refs: { tokenizer: { path: "t.json", sha256: "0" }, embedding: null },
    log: () => {},
    tty: false,
    quiet: true,
    ...over,
  };
}

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

Deno.test("grow: frozen blocks bit-identical, absent from optimizer state, lineage recorded", async () => {
  const root = await Deno.makeTempDir();
  const parent = join(root, "b1"), child = join(root, "b2");
  await trainModel(spec(parent, 1));
  const s2 = spec(child, 2);
  await trainModel({ ...s2, ...await growFromParent(parent, child, s2.gpt, 3, table) });
  const p = await loadCheckpoint(parent), c = await loadCheckpoint(child);
  const frozenNames = Object.keys(p.weights).filter((n) =>
    n.startsWith("blocks.0.") || n === "wte"
  );
  assert(frozenNames.length === 11, `expected the table and 10 block tensors, got ${frozenNames}`);
  for (const n of frozenNames) {
    assertEquals(
      bytes(c.weights[n].data).every((v, i) => v === bytes(p.weights[n].data)[i]),
      true,
      `${n} changed`,
    );
  }
  // optimizer state exactly for the new block, the final norm and the head
  const state = Object.keys(c.optim).filter((k) => k.startsWith("m.")).map((k) => k.slice(2));
  assert(!state.some((k) => k.startsWith("blocks.0.") || k === "wte"), `frozen state: ${state}`);
  assert(state.some((k) => k.startsWith("blocks.1.")) && state.includes("head"), `${state}`);
  assertEquals(c.config.trainablePaths.sort(), state.sort());
  // the trainable parts moved away from the parent's (head) and from a fresh init (block 1)
  const moved = (a: ArrayBufferView, b: ArrayBufferView) =>
    bytes(a).some((v, i) => v !== bytes(b)[i]);
  assert(moved(c.weights.head.data, p.weights.head.data), "the head did not train");
  assertEquals(c.config.lineage?.kind, "grow");
  assertEquals(c.config.lineage?.frozenBlocks, [0]);
  assertEquals(c.config.lineage?.parents[0].path, "../b1");
  assertEquals(c.config.lineage?.parents[0].sha256, p.config.files["model.safetensors"]);
  const check = await frozenBlocksIdentical(child, parent);
  assertEquals(check.differing, []);
  assertEquals(check.frozenWithOptimizerState, []);
  assertEquals(check.tensors, 11);
  await Deno.remove(root, { recursive: true });
});

Deno.test("grow: a parent of the wrong depth is refused with one line", () => {
  const gpt: GPTConfig = {
    vocab: V,
    dModel: D,
    layers: 3,
    heads: 2,
    context: 8,
    embedding: "frozen",
  };
  const { trainable, frozen } = initGPT({ ...gpt, layers: 1 }, { seed: 1, frozenTable: table });
  const dict = Object.fromEntries(
    [...Object.entries({ wte: frozen.wte!, head: trainable.head! })].map(([k, t]) => [
      k,
      { dtype: "F32" as const, shape: [...t.shape], data: new Float32Array(t.size) },
    ]),
  );
  const e = assertThrows(() => growInit(dict, gpt, 1, table), "a 3-block child needs 2");
  assert(!e.message.includes("\n"));
});

Deno.test("grow: mergeParams merges blocks index by index", () => {
  const t = (v: number) => tensor(new Float32Array([v]), [1]);
  const blk = (v: number) => ({
    ln1: { w: t(v) },
    attn: { wq: t(v), wk: t(v), wv: t(v), wo: t(v) },
    ln2: { w: t(v) },
    mlp: { w1: t(v), w2: t(v) },
  });
  const frozen = { wte: t(0), blocks: [blk(1), blk(2)] };
  const trainable = { blocks: [null, null, blk(3)], head: t(4) } as unknown as Parameters<
    typeof mergeParams
  >[0];
  const m = mergeParams(trainable, frozen);
  assertEquals(m.blocks!.length, 3);
  assertEquals(m.blocks![0], frozen.blocks[0]);
  assertEquals(m.blocks![1], frozen.blocks[1]);
  assertEquals(m.blocks![2], trainable.blocks![2]);
  assertEquals(m.wte, frozen.wte);
  // the twins' split (no blocks in frozen) is unchanged
  assertEquals(mergeParams({ blocks: frozen.blocks }, { wte: frozen.wte }).blocks, frozen.blocks);
});
