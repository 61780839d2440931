// Tests of the synthetic MMLU-format folders (pipeline/eval/synthetic.ts): the subject table
// adds up to MMLU's 14,042 test items, smaller sizes split in proportion, a written folder reads
// back through the real loader item for item (quoted commas, quotes and line breaks included),
// the same seed gives the same bytes, and bad sizes fail with one line.

import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { loadBench } from "../pipeline/eval/loaders.ts";
import {
  MMLU_SUBJECTS,
  subjectSizes,
  synthItem,
  synthMmluFiles,
  writeSynthMmlu,
} from "../pipeline/eval/synthetic.ts";
import { seededRandom } from "../core/rng.ts";

Deno.test("synthetic MMLU: 57 subjects, 14,042 test items, proportional smaller sizes", () => {
  assertEquals(MMLU_SUBJECTS.length, 57);
  assertEquals(MMLU_SUBJECTS.reduce((s, [, n]) => s + n, 0), 14042);
  assertEquals(subjectSizes(14042, 57), MMLU_SUBJECTS.map(([s, n]) => [s, n]));
  const three = subjectSizes(885, 3);
  assertEquals(three.map(([s]) => s), ["abstract_algebra", "anatomy", "astronomy"]);
  assertEquals(three.reduce((s, [, n]) => s + n, 0), 885);
  // 885 in proportion 100 : 135 : 152 = 228.7, 308.7, 347.6 -> 229, 309, 347 (largest remainder)
  assertEquals(three.map(([, n]) => n), [229, 309, 347]);
  for (const [items, subjects] of [[57, 57], [1000, 57], [20000, 57], [7, 5]]) {
    const sizes = subjectSizes(items, subjects);
    assertEquals(sizes.reduce((s, [, n]) => s + n, 0), items);
    assert(sizes.every(([, n]) => n >= 1), `${items}/${subjects}: a subject got no item`);
  }
  assertThrows(() => subjectSizes(10, 58), /--subjects must be 1..57/);
  assertThrows(() => subjectSizes(3, 5), /--items must be an integer >= --subjects/);
});

Deno.test("synthetic MMLU: the written folder reads back item for item; seeded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await writeSynthMmlu(dir, 300, 4, 9), 4);
    const b = await loadBench(`mmlu:${dir}`);
    assertEquals(b.problems, []);
    assertEquals(b.items.length, 300);
    const rand = seededRandom(9);
    const want = subjectSizes(300, 4).flatMap(([subject, n]) => {
      const test = Array.from({ length: n }, (_, k) => synthItem(rand, subject, k));
      for (let k = 0; k < 5; k++) synthItem(rand, subject, k); // the dev items
      return test;
    });
    assertEquals(
      b.items.map((i) => [i.question, i.choices, i.answer, i.subject]),
      want.map((i) => [
        i.question,
        i.choices,
        i.answer,
        i.subject,
      ]),
    );
    const text = want.map((i) => i.question + i.choices.join("")).join("");
    for (const ch of [",", '"', "\n"]) assert(text.includes(ch), `no ${JSON.stringify(ch)}`);
    const dev = await Deno.readTextFile(join(dir, "data", "dev", "anatomy_dev.csv"));
    assert(dev.length > 0, "dev split missing");
    assertEquals([...synthMmluFiles(300, 4, 9)], [...synthMmluFiles(300, 4, 9)]);
    assert(
      synthMmluFiles(300, 4, 9).get(join("data", "test", "anatomy_test.csv")) !==
        synthMmluFiles(300, 4, 10).get(join("data", "test", "anatomy_test.csv")),
      "seed ignored",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("synthetic MMLU: question lengths follow the subject (long passages for law)", () => {
  const rand = seededRandom(1);
  const median = (subject: string) => {
    const ls = Array.from({ length: 201 }, (_, k) => synthItem(rand, subject, k).question.length)
      .sort((a, b) => a - b);
    return ls[100];
  };
  const law = median("professional_law"), algebra = median("abstract_algebra");
  assert(law > 500 && law < 1000, `professional_law median ${law} chars`);
  assert(algebra > 70 && algebra < 170, `abstract_algebra median ${algebra} chars`);
});
