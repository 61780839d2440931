// Helpers of the export tests: a train-stage checkpoint with a real tokenizer (compact or full
// vocabulary, frozen or trainable table) and random weights large enough that attention,
// rotary positions and every norm matter; logits of a folder by glyphgrad, by the PyTorch
// reference (tests/neox_torch_reference.py) and token ids by transformers.js' AutoTokenizer.

import { join } from "node:path";
import "../core/cpu/backend.ts";
import { treeFlatten } from "../core/autodiff.ts";
import { type GPTConfig, gptLogits, initGPT, mergeParams } from "../core/gpt.ts";
import { Rng } from "../core/rng.ts";
import type { StDict } from "../core/safetensors.ts";
import { tensor } from "../core/tensor.ts";
import { makeVocabMap } from "../pipeline/data/encode.ts";
import { loadCheckpointModel } from "../pipeline/eval/checkpoint.ts";
import { saveCheckpoint } from "../pipeline/train/checkpoint.ts";
import { buildTokenizer, encode, saveTokenizer, tokenizerHash } from "../pipeline/tokenizer/mod.ts";

export const FIXTURE = "fixtures/export/multilingual.txt";

/** Training text of the test tokenizer: the tokenizer sample plus one emoji (its bytes). */
export async function trainText(): Promise<string> {
  return (await Deno.readTextFile("fixtures/tokenizer/sample.txt")).slice(0, 30000) + " 😀";
}

/** Write a checkpoint folder like the train stage's into `dir`. */
export async function makeCheckpoint(
  dir: string,
  opts: { embedding: "frozen" | "trainable"; vocab: "compact" | "full"; seed: number },
): Promise<GPTConfig> {
  const text = await trainText();
  const tok = buildTokenizer([text], { variant: "2-3", perScript: 24 });
  const map = makeVocabMap(tok.vocabSize, [encode(tok, text)], opts.vocab, tok);
  const V = map.toTokenizer.length, D = 32, rng = new Rng(opts.seed);
  const gpt: GPTConfig = {
    vocab: V,
    dModel: D,
    layers: 2,
    heads: 4,
    context: 32,
    embedding: opts.embedding,
    norm: "layernorm",
    dropout: 0,
    mlpRatio: 4,
  };
  const table = { data: new Float32Array(V * 16).map(() => rng.normal()), rows: V, cols: 16 };
  const { trainable, frozen } = initGPT(gpt, { seed: opts.seed, frozenTable: table });
  const weights: StDict = {};
  for (const [name, t] of treeFlatten(mergeParams(trainable, frozen))) {
    const shape = [...t.shape];
    let data = t.dataSync() as Float32Array;
    if (name === "wte" && opts.embedding === "frozen") data = data.slice(); // the widened table
    else if (shape.length === 1) data = data.map((x) => x + 0.3 * rng.normal()); // norms
    else data = data.map(() => rng.normal() * 0.8 / Math.sqrt(shape[0]));
    weights[name] = { dtype: "F32", shape, data };
  }
  if (opts.vocab === "compact") {
    weights.vocab_ids = { dtype: "I32", shape: [V], data: map.toTokenizer };
  }
  await Deno.mkdir(dir, { recursive: true });
  await saveTokenizer(join(dir, "tokenizer.json"), tok);
  await saveCheckpoint(
    dir,
    {
      model: `${opts.embedding}-test`,
      gpt,
      train: {},
      step: 1,
      totalSteps: 1,
      fingerprint: "test",
      seed: opts.seed,
      rng: { kind: "test", dataSeed: 0, dropoutSeed: 0, nextStep: 1 },
      dataCursor: { step: 1, tokensSeen: 0 },
      tokenizer: "tokenizer.json",
      tokenizerSha256: tokenizerHash(tok),
      embedding: null,
      trainablePaths: [],
      finished: true,
    },
    weights,
    {},
    0,
  );
  return gpt;
}

/** glyphgrad logits [B, T, V] of a checkpoint or exported folder. */
export async function glyphLogits(dir: string, ids: number[][]): Promise<Float32Array> {
  const m = await loadCheckpointModel(dir);
  const x = tensor(Int32Array.from(ids.flat()), [ids.length, ids[0].length], "i32");
  return gptLogits(m.params, m.cfg, x).dataSync() as Float32Array;
}

export const torchAbsent: string | null = await new Deno.Command("/usr/bin/python3", {
  args: ["-c", "import torch"],
  stdout: "null",
  stderr: "null",
}).output().then(
  (o) => o.success ? null : "PyTorch not importable by /usr/bin/python3",
  () => "no /usr/bin/python3",
);

/** Logits [B, T, V] of an exported folder by the PyTorch GPT-NeoX reference. */
export async function torchLogits(dir: string, ids: number[][]): Promise<Float32Array> {
  const tmp = await Deno.makeTempDir({ prefix: "glyphgrad-torch-" });
  try {
    await Deno.writeTextFile(join(tmp, "ids.json"), JSON.stringify(ids));
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["tests/neox_torch_reference.py", dir, join(tmp, "ids.json"), join(tmp, "l.f32")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const bytes = await Deno.readFile(join(tmp, "l.f32"));
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** transformers.js' AutoTokenizer on a local folder (no hub access). */
export async function hfTokenizer(dir: string) {
  const { AutoTokenizer, env } = await import("@huggingface/transformers");
  env.allowRemoteModels = false;
  env.localModelPath = join(dir, "..") + "/";
  return await AutoTokenizer.from_pretrained(dir.split("/").pop()!);
}

/**
 * Encode and decode `lines` with transformers.js and with glyphgrad's codec for the folder;
 * throws at the first difference. Returns how many ids were <unk> and byte tokens.
 */
export async function compareTokenizers(
  out: string,
  lines: string[],
  exact: boolean,
): Promise<{ tokens: number; unk: number; bytes: number }> {
  const hf = await hfTokenizer(out);
  const m = await loadCheckpointModel(out);
  const vocab = JSON.parse(await Deno.readTextFile(join(out, "tokenizer.json"))).model.vocab;
  const byteIds = new Set(
    Object.entries(vocab).filter(([t]) => /^<0x..>$/.test(t)).map((e) => e[1]),
  );
  let tokens = 0, unk = 0, bytes = 0;
  for (const line of lines) {
    const ids = hf.encode(line, { add_special_tokens: false }) as number[];
    const want = Array.from(m.codec.encode(line));
    if (ids.join() !== want.join()) {
      throw new Error(`${out}: ids of ${JSON.stringify(line)}: ${ids} vs glyphgrad ${want}`);
    }
    const text = hf.decode(ids);
    if (text !== m.codec.decode(Int32Array.from(ids)) || (exact && text !== line)) {
      throw new Error(`${out}: decode of ${JSON.stringify(line)} gave ${JSON.stringify(text)}`);
    }
    tokens += ids.length;
    unk += ids.filter((i) => i === vocab["<unk>"]).length;
    bytes += ids.filter((i) => byteIds.has(i)).length;
  }
  return { tokens, unk, bytes };
}
