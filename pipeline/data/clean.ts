// Text cleaning for the corpus: strict UTF-8 decoding (invalid bytes give a one-line error naming
// the file and byte offset), XML entity decoding, and normalisation to NFC with tidy whitespace.

/** Byte offset of the first invalid UTF-8 sequence, or -1 when the bytes are valid. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n = 0, min = 0;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** Decode UTF-8 strictly; `file` names the source in the one-line error. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new Error(
      `${file}: invalid UTF-8 at byte ${at} (convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8)`,
    );
  }
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decode the five XML entities and numeric character references. */
export function decodeXmlEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e[0] === "#") {
      const cp = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e] ?? m;
  });
}

/**
 * `line` without its trailing spaces and no-break spaces, in linear time (the regex
 * /[ \u00a0]+\n/ it replaces rescans a run of spaces from every start: 200k spaces hung).
 */
function trimSpacesEnd(line: string): string {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0xa0)) end--;
  return end === line.length ? line : line.slice(0, end);
}

/**
 * NFC, Unix newlines, no terminal escape sequences or other control characters (tab becomes a
 * space), no trailing spaces, at most one blank line in a row, trimmed.
 */
export function cleanText(s: string): string {
  return s
    .replace(/\r\n?/g, "\n")
    // deno-lint-ignore no-control-regex -- terminal escapes are stripped on purpose
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")
    .replace(/\t/g, " ")
    // deno-lint-ignore no-control-regex -- control characters are removed on purpose
    .replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, "")
    .normalize("NFC")
    .split("\n").map((line, i, all) => (i < all.length - 1 ? trimSpacesEnd(line) : line)).join("\n")
    .replace(/ {2,}/g, " ")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
