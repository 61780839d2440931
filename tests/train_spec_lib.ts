// The small training spec the train tests share: a 1-layer model on a fixed id pattern (48 ids,
// context 8, batch 3, 7 steps, a checkpoint every 2), CPU backend, quiet.

import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import type { GPTConfig } from "../core/gpt.ts";
import type { TrainSpec } from "../pipeline/train/loop.ts";

setBackend("cpu");

const V = 48, D = 16;
export const ids = Int32Array.from({ length: 3000 }, (_, i) => (i * 7 + (i >> 3)) % V);
const table = Float32Array.from({ length: V * 8 }, (_, i) => Math.sin(i * 0.37));

export function spec(
  dir: string,
  embedding: "frozen" | "trainable",
  over: Partial<TrainSpec> = {},
) {
  const gpt: GPTConfig = {
    vocab: V,
    dModel: D,
    layers: 1,
    heads: 2,
    context: 8,
    embedding,
    norm: "layernorm",
    dropout: 0.1,
    mlpRatio: 2,
  };
  const s: TrainSpec = {
    model: `${embedding}-s0`,
    dir,
    gpt,
    train: {
      steps: 7,
      batch: 3,
      lr: 0.01,
      minLr: 0.001,
      warmup: 2,
      weightDecay: 0.1,
      beta1: 0.9,
      beta2: 0.95,
      clip: 1,
      seed: 5,
      valEvery: 3,
      valBatches: 2,
      checkpointEvery: 2,
      logEvery: 1,
      backend: "cpu",
      precision: "f32",
      microBatch: 0,
    },
    seed: 5,
    trainIds: ids,
    valIds: ids.subarray(0, 400),
    frozenTable: embedding === "frozen" ? { data: table, rows: V, cols: 8 } : undefined,
    charLen: new Float64Array(V).fill(1),
    fingerprint: "fp-test",
    resume: false,
    refs: { tokenizer: { path: "t.json", sha256: "0" }, embedding: null },
    log: () => {},
    tty: false,
    quiet: true,
  };
  return { ...s, ...over };
}
