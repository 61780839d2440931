// Minimal OpenType reader: the few tables the renderer needs to place glyphs without asking
// resvg (head.unitsPerEm, hhea + hmtx advances, cmap format 4/12 character -> glyph lookup).
// Used to predict where each character of a long text run lands, and to tell which code
// points a font really covers (coverage report, `clean` recipe's hex boxes).

export interface FontInfo {
  path: string;
  /** Family name from the 'name' table (id 1), what resvg matches font-family against. */
  family: string;
  unitsPerEm: number;
  /** hhea ascender in font units (Pillow/FreeType place text from it). */
  ascender: number;
  /** Sorted, non-overlapping [firstCodePoint, lastCodePoint, firstGlyphId] runs. */
  groups: Uint32Array;
  advances: Uint16Array;
}

function fail(path: string, why: string): never {
  throw new Error(`font ${path}: ${why} (pass a valid .otf/.ttf file in fontFiles)`);
}

/** Parse the tables we need from font file bytes. */
export function parseFont(bytes: Uint8Array, path = "font"): FontInfo {
  if (bytes.length < 12) fail(path, "file too short to be an OpenType font");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag0 = dv.getUint32(0);
  if (tag0 !== 0x00010000 && tag0 !== 0x4f54544f && tag0 !== 0x74727565) {
    fail(path, "not an OpenType/TrueType font (bad signature)");
  }
  const tables = new Map<string, number>();
  const n = dv.getUint16(4);
  for (let i = 0; i < n; i++) {
    const rec = 12 + 16 * i;
    if (rec + 16 > bytes.length) fail(path, "table directory truncated");
    const tag = String.fromCharCode(...bytes.subarray(rec, rec + 4));
    tables.set(tag, dv.getUint32(rec + 8));
  }
  const need = (tag: string): number => tables.get(tag) ?? fail(path, `missing '${tag}' table`);
  const unitsPerEm = dv.getUint16(need("head") + 18);
  const numHMetrics = dv.getUint16(need("hhea") + 34);
  const ascender = dv.getInt16(need("hhea") + 4);
  const numGlyphs = dv.getUint16(need("maxp") + 4);
  const hmtx = need("hmtx");
  const advances = new Uint16Array(Math.max(numGlyphs, numHMetrics));
  for (let g = 0; g < advances.length; g++) {
    advances[g] = dv.getUint16(hmtx + 4 * Math.min(g, numHMetrics - 1));
  }
  const family = readFamily(dv, tables.get("name"));
  const groups = readCmap(dv, need("cmap"), path);
  return { path, family, unitsPerEm, ascender, groups, advances };
}

function readFamily(dv: DataView, name: number | undefined): string {
  if (name === undefined) return "";
  const count = dv.getUint16(name + 2), strings = name + dv.getUint16(name + 4);
  let best = "";
  for (let i = 0; i < count; i++) {
    const r = name + 6 + 12 * i;
    const [pid, nid, len, off] = [0, 6, 8, 10].map((o) => dv.getUint16(r + o));
    if (nid !== 1) continue;
    let s = "";
    if (pid === 3 || pid === 0) {
      for (let k = 0; k < len; k += 2) s += String.fromCharCode(dv.getUint16(strings + off + k));
      return s;
    }
    for (let k = 0; k < len; k++) s += String.fromCharCode(dv.getUint8(strings + off + k));
    best ||= s;
  }
  return best;
}

function readCmap(dv: DataView, cmap: number, path: string): Uint32Array {
  const count = dv.getUint16(cmap + 2);
  let best = -1, bestRank = -1;
  for (let i = 0; i < count; i++) {
    const pid = dv.getUint16(cmap + 4 + 8 * i), eid = dv.getUint16(cmap + 6 + 8 * i);
    const off = cmap + dv.getUint32(cmap + 8 + 8 * i);
    const fmt = dv.getUint16(off);
    const rank = fmt === 12 ? 2 : fmt === 4 && (pid === 0 || (pid === 3 && eid <= 1)) ? 1 : 0;
    if (rank > bestRank) [best, bestRank] = [off, rank];
  }
  if (bestRank <= 0) fail(path, "no Unicode cmap subtable (format 4 or 12)");
  const runs: number[] = [];
  if (dv.getUint16(best) === 12) {
    const ng = dv.getUint32(best + 12);
    for (let i = 0; i < ng; i++) {
      const g = best + 16 + 12 * i;
      runs.push(dv.getUint32(g), dv.getUint32(g + 4), dv.getUint32(g + 8));
    }
  } else {
    const segs = dv.getUint16(best + 6) / 2;
    const ends = best + 14, starts = ends + 2 * segs + 2, deltas = starts + 2 * segs;
    const ranges = deltas + 2 * segs;
    for (let s = 0; s < segs; s++) {
      const a = dv.getUint16(starts + 2 * s), b = dv.getUint16(ends + 2 * s);
      const delta = dv.getUint16(deltas + 2 * s), ro = dv.getUint16(ranges + 2 * s);
      for (let c = a; c <= b && c !== 0xffff; c++) {
        const gid = ro === 0
          ? (c + delta) & 0xffff
          : glyphAt(dv, ranges + 2 * s + ro + 2 * (c - a), delta);
        if (gid !== 0) runs.push(c, c, gid);
      }
    }
  }
  return mergeRuns(runs);
}

function glyphAt(dv: DataView, at: number, delta: number): number {
  const g = dv.getUint16(at);
  return g === 0 ? 0 : (g + delta) & 0xffff;
}

function mergeRuns(flat: number[]): Uint32Array {
  const idx = Array.from({ length: flat.length / 3 }, (_, i) => i);
  idx.sort((i, j) => flat[3 * i] - flat[3 * j]);
  const out: number[] = [];
  for (const i of idx) {
    const [a, b, g] = [flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]];
    const k = out.length - 3;
    if (k >= 0 && out[k + 1] + 1 === a && out[k + 2] + (a - out[k]) === g) out[k + 1] = b;
    else out.push(a, b, g);
  }
  return Uint32Array.from(out);
}

/** Glyph id of a code point in this font, 0 when the font has none. */
export function glyphId(font: FontInfo, cp: number): number {
  const g = font.groups;
  let lo = 0, hi = g.length / 3 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < g[3 * mid]) hi = mid - 1;
    else if (cp > g[3 * mid + 1]) lo = mid + 1;
    else return g[3 * mid + 2] + (cp - g[3 * mid]);
  }
  return 0;
}

/** First font (in fallback order) that maps the code point, with its glyph id; null if none. */
export function findGlyph(fonts: FontInfo[], cp: number): { font: FontInfo; gid: number } | null {
  for (const font of fonts) {
    const gid = glyphId(font, cp);
    if (gid) return { font, gid };
  }
  return null;
}

/** Horizontal advance in pixels at the given font size. */
export function advancePx(font: FontInfo, gid: number, fontSize: number): number {
  const a = font.advances[Math.min(gid, font.advances.length - 1)];
  return (a * fontSize) / font.unitsPerEm;
}

/** Read and parse font files (throws one clear line for a missing file). */
export function loadFonts(paths: string[]): FontInfo[] {
  return paths.map((p) => {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(p);
    } catch {
      throw new Error(`font file ${p} not found (install fonts-unifont or pass fontFiles)`);
    }
    return parseFont(bytes, p);
  });
}

/** FreeType's ascender in whole pixels at a size (ceil of the scaled hhea value), as Pillow
 * uses for its default "la" anchor: the pen's y is the ascender line. */
export function ascenderPx(font: FontInfo, fontSize: number): number {
  return Math.ceil((font.ascender * fontSize) / font.unitsPerEm);
}

/**
 * A copy of a font's bytes whose cmap also maps `extra` code points to the glyphs of `from`
 * code points (extra[i] -> glyph of from[i], .notdef where the font has none): lets resvg
 * draw glyphs of characters that cannot appear in SVG text (controls) under an alias. The new cmap (one format-12
 * subtable, Unicode full repertoire) is appended and the table directory points to it.
 */
export function aliasGlyphs(bytes: Uint8Array, font: FontInfo, from: number[], extra: number[]) {
  const runs: [number, number, number][] = [];
  for (let i = 0; i < font.groups.length; i += 3) {
    runs.push([font.groups[i], font.groups[i + 1], font.groups[i + 2]]);
  }
  from.forEach((cp, i) => runs.push([extra[i], extra[i], glyphId(font, cp)])); // 0: .notdef
  runs.sort((a, b) => a[0] - b[0]);
  const merged: [number, number, number][] = []; // runs that continue each other join
  for (const r of runs) {
    const p = merged[merged.length - 1];
    if (p && p[1] + 1 === r[0] && p[2] + (r[0] - p[0]) === r[2] && r[2] !== 0) p[1] = r[1];
    else merged.push([...r]);
  }
  const sub = 16 + 12 * merged.length, len = 4 + 8 * 2 + sub;
  const table = new Uint8Array(len), t = new DataView(table.buffer);
  t.setUint16(2, 2); // version 0, two encoding records sharing one subtable
  [[0, 4], [3, 10]].forEach(([pid, eid], k) => {
    t.setUint16(4 + 8 * k, pid);
    t.setUint16(6 + 8 * k, eid);
    t.setUint32(8 + 8 * k, 20);
  });
  t.setUint16(20, 12);
  t.setUint32(24, sub);
  t.setUint32(32, merged.length);
  merged.forEach(([a, b, g], k) => {
    t.setUint32(36 + 12 * k, a);
    t.setUint32(40 + 12 * k, b);
    t.setUint32(44 + 12 * k, g);
  });
  const at = Math.ceil(bytes.length / 4) * 4;
  const out = new Uint8Array(at + len);
  out.set(bytes);
  out.set(table, at);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < dv.getUint16(4); i++) {
    const rec = 12 + 16 * i;
    if (String.fromCharCode(...out.subarray(rec, rec + 4)) === "cmap") {
      dv.setUint32(rec + 8, at);
      dv.setUint32(rec + 12, len);
    }
  }
  return out;
}
