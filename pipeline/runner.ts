// The pipeline runner: orders stages (declared as data in pipeline/stages.ts) by their inputs,
// fingerprints each by its parameters, code version, external sources and its inputs' content
// hashes, skips what is up to date, runs the rest, and keeps runs/<run>/manifest.json with the
// SHA-256 of every artifact. `planPipeline` says what would run and why without running it.

import { join } from "node:path";
import { writeFileAtomic } from "../core/safetensors.ts";
import { canonicalJson, sha256File, sha256Hex } from "./hash.ts";

/**
 * What a stage's function receives besides its parameters: where to write and how to report.
 * No config: a stage reads only its parameters (what was fingerprinted) and its inputs' files.
 */
export interface StageContext {
  /** The run folder, runs/<run>/ (stage outputs are relative to it). */
  runDir: string;
  /** Absolute-or-relative path of a file inside the run folder. */
  path: (rel: string) => string;
  /** Continue an interrupted stage from its last checkpoint where the stage supports it. */
  resume: boolean;
  /** No progress bars (tests); log lines still go to `log`. */
  quiet: boolean;
  /** This stage's fingerprint (a stage may store it next to partial work, e.g. checkpoints). */
  fingerprint: string;
  /** This stage's fingerprint under other parameters (same inputs and sources). */
  fingerprintFor: (params: unknown) => Promise<string>;
  /** Settings --resume may find changed in partial work (--allow-changed), e.g. ["train.lr"]. */
  allowChanged: string[];
  log: (line: string) => void;
}

/** A pipeline stage, declared as data; P is the type of its parameters. */
export interface Stage<C, P = unknown> {
  name: string;
  /** Bump when the stage's code changes what it writes. */
  version: number;
  /** Names of the stages whose outputs this stage reads. */
  inputs: string[];
  /** The part of the config that decides this stage's output (fingerprinted, passed to run). */
  params(cfg: C): P;
  /** Files outside the run folder that the stage reads (hashed into the fingerprint). */
  sources?: (cfg: C) => string[] | Promise<string[]>;
  /** Files the stage writes, relative to the run folder. */
  outputs: (cfg: C) => string[];
  /**
   * Does the work from `params` (exactly what was fingerprinted) and the input stages' files;
   * may return facts to keep in the manifest (e.g. source licences).
   */
  run(ctx: StageContext, params: P): Promise<Record<string, unknown> | void>;
}

interface FileRecord {
  sha256: string;
  size: number;
  mtime: number;
}

export interface StageRecord {
  fingerprint: string;
  version: number;
  params: unknown;
  inputs: Record<string, string>;
  sources: Record<string, FileRecord>;
  outputs: Record<string, FileRecord>;
  info?: Record<string, unknown>;
  finishedAt: string;
  seconds: number;
}

export interface Manifest {
  run: string;
  /** The configuration of the latest invocation (for people; fingerprints use stage params). */
  config?: unknown;
  stages: Record<string, StageRecord>;
  /** Stages that started and have not finished (interrupted, or running now). */
  unfinished?: string[];
}

export interface PlanStep {
  stage: string;
  action: "run" | "skip";
  reasons: string[];
}

export interface RunOptions {
  /** Stages to bring up to date ("full" = all); their upstream stages come along. */
  targets: string[];
  /** Rerun the target stages even when up to date. */
  force?: boolean;
  resume?: boolean;
  /** With resume: settings that may differ from the partial work's (--allow-changed). */
  allowChanged?: string[];
  /** Stages draw no progress bars (tests). */
  quiet?: boolean;
  log?: (line: string) => void;
}

/** Order stages so that every stage comes after its inputs; unknown inputs or cycles throw. */
export function orderStages<C>(stages: Stage<C>[]): Stage<C>[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: Stage<C>[] = [];
  const visit = (s: Stage<C>) => {
    if (done.has(s.name)) return;
    if (visiting.has(s.name)) throw new Error(`pipeline: stage "${s.name}" depends on itself`);
    visiting.add(s.name);
    for (const i of s.inputs) {
      const dep = byName.get(i);
      if (!dep) throw new Error(`pipeline: stage "${s.name}" reads unknown stage "${i}"`);
      visit(dep);
    }
    visiting.delete(s.name);
    done.add(s.name);
    out.push(s);
  };
  stages.forEach(visit);
  return out;
}

/**
 * Stage names a target means: the stage itself and, for a group name such as "train", every
 * expanded stage "train/<cell>" (the study matrix).
 */
export function expandTarget(names: string[], target: string): string[] {
  return names.filter((n) => n === target || n.startsWith(`${target}/`));
}

/** The target stages plus everything upstream of them, in run order. */
export function selectStages<C>(stages: Stage<C>[], targets: string[]): Stage<C>[] {
  const ordered = orderStages(stages);
  if (targets.includes("full")) return ordered;
  const names = ordered.map((s) => s.name);
  for (const t of targets) {
    if (!expandTarget(names, t).length) {
      const groups = [...new Set(names.map((n) => n.split("/")[0]))];
      throw new Error(`pipeline: unknown stage "${t}" (valid: full, ${groups.join(", ")})`);
    }
  }
  targets = targets.flatMap((t) => expandTarget(names, t));
  const byName = new Map(ordered.map((s) => [s.name, s]));
  const need = new Set<string>();
  const add = (n: string) => {
    if (need.has(n)) return;
    need.add(n);
    byName.get(n)!.inputs.forEach(add);
  };
  targets.forEach(add);
  return ordered.filter((s) => need.has(s.name));
}

export function manifestPath(runDir: string): string {
  return join(runDir, "manifest.json");
}

export async function readManifest(runDir: string, run: string): Promise<Manifest> {
  const path = manifestPath(runDir);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { run, stages: {} };
    throw e;
  }
  try {
    return JSON.parse(text) as Manifest;
  } catch {
    throw new Error(`${path}: corrupt manifest (delete it to rebuild the run from scratch)`);
  }
}

async function writeManifest(runDir: string, m: Manifest): Promise<void> {
  await writeFileAtomic(manifestPath(runDir), JSON.stringify(m, null, 2) + "\n");
}

/** Hash a file, reusing the recorded hash when size and mtime are unchanged. */
async function fileRecord(path: string, known?: FileRecord): Promise<FileRecord | null> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const mtime = st.mtime?.getTime() ?? 0;
  if (known && known.size === st.size && known.mtime === mtime) return known;
  return { sha256: await sha256File(path), size: st.size, mtime };
}

/** One digest of all of a stage's outputs: what downstream fingerprints depend on. */
export function outputsDigest(rec: StageRecord): Promise<string> {
  const pairs = Object.keys(rec.outputs).sort().map((k) => [k, rec.outputs[k].sha256]);
  return sha256Hex(canonicalJson(pairs));
}

async function sourceRecords(
  paths: string[],
  known: Record<string, FileRecord> = {},
): Promise<Record<string, FileRecord>> {
  const out: Record<string, FileRecord> = {};
  for (const p of paths) {
    const r = await fileRecord(p, known[p]);
    if (!r) throw new Error(`pipeline: source file ${p} not found (run \`deno task setup\`)`);
    out[p] = r;
  }
  return out;
}

function fingerprintOf(
  stage: { name: string; version: number },
  params: unknown,
  inputs: Record<string, string>,
  sources: Record<string, FileRecord>,
): Promise<string> {
  const src = Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, v.sha256]));
  return sha256Hex(canonicalJson({
    stage: stage.name,
    version: stage.version,
    params: params ?? null,
    inputs,
    sources: src,
  }));
}

/** Dotted keys whose values differ between two parameter objects. */
export function diffKeys(a: unknown, b: unknown, prefix = ""): string[] {
  const isObj = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
    return keys.flatMap((k) => diffKeys(ao[k], bo[k], prefix ? `${prefix}.${k}` : k));
  }
  return canonicalJson(a) === canonicalJson(b) ? [] : [prefix || "(all)"];
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "unset" : s.length > 40 ? s.slice(0, 37) + "..." : s;
}

function getPath(v: unknown, key: string): unknown {
  if (key === "(all)") return v;
  return key.split(".").reduce<unknown>(
    (o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined),
    v,
  );
}

/**
 * Why a stage must run, or [] when it is up to date. `inputs` holds the digests of its inputs
 * (or "pending" for an input that will be rebuilt first).
 */
async function staleReasons<C>(
  stage: Stage<C>,
  cfg: C,
  runDir: string,
  rec: StageRecord | undefined,
  inputs: Record<string, string>,
  sources: Record<string, FileRecord>,
  unfinished = false,
): Promise<{ reasons: string[]; fingerprint: string; params: unknown }> {
  const params = stage.params(cfg);
  const fingerprint = await fingerprintOf(stage, params, inputs, sources);
  if (!rec) {
    return { reasons: [unfinished ? "interrupted last time" : "never run"], fingerprint, params };
  }
  const reasons: string[] = [];
  if (rec.version !== stage.version) {
    reasons.push(`stage code changed (v${rec.version} -> v${stage.version})`);
  }
  for (const k of diffKeys(rec.params, params)) {
    reasons.push(
      `param ${k} changed (${show(getPath(rec.params, k))} -> ${show(getPath(params, k))})`,
    );
  }
  for (const [dep, digest] of Object.entries(inputs)) {
    if (digest === "pending") reasons.push(`input "${dep}" will be rebuilt`);
    else if (rec.inputs[dep] !== digest) reasons.push(`input "${dep}" changed`);
  }
  for (const [p, s] of Object.entries(sources)) {
    if (rec.sources[p]?.sha256 !== s.sha256) reasons.push(`source ${p} changed`);
  }
  const wanted = stage.outputs(cfg);
  for (const rel of wanted) {
    const known = rec.outputs[rel];
    const now = await fileRecord(join(runDir, rel), known);
    if (!now) reasons.push(`output ${rel} missing`);
    else if (!known) reasons.push(`output ${rel} not recorded`);
    else if (now.sha256 !== known.sha256) reasons.push(`output ${rel} was modified`);
  }
  if (!reasons.length && rec.fingerprint !== fingerprint) reasons.push("fingerprint changed");
  return { reasons, fingerprint, params };
}

/** Remove the temporary files an interrupted atomic write left (`<name>.<pid>.<random>.tmp`). */
async function removeStaleTemps(dir: string): Promise<void> {
  for (const e of await Array.fromAsync(Deno.readDir(dir))) { // listed before removing
    const path = join(dir, e.name);
    if (e.isDirectory) await removeStaleTemps(path);
    else if (e.isFile && /\.\d+\.[a-z0-9]+\.tmp$/.test(e.name)) await Deno.remove(path);
  }
}

/** What `runPipeline` would do, stage by stage, and why; runs nothing. */
export async function planPipeline<C extends { run: string }>(
  stages: Stage<C>[],
  cfg: C,
  runDir: string,
  opts: Omit<RunOptions, "log" | "resume">,
): Promise<PlanStep[]> {
  const manifest = await readManifest(runDir, cfg.run);
  const plan: PlanStep[] = [];
  const pending = new Set<string>();
  const forced = new Set(opts.force ? selectTargets(stages, opts.targets) : []);
  for (const stage of selectStages(stages, opts.targets)) {
    const rec = manifest.stages[stage.name];
    const inputs = await inputDigests(stage, manifest, pending);
    const sources = await sourceRecords(await (stage.sources?.(cfg) ?? []), rec?.sources);
    const unfinished = !!manifest.unfinished?.includes(stage.name);
    const { reasons } = await staleReasons(stage, cfg, runDir, rec, inputs, sources, unfinished);
    if (forced.has(stage.name)) reasons.unshift("--force");
    if (reasons.length) pending.add(stage.name);
    plan.push({ stage: stage.name, action: reasons.length ? "run" : "skip", reasons });
  }
  return plan;
}

function selectTargets<C>(stages: Stage<C>[], targets: string[]): string[] {
  const names = stages.map((s) => s.name);
  return targets.includes("full") ? names : targets.flatMap((t) => expandTarget(names, t));
}

async function inputDigests<C>(
  stage: Stage<C>,
  manifest: Manifest,
  pending: Set<string>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const dep of stage.inputs) {
    const rec = manifest.stages[dep];
    out[dep] = pending.has(dep) || !rec ? "pending" : await outputsDigest(rec);
  }
  return out;
}

/** Format a plan for people: one line per stage. */
export function formatPlan(plan: PlanStep[]): string {
  const w = Math.max(9, ...plan.map((p) => p.stage.length));
  return plan.map((p) =>
    p.action === "run"
      ? `  run   ${p.stage.padEnd(w)} ${p.reasons.join("; ")}`
      : `  skip  ${p.stage.padEnd(w)} up to date`
  ).join("\n");
}

/**
 * Bring the target stages (and what they need) up to date. Returns the names of the stages
 * that ran. Says "everything is up to date" when nothing had to run.
 */
export async function runPipeline<C extends { run: string }>(
  stages: Stage<C>[],
  cfg: C,
  runDir: string,
  opts: RunOptions,
): Promise<string[]> {
  const log = opts.log ?? ((l: string) => console.log(l));
  await Deno.mkdir(runDir, { recursive: true });
  await removeStaleTemps(runDir);
  const manifest = await readManifest(runDir, cfg.run);
  manifest.config = cfg;
  const forced = new Set(opts.force ? selectTargets(stages, opts.targets) : []);
  const ran: string[] = [];
  const selected = selectStages(stages, opts.targets);
  for (const stage of selected) {
    const rec = manifest.stages[stage.name];
    const inputs = await inputDigests(stage, manifest, new Set());
    const sources = await sourceRecords(await (stage.sources?.(cfg) ?? []), rec?.sources);
    const unfinished = !!manifest.unfinished?.includes(stage.name);
    const { reasons, fingerprint, params } = await staleReasons(
      stage,
      cfg,
      runDir,
      rec,
      inputs,
      sources,
      unfinished,
    );
    if (forced.has(stage.name)) reasons.unshift("--force");
    if (!reasons.length) {
      log(`[${stage.name}] up to date`);
      continue;
    }
    log(`[${stage.name}] running: ${reasons.join("; ")}`);
    const t0 = performance.now();
    const ctx: StageContext = {
      runDir,
      path: (rel) => join(runDir, rel),
      resume: !!opts.resume,
      quiet: !!opts.quiet,
      fingerprint,
      fingerprintFor: (other) => fingerprintOf(stage, other, inputs, sources),
      allowChanged: opts.allowChanged ?? [],
      log: (line) => log(`[${stage.name}] ${line}`),
    };
    // Forget the old record first: an interrupted stage must never look up to date.
    delete manifest.stages[stage.name];
    manifest.unfinished = [...new Set([...(manifest.unfinished ?? []), stage.name])];
    await writeManifest(runDir, manifest);
    const info = await stage.run(ctx, params); // the parameters just fingerprinted
    const outputs: Record<string, FileRecord> = {};
    for (const rel of stage.outputs(cfg)) {
      const r = await fileRecord(join(runDir, rel));
      if (!r) {
        throw new Error(`pipeline: stage "${stage.name}" did not write its output ${rel}`);
      }
      outputs[rel] = r;
    }
    const seconds = (performance.now() - t0) / 1000;
    manifest.stages[stage.name] = {
      fingerprint,
      version: stage.version,
      params: params ?? null,
      inputs,
      sources,
      outputs,
      ...(info ? { info } : {}),
      finishedAt: new Date().toISOString(),
      seconds: Math.round(seconds * 100) / 100,
    };
    manifest.unfinished = manifest.unfinished!.filter((n) => n !== stage.name);
    await writeManifest(runDir, manifest);
    ran.push(stage.name);
    log(`[${stage.name}] done in ${seconds.toFixed(1)} s`);
  }
  if (!ran.length) {
    log(`everything is up to date (${selected.length} stages); use --force to rerun`);
  }
  return ran;
}
