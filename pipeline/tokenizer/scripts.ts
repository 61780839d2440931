// Unicode script of a code point, read once from /usr/share/unicode/Scripts.txt (Debian
// package unicode-data). Used to count n-grams per script and to keep tokens single-script.

const SCRIPTS_PATH = "/usr/share/unicode/Scripts.txt";

export interface ScriptTable {
  names: string[]; // names[0] is "Unknown"
  of: Uint8Array; // script index per code point, 0x110000 entries
}

let cached: ScriptTable | undefined;

/** Parse Scripts.txt text ("0041..005A ; Latin # ...") into a per-code-point table. */
export function parseScripts(text: string): ScriptTable {
  const names = ["Unknown"];
  const index = new Map<string, number>([["Unknown", 0]]);
  const of = new Uint8Array(0x110000);
  for (const raw of text.split("\n")) {
    const line = raw.split("#")[0].trim();
    if (!line) continue;
    const m = /^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*(\w+)$/.exec(line);
    if (!m) throw new Error(`Scripts.txt: cannot parse line "${raw}"; reinstall unicode-data`);
    let k = index.get(m[3]);
    if (k === undefined) {
      k = names.length;
      if (k > 255) throw new Error("Scripts.txt: more than 255 scripts; widen ScriptTable.of");
      names.push(m[3]);
      index.set(m[3], k);
    }
    const lo = parseInt(m[1], 16), hi = m[2] ? parseInt(m[2], 16) : lo;
    of.fill(k, lo, hi + 1);
  }
  return { names, of };
}

/** The script table of the installed Unicode data (read once, then cached). */
export function scriptTable(): ScriptTable {
  if (cached) return cached;
  let text: string;
  try {
    text = Deno.readTextFileSync(SCRIPTS_PATH);
  } catch {
    throw new Error(
      `tokenizer: cannot read ${SCRIPTS_PATH}; install it: apt-get install unicode-data`,
    );
  }
  cached = parseScripts(text);
  return cached;
}
