// The built-in text sources: real text from Debian packages (installed by `deno task setup`),
// each read into documents (a Bible chapter, one fortune) with its package, language, script and
// licence. Every source is a small parser from the package's own file format to plain text.

import { decodeUtf8, decodeXmlEntities } from "./clean.ts";

export interface Doc {
  /** Source name, e.g. "kjv". */
  source: string;
  /** Stable id inside the source, e.g. "Gen.1"; decides the train/validation split. */
  id: string;
  text: string;
}

export interface SourceInfo {
  name: string;
  /** Debian package that ships the files. */
  package: string;
  lang: string;
  script: string;
  licence: string;
  /** Files read (or, for `filesFromPackage`, a folder whose package files are read). */
  files: string[];
}

export interface Source extends SourceInfo {
  read: (files: string[]) => Promise<Doc[]>;
  /** When set, `files` are the package's regular files under this folder (from dpkg). */
  filesFromPackage?: string;
}

const BIBLEDIT = "/usr/share/bibledit/sources";

async function readText(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${path}: not found (run \`deno task setup\` to install the corpora)`);
    }
    throw e;
  }
  if (path.endsWith(".gz")) {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return decodeUtf8(bytes, path);
}

const stripTags = (s: string) => decodeXmlEntities(s.replace(/<[^>]*>/g, ""));

/** KJV (OSIS XML): one document per chapter; notes and titles dropped, verses one per line. */
export function parseKjv(xml: string): Doc[] {
  const docs: Doc[] = [];
  const chapter = /<chapter osisID="([^"]+)"[^>]*>([\s\S]*?)<\/chapter>/g;
  for (const m of xml.matchAll(chapter)) {
    const body = m[2]
      .replace(/<note[\s\S]*?<\/note>/g, "")
      .replace(/<title[\s\S]*?<\/title>/g, "")
      .replace(/<verse eID[^>]*\/>/g, "\n");
    const lines = stripTags(body).split("\n").map((l) => l.replace(/\s+/g, " ").trim());
    docs.push({ source: "kjv", id: m[1], text: lines.filter((l) => l).join("\n") });
  }
  return docs;
}

/** SBL Greek NT: one document per chapter (from the verse numbers), paragraphs kept. */
export function parseSblgnt(xml: string): Doc[] {
  const docs: Doc[] = [];
  let id = "";
  let text = "";
  const flush = () => {
    if (id && text.trim()) docs.push({ source: "sblgnt", id, text: text.trim() });
    text = "";
  };
  const token =
    /<verse-number id="([^"]+?) (\d+):\d+"[^>]*>[^<]*<\/verse-number>|<(w|prefix|suffix)>([^<]*)<\/\3>|<\/p>/g;
  for (const m of xml.matchAll(token)) {
    if (m[1]) {
      const next = `${m[1]} ${m[2]}`;
      if (next !== id) {
        flush();
        id = next;
      }
    } else if (m[3]) {
      text += decodeXmlEntities(m[4]).replace(/\s+/g, " ");
    } else {
      text = text.replace(/ +$/, "") + "\n";
    }
  }
  flush();
  return docs;
}

/** Open Scriptures Hebrew Bible (MySQL XML dump of words): one document per chapter. */
export function parseOshb(xml: string): Doc[] {
  const docs: Doc[] = [];
  let key = "", verse = "", text = "";
  const flush = () => {
    if (key && text.trim()) docs.push({ source: "oshb", id: key, text: text.trim() });
    text = "";
  };
  // one pass over the fields we need; a row ends at </row>
  const f: Record<string, string> = {};
  const token =
    /<field name="(bookId|chapter|verse|word|append|wordtype)"(?: xsi:nil="true" \/>|>([^<]*)<\/field>)|<\/row>/g;
  for (const m of xml.matchAll(token)) {
    if (m[1]) {
      f[m[1]] = m[2] ?? "";
      continue;
    }
    if (f.wordtype !== "qere") { // keep the written text (ketiv), not the read one
      const k = `${f.bookId}.${f.chapter}`;
      if (k !== key) {
        flush();
        key = k;
        verse = "";
      }
      if (f.verse !== verse && text) text = text.replace(/ +$/, "") + "\n";
      verse = f.verse;
      text += decodeXmlEntities(f.word.replace(/\//g, "")) + decodeXmlEntities(f.append ?? "");
    }
    for (const k of Object.keys(f)) delete f[k];
  }
  flush();
  return docs;
}

/** A fortune file: entries separated by lines holding only "%"; one document per entry. */
export function parseFortunes(source: string, file: string, text: string): Doc[] {
  const base = file.replace(/^.*\//, "");
  return text.split(/\n%\n/).map((t, i) => ({ source, id: `${base}#${i}`, text: t }))
    .filter((d) => d.text.trim());
}

async function fortunes(source: string, files: string[]): Promise<Doc[]> {
  const docs: Doc[] = [];
  for (const f of files) docs.push(...parseFortunes(source, f, await readText(f)));
  return docs;
}

export const SOURCES: Source[] = [
  {
    name: "kjv",
    package: "bibledit-data",
    lang: "en",
    script: "Latin",
    licence: "public domain (KJV 1769 text, CrossWire module); package GPL-3.0+",
    files: [`${BIBLEDIT}/kjv.xml`],
    read: async ([f]) => parseKjv(await readText(f)),
  },
  {
    name: "sblgnt",
    package: "bibledit-data",
    lang: "grc",
    script: "Greek",
    licence: "SBLGNT: (c) 2010 Logos Bible Software and the SBL, terms at SBLGNT.com",
    files: [`${BIBLEDIT}/sblgnt/sblgnt.xml`],
    read: async ([f]) => parseSblgnt(await readText(f)),
  },
  {
    name: "oshb",
    package: "bibledit-data",
    lang: "he",
    script: "Hebrew",
    licence: "Open Scriptures Hebrew Bible (WLC text public domain, morphology CC BY 4.0)",
    files: [`${BIBLEDIT}/oshb.xml.gz`],
    read: async ([f]) => parseOshb(await readText(f)),
  },
  {
    name: "fortunes-ru",
    package: "fortunes-ru",
    lang: "ru",
    script: "Cyrillic",
    licence: "GPL-2 (fortune-mod-ru, Pavel Maryanov)",
    files: [],
    filesFromPackage: "/usr/share/games/fortunes/",
    read: (files) => fortunes("fortunes-ru", files),
  },
  {
    name: "fortunes-zh",
    package: "fortunes-zh",
    lang: "zh",
    script: "Han",
    licence: "GPL-3.0+ (fortunes-zh, Yu Guanghui and others)",
    files: [],
    filesFromPackage: "/usr/share/games/fortunes/",
    read: (files) => fortunes("fortunes-zh", files),
  },
];

async function run(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

/** Installed version of a Debian package (dpkg-query -W), or null when not installed. */
export async function packageVersion(pkg: string): Promise<string | null> {
  const out = await run("dpkg-query", ["-W", "-f", "${Version}", pkg]);
  return out ? out.trim() || null : null;
}

/** The files a source reads: fixed paths, or the package's fortune files listed by dpkg. */
export async function sourceFiles(src: Source): Promise<string[]> {
  if (!src.filesFromPackage) return src.files;
  const listing = await run("dpkg-query", ["-L", src.package]);
  if (!listing) {
    throw new Error(
      `source ${src.name}: package ${src.package} is not installed (run \`deno task setup\`)`,
    );
  }
  const files: string[] = [];
  for (const p of listing.split("\n").sort()) {
    if (!p.startsWith(src.filesFromPackage) || /\.(dat|u8)$/.test(p)) continue;
    const st = await Deno.lstat(p).catch(() => null);
    if (st?.isFile) files.push(p);
  }
  return files;
}

export function findSource(name: string): Source {
  const s = SOURCES.find((x) => x.name === name);
  if (!s) {
    throw new Error(
      `data.sources: unknown source "${name}" (valid: ${SOURCES.map((x) => x.name).join(", ")})`,
    );
  }
  return s;
}
