// Public surface of the pipeline: configs, the stages and their runner, the data stage, the
// trainer and its checkpoints. The glyph, tokenizer and evaluation areas are re-exported as
// namespaces (glyphs, tokenizer, evaluation) so that no two names can clash.

export {
  applySet,
  type BackendChoice,
  CONFIG_NAMES,
  defaultConfig,
  loadConfig,
  type PipelineConfig,
  type Recipe,
  validateConfig,
} from "./config.ts";
export {
  formatPlan,
  type Manifest,
  planPipeline,
  type PlanStep,
  readManifest,
  type RunOptions,
  runPipeline,
  type Stage,
  type StageContext,
} from "./runner.ts";
export { pipelineStages } from "./stages.ts";
export { type Arm, type Cell, parseArm, studyArms, studyCells } from "./study.ts";
export { buildData, type DataParams } from "./data/build.ts";
export { buildMcMix, mcTrainingText } from "./data/mc_mix.ts";
export { SOURCES } from "./data/sources.ts";
export { tokenizeCorpus } from "./data/encode.ts";
export { trainModel, type TrainResult, type TrainSpec } from "./train/loop.ts";
export { loadCheckpoint, readCheckpointConfig, saveCheckpoint } from "./train/checkpoint.ts";
export { bitsPerChar, unigramBitsPerChar } from "./train/bpc.ts";
export { trainCell } from "./train/stage.ts";
export { writeRunReport } from "./run_report.ts";
export * as glyphs from "./glyphs/mod.ts";
export * as tokenizer from "./tokenizer/mod.ts";
export * as evaluation from "./eval/mod.ts";
