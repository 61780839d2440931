// Tokenizer save/load and export: JSON round trip keeps the content hash and the encodings,
// corrupt or edited files fail with one clear line, and the Hugging Face tokenizer.json
// export is stable and, applied by a small independent BPE (vocab + merges + byte_fallback),
// gives our ids.

import assert from "node:assert/strict";
import fc from "fast-check";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import {
  buildTokenizer,
  encode,
  exportHuggingFace,
  loadTokenizer,
  saveTokenizer,
  tokenizerFromJson,
  tokenizerHash,
  tokenizerToJson,
} from "../pipeline/tokenizer/mod.ts";
import {
  sampleDocs as docs,
  sampleText as sample,
  sampleTokenizers as toks,
} from "./tokenizer_sample.ts";

Deno.test("io: building twice gives the same hash; different settings a different one", () => {
  assert.equal(tokenizerHash(buildTokenizer(docs, { variant: "2-3" })), tokenizerHash(toks[0]));
  assert.notEqual(tokenizerHash(toks[0]), tokenizerHash(toks[1]));
  const fewer = buildTokenizer(docs, { variant: "2-3", perScript: 50 });
  assert.notEqual(tokenizerHash(fewer), tokenizerHash(toks[0]));
  assert.match(tokenizerHash(toks[0]), /^[0-9a-f]{64}$/);
  const whole = buildTokenizer(docs.join("\n"), { variant: "2-3" }); // one string, one document
  assert.equal(tokenizerHash(whole), tokenizerHash(toks[0]));
});

Deno.test("io: save then load keeps hash, tokens, merges and encodings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const tok of toks) {
      const path = `${dir}/${tok.variant}.json`;
      await saveTokenizer(path, tok);
      const back = await loadTokenizer(path);
      assert.equal(tokenizerHash(back), tokenizerHash(tok));
      assert.deepStrictEqual(back.tokens, tok.tokens);
      assert.deepStrictEqual(back.merges, tok.merges);
      assert.equal(tokenizerToJson(back), tokenizerToJson(tok));
      assert.deepStrictEqual(encode(back, sample), encode(tok, sample));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("io: missing, corrupt and edited files give one-line errors", async () => {
  const oneLine = (re: RegExp) => (e: unknown) => {
    const m = (e as Error).message;
    return re.test(m) && !m.includes("\n");
  };
  await assert.rejects(loadTokenizer("/nonexistent/tok.json"), oneLine(/cannot read/));
  const json = tokenizerToJson(toks[0]);
  assert.throws(() => tokenizerFromJson(json.slice(0, 500)), oneLine(/not valid JSON/));
  const edited = json.replace(/"tokens": \[\n  \[55296,"[^"]+"\]/, '"tokens": [\n  [55296,"zzzz"]');
  assert.notEqual(edited, json);
  assert.throws(() => tokenizerFromJson(edited), oneLine(/merges that do not match|hash/));
  const j = JSON.parse(json);
  j.hash = "0".repeat(64);
  assert.throws(() => tokenizerFromJson(JSON.stringify(j)), oneLine(/content hash/));
  j.variant = "huge";
  assert.throws(() => tokenizerFromJson(JSON.stringify(j)), oneLine(/unknown variant/));
});

Deno.test("io: null, wrong vocabSize or meta, and a 1,000,000-character token are one line", () => {
  const oneLine = (re: RegExp) => (e: unknown) => {
    const m = (e as Error).message;
    return e?.constructor === Error && re.test(m) && !m.includes("\n") && m.includes("t.json");
  };
  const from = (x: unknown) => () => tokenizerFromJson(JSON.stringify(x), "t.json");
  for (const x of [null, 3, "s", [1]]) assert.throws(from(x), oneLine(/not a JSON object/));
  const j = JSON.parse(tokenizerToJson(toks[0]));
  assert.throws(
    from({ ...j, vocabSize: 65535 }),
    oneLine(/vocabSize 65535; variant "2-3" has 65536/),
  );
  assert.throws(from({ ...j, vocabSize: "65536" }), oneLine(/vocabSize/));
  for (const meta of [3, [1], { a: null }, { a: { b: 1 } }]) {
    assert.throws(from({ ...j, meta }), oneLine(/"meta" that is not a map/));
  }
  assert.throws(from({ ...j, tokens: [null] }), oneLine(/malformed token entry/));
  assert.throws(from({ ...j, tokens: [["55296", "ab"]] }), oneLine(/malformed token entry/));
  assert.throws(from({ ...j, merges: [[1, 2]] }), oneLine(/malformed merge/));
  // a 1,000,000-character token: the hash fails first, with no merge synthesised
  const long = "ab".repeat(500_000);
  const edited = { ...j, tokens: [[0xD800, long], ...j.tokens.slice(1)] };
  assert.throws(from(edited), oneLine(/content hash/));
  // the same token with a matching hash (a deliberate edit): the length limit refuses it
  const ids = Int32Array.from(edited.tokens, (t: [number, string]) => t[0]);
  const forged = tokenizerHash({
    ...toks[0],
    tokens: edited.tokens.map((t: [number, string]) => t[1]),
    ids,
    merges: Int32Array.from(j.merges.flat()),
  });
  assert.throws(
    from({ ...edited, hash: forged }),
    oneLine(/1000000 characters long, over the limit of 64/),
  );
});

/** Independent BPE over the exported Hugging Face JSON (what `tokenizers` does for us). */
function hfEncode(hf: Record<string, unknown>, text: string): number[] {
  const model = hf.model as { vocab: Record<string, number>; merges: string[] };
  const rank = new Map(model.merges.map((m, r) => [m, r]));
  let syms: string[] = [];
  for (const ch of text) {
    if (ch in model.vocab) syms.push(ch);
    else {
      for (const b of new TextEncoder().encode(ch)) {
        syms.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
      }
    }
  }
  for (;;) {
    let best = Infinity, at = -1;
    for (let k = 0; k + 1 < syms.length; k++) {
      const r = rank.get(`${syms[k]} ${syms[k + 1]}`);
      if (r !== undefined && r < best) best = r, at = k;
    }
    if (at < 0) break;
    syms = [...syms.slice(0, at), syms[at] + syms[at + 1], ...syms.slice(at + 2)];
  }
  return syms.map((s) => model.vocab[s]);
}

Deno.test("export: Hugging Face tokenizer.json is stable and encodes like us", () => {
  for (const tok of toks) {
    const hf = exportHuggingFace(tok);
    assert.equal(JSON.stringify(hf), JSON.stringify(exportHuggingFace(tok)));
    const model = hf.model as { vocab: Record<string, number>; merges: string[]; type: string };
    assert.equal(model.type, "BPE");
    const ids = new Set(Object.values(model.vocab));
    assert.equal(ids.size, Object.keys(model.vocab).length, "vocab ids are distinct");
    assert.equal(model.vocab["<pad>"], 57344);
    assert.equal(model.merges.length, tok.merges.length / 3);
    for (const m of model.merges.slice(0, 2000)) {
      const [a, b] = m.split(" ");
      assert.ok(a in model.vocab && b in model.vocab && a + b in model.vocab, m);
    }
    const reloaded = tokenizerFromJson(tokenizerToJson(tok));
    assert.equal(JSON.stringify(exportHuggingFace(reloaded)), JSON.stringify(hf));
  }
  const hf = exportHuggingFace(toks[0]);
  const pieces = fc.oneof(
    fc.constantFrom(...toks[0].tokens),
    fc.string({ unit: "binary", maxLength: 2 }),
    fc.constant(" "),
  );
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 30 }), (parts) => {
      const s = parts.join("");
      assert.deepStrictEqual(hfEncode(hf, s), [...encode(toks[0], s)]);
    }),
    { numRuns: 150 },
  );
});

Deno.test("export: the tokenizers library's JS port runs our tokenizer.json as we do", () => {
  // an outside implementation of tokenizer.json (BPE, byte_fallback, ByteFallback+Fuse decoder)
  for (const tok of toks) {
    const ref = new HfTokenizer(exportHuggingFace(tok), {});
    for (const s of [sample.slice(0, 4000), "a😀b\uE000 Ж中文 \uFFFF\u0000"]) {
      const ids = ref.encode(s).ids;
      assert.deepStrictEqual([...encode(tok, s)], ids);
      assert.equal(ref.decode(ids), s);
    }
  }
});
