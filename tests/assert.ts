// Minimal assertions for tests (jsr:@std/assert is unreachable here): equality by deep compare,
// truthiness, closeness, and expected throws with a message pattern.
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}
function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = a as unknown as ArrayLike<unknown>, y = b as unknown as ArrayLike<unknown>;
    if (a.constructor !== b.constructor || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length || Array.isArray(a) !== Array.isArray(b)) return false;
  return ka.every((k) =>
    deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  );
}
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!deepEqual(actual, expected)) {
    const show = (v: unknown) => JSON.stringify(v, (_, x) => typeof x === "bigint" ? `${x}n` : x);
    throw new Error(msg ?? `expected ${show(expected)}, got ${show(actual)}`);
  }
}
export function assertAlmostEquals(a: number, b: number, tol = 1e-6, msg?: string): void {
  if (!(Math.abs(a - b) <= tol)) throw new Error(msg ?? `expected ${b} ± ${tol}, got ${a}`);
}
export async function assertRejects(fn: () => Promise<unknown>, pattern?: RegExp): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (pattern && !pattern.test((e as Error).message)) {
      throw new Error(`error "${(e as Error).message}" does not match ${pattern}`);
    }
    return e as Error;
  }
  throw new Error("expected a rejection");
}
export function assertThrows(fn: () => unknown, pattern?: RegExp): Error {
  try {
    fn();
  } catch (e) {
    if (pattern && !pattern.test((e as Error).message)) {
      throw new Error(`error "${(e as Error).message}" does not match ${pattern}`);
    }
    return e as Error;
  }
  throw new Error("expected an exception");
}
