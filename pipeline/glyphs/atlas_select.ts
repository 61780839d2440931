// Which tokens the run's glyph atlas shows: a few characters of each script the report cares
// about (Latin, Greek, Hebrew, Cyrillic, CJK) that the vocabulary holds, then some of its
// multi-character tokens. Pure: vocabulary (token strings, index = model id) in, ids out.

/** Script samples: [label, first code point, last code point]. */
export const ATLAS_SCRIPTS: readonly [string, number, number][] = [
  ["Latin", 0x41, 0x7a],
  ["Greek", 0x391, 0x3c9],
  ["Hebrew", 0x5d0, 0x5ea],
  ["Cyrillic", 0x410, 0x44f],
  ["CJK", 0x4e00, 0x9fff],
];

/**
 * Up to `perScript` single-character tokens of each script in ATLAS_SCRIPTS (letters only,
 * spread evenly in code point order) and up to `multi` multi-character tokens (in vocabulary order, spread
 * over the scripts), as ids into `tokens`. Throws when the vocabulary is empty.
 */
export function atlasSelection(tokens: string[], perScript = 24, multi = 64): number[] {
  if (tokens.length === 0) throw new Error("atlas: empty vocabulary; run the tokenize stage");
  const ids: number[] = [];
  for (const [, lo, hi] of ATLAS_SCRIPTS) {
    const found = tokens
      .map((t, i) => [t, i] as const)
      .filter(([t]) => {
        const cps = [...t];
        if (cps.length !== 1) return false;
        const c = cps[0].codePointAt(0)!;
        return c >= lo && c <= hi && /\p{L}/u.test(cps[0]);
      })
      .sort((a, b) => a[0].codePointAt(0)! - b[0].codePointAt(0)!);
    // spread evenly over the script's letters present (upper and lower case, whole CJK range)
    const n = Math.min(perScript, found.length);
    for (let k = 0; k < n; k++) ids.push(found[Math.floor((k * found.length) / n)][1]);
  }
  // multi-character tokens, taken round-robin by the script of their first character
  const byScript = new Map<string, number[]>();
  tokens.forEach((t, i) => {
    if ([...t].length < 2) return;
    const c = t.codePointAt(0)!;
    const s = ATLAS_SCRIPTS.find(([, lo, hi]) => c >= lo && c <= hi)?.[0] ?? "other";
    byScript.set(s, [...(byScript.get(s) ?? []), i]);
  });
  const queues = [...byScript.values()];
  const picked: number[] = [];
  for (let k = 0; picked.length < multi && queues.some((q) => k < q.length); k++) {
    for (const q of queues) if (k < q.length && picked.length < multi) picked.push(q[k]);
  }
  return [...ids, ...picked];
}
