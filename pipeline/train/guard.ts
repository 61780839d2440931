// The training guard's rule and its advice. A step is sane when its loss and gradient norm are
// finite and the loss is at most SANE_FACTOR (2) times the run's first-step loss (the reference: a
// fresh model predicts about uniformly, loss ~ ln V; a model that trains stays well below it, and
// a diverging one leaves it by orders of magnitude: the audit's run had loss 7e14 with finite
// weights). A checkpoint's weights are only shown sane by the loss computed on them, i.e. the next
// step's loss, so training makes a written checkpoint current only when that loss is sane (the
// final checkpoint: when its validation loss is). The advice names a command that works:
// --resume --allow-changed train.lr with a lower rate, or the setting that cannot work (beta = 1).

import type { PipelineConfig } from "../config.ts";

/** A loss above this multiple of the first step's loss means the run diverged. */
export const SANE_FACTOR = 2;

/** Why a step is not sane (a phrase), or null when it is. */
export function insaneStep(loss: number, gradNorm: number, ref: number): string | null {
  if (!Number.isFinite(loss)) return `loss is ${loss}`;
  if (!Number.isFinite(gradNorm)) return `gradient norm is ${gradNorm}`;
  if (Number.isFinite(ref) && loss > SANE_FACTOR * ref) {
    return `loss is ${fmt(loss)}, over ${SANE_FACTOR}x the first step's ${fmt(ref)} (diverged)`;
  }
  return null;
}

const fmt = (x: number) => Math.abs(x) >= 1e5 ? x.toExponential(2) : `${+x.toPrecision(4)}`;

/** What to do after the guard stopped at a step, given the last checkpoint kept (0: none). */
export function guardAdvice(train: PipelineConfig["train"], kept: number): string {
  for (const key of ["beta1", "beta2"] as const) {
    const b = train[key];
    if (!(b < 1)) {
      return `train.${key} is ${b}: AdamW divides by 1 - ${key}^t, which is ${
        b === 1 ? "0" : "negative"
      } for ${key} >= 1, so the step is NaN whatever the learning rate; set train.${key} below 1 ` +
        `(e.g. --set train.${key}=${
          key === "beta1" ? 0.9 : 0.95
        }) and train again without --resume`;
    }
  }
  const lower = +(train.lr / 4).toPrecision(2);
  return kept > 0
    ? `to continue from step ${kept} with a lower peak rate, rerun the same command with ` +
      `--resume --allow-changed train.lr --set train.lr=${lower}`
    : `rerun the same command with --set train.lr=${lower} (or a larger train.warmup)`;
}
