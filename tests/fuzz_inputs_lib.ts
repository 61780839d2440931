// The input fuzzer's targets (tests/fuzz_inputs_test.ts runs them in a worker with a per-case
// time limit): for each kind of file glyphgrad reads (safetensors, eval checkpoints, tokenizer
// JSON, pipeline configs, corpora, benchmark CSV / JSONL / parquet) a valid original, a seeded
// mutator (bit flips, byte edits, insertions, deletions, truncation, long runs, and for JSON,
// values replaced at random paths), the reader, and an oracle. Each case ends in one of:
//   ok       the reader returned, and the oracle found the result consistent with the bytes
//   refused  a plain Error, one line, naming the file
//   crash    anything else thrown (TypeError, RangeError, a multi-line or anonymous message)
//   silent   the reader accepted a change the oracle says it must refuse or reflect

import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { decodeSafetensors, encodeSafetensors, type StDict } from "../core/safetensors.ts";
import { type GPTConfig, initGPT, mergeParams } from "../core/gpt.ts";
import { treeFlatten } from "../core/autodiff.ts";
import { sha256Hex } from "../pipeline/hash.ts";
import { CHECKPOINT_FORMAT } from "../pipeline/train/checkpoint.ts";
import { loadCheckpointModel } from "../pipeline/eval/checkpoint.ts";
import { loadBench } from "../pipeline/eval/loaders.ts";
import { itemProblem } from "../pipeline/eval/items.ts";
import { parseCsv } from "../pipeline/eval/csv.ts";
import { readCorpusFile } from "../pipeline/data/corpus.ts";
import { cleanText } from "../pipeline/data/clean.ts";
import { loadConfig } from "../pipeline/config.ts";
import {
  buildTokenizer,
  tokenizerFromJson,
  tokenizerHash,
  tokenizerToJson,
} from "../pipeline/tokenizer/mod.ts";
import { seededRandom } from "../core/rng.ts";
import { asciiCodec } from "./eval_fakes.ts";

export type Outcome = "ok" | "refused" | "crash" | "silent";
export interface CaseResult {
  outcome: Outcome;
  detail: string;
}

/** The case's random source: seeded, so that a failing case is rerun by its number. */
export const rng = seededRandom;

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const enc = new TextEncoder();
const SPECIAL = [0, 0xff, 0x7f, 0x80, 0x20, 0x0a, 0x22, 0x2c, 0x2d, 0x30, 0x39, 0x7b, 0x7d, 0x5b];

/** One byte-level mutation of `b` (never the identity for a non-empty input, bar chance). */
export function mutateBytes(b: Uint8Array, r: Rand): Uint8Array {
  const at = Math.floor(r() * (b.length + 1)), i = Math.min(at, b.length - 1);
  const out = () => Uint8Array.from(b);
  switch (Math.floor(r() * 9)) {
    case 0: {
      const x = out();
      x[i] ^= 1 << Math.floor(r() * 8);
      return x;
    }
    case 1: {
      const x = out();
      x[i] = pick(r, SPECIAL);
      return x;
    }
    case 2:
      return concat(b.subarray(0, at), Uint8Array.of(pick(r, SPECIAL)), b.subarray(at));
    case 3:
      return concat(b.subarray(0, i), b.subarray(i + 1));
    case 4:
      return b.slice(0, Math.floor(r() * b.length));
    case 5: { // a chunk repeated
      const n = 1 + Math.floor(r() * 16);
      return concat(b.subarray(0, at), b.subarray(at, at + n), b.subarray(at));
    }
    case 6: // a long run (the quadratic-regex and huge-token hangs)
      return concat(
        b.subarray(0, at),
        new Uint8Array(200_000).fill(pick(r, [0x20, 0x61])),
        b.subarray(at),
      );
    case 7:
      return concat(b, enc.encode(pick(r, ["\n", "x", "\n\n", "{}", ",", "\u00a0"])));
    default: { // several flips
      const x = out();
      for (let k = 0; k < 4; k++) x[Math.floor(r() * x.length)] ^= 1 << Math.floor(r() * 8);
      return x;
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

const ODD_VALUES: unknown[] = [
  null,
  -1,
  0,
  -6,
  2.5,
  1e308,
  "6",
  "",
  "x".repeat(100_000),
  [],
  {},
  true,
  [-6],
  [1, 2, 3],
  { a: null },
];

/** One structural mutation of a JSON value: a value at a random path replaced or removed. */
export function mutateJson(v: unknown, r: Rand): unknown {
  if (r() < 0.1) return pick(r, ODD_VALUES);
  const copy = structuredClone(v);
  const paths: (string | number)[][] = [];
  const walk = (x: unknown, p: (string | number)[]) => {
    if (paths.length > 5000) return;
    paths.push(p);
    if (Array.isArray(x)) x.forEach((y, k) => walk(y, [...p, k]));
    else if (x && typeof x === "object") {
      for (const [k, y] of Object.entries(x)) walk(y, [...p, k]);
    }
  };
  walk(copy, []);
  const path = pick(r, paths.slice(1));
  if (!path) return pick(r, ODD_VALUES);
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (r() < 0.2 && !Array.isArray(parent)) delete parent[last];
  else parent[last] = pick(r, ODD_VALUES);
  return copy;
}

/** A target: its files, the reader and the oracle. */
export interface Target {
  name: string;
  /** Write the valid originals under `dir`; returns the path of each file by key. */
  setup(dir: string): Promise<Record<string, string>>;
  /** Run case `i`: mutate one original, read it, judge the result. */
  run(dir: string, files: Record<string, string>, r: Rand): Promise<CaseResult>;
}

/** A thrown value as an outcome: a one-line plain Error naming `file` is a refusal. */
export function judgeError(e: unknown, file: string): CaseResult {
  const m = (e as Error)?.message ?? String(e);
  const plain = (e as Error)?.constructor === Error;
  if (!plain) return { outcome: "crash", detail: `${(e as Error)?.constructor?.name}: ${m}` };
  if (m.includes("\n")) return { outcome: "crash", detail: `multi-line error: ${m}` };
  if (!m.includes(file)) return { outcome: "crash", detail: `error does not name ${file}: ${m}` };
  return { outcome: "refused", detail: m.slice(0, 200) };
}

const ok = (detail = ""): CaseResult => ({ outcome: "ok", detail });
const silent = (detail: string): CaseResult => ({ outcome: "silent", detail });

/** Mutate the bytes of one of `files` (or its JSON, for .json files half the time). */
async function mutateOne(files: Record<string, string>, keys: string[], r: Rand) {
  const key = pick(r, keys), path = files[key];
  const orig = await Deno.readFile(path);
  let next: Uint8Array;
  if (path.endsWith(".json") && r() < 0.5) {
    next = enc.encode(JSON.stringify(mutateJson(JSON.parse(new TextDecoder().decode(orig)), r)));
  } else next = mutateBytes(orig, r);
  await Deno.writeFile(path, next);
  return { key, path, orig, next, restore: () => Deno.writeFile(path, orig) };
}

/** Mutate one of `files`, judge it with `fn`, and restore the original whatever happens. */
async function withMutation(
  files: Record<string, string>,
  keys: string[],
  r: Rand,
  fn: (m: Awaited<ReturnType<typeof mutateOne>>) => CaseResult | Promise<CaseResult>,
): Promise<CaseResult> {
  const m = await mutateOne(files, keys, r);
  try {
    return await fn(m);
  } finally {
    await m.restore();
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

// ---- safetensors -------------------------------------------------------------------------

const stOriginal = (): StDict => ({
  wte: { dtype: "F32", shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 3) },
  ids: { dtype: "I32", shape: [5], data: Int32Array.from([1, -2, 3, 4, 5]) },
  u: { dtype: "U8", shape: [2, 2], data: Uint8Array.from([1, 2, 3, 4]) },
});

const safetensors: Target = {
  name: "safetensors",
  async setup(dir) {
    const path = `${dir}/w.safetensors`;
    await Deno.writeFile(path, encodeSafetensors(stOriginal(), { step: "3" }));
    return { st: path };
  },
  async run(_dir, files, r) {
    return await withMutation(files, ["st"], r, (m) => {
      let res;
      try {
        res = decodeSafetensors(m.next, m.path);
      } catch (e) {
        return judgeError(e, m.path);
      }
      // accepted: the tensors must tile the data section exactly, each with its shape's size
      const hlen = Number(new DataView(m.next.buffer).getBigUint64(0, true));
      let bytes = 0;
      for (const [name, t] of Object.entries(res.tensors)) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        if (t.data.length !== n) {
          return silent(`tensor ${name}: ${t.data.length} values, shape ${t.shape}`);
        }
        bytes += t.data.byteLength;
      }
      if (bytes !== m.next.length - 8 - hlen) {
        return silent(`tensors hold ${bytes} bytes of ${m.next.length - 8 - hlen}`);
      }
      return ok();
    });
  },
};

// ---- eval checkpoint -----------------------------------------------------------------------

const CKPT_CFG: GPTConfig = {
  vocab: 128,
  dModel: 8,
  layers: 1,
  heads: 2,
  context: 16,
  embedding: "trainable",
  norm: "layernorm",
};

const checkpoint: Target = {
  name: "eval checkpoint",
  async setup(dir) {
    setBackend("cpu-ref");
    const { trainable, frozen } = initGPT(CKPT_CFG, { seed: 3 });
    const st: StDict = {};
    for (const [name, t] of treeFlatten(mergeParams(trainable, frozen))) {
      st[name] = { dtype: "F32", shape: [...t.shape], data: t.dataSync() as Float32Array };
    }
    const model = encodeSafetensors(st);
    await Deno.mkdir(`${dir}/ckpt`);
    await Deno.writeFile(`${dir}/ckpt/model.safetensors`, model);
    const config = {
      format: CHECKPOINT_FORMAT,
      model: "fuzz",
      gpt: CKPT_CFG,
      tokenizer: "none",
      files: { "model.safetensors": await sha256Hex(model) },
    };
    await Deno.writeTextFile(`${dir}/ckpt/config.json`, JSON.stringify(config, null, 2));
    return { model: `${dir}/ckpt/model.safetensors`, config: `${dir}/ckpt/config.json` };
  },
  async run(dir, files, r) {
    return await withMutation(files, ["model", "config"], r, async (m) => {
      try {
        await loadCheckpointModel(`${dir}/ckpt`, { codec: asciiCodec });
      } catch (e) {
        return judgeError(e, `${dir}/ckpt`);
      }
      // the weights are hash-checked: any change to their bytes must have been refused
      if (m.key === "model" && !sameBytes(m.orig, m.next)) return silent("changed weights loaded");
      return ok();
    });
  },
};

// ---- tokenizer JSON ----------------------------------------------------------------------

const tokenizer: Target = {
  name: "tokenizer JSON",
  async setup(dir) {
    const text = "the cat sat on the mat with the hat. Το γάτα. кошка сидит на окне.\n";
    const tok = buildTokenizer(text.repeat(3), { variant: "2-3", perScript: 12 });
    await Deno.writeTextFile(`${dir}/t.json`, tokenizerToJson(tok));
    return { tok: `${dir}/t.json` };
  },
  async run(_dir, files, r) {
    return await withMutation(files, ["tok"], r, (m) => {
      const orig = tokenizerFromJson(new TextDecoder().decode(m.orig), m.path);
      let got;
      try {
        got = tokenizerFromJson(new TextDecoder("utf-8").decode(m.next), m.path);
      } catch (e) {
        return judgeError(e, m.path);
      }
      // accepted: the content (tokens, ids, merges, variant, layout) is the original's
      if (tokenizerHash(got) !== tokenizerHash(orig)) return silent("changed tokenizer accepted");
      return ok();
    });
  },
};

// ---- pipeline config ----------------------------------------------------------------------

const config: Target = {
  name: "pipeline config",
  async setup(dir) {
    const tiny = await Deno.readTextFile(new URL("../pipeline/configs/tiny.json", import.meta.url));
    await Deno.writeTextFile(`${dir}/cfg.json`, tiny);
    return { cfg: `${dir}/cfg.json` };
  },
  async run(_dir, files, r) {
    return await withMutation(files, ["cfg"], r, async (m) => {
      try {
        await loadConfig(m.path);
        return ok(); // value ranges are pipeline/config.ts's own (issue 16, another part)
      } catch (e) {
        return judgeError(e, m.path);
      }
    });
  },
};

// ---- corpora ------------------------------------------------------------------------------

const corpus: Target = {
  name: "corpus",
  async setup(dir) {
    const txt = "First paragraph  with  spaces.\n\nSecond one,\tтекст.\n\n\nThird — ελληνικά.\n";
    await Deno.writeTextFile(`${dir}/c.txt`, txt.repeat(4));
    const jsonl = ["a b", "δεύτερο", "third  line"].map((t) => JSON.stringify({ text: t }));
    await Deno.writeTextFile(`${dir}/c.jsonl`, jsonl.join("\n") + "\n");
    return { txt: `${dir}/c.txt`, jsonl: `${dir}/c.jsonl` };
  },
  async run(_dir, files, r) {
    return await withMutation(files, ["txt", "jsonl"], r, async (m) => {
      let docs;
      try {
        docs = await readCorpusFile(m.path);
      } catch (e) {
        return judgeError(e, m.path);
      }
      const cleaned = docs.map((d) => cleanText(d.text));
      if (cleaned.some((t) => typeof t !== "string")) return silent("a document is not text");
      if (m.key === "jsonl") {
        const lines = new TextDecoder().decode(m.next).split("\n").filter((l) => l.trim());
        if (lines.length !== docs.length) {
          return silent(`${lines.length} lines, ${docs.length} docs`);
        }
      }
      return ok();
    });
  },
};

// ---- benchmarks ---------------------------------------------------------------------------

const FIX = new URL("../fixtures/eval/", import.meta.url);

/** Copy fixtures/eval files into `dir`; their paths by name. */
async function copyFixtures(dir: string, names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of names) {
    out[f] = `${dir}/${f}`;
    await Deno.copyFile(new URL(f, FIX), out[f]);
  }
  return out;
}

/** The loaded benchmark must hold valid items, and account for every row it read. */
function judgeBench(
  b: Awaited<ReturnType<typeof loadBench>>,
  rows: number | undefined,
): CaseResult {
  if (b.items.length === 0) return silent("a benchmark with no item was returned");
  const bad = b.items.find((it) => itemProblem(it));
  if (bad) return silent(`invalid item accepted: ${itemProblem(bad)}`);
  const dup = b.items.find((it) => it.labels && new Set(it.labels).size !== it.labels.length);
  if (dup) return silent(`repeated labels accepted: ${dup.labels}`);
  if (rows !== undefined && b.items.length + b.problems.length < rows) {
    return silent(`${rows} rows, ${b.items.length} items + ${b.problems.length} problems`);
  }
  return ok();
}

const benchJsonl: Target = {
  name: "benchmark JSONL",
  setup: (dir) => copyFixtures(dir, ["arc.jsonl", "boolq.jsonl", "generic.jsonl", "mmlu_hf.jsonl"]),
  async run(_dir, files, r) {
    return await withMutation(files, Object.keys(files), r, async (m) => {
      const kinds: Record<string, string> = {
        "arc.jsonl": "arc",
        "boolq.jsonl": "boolq",
        "generic.jsonl": "jsonl",
      };
      const kind = kinds[m.key] ?? "mmlu";
      let b;
      try {
        b = await loadBench(`${kind}:${m.path}`);
      } catch (e) {
        return judgeError(e, m.path);
      }
      const rows = new TextDecoder().decode(m.next).split("\n").filter((l) => l.trim()).length;
      return judgeBench(b, rows);
    });
  },
};

const benchCsv: Target = {
  name: "benchmark CSV",
  async setup(dir) {
    const out: Record<string, string> = {};
    for (const split of ["test", "dev"]) {
      await Deno.mkdir(`${dir}/mmlu/data/${split}`, { recursive: true });
      for (const e of Deno.readDirSync(new URL(`mmlu/data/${split}/`, FIX))) {
        out[`${split}/${e.name}`] = `${dir}/mmlu/data/${split}/${e.name}`;
        await Deno.copyFile(
          new URL(`mmlu/data/${split}/${e.name}`, FIX),
          out[`${split}/${e.name}`],
        );
      }
    }
    return out;
  },
  async run(dir, files, r) {
    return await withMutation(files, Object.keys(files), r, async (m) => {
      let b;
      try {
        b = await loadBench(`mmlu:${dir}/mmlu`);
      } catch (e) {
        return judgeError(e, m.key.startsWith("test") ? m.path : `${dir}/mmlu`);
      }
      if (m.key.startsWith("dev")) return judgeBench(b, undefined);
      const rows = parseCsv(new TextDecoder().decode(m.next), m.path).length;
      const fromFile = b.items.filter((it) => it.source.startsWith(`${m.path}:`)).length +
        b.problems.filter((p) => p.startsWith(`${m.path}:`)).length;
      if (fromFile < rows) return silent(`${m.path}: ${rows} rows, ${fromFile} accounted for`);
      return judgeBench(b, undefined);
    });
  },
};

const benchParquet: Target = {
  name: "benchmark parquet",
  setup: (dir) => copyFixtures(dir, ["arc_hf.parquet", "mmlu_hf.parquet"]),
  async run(_dir, files, r) {
    return await withMutation(files, Object.keys(files), r, async (m) => {
      let b;
      try {
        b = await loadBench(`${m.key.startsWith("arc") ? "arc" : "mmlu"}:${m.path}`);
      } catch (e) {
        // a damaged parquet may fail in the benchmark-path check too: the path is named either way
        return judgeError(e, m.path);
      }
      return judgeBench(b, undefined); // readParquet checks rows decoded = rows in the footer
    });
  },
};

export const TARGETS: Record<string, Target> = Object.fromEntries(
  [safetensors, checkpoint, tokenizer, config, corpus, benchJsonl, benchCsv, benchParquet]
    .map((t) => [t.name, t]),
);
