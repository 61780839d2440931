// The one PRNG module (core/rng.ts) gives every caller exactly the sequences the three modules
// it replaced gave (fixtures/rng/sequences.json, dumped from those modules; see its README):
// splitmix32 for the model, mulberry32 for the glyph recipes, seededRandom for evaluation.

import { assertEquals } from "./assert.ts";
import {
  blockBalanced,
  gaussian,
  mulberry32,
  randInt,
  Rng,
  seededRandom,
  shuffled,
} from "../core/rng.ts";

const want: Record<string, Record<string, number[]>> = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/rng/sequences.json", import.meta.url)),
);
const take = (f: () => number, n = 8) => Array.from({ length: n }, f);

Deno.test("rng: every generator repeats the pinned sequences bit for bit", () => {
  const seeds = [0, 1, 42, 1337, 0xffffffff, -7];
  assertEquals(Object.keys(want), seeds.map((s) => `seed ${s}`));
  for (const seed of seeds) {
    const w = want[`seed ${seed}`], r = new Rng(seed), e = seededRandom(seed);
    assertEquals(take(mulberry32(seed)), w.mulberry32, `mulberry32 ${seed}`);
    assertEquals(take(gaussian(mulberry32(seed))), w.gaussian, `gaussian ${seed}`);
    assertEquals(take(e), w.seededRandom, `seededRandom ${seed}`);
    assertEquals(take(() => randInt(e, 10)), w.randInt, `randInt ${seed}`);
    assertEquals(shuffled([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], seededRandom(seed)), w.shuffled);
    assertEquals(take(blockBalanced(seededRandom(seed), 4)), w.blockBalanced);
    assertEquals(take(() => r.nextU32()), w.splitmix32, `splitmix32 ${seed}`);
    assertEquals(take(() => r.normal()), w.normal, `normal ${seed}`);
  }
});
