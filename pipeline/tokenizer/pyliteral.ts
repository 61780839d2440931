// A reader for the Python literals that `ast.literal_eval` accepts, as far as the author's
// n-gram lists need them (_n-gramms-*.txt in AVBochkov/PGT are `str()` of a list of dicts):
// lists, tuples, dicts (keys: strings or integers), strings in single or double quotes with
// Python escapes (\n \t \xNN \uNNNN \UNNNNNNNN octal ...), adjacent string literals, integers,
// floats, True, False, None. Lists and tuples become arrays, dicts become Maps. Pure.

export type PyValue = string | number | boolean | null | PyValue[] | Map<string | number, PyValue>;

const SIMPLE: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  n: "\n",
  t: "\t",
  r: "\r",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
  "\n": "",
};

/** Parse `text` (one Python literal); `where` names the source in one-line errors. */
export function parsePythonLiteral(text: string, where = "input"): PyValue {
  let i = 0;
  const fail = (why: string): never => {
    const before = text.slice(0, i);
    const line = before.split("\n").length, col = i - before.lastIndexOf("\n");
    throw new Error(`${where}: not a Python literal (${why} at line ${line}, column ${col})`);
  };
  const skip = () => {
    while (i < text.length) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
      else if (c === "#") { while (i < text.length && text[i] !== "\n") i++; }
      else break;
    }
  };
  const str = (): string => {
    const q = text[i];
    const triple = text.startsWith(q.repeat(3), i);
    i += triple ? 3 : 1;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i];
      if (triple ? text.startsWith(q.repeat(3), i) : c === q) {
        i += triple ? 3 : 1;
        return out;
      }
      if (!triple && c === "\n") fail("newline in a string");
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      if (e in SIMPLE) {
        out += SIMPLE[e];
        i += 2;
      } else if (e === "x" || e === "u" || e === "U") {
        const n = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = text.slice(i + 2, i + 2 + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail(`bad \\${e} escape`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10FFFF) fail("code point beyond U+10FFFF");
        out += String.fromCodePoint(cp);
        i += 2 + n;
      } else if (e >= "0" && e <= "7") {
        const m = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))![0];
        out += String.fromCodePoint(parseInt(m, 8));
        i += 1 + m.length;
      } else {
        out += "\\"; // Python keeps an unknown escape as written
        i++;
      }
    }
  };
  const seq = (close: string): PyValue[] => {
    const items: PyValue[] = [];
    i++;
    for (;;) {
      skip();
      if (text[i] === close) return i++, items;
      items.push(value());
      skip();
      if (text[i] === ",") i++;
      else if (text[i] !== close) fail(`expected "," or "${close}"`);
    }
  };
  const dict = (): Map<string | number, PyValue> => {
    const m = new Map<string | number, PyValue>();
    i++;
    for (;;) {
      skip();
      if (text[i] === "}") return i++, m;
      const k = value();
      if (typeof k !== "string" && typeof k !== "number") {
        fail("dict key is not a string or number");
      }
      skip();
      if (text[i] !== ":") fail('expected ":"');
      i++;
      m.set(k as string | number, value());
      skip();
      if (text[i] === ",") i++;
      else if (text[i] !== "}") fail('expected "," or "}"');
    }
  };
  const value = (): PyValue => {
    skip();
    const c = text[i];
    if (c === "[") return seq("]");
    if (c === "(") return seq(")");
    if (c === "{") return dict();
    if (c === "'" || c === '"' || ((c === "u" || c === "U") && /['"]/.test(text[i + 1] ?? ""))) {
      if (c === "u" || c === "U") i++;
      let s = str();
      for (;;) { // adjacent literals concatenate, as in Python
        const at = i;
        skip();
        if (text[i] === "'" || text[i] === '"') s += str();
        else return i = at, s;
      }
    }
    const word = /^(?:True|False|None)\b/.exec(text.slice(i, i + 6));
    if (word) {
      i += word[0].length;
      return word[0] === "True" ? true : word[0] === "False" ? false : null;
    }
    const num = /^[-+]?(?:\d[\d_]*)?(?:\.\d*)?(?:[eE][-+]?\d+)?/.exec(text.slice(i, i + 40))![0];
    if (num && /\d/.test(num)) {
      i += num.length;
      return Number(num.replaceAll("_", ""));
    }
    return fail(c === undefined ? "unexpected end" : `unexpected ${JSON.stringify(c)}`);
  };
  const v = value();
  skip();
  if (i < text.length) fail("text after the literal");
  return v;
}
