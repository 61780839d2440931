// The GPT the training benchmarks time (bench/core.ts against PyTorch, bench/webgpu.ts against
// the CPU): the `small` model's shape (d_model 128, 4 layers, 4 heads, context 128) with a 4096
// vocabulary and a trainable table, so one config means the same model in every table.
import type { GPTConfig } from "../../core/gpt.ts";

export const BENCH_GPT: GPTConfig = {
  vocab: 4096,
  dModel: 128,
  layers: 4,
  heads: 4,
  context: 128,
  embedding: "trainable",
};
