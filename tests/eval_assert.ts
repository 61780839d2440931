// Minimal assertions for the evaluation tests (no JSR here): equality by JSON, regex match,
// closeness and rejected promises, each failing with the values it compared.

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

export function assertEquals(actual: unknown, expected: unknown, msg = "") {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg}\n  actual:   ${a}\n  expected: ${e}`);
}

export function assertMatch(actual: string, re: RegExp) {
  if (!re.test(actual)) throw new Error(`"${actual}" does not match ${re}`);
}

export function assertClose(actual: number, expected: number, tol = 1e-6, msg = "") {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${msg} ${actual} is not within ${tol} of ${expected}`);
  }
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  _cls: typeof Error,
  includes: string,
) {
  try {
    await fn();
  } catch (e) {
    const m = (e as Error).message;
    if (!m.includes(includes)) throw new Error(`error "${m}" does not include "${includes}"`);
    if (m.includes("\n")) throw new Error(`error is not one line: "${m}"`);
    return;
  }
  throw new Error(`expected a rejection including "${includes}"`);
}
