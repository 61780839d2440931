// A user's own corpus (`--corpus a.txt b.jsonl ...`): .txt files split into documents at blank
// lines (grouped into chunks of a few thousand characters), .jsonl files with one {"text": ...}
// object per line. Malformed lines give a one-line error naming the file and line.

import { decodeUtf8 } from "./clean.ts";
import type { Doc } from "./sources.ts";

/**
 * Paragraphs grouped into documents of at least `minChars` characters (by default 2,000, less
 * for a short file so that it still yields about 20 documents to split).
 */
export function txtDocs(source: string, text: string, minChars?: number): Doc[] {
  const min = minChars ?? Math.max(1, Math.min(2000, Math.floor(text.length / 20)));
  const docs: Doc[] = [];
  let cur = "";
  const push = () => {
    if (cur.trim()) docs.push({ source, id: `${source}#${docs.length}`, text: cur.trim() });
    cur = "";
  };
  for (const para of text.split(/\n\s*\n/)) {
    cur += (cur ? "\n\n" : "") + para;
    if (cur.length >= min) push();
  }
  push();
  return docs;
}

/** One document per JSONL line holding a string "text" field. */
export function jsonlDocs(source: string, text: string, file: string): Doc[] {
  const docs: Doc[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new Error(`${file}:${i + 1}: not valid JSON (each line must be {"text": "..."})`);
    }
    const t = (obj as { text?: unknown })?.text;
    if (typeof t !== "string") {
      throw new Error(
        `${file}:${i + 1}: no string "text" field (each line must be {"text": "..."})`,
      );
    }
    docs.push({ source, id: `${source}#${i + 1}`, text: t });
  });
  return docs;
}

/** Read one user corpus file into documents. */
export async function readCorpusFile(file: string): Promise<Doc[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`--corpus ${file}: file not found (give .txt or .jsonl files)`);
    }
    throw e;
  }
  const text = decodeUtf8(bytes, file);
  const name = file.replace(/^.*\//, "");
  if (file.endsWith(".jsonl")) return jsonlDocs(name, text, file);
  if (file.endsWith(".txt")) return txtDocs(name, text);
  throw new Error(`--corpus ${file}: unsupported file type (use .txt or .jsonl)`);
}
