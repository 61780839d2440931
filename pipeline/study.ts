// The study matrix as data: the config's `study.arms` (embedding variants) crossed with
// `study.seeds`. An arm is `trainable` (the model owns a trainable table), a glyph recipe name
// from the recipe registry (a frozen table built by the embed stage: paper, clean, random,
// binary-id, ...), or `import:<file.safetensors>` (a frozen [V, d_model] table made elsewhere).
// An empty arm list means the classic twin: the configured frozen table (embed.import, else
// embed.recipe) and `trainable`. A cell is one arm trained and evaluated with one seed; every
// arm of a seed gets the same seed (same data order, same initial weights but the table).
// Pure functions, data in and data out.

import { basename } from "node:path";
import { RECIPE_NAMES } from "./glyphs/recipes.ts";

export interface Arm {
  /** The arm as written in the config ("paper", "trainable", "import:x.safetensors"). */
  spec: string;
  /** Folder-safe name, used in stage and model names ("paper", "import-x"). */
  name: string;
  kind: "trainable" | "recipe" | "import";
  /** The recipe of a "recipe" arm. */
  recipe?: string;
  /** The table file of an "import" arm. */
  path?: string;
}

export interface Cell {
  arm: Arm;
  /** Seed index 0..seeds-1 (the training seed is train.seed + index). */
  seedIndex: number;
  /** Model/stage name: `<arm>-s<index>`, e.g. "paper-s0". */
  name: string;
}

/** The part of a config the study needs. */
export interface StudyConfig {
  study: { arms: string[]; seeds: number };
  embed: { recipe: string; import: string };
}

/** Parse one arm; a bad one is a one-line error naming the valid forms. */
export function parseArm(spec: string): Arm {
  if (spec === "trainable") return { spec, name: "trainable", kind: "trainable" };
  if (spec.startsWith("import:")) {
    const path = spec.slice("import:".length);
    if (!path) {
      throw new Error(`study.arms: "${spec}" names no file (write import:<table.safetensors>)`);
    }
    const stem = basename(path).replace(/\.safetensors$/, "").replace(/[^A-Za-z0-9._-]/g, "_");
    return { spec, name: `import-${stem}`, kind: "import", path };
  }
  if ((RECIPE_NAMES as readonly string[]).includes(spec)) {
    return { spec, name: spec, kind: "recipe", recipe: spec };
  }
  throw new Error(
    `study.arms: unknown arm "${spec}" (valid: trainable, ${RECIPE_NAMES.join(", ")}, ` +
      "import:<table.safetensors>)",
  );
}

/** The arms of a config, validated: no duplicates, at least one. */
export function studyArms(cfg: StudyConfig): Arm[] {
  const specs = cfg.study.arms.length ? cfg.study.arms : [
    cfg.embed.import ? `import:${cfg.embed.import}` : cfg.embed.recipe,
    "trainable",
  ];
  const arms = specs.map(parseArm);
  const seen = new Set<string>();
  for (const a of arms) {
    if (seen.has(a.name)) {
      throw new Error(`study.arms: "${a.spec}" is listed twice (name each arm once)`);
    }
    seen.add(a.name);
  }
  return arms;
}

/** Check study.seeds: a whole number >= 1. */
export function checkSeeds(seeds: number): number {
  if (!Number.isInteger(seeds) || seeds < 1) {
    throw new Error(`study.seeds ${seeds}: needs a whole number >= 1 (e.g. --seeds 3)`);
  }
  return seeds;
}

/** Every cell of the matrix, seed-major: paper-s0, trainable-s0, paper-s1, ... */
export function studyCells(cfg: StudyConfig): Cell[] {
  const arms = studyArms(cfg);
  const seeds = checkSeeds(cfg.study.seeds);
  return Array.from(
    { length: seeds },
    (_, s) => arms.map((arm) => ({ arm, seedIndex: s, name: `${arm.name}-s${s}` })),
  ).flat();
}

/** The arms that need a frozen table (one embed stage each). */
export function frozenArms(cfg: StudyConfig): Arm[] {
  return studyArms(cfg).filter((a) => a.kind !== "trainable");
}

/** The training seed of a cell: the same for every arm of a seed index. */
export function cellSeed(baseSeed: number, cell: Cell): number {
  return baseSeed + cell.seedIndex;
}
