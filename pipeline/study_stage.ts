// The gathering `eval` stage of a study: reads every cell's eval/<cell>/results.json and
// train/<cell>/{result.json,log.jsonl}, writes the side-by-side evaluation report of all cells
// (eval/report.md, eval/results.json), the study's numbers (eval/study.json), the verdict and
// the arms x seeds table (eval/study.md, which opens the run report) and the curves of
// validation bits per character against tokens seen (eval/bpc-curves.svg/.png).

import { join } from "node:path";
import { writeFileAtomic } from "../core/safetensors.ts";
import type { PipelineConfig } from "./config.ts";
import type { Arm, Cell } from "./study.ts";
import type { ModelResult } from "./eval/evaluate.ts";
import { loadTrainLog, writeReport } from "./eval/report.ts";
import { svgToPng } from "./eval/plot.ts";
import {
  bpcCurveSvg,
  buildStudyTable,
  type StudyCell,
  studyTableSection,
} from "./eval/study_report.ts";
import { verdictSection } from "./eval/verdict.ts";
import type { CellResult } from "./train/stage.ts";

/** What the gathering stage reads of the config (its fingerprinted parameters). */
export function studyParams(cfg: PipelineConfig, arms: Arm[]) {
  const m = cfg.model, t = cfg.train;
  return {
    arms: arms.map((a) => a.spec),
    seeds: cfg.study.seeds,
    run: cfg.run,
    scale: {
      layers: m.layers,
      dModel: m.dModel,
      context: m.context,
      steps: t.steps,
      batch: t.batch,
    },
  };
}
export type StudyParams = ReturnType<typeof studyParams>;

/** "4 layers, d_model 128, context 128, 300 steps of batch 8 (307,200 tokens per cell)" */
export function scaleText(p: StudyParams): string {
  const s = p.scale, tokens = s.steps * s.batch * s.context;
  return `${s.layers} layers, d_model ${s.dModel}, context ${s.context}, ${s.steps} steps of ` +
    `batch ${s.batch} (${tokens.toLocaleString("en-US")} training tokens per cell)`;
}

/** The study's Markdown (verdict, table, curves) from the gathered cells. */
export function studyMarkdown(
  p: StudyParams,
  cells: StudyCell[],
  arms: string[],
): { md: string[]; table: ReturnType<typeof buildStudyTable>; svg: string } {
  const table = buildStudyTable(cells, arms, p.seeds, scaleText(p));
  const svg = bpcCurveSvg(cells, arms, p.scale.batch * p.scale.context);
  const md = [
    ...verdictSection(table),
    ...studyTableSection(table, cells),
    "![validation bits per character against tokens seen](bpc-curves.png)",
    "",
    "Line: mean over seeds of the validation bits per character on the fixed validation",
    `windows used during training (train.valBatches x train.batch windows); band: the lowest`,
    "and highest seed. The tables use the whole validation split, per document.",
    "",
  ];
  return { md, table, svg };
}

export async function writeStudy(
  p: StudyParams,
  runDir: string,
  cells: Cell[],
  arms: Arm[],
): Promise<void> {
  const evalDir = join(runDir, "eval");
  const gathered: StudyCell[] = [];
  const results: ModelResult[] = [];
  const logs: { name: string; rows: Awaited<ReturnType<typeof loadTrainLog>>["rows"] }[] = [];
  const notes = new Set<string>(), problems: string[] = [];
  for (const c of cells) {
    const r = JSON.parse(await Deno.readTextFile(join(evalDir, c.name, "results.json")));
    const result: ModelResult = { ...r.results[0], name: c.name };
    (r.notes as string[]).forEach((n) => notes.add(n));
    problems.push(...new Set(r.problems as string[]));
    const log = await loadTrainLog(join(runDir, "train", c.name, "log.jsonl"));
    const train: CellResult = JSON.parse(
      await Deno.readTextFile(join(runDir, "train", c.name, "result.json")),
    );
    results.push(result);
    logs.push({ name: c.name, rows: log.rows });
    gathered.push({
      name: c.name,
      arm: c.arm.name,
      seedIndex: c.seedIndex,
      result,
      log: log.rows,
      train: { seconds: train.seconds, tokensPerS: train.tokensPerS, steps: train.steps },
    });
  }
  await writeFileAtomic(
    join(evalDir, "results.json"),
    JSON.stringify({ results, notes: [...notes], problems: [...new Set(problems)] }, null, 1),
  );
  await writeReport({
    name: p.run,
    outDir: evalDir,
    results,
    logs,
    atlas: join(runDir, "glyphs/atlas.png"),
    problems: [...new Set(problems)],
    notes: [...notes],
  });
  const { md, table, svg } = studyMarkdown(p, gathered, arms.map((a) => a.name));
  await writeFileAtomic(join(evalDir, "bpc-curves.svg"), svg);
  await writeFileAtomic(join(evalDir, "bpc-curves.png"), svgToPng(svg));
  await writeFileAtomic(join(evalDir, "study.json"), JSON.stringify(table, null, 1) + "\n");
  await writeFileAtomic(join(evalDir, "study.md"), md.join("\n") + "\n");
}
