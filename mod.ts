// glyphgrad public API for scripts: the tensor core (tensors, ops, autodiff, GPT, AdamW,
// backends, safetensors), the glyph renderer and embedding recipes, and the Unicode-centric
// tokenizer. Each folder's own mod.ts lists what it holds.
//
//   import { buildEmbedding, buildTokenizer, encode, initGPT, renderToken } from "./mod.ts";
export * from "./core/mod.ts";
export * from "./pipeline/glyphs/mod.ts";
export * from "./pipeline/tokenizer/mod.ts";
export * from "./core/safetensors.ts";
// The pipeline (configs, stages, runner, data, trainer, checkpoints) and the evaluation API.
export * as pipeline from "./pipeline/mod.ts";
