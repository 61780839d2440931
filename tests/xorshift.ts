// Shared by the fast-kernel property tests: n uniform numbers in [0, 1) from xorshift32 (shifts
// 13, 17, 5) seeded with `seed` (0 counts as 1). Each test maps them to its own range, so its
// inputs keep their bits.
export function xorshiftUniform(n: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >>> 17, s ^= s << 5;
    out[i] = (s >>> 0) / 4294967296;
  }
  return out;
}
