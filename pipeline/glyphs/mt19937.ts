// The Mersenne Twister MT19937 (Matsumoto & Nishimura 1998) and the two generators built on it
// that the author's notebook seeds with 42 for every token: Python's `random` (seeded through
// init_by_array with the seed's 32-bit words) and numpy's legacy `RandomState` (seeded through
// init_genrand). Restated from the published algorithm and the two libraries' documented
// behaviour, so the paper recipe's draws follow from the seed instead of copied constants.

const N = 624, M = 397;

/** The MT19937 state and its 32-bit output. */
export class Mt19937 {
  private mt = new Uint32Array(N);
  private i = N + 1;

  /** Seed from one 32-bit integer (the reference init_genrand). */
  initGenrand(s: number): this {
    this.mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const p = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, p) + i) >>> 0;
    }
    this.i = N;
    return this;
  }

  /** Seed from an array of 32-bit words (the reference init_by_array). */
  initByArray(key: number[]): this {
    this.initGenrand(19650218);
    let i = 1, j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const p = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = ((this.mt[i] ^ Math.imul(p, 1664525)) + (key[j] >>> 0) + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        this.mt[0] = this.mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const p = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = ((this.mt[i] ^ Math.imul(p, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        this.mt[0] = this.mt[N - 1];
        i = 1;
      }
    }
    this.mt[0] = 0x80000000;
    this.i = N;
    return this;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.i = 0;
  }

  /** Next 32-bit output (unsigned). */
  uint32(): number {
    if (this.i >= N) {
      if (this.i > N) this.initGenrand(5489);
      this.twist();
    }
    let y = this.mt[this.i++];
    y ^= y >>> 11;
    y = (y ^ ((y << 7) & 0x9d2c5680)) >>> 0;
    y = (y ^ ((y << 15) & 0xefc60000)) >>> 0;
    return (y ^ (y >>> 18)) >>> 0;
  }

  /** A double in [0, 1) with 53 random bits (genrand_res53, as both libraries use). */
  res53(): number {
    const a = this.uint32() >>> 5, b = this.uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
}

function checkSeed(seed: number, max: number, who: string): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > max) {
    throw new Error(`${who}: seed ${seed} is invalid (use an integer from 0 to ${max})`);
  }
}

/** Python's `random.Random(seed)` for a non-negative integer seed: random, uniform, randint. */
export class PyRandom {
  private mt = new Mt19937();

  constructor(seed: number) {
    checkSeed(seed, Number.MAX_SAFE_INTEGER, "PyRandom");
    // the seed's absolute value as little-endian 32-bit words (at least one word)
    const key = [seed % 4294967296];
    if (seed >= 4294967296) key.push(Math.floor(seed / 4294967296));
    this.mt.initByArray(key);
  }

  random(): number {
    return this.mt.res53();
  }

  uniform(a: number, b: number): number {
    return a + (b - a) * this.random();
  }

  /** k random bits (0 <= k <= 32): the top k bits of one 32-bit output. */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 32) {
      throw new Error(`getrandbits: k ${k} is invalid (use 0..32)`);
    }
    return k === 0 ? 0 : this.mt.uint32() >>> (32 - k);
  }

  /** An integer in [0, n) by rejection on bit_length(n) bits (n >= 1, < 2^32). */
  private randbelow(n: number): number {
    const k = 32 - Math.clz32(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** An integer in [a, b], both ends included. */
  randint(a: number, b: number): number {
    if (!Number.isInteger(a) || !Number.isInteger(b) || b < a || b - a >= 4294967295) {
      throw new Error(`randint: range [${a}, ${b}] is invalid (use integers a <= b)`);
    }
    return a + this.randbelow(b - a + 1);
  }
}

/** numpy's legacy `RandomState(seed)` (seed 0..2^32-1): `rand`. */
export class NpRandomState {
  private mt = new Mt19937();

  constructor(seed: number) {
    checkSeed(seed, 4294967295, "NpRandomState");
    this.mt.initGenrand(seed);
  }

  /** `rand(n)`: n doubles in [0, 1), in order (row-major for a shape). */
  rand(n = 1): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.mt.res53();
    return out;
  }
}
