// Small assertion helpers for the core tests (no JSR here, so no @std/assert): exact equality
// of arrays, a boolean check, and elementwise closeness with a relative-plus-absolute tolerance.

export class AssertionError extends Error {}

function ok(cond: unknown, msg = "assertion failed"): void {
  if (!cond) throw new AssertionError(msg);
}

function equal(a: ArrayLike<number>, b: ArrayLike<number>, msg = "arrays differ"): void {
  ok(a.length === b.length, `${msg}: lengths ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new AssertionError(`${msg}: index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** |a - b| <= tol * (1 + |b|) elementwise. */
function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, msg = "not close"): void {
  ok(a.length === b.length, `${msg}: lengths ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= tol * (1 + Math.abs(b[i])))) {
      throw new AssertionError(`${msg}: index ${i}: ${a[i]} vs ${b[i]} (|diff| ${d}, tol ${tol})`);
    }
  }
}

export const assert = { ok, equal, close };
