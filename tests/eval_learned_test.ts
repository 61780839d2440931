// A tiny GPT that has learned to answer: trained here for a few hundred steps on four
// multiple-choice items in the paper's format (`Question: ..\nOptions: A) ..\nAnswer: B`),
// one character per token, so the token after `Answer:` is always a space. Saved and loaded
// as a checkpoint, it scores 100% under the generative protocol (greedy until the first
// non-space character) while the paper's 1-token MMLU protocol scores 0% with every answer
// "no letter": the space is all it may generate.

import { assert, assertEquals } from "./assert.ts";
import { asciiCodec } from "./eval_fakes.ts";
import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, gptLoss, initGPT, mergeParams } from "../core/gpt.ts";
import { treeFlatten, valueAndGrad } from "../core/autodiff.ts";
import { disposeTree, tensor, tidy } from "../core/tensor.ts";
import { adamw } from "../core/optim.ts";
import { saveSafetensors } from "../core/safetensors.ts";
import { loadCheckpointModel } from "../pipeline/eval/checkpoint.ts";
import { scoreGenerative } from "../pipeline/eval/protocols.ts";
import { scorePaper } from "../pipeline/eval/paper.ts";
import { formatMcPrompt } from "../pipeline/eval/prompts.ts";
import type { McItem } from "../pipeline/eval/items.ts";

setBackend("cpu");

const choices = ["red", "big", "old", "new"];
const items: McItem[] = ["cat", "sun", "sea", "owl"].map((q, i) => ({
  id: q,
  question: `${q}?`,
  choices,
  answer: i, // cat -> A, sun -> B, sea -> C, owl -> D
  source: "learned",
}));

Deno.test("a tiny model that learned the format answers under the generative protocol", async () => {
  const docs = items.map((it) =>
    `${formatMcPrompt(it.question, it.choices)} ${"ABCD"[it.answer]}\n`
  );
  const T = docs[0].length - 1;
  assert(docs.every((d) => d.length === T + 1), "equal lengths: no padding needed");
  const cfg: GPTConfig = {
    vocab: 128,
    dModel: 32,
    layers: 2,
    heads: 2,
    context: 64,
    embedding: "trainable",
    norm: "layernorm",
  };
  const ids = tensor(Int32Array.from(docs.flatMap((d) => [...asciiCodec.encode(d.slice(0, -1))])), [
    4,
    T,
  ], "i32");
  const tgt = tensor(Int32Array.from(docs.flatMap((d) => [...asciiCodec.encode(d.slice(1))])), [
    4,
    T,
  ], "i32");
  let { trainable, frozen } = initGPT(cfg, { seed: 4 });
  const opt = adamw({ lr: 3e-3, weightDecay: 0 });
  let state = opt.init(trainable);
  const vg = valueAndGrad((p: typeof trainable) => gptLoss(mergeParams(p, frozen), cfg, ids, tgt));
  let loss = Infinity;
  for (let step = 0; step < 400 && loss > 0.02; step++) {
    const out = tidy(() => {
      const { value, grads } = vg(trainable);
      return { ...opt.step(trainable, grads, state), loss: value };
    });
    disposeTree([trainable, state]);
    trainable = out.params;
    state = out.state;
    loss = await out.loss.item();
    out.loss.dispose();
  }
  assert(loss < 0.1, `training loss ${loss}`);

  const dir = await Deno.makeTempDir();
  const st: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of treeFlatten(mergeParams(trainable, frozen))) {
    st[name] = { dtype: "F32", shape: [...t.shape], data: (await t.data()) as Float32Array };
  }
  await saveSafetensors(`${dir}/model.safetensors`, st);
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ gpt: cfg, tokenizer: "none" }));
  const ck = await loadCheckpointModel(dir, { codec: asciiCodec });

  const gen = await scoreGenerative(ck.model, ck.codec, items);
  assertEquals(gen.predictions, [0, 1, 2, 3]);
  assertEquals(gen.metrics.acc.mean, 1);
  const one = await scoreGenerative(ck.model, ck.codec, items, { genTokens: 1 });
  assertEquals([one.metrics.acc.mean, one.noLetter], [0, 1]);
  const paper = await scorePaper(ck.model, ck.codec, items, { runs: 2, temperature: 0 });
  assertEquals([paper.metrics.acc.mean, paper.noLetter], [0, 1]);
  await Deno.remove(dir, { recursive: true });
});
