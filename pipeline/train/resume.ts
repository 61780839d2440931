// Which setting changes --resume accepts. A checkpoint stores its train stage fingerprint; a run
// with another fingerprint is refused, except that the optimizer settings in RESUMABLE may change
// when named with --allow-changed (they change how later steps update the weights, not what the
// saved state means). The check is exact: the fingerprint recomputed with the checkpoint's values
// of the changed keys must be the checkpoint's, so nothing else (data, model, code) changed.

import type { CheckpointConfig } from "./checkpoint.ts";
import { diffKeys } from "../runner.ts";

/** Settings --resume --allow-changed may carry over. */
export const RESUMABLE = [
  "train.lr",
  "train.minLr",
  "train.warmup",
  "train.clip",
  "train.beta1",
  "train.beta2",
  "train.weightDecay",
];

/** An --allow-changed value checked: keys from RESUMABLE (comma-separated or repeated). */
export function parseAllowChanged(values: string[]): string[] {
  const keys = values.flatMap((v) => v.split(",")).map((k) => k.trim()).filter(Boolean);
  for (const k of keys) {
    if (!RESUMABLE.includes(k)) {
      throw new Error(
        `--allow-changed ${k}: not an optimizer setting --resume can change (valid: ${
          RESUMABLE.join(", ")
        })`,
      );
    }
  }
  return keys;
}

export interface ResumeCheck {
  dir: string;
  train: Record<string, unknown>;
  fingerprint: string;
  allowChanged?: string[];
  /** The stage fingerprint this run would have with these train settings. */
  fingerprintOf?: (train: Record<string, unknown>) => Promise<string>;
}

export type Changes = Record<string, { from: unknown; to: unknown }>;

const show = (v: unknown) => JSON.stringify(v) ?? "unset";

/** The allowed setting changes between a checkpoint and this run, or a one-line error. */
export async function resumeChanges(prev: CheckpointConfig, run: ResumeCheck): Promise<Changes> {
  if (prev.fingerprint === run.fingerprint) return {};
  const keys = diffKeys(prev.train, run.train).map((k) => `train.${k}`);
  const get = (o: Record<string, unknown>, k: string) => o[k.slice("train.".length)];
  const changes: Changes = Object.fromEntries(
    keys.map((k) => [k, { from: get(prev.train, k), to: get(run.train, k) }]),
  );
  const listed = keys.map((k) => `${k} ${show(changes[k].from)} -> ${show(changes[k].to)}`);
  const base = `checkpoint ${run.dir} was written with other settings or inputs` +
    (keys.length ? ` (${listed.join(", ")})` : "");
  const allowed = run.allowChanged ?? [];
  const missing = keys.filter((k) => !allowed.includes(k) || !RESUMABLE.includes(k));
  if (!keys.length || missing.length) {
    if (keys.length && keys.every((k) => RESUMABLE.includes(k))) {
      throw new Error(
        `${base}; add --allow-changed ${missing.join(",")} to continue with the new optimizer ` +
          "settings, or rerun without --resume to train from scratch",
      );
    }
    throw new Error(`${base}; rerun without --resume to train from scratch`);
  }
  const probe = { ...run.train };
  for (const k of keys) probe[k.slice("train.".length)] = changes[k].from;
  if (!run.fingerprintOf || (await run.fingerprintOf(probe)) !== prev.fingerprint) {
    throw new Error(
      `checkpoint ${run.dir} was written with other settings or inputs besides ${
        keys.join(", ")
      } (data, model or code); rerun without --resume to train from scratch`,
    );
  }
  return changes;
}
