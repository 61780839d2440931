// Optimisation: AdamW (decoupled weight decay, a mask to exclude norms/biases), warmup +
// cosine learning-rate schedule, global-norm gradient clipping and gradient accumulation
// helpers. All pure: they return new trees and never modify their inputs. Only the trees passed
// in get state, so frozen parameters (never passed) have no optimizer state.

import { treeFlatten, treeUnflatten } from "./autodiff.ts";
import { add, div, maximum, mul, scale, sqrt, sum } from "./ops.ts";
import { fromStorage, scalar, type Tensor, zeros } from "./tensor.ts";

export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Which leaves get weight decay (default: tensors of rank >= 2, i.e. not norms/biases). */
  decayMask?: (path: string) => boolean;
}

export interface AdamState<P = unknown> {
  step: number;
  m: P;
  v: P;
}

/** How `Optimizer.step` may treat its inputs (all optional; the default is pure). */
export interface StepOptions {
  /** Multiply every gradient by this scalar tensor first (a clipping factor). */
  scale?: Tensor;
  /**
   * Dispose the old parameters and state (`params`) and the gradients (`grads`) leaf by leaf as
   * each leaf is updated, so that the step's peak holds one leaf's new copy, not the whole
   * tree's (the paper config: ~4 GB less). The caller must not use what it lets be consumed.
   */
  consume?: { params?: boolean; grads?: boolean };
}

export interface Optimizer {
  init<P>(params: P): AdamState<P>;
  step<P>(
    params: P,
    grads: P,
    state: AdamState<P>,
    lr?: number,
    opts?: StepOptions,
  ): { params: P; state: AdamState<P> };
}

export function adamw(opts: AdamWOptions = {}): Optimizer {
  const beta1 = opts.beta1 ?? 0.9, beta2 = opts.beta2 ?? 0.999, eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0.01, baseLr = opts.lr ?? 1e-3;
  for (const [k, v] of Object.entries({ beta1, beta2, eps, wd, baseLr })) {
    if (!Number.isFinite(v) || v < 0) {
      throw new Error(`adamw: ${k} must be a finite number >= 0, got ${v}`);
    }
  }
  return {
    init<P>(params: P): AdamState<P> {
      const flat = treeFlatten(params).map(([, t]) => t);
      const zs = () => treeUnflatten(params, flat.map((t) => zeros([...t.shape])));
      return { step: 0, m: zs(), v: zs() };
    },
    step<P>(params: P, grads: P, state: AdamState<P>, lr = baseLr, so: StepOptions = {}) {
      const ps = treeFlatten(params), gs = treeFlatten(grads);
      const ms = treeFlatten(state.m), vs = treeFlatten(state.v);
      if (gs.length !== ps.length || ms.length !== ps.length) {
        throw new Error(
          `adamw: params (${ps.length}), grads (${gs.length}) and state (${ms.length}) differ`,
        );
      }
      const t = state.step + 1;
      const np: Tensor[] = [], nm: Tensor[] = [], nv: Tensor[] = [];
      ps.forEach(([path, p], i) => {
        const g0 = gs[i][1], m = ms[i][1], v = vs[i][1];
        if (g0.size !== p.size) throw new Error(`adamw: gradient of "${path}" has the wrong size`);
        const g = so.scale ? mul(g0, so.scale) : g0;
        const be = p.backend;
        const decay = opts.decayMask ? opts.decayMask(path) : p.rank >= 2;
        // adamw writes every element of its three outputs: no zero fill
        const po = be.alloc(p.size, "f32", false),
          mo = be.alloc(p.size, "f32", false),
          vo = be.alloc(p.size, "f32", false);
        be.adamw(p.storage, g.storage, m.storage, v.storage, po, mo, vo, {
          n: p.size,
          lr,
          beta1,
          beta2,
          eps,
          weightDecay: decay ? wd : 0,
          step: t,
        });
        np.push(fromStorage(be, po, p.shape));
        nm.push(fromStorage(be, mo, p.shape));
        nv.push(fromStorage(be, vo, p.shape));
        if (g !== g0) g.dispose();
        if (so.consume?.grads) g0.dispose();
        if (so.consume?.params) { for (const t of [p, m, v]) t.dispose(); }
      });
      return {
        params: treeUnflatten(params, np),
        state: { step: t, m: treeUnflatten(state.m, nm), v: treeUnflatten(state.v, nv) },
      };
    },
  };
}

/** Linear warmup from 0 to peak over `warmup` steps, then cosine decay to `min` at `total`. */
export function cosineSchedule(
  o: { warmup: number; total: number; peak: number; min?: number },
): (step: number) => number {
  const min = o.min ?? 0;
  return (step: number): number => {
    if (step < o.warmup) return (o.peak * (step + 1)) / o.warmup;
    if (step >= o.total) return min;
    const frac = (step - o.warmup) / Math.max(1, o.total - o.warmup);
    return min + 0.5 * (o.peak - min) * (1 + Math.cos(Math.PI * frac));
  };
}

/** Global L2 norm of all leaves (a scalar tensor; no readback). */
export function globalNorm(tree: unknown): Tensor {
  let acc: Tensor | undefined;
  for (const [, g] of treeFlatten(tree)) {
    const sq = sum(mul(g, g));
    const next = acc ? add(acc, sq) : sq;
    if (acc) {
      acc.dispose();
      sq.dispose();
    }
    acc = next;
  }
  const total = acc ?? scalar(0);
  const n = sqrt(total);
  total.dispose();
  return n;
}

/** Scale every gradient by min(1, maxNorm / norm). Returns the new tree and the norm. */
export function clipByGlobalNorm<P>(grads: P, maxNorm: number): { grads: P; norm: Tensor } {
  const norm = globalNorm(grads);
  const factor = clipFactor(norm, maxNorm);
  const out = treeUnflatten(grads, treeFlatten(grads).map(([, g]) => mul(g, factor)));
  factor.dispose();
  return { grads: out, norm };
}

/** min(1, maxNorm / norm) as a scalar tensor on the norm's backend (no readback). */
export function clipFactor(norm: Tensor, maxNorm: number): Tensor {
  const denom = maximum(norm, maxNorm);
  const lim = scale(norm, 0, maxNorm); // maxNorm on the gradients' backend
  const factor = div(lim, denom);
  for (const t of [denom, lim]) t.dispose();
  return factor;
}

/** Leafwise a + b (gradient accumulation). */
export function addTrees<P>(a: P, b: P): P {
  const fb = treeFlatten(b);
  return treeUnflatten(a, treeFlatten(a).map(([, t], i) => add(t, fb[i][1])));
}

/** Leafwise t * s. */
export function scaleTree<P>(t: P, s: number): P {
  return treeUnflatten(t, treeFlatten(t).map(([, x]) => scale(x, s)));
}
