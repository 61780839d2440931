// glyphgrad public API: the tensor core, the glyph embedding, the tokenizer, the pipeline and
// evaluation, re-exported for scripts. Each area's files say what they hold.
export * from "./core/safetensors.ts";
