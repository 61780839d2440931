// The autodiff tape: while valueAndGrad runs its function, every op whose inputs include a
// tracked tensor appends a node (output, inputs, vjp). Ops call `record`; autodiff.ts walks the
// nodes backwards. Outside valueAndGrad nothing is recorded and ops cost nothing extra.

import { setTidyGuard, type Tensor } from "./tensor.ts";

/**
 * vjp: upstream gradient of the output -> gradient of each input. `needs[i]` says whether
 * input i is tracked; a vjp may return null for an untracked input to skip that work.
 */
export type Vjp = (g: Tensor, needs: boolean[]) => (Tensor | null)[];

export interface TapeNode {
  out: Tensor;
  inputs: Tensor[];
  vjp: Vjp;
}

export interface Tape {
  nodes: TapeNode[];
  /** Tensors whose gradient is wanted: the leaves and everything computed from them. */
  tracked: Set<Tensor>; // leaves and outputs of recorded nodes
  saved: Set<Tensor>; // tensors the vjps need: never freed by an inner tidy
}

const tapes: Tape[] = [];
let paused = 0;

setTidyGuard((t) => tapes.some((tp) => tp.saved.has(t)));

export function activeTape(): Tape | undefined {
  return paused ? undefined : tapes[tapes.length - 1];
}

export function pushTape(leaves: Tensor[]): Tape {
  const tape: Tape = { nodes: [], tracked: new Set(leaves), saved: new Set(leaves) };
  tapes.push(tape);
  return tape;
}

export function popTape(tape: Tape): void {
  if (tapes.pop() !== tape) throw new Error("autodiff: tapes popped out of order");
}

/** Run fn without recording (used for the backward pass itself). */
export function noGrad<T>(fn: () => T): T {
  paused++;
  try {
    return fn();
  } finally {
    paused--;
  }
}

/** True when some input is tracked by the active tape (so the op must be recorded). */
export function needsGrad(inputs: Tensor[]): boolean {
  const tape = activeTape();
  return !!tape && inputs.some((t) => tape.tracked.has(t));
}

/**
 * Record an op. `saved` lists extra tensors its vjp reads (besides inputs and out); they are
 * protected from inner tidy scopes until the tape ends.
 */
export function record(out: Tensor, inputs: Tensor[], vjp: Vjp, saved: Tensor[] = []): void {
  const tape = activeTape();
  if (!tape || !inputs.some((t) => tape.tracked.has(t))) return;
  tape.nodes.push({ out, inputs, vjp });
  tape.tracked.add(out);
  tape.saved.add(out);
  for (const t of inputs) tape.saved.add(t);
  for (const t of saved) tape.saved.add(t);
}

/**
 * Records `vjp` for out when an input needs a gradient, keeping the forward's `scratch`
 * tensors (and `keep`) alive for it; otherwise frees `scratch` at once. Returns out.
 */
export function recordOrFree(
  out: Tensor,
  inputs: Tensor[],
  scratch: Tensor[],
  vjp: Vjp,
  keep: Tensor[] = [],
): Tensor {
  if (!needsGrad(inputs)) {
    for (const t of scratch) t.dispose();
    return out;
  }
  record(out, inputs, vjp, [...keep, ...scratch]);
  return out;
}
