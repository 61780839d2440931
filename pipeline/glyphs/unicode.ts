// Unicode character database files read for the coverage report: block ranges and names
// (Blocks.txt) and which code points are assigned (UnicodeData.txt, with its First/Last
// ranges), from /usr/share/unicode by default.

export const UNICODE_DIR = "/usr/share/unicode";

export interface Block {
  first: number;
  last: number;
  name: string;
}

function readUcd(dir: string, file: string): string {
  try {
    return Deno.readTextFileSync(`${dir}/${file}`);
  } catch {
    throw new Error(`${dir}/${file} not found (install the unicode-data package)`);
  }
}

/** Blocks from Blocks.txt (lines "0000..007F; Basic Latin"). */
export function readBlocks(dir = UNICODE_DIR): Block[] {
  const out: Block[] = [];
  for (const line of readUcd(dir, "Blocks.txt").split("\n")) {
    const m = /^([0-9A-F]+)\.\.([0-9A-F]+);\s*(.+?)\s*$/.exec(line);
    if (m) out.push({ first: parseInt(m[1], 16), last: parseInt(m[2], 16), name: m[3] });
  }
  return out;
}

/** Assigned code points (a bitset over 0..0x10FFFF) from UnicodeData.txt; surrogates and
 * private use count as assigned there, as in the file. */
export function readAssigned(dir = UNICODE_DIR): Uint8Array {
  const set = new Uint8Array(0x110000);
  let first = -1;
  for (const line of readUcd(dir, "UnicodeData.txt").split("\n")) {
    if (!line) continue;
    const [hex, name] = line.split(";");
    const cp = parseInt(hex, 16);
    if (name.endsWith(", First>")) first = cp;
    else if (name.endsWith(", Last>") && first >= 0) {
      set.fill(1, first, cp + 1);
      first = -1;
    } else set[cp] = 1;
  }
  return set;
}

/** Index of the block holding cp, or -1. */
export function blockOf(blocks: Block[], cp: number): number {
  let lo = 0, hi = blocks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < blocks[mid].first) hi = mid - 1;
    else if (cp > blocks[mid].last) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** "U+0041" style name of a code point. */
export function uplus(cp: number): string {
  return "U+" + cp.toString(16).toUpperCase().padStart(4, "0");
}
