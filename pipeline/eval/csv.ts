// RFC 4180 CSV reader that remembers the line each record starts on (quoted fields may span
// lines), so a bad MMLU row can be reported as file:line.

export interface CsvRecord {
  line: number;
  fields: string[];
}

/** Parse CSV text into records; throws with the line number on an unterminated quote. */
export function parseCsv(text: string, file = "<csv>"): CsvRecord[] {
  const out: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let startLine = 1;
  let i = 0;
  let quoted = false;
  let any = false;
  const endRecord = () => {
    fields.push(field);
    if (any || fields.length > 1 || field !== "") out.push({ line: startLine, fields });
    fields = [];
    field = "";
    any = false;
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === "") {
      quoted = true;
      any = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      any = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      startLine = line;
    } else {
      field += c;
      any = true;
    }
    i++;
  }
  if (quoted) throw new Error(`${file}:${startLine}: unterminated quoted field; fix the quoting`);
  if (field !== "" || fields.length) endRecord();
  return out;
}
