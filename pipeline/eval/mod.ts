// Public surface of the evaluation: benchmark loaders, the prompt formats (formatMcPrompt is
// the one MMLU-style prompt the training mix reuses), the scoring protocols, LM metrics,
// generation, our own benchmarks (WordNet definitions, cloze) with the overlap check, the
// context fit check and the question-blind baselines, the semantic probe, checkpoint loading,
// a whole evaluation run, the report and its plots.
// Explicit named exports, so two modules can never clash silently.

export { type Bench, type McItem } from "./items.ts";
export {
  loadArcJsonl,
  loadArcParquet,
  loadBench,
  loadBoolqJsonl,
  loadGenericJsonl,
  loadMmluCsvDir,
  loadMmluJsonl,
  loadMmluParquet,
} from "./loaders.ts";
export {
  chanceLevel,
  fitItem,
  generativePrompt,
  loglikContext,
  optionLogLiks,
  type ProtocolName,
  type ProtocolResult,
  scoreGenerative,
  scoreLoglik,
  scoreLoglikLetter,
} from "./protocols.ts";
export {
  fitShots,
  formatBoolqPrompt,
  formatMcPrompt,
  formatMcPromptLines,
  harnessLetterPrompt,
  paperPrompt,
  subjectHeader,
} from "./prompts.ts";
export { paperAnswer, runInterval, scorePaper } from "./paper.ts";
export { type SubjectBreakdown, subjectBreakdown } from "./subjects.ts";
export { type LmMetrics, lmMetrics } from "./lm_metrics.ts";
export { generate, type GenerateOptions, sampleNext } from "./generate.ts";
export {
  buildDefinitionBench,
  buildDefinitionItems,
  lemmaHalf,
  loadWordnet,
  synonymPairs,
  WORDNET_DIR,
} from "./wordnet.ts";
export {
  assertNoOverlap,
  buildClozeBench,
  buildClozeItems,
  makeTrainIndex,
  overlapReport,
} from "./cloze.ts";
export { fitsAll, promptFits } from "./fit.ts";
export { type BlindBaselines, blindBaselines, fitUnigram } from "./baselines.ts";
export { type ProbeLayer, semanticProbe } from "./probe.ts";
export { type CheckpointModel, loadCheckpointModel } from "./checkpoint.ts";
export { type ScoringModel, type TextCodec } from "./model.ts";
export { type BenchResult, evaluateModel, type ModelResult } from "./evaluate.ts";
export { runEval, type RunEvalOptions, seededSubset } from "./run.ts";
export { writeReport } from "./report.ts";
export { bootstrapCI, formatInterval, type Interval, pairedDiffCI } from "./stats.ts";
export * as plots from "./plot.ts";
