// Tests for the benchmark loaders: every fixture format, malformed rows reported with
// file and line, CSV quoting, and one-line errors for bad paths and bad UTF-8.

import { assert, assertEquals, assertMatch, assertRejects } from "./assert.ts";
import { loadBench } from "../pipeline/eval/loaders.ts";
import { parseCsv } from "../pipeline/eval/csv.ts";
import { runEval } from "../pipeline/eval/run.ts";

const F = "fixtures/eval";

Deno.test("MMLU CSV folder: subjects, quoted comma and newline, answer letters", async () => {
  const b = await loadBench(`mmlu:${F}/mmlu`);
  assertEquals(b.problems, []);
  assertEquals(b.items.length, 5);
  assertEquals(b.items.map((i) => i.answer), [1, 2, 0, 3, 0]);
  assertEquals(b.items[0].subject, "astronomy");
  assertEquals(b.items[3].subject, "biology");
  assertEquals(
    b.items[1].question,
    "Which planet has the rings that are easiest to see, from Earth?",
  );
  assertEquals(b.items[2].question, 'A "light-year" measures\nwhat quantity?');
  assertEquals(b.items[2].choices, ["distance", "time", "brightness", "mass"]);
  assertMatch(b.items[2].source, /astronomy_test\.csv:3$/);
});

Deno.test("MMLU CSV folder: malformed rows reported with file and line", async () => {
  const b = await loadBench(`mmlu:${F}/mmlu_bad`);
  assertEquals(b.items.map((i) => i.choices[i.answer]), ["Augustus", "Athens"]);
  assertEquals(b.problems.length, 2);
  assertMatch(b.problems[0], /history_test\.csv:2: expected 6 fields/);
  assertMatch(b.problems[1], /history_test\.csv:3: answer "E"/);
});

Deno.test("MMLU Hugging Face JSONL: good and malformed lines", async () => {
  const good = await loadBench(`mmlu:${F}/mmlu_hf.jsonl`);
  assertEquals(good.problems, []);
  assertEquals(good.items.map((i) => i.choices[i.answer]), ["4", "carbon dioxide", "Paris"]);
  assertEquals(good.items[1].subject, "biology");
  const bad = await loadBench(`mmlu:${F}/mmlu_hf_bad.jsonl`);
  assertEquals(bad.items.map((i) => i.choices[i.answer]), ["9", "whale"]);
  assertEquals(bad.problems.length, 3);
  assertMatch(bad.problems[0], /mmlu_hf_bad\.jsonl:2: not valid JSON/);
  assertMatch(bad.problems[1], /mmlu_hf_bad\.jsonl:3: answer 4/);
  assertMatch(bad.problems[2], /mmlu_hf_bad\.jsonl:4: needs "question"/);
  assertMatch(bad.items[1].source, /:6$/);
});

// The two parquet fixtures were written once with hyparquet-writer 0.17.0 in the column
// layout of the Hugging Face releases (cais/mmlu, allenai/ai2_arc); each has one bad row.
Deno.test("MMLU Hugging Face parquet: rows, bigint answers, bad row reported", async () => {
  const b = await loadBench(`mmlu:${F}/mmlu_hf.parquet`);
  assertEquals(b.items.map((i) => i.choices[i.answer]), ["4", "carbon dioxide", "Paris"]);
  assertEquals(b.items[0].subject, "elementary_mathematics");
  assertEquals(b.problems.length, 1);
  assertMatch(b.problems[0], /mmlu_hf\.parquet:row 4: answer 7 is not a choice index/);
});

Deno.test("ARC Hugging Face parquet: struct choices, number labels, bad key reported", async () => {
  const b = await loadBench(`arc:${F}/arc_hf.parquet`);
  assertEquals(b.items.map((i) => i.choices[i.answer]), ["the Sun", "an iron nail"]);
  assertEquals(b.items[0].id, "Mercury_1");
  assertEquals(b.problems.length, 1);
  assertMatch(b.problems[0], /arc_hf\.parquet:row 3: answerKey "Q"/);
  await assertRejects(() => loadBench(`arc:${F}/arc.jsonl.parquet`), "not found");
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/fake.parquet`, "not parquet at all");
  await assertRejects(() => loadBench(`mmlu:${dir}/fake.parquet`), "not a readable parquet");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ARC JSONL: letter and number labels, 3-choice items, malformed lines", async () => {
  const b = await loadBench(`arc:${F}/arc.jsonl`);
  assertEquals(b.problems, []);
  assertEquals(b.items.map((i) => i.answer), [2, 3, 2]);
  assertEquals(b.items[1].choices[3], "an iron nail");
  assertEquals(b.items[2].choices.length, 3);
  assertEquals(b.items[0].id, "Mercury_7175875");
  const bad = await loadBench(`arc:${F}/arc_bad.jsonl`);
  assertEquals(bad.items.map((i) => i.id), ["ok_1"]);
  assertEquals(bad.problems.length, 3);
  assertMatch(bad.problems[0], /arc_bad\.jsonl:2: answerKey "E"/);
  assertMatch(bad.problems[1], /arc_bad\.jsonl:3: needs question\.stem/);
  assertMatch(bad.problems[2], /arc_bad\.jsonl:4: expected a JSON object/);
});

Deno.test("generic JSONL: index and letter answers, malformed lines", async () => {
  const b = await loadBench(`jsonl:${F}/generic.jsonl`);
  assertEquals(b.problems, []);
  assertEquals(b.items.map((i) => i.answer), [0, 2, 1, 1]);
  const bad = await loadBench(`jsonl:${F}/generic_bad.jsonl`);
  assertEquals(bad.items.length, 1);
  assertEquals(bad.problems.length, 4);
  assertMatch(bad.problems[0], /generic_bad\.jsonl:2: choice 1 is empty/);
  assertMatch(bad.problems[1], /:3: fewer than 2 choices/);
  assertMatch(bad.problems[2], /:4: answer NaN/);
  assertMatch(bad.problems[3], /:5: needs "question"/);
});

Deno.test("MMLU dev split, BoolQ and CommonsenseQA (ARC layout) loaders", async () => {
  const b = await loadBench(`mmlu:${F}/mmlu`);
  assertEquals(b.style, "mmlu");
  assertEquals(b.dev!.astronomy.map((i) => i.answer), [1, 0]);
  assertEquals(b.dev!.biology[0].id, "mmlu/dev/biology/0");
  const q = await loadBench(`boolq:${F}/boolq.jsonl`);
  assertEquals(q.items.map((i) => [i.choices[i.answer], i.labels![i.answer]]), [
    ["True", "T"],
    ["False", "F"],
    ["False", "F"],
  ]);
  assertEquals(q.items[0].passage, "The Sun is the star at the centre of the Solar System.");
  // no usable row: one line with the count and the first problem (loadBench refuses it)
  await assertRejects(
    () => loadBench(`boolq:${F}/boolq_bad.jsonl`),
    /no usable item \(2 malformed; first: \S+boolq_bad\.jsonl:1: needs "question" \(string\), "passage"/,
  );
  const c = await loadBench(`csqa:${F}/arc.jsonl`);
  assertEquals([c.name, c.style], ["csqa-arc", "arc"]);
  assertEquals(c.items[1].labels, ["1", "2", "3", "4"]);
});

Deno.test("loader errors are one clear line", async () => {
  await assertRejects(() => loadBench("mmlu:/no/such/dir"), "not found");
  await assertRejects(() => loadBench("csv:x"), "use mmlu:<path>");
  await assertRejects(() => loadBench(`arc:${F}/mmlu`), "is a folder");
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/bad.jsonl`, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
  await assertRejects(() => loadBench(`jsonl:${dir}/bad.jsonl`), "not valid UTF-8");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CSV parser: CRLF, BOM, escaped quotes, unterminated quote", () => {
  const r = parseCsv('\ufeffa,"b ""q"", c"\r\n"x\ny",z\r\n');
  assertEquals(r.map((x) => x.fields), [["a", 'b "q", c'], ["x\ny", "z"]]);
  assertEquals(r.map((x) => x.line), [1, 2]);
  let err = "";
  try {
    parseCsv('a,"b\nc', "f.csv");
  } catch (e) {
    err = (e as Error).message;
  }
  assert(err.startsWith("f.csv:1: unterminated"), err);
});

Deno.test("a benchmark file with no usable row fails the run in one line, writing nothing", async () => {
  const out = await Deno.makeTempDir();
  await assertRejects(
    () =>
      runEval({
        checkpoints: ["/no/such/checkpoint"],
        benches: [`boolq:${F}/boolq_bad.jsonl`],
        out,
        log: () => {},
      }),
    'has no usable item (2 malformed; first: fixtures/eval/boolq_bad.jsonl:1: needs "question"',
  );
  assertEquals([...Deno.readDirSync(out)], []);
  await Deno.remove(out);
});

Deno.test("a flipped bit in a parquet page header is one line, not a hang (issue 16)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = await Deno.readFile(`${F}/arc_hf.parquet`);
    assertEquals(bytes[366], 0x5c);
    bytes[366] = 0x54; // the audit's flip: data_page_header_v2 of "answerKey" loses its counts
    await Deno.writeFile(`${dir}/arc.parquet`, bytes);
    await assertRejects(
      () => loadBench(`arc:${dir}/arc.parquet`),
      /arc\.parquet is not a readable parquet file \(column answerKey in row group 0: data page v2 at chunk byte 0 lacks a valid num_values\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("empty benchmark files and repeated ARC labels never pass silently", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/empty.jsonl`, "");
    await Deno.writeTextFile(`${dir}/blank.jsonl`, "\n\n  \n");
    for (const spec of [`jsonl:${dir}/empty.jsonl`, `arc:${dir}/blank.jsonl`]) {
      await assertRejects(
        () => loadBench(spec),
        `--bench ${spec} has no usable item; fix the file`,
      );
    }
    // an empty subject file beside good ones: an error naming it, not a subject that vanishes
    await Deno.mkdir(`${dir}/mmlu/test`, { recursive: true });
    await Deno.copyFile(
      `${F}/mmlu/data/test/astronomy_test.csv`,
      `${dir}/mmlu/test/astronomy_test.csv`,
    );
    await Deno.writeTextFile(`${dir}/mmlu/test/biology_test.csv`, "");
    await assertRejects(
      () => loadBench(`mmlu:${dir}/mmlu`),
      `eval: ${dir}/mmlu/test/biology_test.csv holds no rows`,
    );
    const row = (labels: string[]) =>
      JSON.stringify({
        id: "q",
        question: { stem: "s", choices: labels.map((label, i) => ({ text: `t${i}`, label })) },
        answerKey: "A",
      });
    await Deno.writeTextFile(`${dir}/arc.jsonl`, row(["A", "B"]) + "\n" + row(["A", "A"]) + "\n");
    const b = await loadBench(`arc:${dir}/arc.jsonl`);
    assertEquals(b.items.length, 1);
    assertEquals(b.problems, [
      `${dir}/arc.jsonl:2: choice labels repeat (A,A); each label must be unique`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parquet files the fuzzer damaged are one line, not an unhandled rejection", async () => {
  for (const [kind, file] of [["mmlu", "mmlu_hf_case1710"], ["arc", "arc_hf_case409"]]) {
    await assertRejects(
      () => loadBench(`${kind}:${F}/fuzzed/${file}.parquet`),
      new RegExp(`fuzzed/${file}\\.parquet is not a readable parquet file \\(`),
    );
  }
});
