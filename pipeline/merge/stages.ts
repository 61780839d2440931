// placeholder replaced below
import type { PipelineConfig } from "../config.ts";
import type { Stage } from "../runner.ts";
import type { Cell } from "../study.ts";
export function mergeStages(_cfg: PipelineConfig, _cells: Cell[]): Stage<PipelineConfig>[] {
  return [];
}
