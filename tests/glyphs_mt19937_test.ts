// The two generators behind the paper recipe's draws, against published MT19937 outputs and
// against dumps of Python's `random` and numpy's `RandomState` (fixtures/glyphs/rng.json,
// made by fixtures/glyphs/make_rng.py with the command written in it).

import { assertEquals, assertThrows } from "./assert.ts";
import { Mt19937, NpRandomState, PyRandom } from "../pipeline/glyphs/mt19937.ts";

const ref = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/glyphs/rng.json", import.meta.url)),
);

Deno.test("MT19937: the reference outputs (init_genrand(5489), init_by_array)", () => {
  const mt = new Mt19937().initGenrand(5489);
  assertEquals(mt.uint32(), 3499211612);
  // mt19937ar.c's test vector: init_by_array({0x123, 0x234, 0x345, 0x456}) starts 1067595299
  const a = new Mt19937().initByArray([0x123, 0x234, 0x345, 0x456]);
  assertEquals([a.uint32(), a.uint32(), a.uint32()], [1067595299, 955945823, 477289528]);
  // the 10000th output of the default seed (C++ std::mt19937 requirement)
  const b = new Mt19937().initGenrand(5489);
  let v = 0;
  for (let i = 0; i < 10000; i++) v = b.uint32();
  assertEquals(v, 4123659995);
});

Deno.test("PyRandom: published values and the Python dump", () => {
  assertEquals(new PyRandom(42).random(), 0.6394267984578837);
  for (const [seed, want] of Object.entries(ref.python_random) as [string, unknown][]) {
    const r = new PyRandom(Number(seed));
    const got = {
      random: Array.from({ length: 5 }, () => r.random()),
      "uniform_-4_4": r.uniform(-4, 4),
      "uniform_-7_7": r.uniform(-7, 7),
      "randint_-2_2": Array.from({ length: 20 }, () => r.randint(-2, 2)),
      "randint_-3_3": Array.from({ length: 20 }, () => r.randint(-3, 3)),
      randint_0_0: r.randint(0, 0),
      randint_0_1000: Array.from({ length: 5 }, () => r.randint(0, 1000)),
      getrandbits_32: r.getrandbits(32),
    };
    assertEquals(got, want, `seed ${seed}`);
  }
  const r = new PyRandom(42);
  assertEquals([r.uniform(-4, 4), r.randint(-2, 2), r.randint(-2, 2)], ref.notebook_2_3);
  assertThrows(() => new PyRandom(-1), /seed -1 is invalid/);
  assertThrows(() => r.randint(3, 2), /range \[3, 2\] is invalid/);
});

Deno.test("NpRandomState: published value and the numpy dump", () => {
  assertEquals(new NpRandomState(42).rand()[0], 0.3745401188473625);
  for (const [seed, want] of Object.entries(ref.numpy_rand) as [string, number[]][]) {
    assertEquals(Array.from(new NpRandomState(Number(seed)).rand(want.length)), want, seed);
  }
  assertThrows(() => new NpRandomState(2 ** 32), /seed 4294967296 is invalid/);
});
