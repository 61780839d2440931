// The assertions every test uses (jsr:@std/assert is unreachable here): truthiness, deep equality,
// scalar and elementwise closeness, regex match, and expected errors, which must be one line
// (glyphgrad's rule for every error a user can see) and match a pattern or substring.

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

const show = (v: unknown) =>
  JSON.stringify(v, (_, x) => typeof x === "bigint" ? `${x}n` : x)?.slice(0, 2000);

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!deepEqual(actual, expected)) {
    throw new Error(`${msg ? msg + ": " : ""}expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** |actual - expected| <= tol. */
export function assertAlmostEquals(actual: number, expected: number, tol = 1e-6, msg?: string) {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${msg ? msg + ": " : ""}expected ${expected} ± ${tol}, got ${actual}`);
  }
}

/** Exact elementwise equality (Object.is, so NaN equals NaN and -0 differs from 0). */
export function assertArrayEquals(a: ArrayLike<number>, b: ArrayLike<number>, msg = "arrays") {
  assert(a.length === b.length, `${msg}: lengths ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new Error(`${msg}: index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** |a - b| <= tol * (1 + |b|) elementwise. */
export function assertArrayClose(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: number,
  msg = "not close",
): void {
  assert(a.length === b.length, `${msg}: lengths ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= tol * (1 + Math.abs(b[i])))) {
      throw new Error(`${msg}: index ${i}: ${a[i]} vs ${b[i]} (|diff| ${d}, tol ${tol})`);
    }
  }
}

export function assertMatch(actual: string, re: RegExp): void {
  if (!re.test(actual)) throw new Error(`"${actual}" does not match ${re}`);
}

function checkError(e: unknown, expected?: RegExp | string): Error {
  const m = (e as Error)?.message ?? String(e);
  const ok = expected === undefined ||
    (typeof expected === "string" ? m.includes(expected) : expected.test(m));
  if (!ok) throw new Error(`error "${m}" does not match ${expected}`);
  if (m.includes("\n")) throw new Error(`error is not one line: "${m}"`);
  return e as Error;
}

/** The promise rejects with a one-line error matching `expected` (regex or substring). */
export async function assertRejects(
  fn: () => Promise<unknown>,
  expected?: RegExp | string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, expected);
  }
  throw new Error(`expected a rejection matching ${expected}`);
}

/** The call throws a one-line error matching `expected` (regex or substring). */
export function assertThrows(fn: () => unknown, expected?: RegExp | string): Error {
  try {
    fn();
  } catch (e) {
    return checkError(e, expected);
  }
  throw new Error(`expected an exception matching ${expected}`);
}
