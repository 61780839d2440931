// The tensor core's public API in one import: tensors and lifetimes, backends, ops, autodiff,
// the GPT, optimisation and seeded randomness. (safetensors io is in core/safetensors.ts.)

export * from "./backend.ts";
export * from "./registry.ts";
export * from "./use_backend.ts";
export * from "./tensor.ts";
export * from "./ops.ts";
export * from "./autodiff.ts";
export * from "./gpt.ts";
export * from "./optim.ts";
export * from "./rng.ts";
export { hasWasmMatmul } from "./cpu/backend.ts";
