// Per-language held-out metrics of a merge cell: every model (each expert alone, the merges,
// the fine-tuned merge, the joint model) scored on the validation documents of each source
// (data/val.jsonl "source"), keeping per-document sums so the report can bootstrap over
// documents; and how far apart the experts' input spaces are (cosine of the same token's rows
// of their input tables: 1 for a shared frozen table).

import type { CheckpointModel } from "../eval/checkpoint.ts";
import { lmMetrics } from "../eval/lm_metrics.ts";

export interface LangScore {
  bpc: number;
  /** Per document: NLL in bits, and characters predicted. */
  docBits: number[];
  docChars: number[];
}

export interface ModelLangs {
  name: string;
  /** "expert", "merge", "merge-ft", "joint". */
  kind: string;
  /** Merge mode (merges only). */
  mode?: string;
  langs: Record<string, LangScore>;
}

/** Validation documents grouped by source, in file order. */
export function groupDocs(
  docs: (string | { text: string; group?: string })[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of docs) {
    const g = typeof d === "string" ? "?" : d.group ?? "?";
    if (!out.has(g)) out.set(g, []);
    out.get(g)!.push(typeof d === "string" ? d : d.text);
  }
  return out;
}

/** Characters per scored piece (the bootstrap's item): about ten context windows here. */
export const PIECE_CHARS = 2000;

/**
 * Documents cut at line starts into pieces of at least `size` characters (a shorter tail joins
 * the piece before it): the Bible sources have few, long validation documents, and an interval
 * over 3 documents says little. Each piece is scored from its own start.
 */
export function pieces(groups: Map<string, string[]>, size = PIECE_CHARS): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [g, docs] of groups) {
    const list: string[] = [];
    for (const doc of docs) {
      let cur = "";
      const start = list.length;
      for (const line of doc.split(/(?<=\n)/)) {
        cur += line;
        if ([...cur].length >= size) {
          list.push(cur);
          cur = "";
        }
      }
      if (cur.trim() && list.length > start) list[list.length - 1] += cur;
      else if (cur.trim()) list.push(cur);
    }
    out.set(g, list);
  }
  return out;
}

/** One model on every language group. */
export async function scoreLangs(
  m: CheckpointModel,
  groups: Map<string, string[]>,
): Promise<Record<string, LangScore>> {
  const out: Record<string, LangScore> = {};
  for (const [g, docs] of groups) {
    const r = await lmMetrics(m.model, m.codec, docs);
    out[g] = {
      bpc: r.bitsPerChar,
      docBits: r.docNll.map((x) => x / Math.LN2),
      docChars: r.docChars,
    };
  }
  return out;
}

/** Mean over tokens of the cosine between two [V, D] tables' rows (same token, two models). */
export function meanRowCosine(a: Float32Array, b: Float32Array, dim: number): number {
  if (a.length !== b.length) throw new Error("merge: the experts' input tables differ in size");
  const rows = a.length / dim;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let ab = 0, aa = 0, bb = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) {
      ab += a[j] * b[j];
      aa += a[j] * a[j];
      bb += b[j] * b[j];
    }
    total += aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : aa === bb ? 1 : 0;
  }
  return total / rows;
}
