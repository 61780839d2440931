// Reverse-mode autodiff over parameter trees (nested plain objects/arrays of Tensors).
// valueAndGrad(f)(params) runs f on a fresh tape, then walks the tape backwards applying each
// op's vjp. Only the leaves of `params` get gradients: tensors f closes over (frozen weights)
// are never tracked, so nothing is computed or stored for them. Every intermediate is freed
// before it returns; only the value and the gradient tree survive.

import { add } from "./ops.ts";
import { noGrad, popTape, pushTape, type Tape } from "./tape.ts";
import { full, Tensor, tidy } from "./tensor.ts";

/** A parameter tree: a Tensor, or arrays / plain objects of trees. */
export type Tree = Tensor | Tree[] | { [key: string]: Tree };

/** [dotted path, tensor] for every leaf, in a stable order (object keys in insertion order). */
export function treeFlatten(tree: unknown, prefix = ""): [string, Tensor][] {
  if (tree instanceof Tensor) return [[prefix, tree]];
  const out: [string, Tensor][] = [];
  const join = (k: string) => (prefix ? `${prefix}.${k}` : k);
  if (Array.isArray(tree)) tree.forEach((t, i) => out.push(...treeFlatten(t, join(String(i)))));
  else if (tree && typeof tree === "object") {
    for (const [k, v] of Object.entries(tree)) out.push(...treeFlatten(v, join(k)));
  } else if (tree !== undefined && tree !== null) {
    throw new Error(`parameter tree leaf "${prefix}" is not a Tensor (got ${typeof tree})`);
  }
  return out;
}

/** Rebuild a tree shaped like `like` from leaves in treeFlatten order. */
export function treeUnflatten<T>(like: T, leaves: Tensor[]): T {
  let i = 0;
  const build = (t: unknown): unknown => {
    if (t instanceof Tensor) return leaves[i++];
    if (Array.isArray(t)) return t.map(build);
    if (t && typeof t === "object") {
      return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, build(v)]));
    }
    return t;
  };
  const out = build(like) as T;
  if (i !== leaves.length) throw new Error(`treeUnflatten: ${leaves.length} leaves for ${i} slots`);
  return out;
}

/** Apply fn to every leaf (with its dotted path). */
export function treeMap<T>(tree: T, fn: (t: Tensor, path: string) => Tensor): T {
  const flat = treeFlatten(tree);
  return treeUnflatten(tree, flat.map(([p, t]) => fn(t, p)));
}

/** Backward pass: gradient of `value` (scalar) w.r.t. each leaf (undefined = unused). */
function backward(value: Tensor, tape: Tape): Map<Tensor, Tensor> {
  const nodes = tape.nodes;
  const grads = new Map<Tensor, Tensor>();
  grads.set(value, full([...value.shape], 1));
  for (let n = nodes.length - 1; n >= 0; n--) {
    const node = nodes[n];
    const g = grads.get(node.out);
    if (!g) continue;
    const ins = node.vjp(g, node.inputs.map((x) => tape.tracked.has(x)));
    grads.delete(node.out);
    const seen = new Set<Tensor>();
    node.inputs.forEach((x, i) => {
      let gi = ins[i];
      if (!gi) return;
      if (gi === g || seen.has(gi)) gi = gi.view(gi.shape); // distinct objects per slot
      seen.add(gi);
      const prev = grads.get(x);
      if (prev) {
        grads.set(x, add(prev, gi));
        prev.dispose();
        gi.dispose();
      } else grads.set(x, gi);
    });
    g.dispose();
  }
  return grads;
}

/**
 * valueAndGrad(f)(params) = { value: f(params), grads: d value / d params } (same tree shape
 * as params; an unused leaf gets zeros). f must return a 1-element tensor and must not dispose
 * the intermediates it creates (no tidy inside f needed: everything is freed here).
 */
export function valueAndGrad<P>(
  f: (params: P) => Tensor,
): (params: P) => { value: Tensor; grads: P } {
  return (params: P) =>
    tidy(() => {
      const leaves = treeFlatten(params).map(([, t]) => t);
      const tape = pushTape(leaves);
      let value: Tensor;
      try {
        value = f(params);
      } finally {
        popTape(tape);
      }
      if (!(value instanceof Tensor) || value.size !== 1) {
        throw new Error(`valueAndGrad: f must return a 1-element tensor, got ${value}`);
      }
      const grads = noGrad(() => backward(value, tape));
      const used = new Set<Tensor>();
      const gleaves = leaves.map((t) => {
        let g = grads.get(t);
        if (!g) g = full([...t.shape], 0);
        else if (used.has(g) || g === value || leaves.includes(g)) g = g.view(g.shape);
        used.add(g);
        return g;
      });
      const out = value.view(value.shape.length ? value.shape : []);
      return { value: out, grads: treeUnflatten(params, gleaves) };
    });
}

/** grad(f)(params): the gradient tree only. */
export function grad<P>(f: (params: P) => Tensor): (params: P) => P {
  const vg = valueAndGrad(f);
  return (params: P) => {
    const { value, grads } = vg(params);
    value.dispose();
    return grads;
  };
}
