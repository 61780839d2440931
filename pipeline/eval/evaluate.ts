// Evaluate one model on everything: held-out LM metrics, every benchmark under each chosen
// protocol (generative, loglik, loglik-letter, paper), per-subject / macro / micro accuracy
// where items carry subjects, and the semantic probe. Data in (a model, its codec, loaded benchmarks), plain
// JSON-able results out; the report and the CLI build on this.

import type { Bench } from "./items.ts";
import type { ScoringModel, TextCodec } from "./model.ts";
import { type LmMetrics, lmMetrics } from "./lm_metrics.ts";
import {
  chanceLevel,
  type ProtocolName,
  type ProtocolResult,
  scoreGenerative,
  scoreLoglik,
  scoreLoglikLetter,
} from "./protocols.ts";
import { scorePaper } from "./paper.ts";
import { type SubjectBreakdown, subjectBreakdown } from "./subjects.ts";
import { type HiddenFn, type ProbeLayer, semanticProbe } from "./probe.ts";

export type Protocol = ProtocolName;
export const PROTOCOLS: Protocol[] = ["generative", "loglik", "loglik-letter", "paper"];

export interface EvalTarget {
  name: string;
  model: ScoringModel;
  codec: TextCodec;
  hidden?: HiddenFn;
  dModel?: number;
  /** Free-form facts shown in the report (dir, embedding, parameter count...). */
  info?: Record<string, string | number>;
}

export interface EvalOptions {
  benches: Bench[];
  heldOut?: string[];
  probePairs?: { synonyms: [string, string][]; random: [string, string][] };
  protocols?: Protocol[];
  /** Most tokens the generative protocol generates looking for the letter (default 3). */
  genTokens?: number;
  /** Few-shot examples from a benchmark's dev split (generative, loglik-letter); default 0. */
  shots?: number;
  /** The paper variant's sampled runs (default 10) and temperature (default 1). */
  paperRuns?: number;
  paperTemperature?: number;
  seed?: number;
  resamples?: number;
  log?: (line: string) => void;
}

export interface BenchResult {
  name: string;
  n: number;
  chance: number;
  problems: number;
  seconds: number;
  generative?: ProtocolResult;
  loglik?: ProtocolResult;
  "loglik-letter"?: ProtocolResult;
  paper?: ProtocolResult;
  /** protocol -> metric -> per-subject, macro and micro accuracy (items with 2+ subjects). */
  bySubject?: Partial<Record<Protocol, Record<string, SubjectBreakdown>>>;
}

export interface ModelResult {
  name: string;
  info: Record<string, string | number>;
  lm?: LmMetrics;
  benches: BenchResult[];
  probe?: ProbeLayer[];
}

export async function evaluateModel(t: EvalTarget, opts: EvalOptions): Promise<ModelResult> {
  const log = opts.log ?? (() => {});
  const protocols = opts.protocols ?? ["generative", "loglik", "loglik-letter"];
  const so = { seed: opts.seed ?? 0, resamples: opts.resamples };
  const result: ModelResult = { name: t.name, info: t.info ?? {}, benches: [] };
  if (opts.heldOut?.length) {
    const t0 = performance.now();
    result.lm = await lmMetrics(t.model, t.codec, opts.heldOut);
    log(
      `${t.name}: held-out loss ${result.lm.loss.toFixed(4)}, bpc ${
        result.lm.bitsPerChar.toFixed(4)
      } (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  for (const b of opts.benches) {
    if (b.items.length === 0) continue;
    const t0 = performance.now();
    const r: BenchResult = {
      name: b.name,
      n: b.items.length,
      chance: 0,
      problems: b.problems.length,
      seconds: 0,
    };
    const shot = { shots: opts.shots ?? 0, dev: b.dev };
    for (const proto of PROTOCOLS.filter((p) => protocols.includes(p))) {
      const res = proto === "generative"
        ? await scoreGenerative(t.model, t.codec, b.items, {
          ...so,
          ...shot,
          genTokens: opts.genTokens,
        })
        : proto === "loglik"
        ? await scoreLoglik(t.model, t.codec, b.items, so)
        : proto === "loglik-letter"
        ? await scoreLoglikLetter(t.model, t.codec, b.items, { ...so, ...shot })
        : await scorePaper(t.model, t.codec, b.items, {
          ...so,
          style: b.style,
          runs: opts.paperRuns,
          temperature: opts.paperTemperature,
        });
      r[proto] = res;
      r.chance = chanceLevel(b.items);
      const subjects = (res.scored ?? b.items.map((_, i) => i)).map((i) => b.items[i].subject);
      for (const [metric, values] of Object.entries(res.correct)) {
        const bd = subjectBreakdown(subjects, values, so);
        if (bd) ((r.bySubject ??= {})[proto] ??= {})[metric] = bd;
      }
    }
    r.seconds = (performance.now() - t0) / 1000;
    const acc = (p: ProtocolResult, m: string) =>
      p.n ? `${(100 * p.metrics[m].mean).toFixed(1)}%` : "n/a (every item skipped)";
    const parts = PROTOCOLS.flatMap((p) =>
      r[p]
        ? [`${p} ${Object.keys(r[p]!.metrics).map((m) => `${m} ${acc(r[p]!, m)}`).join(" ")}`]
        : []
    );
    log(
      `${t.name}: ${b.name} (${b.items.length} items) ${parts.join(", ")} ` +
        `(${r.seconds.toFixed(1)} s)`,
    );
    result.benches.push(r);
  }
  if (opts.probePairs && t.hidden && t.dModel) {
    result.probe = await semanticProbe(t.hidden, t.dModel, t.codec, opts.probePairs, so.seed);
    const gaps = result.probe.map((l) => l.gap.toFixed(3)).join(" ");
    log(`${t.name}: probe gap (synonym - random cosine) per layer: ${gaps}`);
  }
  return result;
}
