// Tests of the data stage: strict UTF-8 with a one-line error, NFC cleaning, the deterministic
// document split (property-based), the source parsers on small inline samples, user corpora,
// and (when bibledit-data is installed) the real corpus build.

import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import fc from "fast-check";
import { cleanText, decodeUtf8, firstInvalidUtf8 } from "../pipeline/data/clean.ts";
import { budget, splitDocs } from "../pipeline/data/split.ts";
import {
  type Doc,
  parseFortunes,
  parseKjv,
  parseOshb,
  parseSblgnt,
} from "../pipeline/data/sources.ts";
import { jsonlDocs, readCorpusFile, txtDocs } from "../pipeline/data/corpus.ts";
import { buildData, dataSourceFiles } from "../pipeline/data/build.ts";
import { haveKjv } from "./kjv.ts";

Deno.test("data: invalid UTF-8 gives one line naming the file and byte", () => {
  const bytes = new Uint8Array([0x61, 0x62, 0xc3, 0x28, 0x63]);
  assertEquals(firstInvalidUtf8(bytes), 2);
  const e = assertThrows(() => decodeUtf8(bytes, "x.txt"), /^x\.txt: invalid UTF-8 at byte 2/);
  assert(!e.message.includes("\n"));
});

Deno.test("data: firstInvalidUtf8 agrees with the platform's strict decoder (property)", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), (b) => {
    let ok = true;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(b);
    } catch {
      ok = false;
    }
    assertEquals(firstInvalidUtf8(b) === -1, ok);
  }));
  fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => {
    assertEquals(firstInvalidUtf8(new TextEncoder().encode(s)), -1);
  }));
});

Deno.test("data: cleaning gives NFC, Unix newlines, no escapes or control characters", () => {
  const s = "e\u0301\r\n\x1b[32mgreen\x1b[m\tx  y \n\n\n\nend\x07";
  assertEquals(cleanText(s), "\u00e9\ngreen x y\n\nend");
  fc.assert(fc.property(fc.string({ unit: "grapheme" }), (t) => {
    const c = cleanText(t);
    assertEquals(c, c.normalize("NFC"));
    assertEquals(cleanText(c), c);
  }));
});

Deno.test("data: cleaning is linear on a million spaces with no newline (issue 16 hang)", () => {
  const spaces = " ".repeat(1_000_000);
  assertEquals(cleanText(`a${spaces}b${spaces}\n${spaces}c\u00a0${spaces}`), "a b\n c");
  assertEquals(cleanText(`x${"\u00a0 ".repeat(500_000)}\ny`), "x\ny");
});

Deno.test("data: trailing spaces go before every newline, as /[ \\u00a0]+\\n/ did (property)", () => {
  const old = (s: string) => s.replace(/[ \u00a0]+\n/g, "\n").replace(/ {2,}/g, " ").trim();
  const text = fc.array(fc.constantFrom(" ", "\u00a0", "\n", "a", "\r", "\t"), { maxLength: 40 })
    .map((a) => a.join(""));
  fc.assert(
    fc.property(text, (s) => {
      const unix = s.replace(/\r\n?/g, "\n").replace(/\t/g, " ");
      assertEquals(cleanText(s), old(unix).replace(/\n{3,}/g, "\n\n").trim());
    }),
    { numRuns: 500 },
  );
});

Deno.test("data: the split is deterministic, disjoint, complete, and by document (property)", () => {
  const docArb = fc.uniqueArray(
    fc.record({ source: fc.constantFrom("a", "b"), id: fc.string(), text: fc.string() }),
    { selector: (d) => d.source + "\0" + d.id, maxLength: 60 },
  );
  fc.assert(
    fc.property(docArb, fc.double({ min: 0.01, max: 0.5, noNaN: true }), fc.nat(), (docs, f, s) => {
      const a = splitDocs(docs, f, s);
      const b = splitDocs([...docs].reverse(), f, s);
      const ids = (ds: Doc[]) => ds.map((d) => d.source + "\0" + d.id).sort();
      assertEquals(ids(a.val), ids(b.val));
      assertEquals(a.train.length + a.val.length, docs.length);
      assertEquals(ids([...a.train, ...a.val]), ids(docs));
      for (const src of ["a", "b"]) {
        const n = docs.filter((d) => d.source === src).length;
        if (n >= 2) assert(a.val.some((d) => d.source === src), "each source gets validation");
      }
    }),
  );
  const docs = Array.from(
    { length: 50 },
    (_, i) => ({ source: "s", id: `${i}`, text: "x".repeat(10) }),
  );
  assertEquals(budget(docs, 95, 1).length, 10);
});

Deno.test("data: source parsers read their formats", () => {
  const kjv = `<chapter osisID="Gen.1"><title type="chapter">CHAPTER 1.</title>
<verse osisID="Gen.1.1" sID="Gen.1.1"/><w lemma="x">In the beginning</w> God.<note type="study">a
note</note><verse eID="Gen.1.1"/>
<verse sID="Gen.1.2"/>And the earth &amp; sea.<verse eID="Gen.1.2"/></chapter>`;
  assertEquals(parseKjv(kjv), [{
    source: "kjv",
    id: "Gen.1",
    text: "In the beginning God.\nAnd the earth & sea.",
  }]);
  const gnt = `<book id="Mt"><p><verse-number id="Matthew 1:1">1:1</verse-number>
<w>Βίβλος</w><suffix> </suffix><w>γενέσεως</w><suffix>. </suffix></p><p>
<verse-number id="Matthew 2:1">2:1</verse-number><prefix>⸂</prefix><w>Τοῦ</w><suffix> </suffix></p></book>`;
  assertEquals(parseSblgnt(gnt).map((d) => [d.id, d.text]), [
    ["Matthew 1", "Βίβλος γενέσεως."],
    ["Matthew 2", "⸂Τοῦ"],
  ]);
  const row = (c: number, v: number, w: string, a: string, t = "word") =>
    `<row><field name="bookId">1</field><field name="chapter">${c}</field><field name="verse">${v}</field><field name="word">${w}</field><field name="append">${a}</field><field name="morph" xsi:nil="true" /><field name="wordtype">${t}</field></row>`;
  const hb = row(1, 1, "בְּ/רֵאשִׁית", " ") + row(1, 1, "בָּרָא", "׃") + row(1, 2, "וְ/הָאָרֶץ", " ") +
    row(1, 2, "qere", " ", "qere") + row(2, 1, "אֵלֶּה", "");
  assertEquals(parseOshb(hb).map((d) => [d.id, d.text]), [
    ["1.1", "בְּרֵאשִׁית בָּרָא׃\nוְהָאָרֶץ"],
    ["1.2", "אֵלֶּה"],
  ]);
  assertEquals(parseFortunes("f", "/x/love", "one\n -- A\n%\ntwo\n%\n").map((d) => d.id), [
    "love#0",
    "love#1",
  ]);
});

/** Data settings for one user corpus, `paras` written to dir/mine.txt, and no packaged source. */
async function userCorpus(dir: string, paras: string[], valFraction: number, splitSeed: number) {
  await Deno.writeTextFile(`${dir}/mine.txt`, paras.join("\n\n"));
  return { sources: [], corpus: [`${dir}/mine.txt`], maxCharsPerSource: 0, valFraction, splitSeed };
}

Deno.test("data: user corpora (.txt paragraphs, .jsonl lines) and their errors", async () => {
  assertEquals(txtDocs("t", "a\n\nb\n\nc", 3).map((d) => d.text), ["a\n\nb", "c"]);
  assertEquals(jsonlDocs("j", '{"text":"hi"}\n\n{"text":"yo"}\n', "j.jsonl").length, 2);
  assertThrows(
    () => jsonlDocs("j", '{"text":"hi"}\n{"txt":1}', "j.jsonl"),
    /^j\.jsonl:2: no string "text"/,
  );
  assertThrows(() => jsonlDocs("j", "{oops", "j.jsonl"), /^j\.jsonl:1: not valid JSON/);
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/bad.txt`, new Uint8Array([0x68, 0xff, 0x69]));
  await assertRejects(() => readCorpusFile(`${dir}/bad.txt`), /bad\.txt: invalid UTF-8 at byte 1/);
  await assertRejects(() => readCorpusFile(`${dir}/x.csv`), /file not found/);
  const paras = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} about cafe\u0301s.`);
  const p = await userCorpus(dir, paras, 0.2, 3);
  const r = await buildData(p, `${dir}/out`);
  assertEquals(r.sources[0].package, null);
  const train = await Deno.readTextFile(`${dir}/out/train.txt`);
  assert(train.includes("caf\u00e9s") && !train.includes("e\u0301"), "NFC applied");
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "data: real corpus build is deterministic and records package versions" +
    (haveKjv ? "" : " (skipped: bibledit-data not installed)"),
  ignore: !haveKjv,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const p = {
      sources: ["kjv", "sblgnt"],
      corpus: [],
      maxCharsPerSource: 30000,
      valFraction: 0.1,
      splitSeed: 1,
    };
    const a = await buildData(p, `${dir}/a`);
    await buildData(p, `${dir}/b`);
    for (const f of ["train.txt", "val.txt"]) {
      assertEquals(
        await Deno.readTextFile(`${dir}/a/${f}`),
        await Deno.readTextFile(`${dir}/b/${f}`),
      );
    }
    assert(a.sources.every((s) => s.package === "bibledit-data" && s.version && s.valDocs > 0));
    const train = await Deno.readTextFile(`${dir}/a/train.txt`);
    assert(/[\u0370-\u03ff\u1f00-\u1fff]/.test(train) && /[A-Za-z]/.test(train), "Greek and Latin");
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("data: training documents that contain a benchmark item are dropped", async () => {
  const dir = await Deno.makeTempDir();
  const paras = Array.from({ length: 30 }, (_, i) => `Paragraph number ${i} of my text.`);
  paras[7] = "Someone wrote: Pick   one\naaaa and more.";
  const bench = new URL("../fixtures/eval/generic.jsonl", import.meta.url).pathname;
  const p = { ...await userCorpus(dir, paras, 0.01, 1), benchmarks: [`jsonl:${bench}`] };
  const r = await buildData(p, `${dir}/out`);
  const train = await Deno.readTextFile(`${dir}/out/train.txt`);
  const val = await Deno.readTextFile(`${dir}/out/val.txt`);
  assert(!train.includes("Pick") && !train.includes("Someone wrote"), "item dropped from train");
  assert(train.includes("Paragraph number 8") || val.includes("Paragraph number 8"));
  assertEquals(r.sources[0].benchmarkOverlapDropped, val.includes("Someone wrote") ? 0 : 1);
  assertEquals(await dataSourceFiles(p), [bench, `${dir}/mine.txt`]);
  await Deno.remove(dir, { recursive: true });
});
