// The author's vocabulary from the author's own n-gram lists (AVBochkov/PGT; the user supplies
// the files, glyphgrad ships none). What the notebooks _tokenizer-builder-bvv241-2-3.ipynb and
// -max.ipynb do, restated:
// - the n-gram list (_n-gramms-2-3.txt, _n-gramms-2-3-4-5.txt) is a Python literal: a list of
//   {'lang': code, 'top_ngrams': {n: [(gram, count), ...]}}; for each entry whose lang is one of
//   the 32 languages below, the first topCount grams of every n (338 for 2-3, 906 for max) go
//   into one set;
// - max adds the shared-token list (_n-gramms-intersection.txt, one string per line,
//   whitespace-stripped): strings of 2+ code points, the 65,536 shortest;
// - the set, sorted longest first then by code point, fills the layout's slots in order; the
//   grams past the last slot are dropped (41 in the author's max), exactly as the notebook's
//   loops stop.
// Then makeTokenizer (layout "bvv241") synthesises the merges as the notebook does.

import { makeTokenizer, type Tokenizer, unreachableCount } from "./build.ts";
import { authorCompare, cpLength } from "./bvv241.ts";
import { layoutOf, type Variant } from "./layout.ts";
import { parsePythonLiteral, type PyValue } from "./pyliteral.ts";
import { utf8ToText } from "./fallback.ts";

/** The notebooks' `languages` list: entries of other languages are skipped. */
export const AUTHOR_LANGUAGES: readonly string[] = [
  "en",
  "ru",
  "fr",
  "de",
  "zh",
  "he",
  "it",
  "es",
  "ar",
  "pt",
  "ko",
  "hu",
  "sa",
  "la",
  "ja",
  "el",
  "sv",
  "nl",
  "pl",
  "vi",
  "fa",
  "no",
  "tr",
  "fi",
  "cs",
  "hy",
  "da",
  "bn",
  "az",
  "ka",
  "hi",
  "id",
];

/** The notebooks' top_cnt: grams kept per language and per n. */
export const AUTHOR_TOP: Readonly<Record<Variant, number>> = { "2-3": 338, max: 906 };

/** The notebook's cap on shared-token strings (ngram_list_sorted[0:65536]). */
export const AUTHOR_SHARED_MAX = 65536;

const FORMAT = "expected the author's format, a list of {'lang': ..., 'top_ngrams': " +
  "{n: [(gram, count), ...]}} as in _n-gramms-2-3.txt";

/** The set of grams the notebook keeps from a parsed n-gram list. */
export function authorNgramSet(
  data: PyValue,
  topCount: number,
  where = "n-gram list",
  languages: readonly string[] = AUTHOR_LANGUAGES,
): Set<string> {
  const bad = (why: string) => new Error(`${where}: ${why}; ${FORMAT}`);
  if (!Array.isArray(data)) throw bad("not a list");
  const out = new Set<string>();
  let used = 0;
  data.forEach((entry, e) => {
    if (!(entry instanceof Map)) throw bad(`item ${e} is not a dict`);
    const lang = entry.get("lang"), top = entry.get("top_ngrams");
    if (typeof lang !== "string") throw bad(`item ${e} has no 'lang' string`);
    if (!languages.includes(lang)) return;
    if (!(top instanceof Map)) throw bad(`item ${e} (${lang}) has no 'top_ngrams' dict`);
    used++;
    for (const [n, list] of top) {
      if (!Array.isArray(list)) throw bad(`${lang} n=${n} is not a list`);
      for (const pair of list.slice(0, topCount)) {
        if (!Array.isArray(pair) || typeof pair[0] !== "string") {
          throw bad(`${lang} n=${n} holds an item that is not a (gram, count) pair`);
        }
        out.add(pair[0]);
      }
    }
  });
  if (used === 0) throw bad(`no item is in one of the author's ${languages.length} languages`);
  return out;
}

/** Python's str.isspace characters (what str.strip removes). */
const PY_SPACE = new Set(
  [
    9,
    10,
    11,
    12,
    13,
    28,
    29,
    30,
    31,
    32,
    0x85,
    0xA0,
    0x1680,
    0x2028,
    0x2029,
    0x202F,
    0x205F,
    0x3000,
  ]
    .concat(Array.from({ length: 11 }, (_, k) => 0x2000 + k)),
);

/** Python's str.strip(). */
function pyStrip(s: string): string {
  let a = 0, b = s.length;
  while (a < b && PY_SPACE.has(s.charCodeAt(a))) a++;
  while (b > a && PY_SPACE.has(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/**
 * The strings the max notebook adds from the shared-token list: lines stripped as Python's
 * str.strip does, 2+ code points, at most the 65,536 shortest. (Past 65,536 the notebook's
 * choice among equally long strings follows Python's set order, which varies between runs;
 * here ties go by code point, and `truncated` says it happened.)
 */
export function sharedTokenStrings(text: string): { strings: string[]; truncated: boolean } {
  const lines = [...new Set(text.split(/\r\n|\r|\n/).map(pyStrip))];
  const kept = lines.filter((s) => cpLength(s) > 1);
  if (kept.length <= AUTHOR_SHARED_MAX) return { strings: kept, truncated: false };
  kept.sort((a, b) => -authorCompare(a, b)); // shortest first, then by code point
  return { strings: kept.slice(0, AUTHOR_SHARED_MAX), truncated: true };
}

export interface AuthorVocabOptions {
  variant: Variant;
  /** Text of the author's n-gram list (_n-gramms-2-3.txt or _n-gramms-2-3-4-5.txt). */
  ngrams: string;
  /** Text of the shared-token list (_n-gramms-intersection.txt; the max notebook uses it). */
  shared?: string;
  /** Grams kept per language and n (default: the notebook's 338 / 906). */
  topCount?: number;
  /** Names of the files in errors and meta. */
  ngramsPath?: string;
  sharedPath?: string;
}

/** The author's tokenizer (layout "bvv241") from the author's lists, id for id. */
export function buildAuthorTokenizer(o: AuthorVocabOptions): Tokenizer {
  const where = o.ngramsPath ? `tokenizer.ngrams ${o.ngramsPath}` : "n-gram list";
  const top = o.topCount ?? AUTHOR_TOP[o.variant];
  if (!Number.isInteger(top) || top < 1) {
    throw new Error(`tokenizer: topCount must be a positive integer, got ${top}`);
  }
  const set = authorNgramSet(parsePythonLiteral(o.ngrams, where), top, where);
  const fromNgrams = set.size;
  const shared = o.shared === undefined ? undefined : sharedTokenStrings(o.shared);
  for (const s of shared?.strings ?? []) set.add(s);
  const all = [...set].sort(authorCompare);
  const slots = layoutOf("bvv241", o.variant).slots.length;
  const tok = makeTokenizer(o.variant, all.slice(0, slots), {
    source: "author n-gram lists",
    ngrams: o.ngramsPath ?? "",
    ...(shared ? { shared: o.sharedPath ?? "", sharedTruncated: shared.truncated } : {}),
    topCount: top,
    fromNgrams,
    total: all.length,
    dropped: Math.max(0, all.length - slots),
  }, "bvv241");
  return { ...tok, meta: { ...tok.meta, unreachable: unreachableCount(tok) } };
}

/** Read a list file as UTF-8 text; one-line errors name the config key and the fix. */
async function readList(path: string, key: string, what: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message;
    throw new Error(`${key} ${path}: ${why}; point it at ${what} (AVBochkov/PGT on GitHub)`);
  }
  return utf8ToText(bytes, `${key} ${path}`);
}

/** buildAuthorTokenizer from list files (tokenizer.ngrams, tokenizer.sharedTokens). */
export async function loadAuthorTokenizer(
  variant: Variant,
  ngramsPath: string,
  sharedPath = "",
): Promise<Tokenizer> {
  const ngrams = await readList(
    ngramsPath,
    "tokenizer.ngrams",
    "the author's n-gram list (_n-gramms-2-3.txt or _n-gramms-2-3-4-5.txt)",
  );
  const shared = sharedPath
    ? await readList(
      sharedPath,
      "tokenizer.sharedTokens",
      "the author's shared-token list (_n-gramms-intersection.txt)",
    )
    : undefined;
  return buildAuthorTokenizer({ variant, ngrams, shared, ngramsPath, sharedPath });
}
