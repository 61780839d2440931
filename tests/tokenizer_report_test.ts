// Tokenizer report helpers: characters per token counts code points, rows cover every
// language's held-out tail (the last 10% of passages), and the table has one column per
// tokenizer.

import assert from "node:assert/strict";
import { charsPerToken, reportMarkdown, reportRows } from "../pipeline/tokenizer/report.ts";
import { splitHeldOut } from "../pipeline/tokenizer/corpus.ts";

Deno.test("report: chars per token counts code points and uses the held-out tail", () => {
  assert.equal(charsPerToken("a😀b", (s) => Array.from(s, (ch) => ch.codePointAt(0)!)), 1);
  assert.equal(charsPerToken("abcd", () => [1, 2]), 2);
  const passages = Array.from({ length: 20 }, (_, i) => `p${i}`);
  const lang = { lang: "xx", source: "test", passages };
  assert.deepStrictEqual(splitHeldOut(lang).heldOut, ["p18", "p19"]);
  const rows = reportRows([lang], {
    chars: (s) => Array.from(s, (ch) => ch.codePointAt(0)!),
    half: (s) => new Array<number>(Math.ceil(s.length / 2)),
  });
  assert.equal(rows[0].chars, "p18\np19".length);
  assert.deepStrictEqual(rows[0].cpt, { chars: 1, half: 1.75 });
  const md = reportMarkdown(rows, ["chars", "half"]);
  assert.match(md, /\| xx \| test \| 7 \| 1\.00 \| 1\.75 \|/);
});
