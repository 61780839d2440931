// Tiny text extractors for the tokenizer's report and benchmark (not the training corpus,
// which the data stage prepares): Bible texts from the Debian package bibledit-data and
// Debian Reference translations (packages debian-reference-{de,es,fr,it,pt,ja,zh-cn}).
// Each language gives a list of passages in source order; the last 10% is held out.

const BIBLE = "/usr/share/bibledit/sources";
const DEBREF = "/usr/share/debian-reference";

export interface LangText {
  lang: string;
  source: string;
  passages: string[];
}

async function readMaybeGz(path: string): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch {
    throw new Error(`tokenizer corpus: cannot read ${path}; install its Debian package`);
  }
  const stream = path.endsWith(".gz")
    ? file.readable.pipeThrough(new DecompressionStream("gzip"))
    : file.readable;
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

const unescape = (s: string) =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");

/** English KJV verses (bibledit-data kjv.xml), tags and notes removed. */
export async function kjv(): Promise<LangText> {
  const xml = await readMaybeGz(`${BIBLE}/kjv.xml`);
  const passages = xml.split(/<verse eID="[^"]*"\/>/).map((v) => {
    const start = v.lastIndexOf("sID=");
    const body = start < 0 ? "" : v.slice(v.indexOf("/>", start) + 2);
    return unescape(body.replace(/<note[\s\S]*?<\/note>/g, "").replace(/<[^>]*>/g, ""))
      .replace(/\s+/g, " ").trim();
  }).filter((p) => p.length > 0);
  return { lang: "en", source: "KJV (bibledit-data)", passages };
}

/** Greek New Testament paragraphs (SBLGNT): words plus their suffixes. */
export async function sblgnt(): Promise<LangText> {
  const xml = await readMaybeGz(`${BIBLE}/sblgnt/sblgnt.xml`);
  const passages = xml.split("<p>").slice(1).map((p) =>
    unescape([...p.matchAll(/<(w|suffix)>([^<]*)<\/\1>/g)].map((m) => m[2]).join(""))
      .replace(/\s+/g, " ").trim()
  ).filter((p) => p.length > 0);
  return { lang: "grc", source: "SBLGNT (bibledit-data)", passages };
}

/** Hebrew Old Testament verses (OSHB word table): word + appended punctuation. */
export async function oshb(): Promise<LangText> {
  const xml = await readMaybeGz(`${BIBLE}/oshb.xml.gz`);
  const verses = new Map<string, string[]>();
  const field = (row: string, name: string) =>
    new RegExp(`<field name="${name}">([^<]*)</field>`).exec(row)?.[1] ?? "";
  for (const row of xml.split("<row>").slice(1)) {
    const key = `${field(row, "bookId")}.${field(row, "chapter")}.${field(row, "verse")}`;
    const list = verses.get(key) ?? [];
    list.push(field(row, "word").replaceAll("/", "") + (field(row, "append") || " "));
    verses.set(key, list);
  }
  const passages = [...verses.values()].map((w) => unescape(w.join("")).trim());
  return { lang: "he", source: "OSHB (bibledit-data)", passages };
}

/** Paragraphs of one Debian Reference translation (plain-text edition). */
export async function debianReference(lang: string): Promise<LangText> {
  const text = await readMaybeGz(`${DEBREF}/debian-reference.${lang}.txt.gz`);
  const passages = text.split(/\n\s*\n/).map((p) => p.replace(/\s+/g, " ").trim())
    .filter((p) => p.length > 0);
  return { lang, source: `debian-reference-${lang}`, passages };
}

export const DEBREF_LANGS = ["de", "es", "fr", "it", "pt", "ja", "zh-cn"];

/** Every language available on this machine (missing Debian Reference packages skipped). */
export async function allLanguages(): Promise<LangText[]> {
  const out = [await kjv(), await sblgnt(), await oshb()];
  for (const lang of DEBREF_LANGS) {
    try {
      out.push(await debianReference(lang));
    } catch { /* package not installed */ }
  }
  return out;
}

/** Split passages: first 90% for building, last 10% held out. */
export function splitHeldOut(t: LangText): { train: string[]; heldOut: string[] } {
  const cut = Math.floor(t.passages.length * 0.9);
  return { train: t.passages.slice(0, cut), heldOut: t.passages.slice(cut) };
}
