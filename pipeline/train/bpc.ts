// Bits per character: a character-unigram baseline (add-one smoothed counts from the training
// split, scored on the validation split) and the conversion of a model's summed token
// negative log-likelihood into bits per character of the text those tokens spell.

/** Cross-entropy in bits per character of a unigram character model fitted on `train`. */
export function unigramBitsPerChar(train: string, val: string): number {
  const counts = new Map<number, number>();
  let n = 0;
  for (const ch of train) {
    const c = ch.codePointAt(0)!;
    counts.set(c, (counts.get(c) ?? 0) + 1);
    n++;
  }
  const alphabet = new Set(counts.keys());
  for (const ch of val) alphabet.add(ch.codePointAt(0)!);
  const denom = n + alphabet.size;
  let bits = 0, m = 0;
  for (const ch of val) {
    bits -= Math.log2(((counts.get(ch.codePointAt(0)!) ?? 0) + 1) / denom);
    m++;
  }
  if (!m) throw new Error("unigramBitsPerChar: the validation text is empty");
  return bits / m;
}

/**
 * Characters each model id stands for: code points of its string; a byte-fallback token counts
 * one character when it starts a UTF-8 sequence and zero for a continuation byte.
 */
export function charLengths(strings: string[], isByte: (i: number) => number | null): Float64Array {
  return Float64Array.from(strings, (s, i) => {
    const b = isByte(i);
    if (b !== null) return (b & 0xc0) === 0x80 ? 0 : 1;
    return [...s].length;
  });
}

/** bits per character = total NLL (nats) / ln 2 / characters predicted. */
export function bitsPerChar(nllNats: number, chars: number): number {
  return nllNats / Math.LN2 / chars;
}
