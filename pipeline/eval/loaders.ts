// Benchmark loaders for the standard files, given by path (nothing is downloaded):
//   mmlu:<dir>    the original MMLU CSV folders: <dir>/data/test/<subject>_test.csv (or
//                 <dir>/test/... or <dir> itself), rows "question,A,B,C,D,answer-letter", no header;
//                 the dev split beside it (data/dev/<subject>_dev.csv) gives few-shot examples
//   mmlu:<file>   Hugging Face-style JSONL or parquet: {question, subject, choices[4], answer}
//   arc:<file>    ARC JSONL: {id, question: {stem, choices: [{text, label}]}, answerKey}, or
//                 Hugging Face parquet: {id, question, choices: {text[], label[]}, answerKey}
//   csqa:<file>   CommonsenseQA in either ARC layout (the original JSONL has the same fields)
//   boolq:<file>  BoolQ JSONL: {question, passage, answer: true | false}
//   jsonl:<file>  generic JSONL: {question, choices[], answer: index | letter, subject?}
// A malformed row never vanishes: it lands in Bench.problems as "file:line: why".

import { basename, dirname, join } from "node:path";
import { type Bench, itemProblem, LETTERS, type McItem } from "./items.ts";
import { parseCsv } from "./csv.ts";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { parquetProblem } from "./parquet_check.ts";

/** Read a file as strict UTF-8 with one-line errors. */
export async function readText(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`eval: file not found: ${path}; check the path`);
    }
    throw e;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`eval: ${path} is not valid UTF-8; re-encode it as UTF-8`);
  }
}

function letterIndex(x: unknown, n: number): number {
  if (typeof x === "number") return x;
  if (typeof x === "string") {
    const t = x.trim();
    if (/^\d+$/.test(t)) return Number(t);
    const i = LETTERS.indexOf(t.toUpperCase());
    return t.length === 1 && i >= 0 && i < n ? i : NaN;
  }
  return NaN;
}

/** Push the item, or a problem line if it is unusable. */
function accept(bench: Bench, it: McItem, into: McItem[] = bench.items) {
  const why = itemProblem(it);
  if (why) bench.problems.push(`${it.source}: ${why}`);
  else into.push(it);
}

/** One MMLU CSV file; the subject comes from "<subject>_test.csv". */
export async function loadMmluCsvFile(
  path: string,
  bench: Bench,
  into: McItem[] = bench.items,
): Promise<void> {
  const subject = basename(path).replace(/_(test|val|dev)\.csv$/, "").replace(/\.csv$/, "");
  const split = /_dev\.csv$/.test(path) ? "dev/" : "";
  const records = parseCsv(await readText(path), path);
  if (records.length === 0) {
    throw new Error(`eval: ${path} holds no rows; remove the empty file or restore its rows`);
  }
  for (const [k, r] of records.entries()) {
    const source = `${path}:${r.line}`;
    if (r.fields.length !== 6) {
      bench.problems.push(
        `${source}: expected 6 fields (question,A,B,C,D,answer), got ${r.fields.length}`,
      );
      continue;
    }
    const [question, a, b, c, d, ans] = r.fields;
    const answer = "ABCD".indexOf(ans.trim());
    if (ans.trim().length !== 1 || answer < 0) {
      bench.problems.push(`${source}: answer "${ans}" is not one of A, B, C, D`);
      continue;
    }
    accept(bench, {
      id: `mmlu/${split}${subject}/${k}`,
      question,
      choices: [a, b, c, d],
      answer,
      subject,
      source,
    }, into);
  }
}

/** MMLU CSV folder: finds data/test/*_test.csv, test/*_test.csv or *_test.csv under dir. */
export async function loadMmluCsvDir(dir: string): Promise<Bench> {
  const bench: Bench = { name: "mmlu", items: [], problems: [], style: "mmlu" };
  let folder = "";
  for (const cand of [join(dir, "data", "test"), join(dir, "test"), dir]) {
    try {
      if ((await Deno.stat(cand)).isDirectory) {
        const names = [...Deno.readDirSync(cand)].map((e) => e.name);
        if (names.some((n) => n.endsWith("_test.csv"))) {
          folder = cand;
          break;
        }
      }
    } catch { /* try the next layout */ }
  }
  if (!folder) {
    throw new Error(
      `eval: no *_test.csv under ${dir} (expected ${dir}/data/test/<subject>_test.csv)`,
    );
  }
  const files = [...Deno.readDirSync(folder)].map((e) => e.name)
    .filter((n) => n.endsWith("_test.csv")).sort();
  for (const f of files) await loadMmluCsvFile(join(folder, f), bench);
  // the dev split: data/test -> data/dev, test -> dev, or *_dev.csv beside the test files
  const devFolder = basename(folder) === "test" ? join(dirname(folder), "dev") : folder;
  let devFiles: string[] = [];
  try {
    devFiles = [...Deno.readDirSync(devFolder)].map((e) => e.name)
      .filter((n) => n.endsWith("_dev.csv")).sort();
  } catch { /* no dev split: zero-shot only */ }
  if (devFiles.length) {
    const dev: McItem[] = [];
    for (const f of devFiles) await loadMmluCsvFile(join(devFolder, f), bench, dev);
    bench.dev = {};
    for (const it of dev) (bench.dev[it.subject!] ??= []).push(it);
  }
  return bench;
}

/** Parse JSONL, handing each object (or a problem) to `row`. Blank lines are skipped. */
async function eachJsonl(
  path: string,
  bench: Bench,
  row: (obj: Record<string, unknown>, source: string, k: number) => void,
) {
  const lines = (await readText(path)).split("\n");
  let k = 0;
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const source = `${path}:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      bench.problems.push(`${source}: not valid JSON`);
      continue;
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      bench.problems.push(`${source}: expected a JSON object`);
      continue;
    }
    row(obj as Record<string, unknown>, source, k++);
  }
}

function stringArray(x: unknown): string[] | null {
  return Array.isArray(x) && x.every((s) => typeof s === "string") ? x as string[] : null;
}

const toNumber = (x: unknown) => (typeof x === "bigint" ? Number(x) : x);

/** One Hugging Face MMLU row {question, subject, choices, answer}: a JSONL object or parquet row. */
function mmluRow(bench: Bench, o: Record<string, unknown>, source: string, k: number) {
  const choices = stringArray(o.choices);
  if (typeof o.question !== "string" || !choices) {
    bench.problems.push(`${source}: needs "question" (string) and "choices" (string[])`);
    return;
  }
  const subject = typeof o.subject === "string" ? o.subject : "unknown";
  accept(bench, {
    id: `mmlu/${subject}/${k}`,
    question: o.question,
    choices,
    answer: letterIndex(toNumber(o.answer), choices.length),
    subject,
    source,
  });
}

/** Hugging Face-style MMLU JSONL: {question, subject, choices, answer: 0-3}. */
export async function loadMmluJsonl(path: string): Promise<Bench> {
  const bench: Bench = { name: "mmlu", items: [], problems: [], style: "mmlu" };
  await eachJsonl(path, bench, (o, source, k) => mmluRow(bench, o, source, k));
  return bench;
}

/** An ARC item once its question, choice texts and labels are read: the answer is answerKey's label. */
function arcItem(
  bench: Bench,
  o: Record<string, unknown>,
  k: number,
  source: string,
  item: { question: string; choices: string[]; labels: string[] },
) {
  if (new Set(item.labels).size !== item.labels.length) {
    bench.problems.push(
      `${source}: choice labels repeat (${item.labels}); each label must be unique`,
    );
    return;
  }
  const answer = item.labels.indexOf(String(o.answerKey));
  if (answer < 0) {
    bench.problems.push(`${source}: answerKey "${o.answerKey}" is not a label (${item.labels})`);
    return;
  }
  accept(bench, { id: typeof o.id === "string" ? o.id : `arc/${k}`, ...item, answer, source });
}

/** ARC JSONL: {id, question: {stem, choices: [{text, label}]}, answerKey}. */
export async function loadArcJsonl(path: string): Promise<Bench> {
  const bench: Bench = {
    name: basename(path).replace(/\.jsonl?$/, ""),
    items: [],
    problems: [],
    style: "arc",
  };
  await eachJsonl(path, bench, (o, source, k) => {
    const q = o.question as Record<string, unknown> | undefined;
    const raw = q && Array.isArray(q.choices) ? q.choices as Record<string, unknown>[] : null;
    if (!q || typeof q.stem !== "string" || !raw) {
      bench.problems.push(`${source}: needs question.stem and question.choices`);
      return;
    }
    if (!raw.every((c) => c && typeof c.text === "string" && typeof c.label === "string")) {
      bench.problems.push(`${source}: every choice needs "text" and "label" strings`);
      return;
    }
    const labels = raw.map((c) => c.label as string), choices = raw.map((c) => c.text as string);
    arcItem(bench, o, k, source, { question: q.stem, choices, labels });
  });
  return bench;
}

/** Generic JSONL: {question, choices[], answer: index or letter}. */
export async function loadGenericJsonl(path: string): Promise<Bench> {
  const bench: Bench = { name: basename(path).replace(/\.jsonl?$/, ""), items: [], problems: [] };
  await eachJsonl(path, bench, (o, source, k) => {
    const choices = stringArray(o.choices);
    if (typeof o.question !== "string" || !choices) {
      bench.problems.push(`${source}: needs "question" (string) and "choices" (string[])`);
      return;
    }
    accept(bench, {
      id: typeof o.id === "string" ? o.id : `${bench.name}/${k}`,
      question: o.question,
      choices,
      answer: letterIndex(o.answer, choices.length),
      ...(typeof o.subject === "string" ? { subject: o.subject } : {}),
      source,
    });
  });
  return bench;
}

/** BoolQ JSONL: {question, passage, answer: true | false}; choices True / False, labels T / F. */
export async function loadBoolqJsonl(path: string): Promise<Bench> {
  const name = basename(path).replace(/\.jsonl?$/, "");
  const bench: Bench = { name, items: [], problems: [], style: "boolq" };
  await eachJsonl(path, bench, (o, source, k) => {
    if (
      typeof o.question !== "string" || typeof o.passage !== "string" ||
      typeof o.answer !== "boolean"
    ) {
      bench.problems.push(
        `${source}: needs "question" (string), "passage" (string), "answer" (true/false)`,
      );
      return;
    }
    accept(bench, {
      id: `${name}/${k}`,
      question: o.question,
      passage: o.passage,
      choices: ["True", "False"],
      labels: ["T", "F"],
      answer: o.answer ? 0 : 1,
      source,
    });
  });
  return bench;
}

/**
 * A JSON column value, or undefined when it is not JSON (the row is then reported as malformed):
 * hyparquet's own parser throws inside a column promise that nothing awaits, and the unhandled
 * rejection ended the process (a fuzzed arc_hf.parquet).
 */
function jsonFromBytes(bytes: Uint8Array | undefined): unknown {
  if (!bytes) return bytes;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Errors hyparquet raised in a column promise that nothing awaited (a damaged page: the read's
 * own promise rejects too, but the sibling's unhandled rejection ended the process). Counted
 * here, never dropped: a read during which one was raised fails.
 */
const hyparquet = { stray: [] as string[], guarded: false };
function guardHyparquet() {
  if (hyparquet.guarded) return;
  hyparquet.guarded = true;
  globalThis.addEventListener("unhandledrejection", (e) => {
    const err = e.reason as Error | undefined;
    if (!err?.stack?.includes("/hyparquet")) return;
    e.preventDefault();
    hyparquet.stray.push(err.message.replace(/\s+/g, " "));
  });
}

/** Rows of a parquet file as plain objects; one-line error if it is not parquet. */
async function readParquet(path: string): Promise<Record<string, unknown>[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    throw new Error(`eval: file not found: ${path}; check the path`);
  }
  const unreadable = (why: string) =>
    new Error(`eval: ${path} is not a readable parquet file (${why}); restore or re-export it`);
  const why = parquetProblem(bytes); // sizes and counts checked first: decoding is then bounded
  if (why) throw unreadable(why);
  let rows: Record<string, unknown>[];
  guardHyparquet();
  const stray = hyparquet.stray.length;
  try {
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    rows = await parquetReadObjects({ file: file as ArrayBuffer, parsers: { jsonFromBytes } });
  } catch (e) {
    throw unreadable((e as Error).message.replace(/\s+/g, " "));
  } finally {
    await new Promise((r) => setTimeout(r, 0)); // let stray rejections be reported first
  }
  if (hyparquet.stray.length > stray) throw unreadable(hyparquet.stray.splice(stray)[0]);
  const want = Number(parquetMetadata(bytes).num_rows);
  if (rows.length !== want) {
    throw unreadable(`${rows.length} rows decoded, the footer says ${want}`);
  }
  return rows;
}

/** Hugging Face MMLU parquet (cais/mmlu): question, subject, choices, answer (int). */
export async function loadMmluParquet(path: string): Promise<Bench> {
  const bench: Bench = { name: "mmlu", items: [], problems: [], style: "mmlu" };
  for (const [k, o] of (await readParquet(path)).entries()) {
    mmluRow(bench, o, `${path}:row ${k + 1}`, k);
  }
  return bench;
}

/** Hugging Face ARC parquet (allenai/ai2_arc): id, question, choices {text, label}, answerKey. */
export async function loadArcParquet(path: string): Promise<Bench> {
  const bench: Bench = {
    name: basename(path).replace(/\.parquet$/, ""),
    items: [],
    problems: [],
    style: "arc",
  };
  for (const [k, o] of (await readParquet(path)).entries()) {
    const source = `${path}:row ${k + 1}`;
    const c = o.choices as { text?: unknown; label?: unknown } | undefined;
    const text = stringArray(c?.text), labels = stringArray(c?.label);
    if (typeof o.question !== "string" || !text || !labels || text.length !== labels.length) {
      bench.problems.push(
        `${source}: needs "question" and choices {text[], label[]} of one length`,
      );
      continue;
    }
    arcItem(bench, o, k, source, { question: o.question, choices: text, labels });
  }
  return bench;
}

/**
 * Load a "kind:path" benchmark spec (mmlu:, arc:, csqa:, boolq:, jsonl:). A benchmark with no
 * usable item (an empty file, a zero-row parquet, every row malformed) is a one-line error, not
 * a benchmark that silently drops out of the results or of the training set's decontamination.
 */
export async function loadBench(spec: string): Promise<Bench> {
  const b = await loadBenchAsIs(spec);
  if (b.items.length === 0) {
    throw new Error(
      `eval: --bench ${spec} has no usable item` +
        (b.problems.length ? ` (${b.problems.length} malformed; first: ${b.problems[0]})` : "") +
        "; fix the file",
    );
  }
  return b;
}

async function loadBenchAsIs(spec: string): Promise<Bench> {
  const m = /^(mmlu|arc|csqa|boolq|jsonl):(.+)$/.exec(spec);
  if (!m) {
    throw new Error(
      `eval: bad --bench "${spec}"; use mmlu:<path>, arc:<path>, csqa:<path>, boolq:<path> ` +
        `or jsonl:<path>`,
    );
  }
  const [, kind, path] = m;
  let isDir = false;
  try {
    isDir = (await Deno.stat(path)).isDirectory;
  } catch {
    throw new Error(`eval: benchmark path not found: ${path}; check --bench ${spec}`);
  }
  const parquet = path.endsWith(".parquet");
  if (kind === "mmlu") {
    if (isDir) return await loadMmluCsvDir(path);
    return parquet ? await loadMmluParquet(path) : await loadMmluJsonl(path);
  }
  if (isDir) throw new Error(`eval: ${kind}:${path} is a folder; give the .jsonl file`);
  if (kind === "boolq") {
    if (parquet) throw new Error(`eval: boolq:${path}: give the BoolQ JSONL, not parquet`);
    return await loadBoolqJsonl(path);
  }
  if (kind === "arc" || kind === "csqa") {
    const b = parquet ? await loadArcParquet(path) : await loadArcJsonl(path);
    if (kind === "csqa" && !/^(csqa|commonsense)/i.test(b.name)) b.name = `csqa-${b.name}`;
    return b;
  }
  return await loadGenericJsonl(path);
}
