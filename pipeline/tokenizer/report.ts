// Characters per token on held-out text, per language: our tokenizer ("2-3" and "max", built
// on the first 90% of every language) next to gpt-tokenizer's o200k and cl100k on the same
// last 10% (the paper's comparison, paper-notes "Unicode-centric tokenizer").
// Usage: deno run -A pipeline/tokenizer/report.ts [--json] [--out report.md]

import { parseArgs } from "node:util";
import { encode as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { encode as o200k } from "gpt-tokenizer/encoding/o200k_base";
import { writeFileAtomic } from "../../core/safetensors.ts";
import { buildTokenizer, type Tokenizer } from "./build.ts";
import { allLanguages, type LangText, splitHeldOut } from "./corpus.ts";
import { encode } from "./encode.ts";
import { tokenizerHash } from "./io.ts";

export interface ReportRow {
  lang: string;
  source: string;
  chars: number; // code points of held-out text
  cpt: Record<string, number>; // tokenizer name -> characters per token
}

/** Code points per token of `encodeFn` on `text`. */
export function charsPerToken(text: string, encodeFn: (s: string) => ArrayLike<number>): number {
  let chars = 0;
  for (const _ of text) chars++;
  return chars / Math.max(1, encodeFn(text).length);
}

/** Report rows for the given languages and tokenizers (name -> encoder). */
export function reportRows(
  langs: LangText[],
  encoders: Record<string, (s: string) => ArrayLike<number>>,
): ReportRow[] {
  return langs.map((l) => {
    const text = splitHeldOut(l).heldOut.join("\n");
    const cpt: Record<string, number> = {};
    for (const [name, f] of Object.entries(encoders)) {
      cpt[name] = +charsPerToken(text, f).toFixed(3);
    }
    return { lang: l.lang, source: l.source, chars: [...text].length, cpt };
  });
}

/** Markdown table of the rows. */
export function reportMarkdown(rows: ReportRow[], names: string[]): string {
  const head = `| language | source | held-out chars | ${names.join(" | ")} |`;
  const sep = `|---|---|---:|${names.map(() => "---:").join("|")}|`;
  const body = rows.map((r) =>
    `| ${r.lang} | ${r.source} | ${r.chars} | ${
      names.map((n) => r.cpt[n].toFixed(2)).join(" | ")
    } |`
  );
  return [head, sep, ...body].join("\n") + "\n";
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { json: { type: "boolean", default: false }, out: { type: "string" } },
  });
  const langs = await allLanguages();
  const train = langs.flatMap((l) => splitHeldOut(l).train);
  const ours: Record<string, Tokenizer> = {
    "ours 2-3": buildTokenizer(train, { variant: "2-3" }),
    "ours max": buildTokenizer(train, { variant: "max" }),
  };
  const encoders: Record<string, (s: string) => ArrayLike<number>> = {
    "ours 2-3": (s) => encode(ours["ours 2-3"], s),
    "ours max": (s) => encode(ours["ours max"], s),
    "o200k": (s) => o200k(s),
    "cl100k": (s) => cl100k(s),
  };
  const rows = reportRows(langs, encoders);
  const names = Object.keys(encoders);
  const hashes = Object.fromEntries(Object.entries(ours).map(([k, t]) => [k, tokenizerHash(t)]));
  const md = `# Characters per token on held-out text (last 10% per language)\n\n` +
    reportMarkdown(rows, names) +
    `\nOur tokenizers were built on the first 90% of every language above ` +
    `(${Object.entries(hashes).map(([k, h]) => `${k}: ${h.slice(0, 12)}`).join(", ")}).\n`;
  if (values.out) await writeFileAtomic(values.out, md);
  if (values.json) console.log(JSON.stringify({ rows, hashes }));
  else console.log(md);
}
