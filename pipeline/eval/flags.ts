// Numeric command-line flags of `deno task eval`, parsed strictly and range-checked: plain
// decimal numbers only ("0x10", "", "1e", " 5" are refused, as Number() would accept some), whole
// where a count is meant, and inside the flag's range (--items=-5 once scored every item).

export interface FlagRange {
  min: number;
  max?: number;
  /** A count or an index: a whole number. */
  whole?: boolean;
}

const DECIMAL = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** The flag's value, `dflt` when absent; a one-line error naming the flag and its range. */
export function numberFlag(
  v: string | undefined,
  name: string,
  dflt: number,
  range: FlagRange,
): number {
  if (v === undefined) return dflt;
  const x = DECIMAL.test(v) ? Number(v) : NaN;
  const { min, max = Number.MAX_SAFE_INTEGER, whole = false } = range;
  if (!Number.isFinite(x) || (whole && !Number.isInteger(x)) || x < min || x > max) {
    const kind = whole ? "a whole number" : "a number";
    throw new Error(
      `--${name} must be ${kind} from ${min}` +
        (max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : " up") + `, got "${v}"`,
    );
  }
  return x;
}
