// The pipeline with tokenizer.layout "bvv241": config checks, the tokenize stage building the
// author's vocabulary from a list file (hashed by content: an edited list reruns the stage),
// and a full vocabulary whose rows are the author's ids, so that a table made with the
// author's tokenizer is accepted by embed.import row for row.

import assert from "node:assert/strict";
import { loadConfig } from "../pipeline/config.ts";
import { planPipeline, runPipeline } from "../pipeline/runner.ts";
import { checkImportedTable, pipelineStages } from "../pipeline/stages.ts";

const CORPUS = new URL("../fixtures/pipeline/corpus.txt", import.meta.url).pathname;
const LIST = `[{'lang': 'en', 'top_ngrams': {2: [('th', 9), ('he', 8)], 3: [('the', 7)]}},
 {'lang': 'ru', 'top_ngrams': {2: [('ро', 5)]}}]`;

Deno.test("bvv241 config: the layout needs a list, and the lists need the layout", async () => {
  await assert.rejects(loadConfig("tiny", ["tokenizer.layout=bvv241"]), /needs tokenizer\.ngrams/);
  await assert.rejects(loadConfig("tiny", ["tokenizer.ngrams=x.txt"]), /read by layout "bvv241"/);
  await assert.rejects(loadConfig("tiny", ["tokenizer.layout=bvv"]), /valid values: glyphgrad/);
  const cfg = await loadConfig("tiny", ["tokenizer.layout=bvv241", "tokenizer.ngrams=x.txt"]);
  assert.equal(cfg.tokenizer.layout, "bvv241");
});

Deno.test({
  name: "bvv241 pipeline: tokenize builds the author's ids; an edited list reruns; rows align",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "glyphgrad-bvv241-" });
    try {
      const list = `${dir}/ngrams.txt`;
      await Deno.writeTextFile(list, LIST);
      const sets = [
        `data.corpus=${CORPUS}`,
        "tokenizer.layout=bvv241",
        `tokenizer.ngrams=${list}`,
        "model.vocab=full",
      ];
      const cfg = await loadConfig("tiny", sets);
      const opts = { targets: ["tokenize"], log: () => {}, quiet: true };
      await runPipeline(pipelineStages(cfg), cfg, dir, opts);
      const vocab = JSON.parse(await Deno.readTextFile(`${dir}/tokenize/vocab.json`));
      assert.equal(vocab.layout, "bvv241");
      assert.equal(vocab.tokens.length, 65536);
      assert.ok(vocab.tokenizerIds.every((id: number, row: number) => id === row));
      // the rows are the author's ids: 3-grams first, then 2-grams by code point; his names
      assert.deepStrictEqual(
        [0xD800, 0xD801, 0xD802, 0xD803, 0xD804, 0xE017, 0xFFFF].map((i) => vocab.tokens[i]),
        ["the", "he", "th", "ро", "<unused_55300>", "<special_token_57367>", "<unused_65535>"],
      );
      checkImportedTable("author.safetensors", { rows: 65536, cols: cfg.model.dModel }, {
        rows: 65536,
        dModel: cfg.model.dModel,
        mode: cfg.model.vocab,
        vocabFile: `${dir}/tokenize/vocab.json`,
      });

      const plan = async () =>
        (await planPipeline(pipelineStages(cfg), cfg, dir, { targets: ["tokenize"] })).at(-1)!;
      assert.equal((await plan()).action, "skip");
      await Deno.writeTextFile(list, LIST.replace("('he', 8)", "('he', 8), ('ro', 1)"));
      const again = await plan();
      assert.equal(again.action, "run");
      assert.ok(again.reasons.some((r) => r.includes(list)), again.reasons.join("; "));

      const gone = await loadConfig("tiny", [
        ...sets.slice(0, 1),
        "tokenizer.layout=bvv241",
        `tokenizer.ngrams=${dir}/missing.txt`,
      ]);
      await assert.rejects(
        runPipeline(pipelineStages(gone), gone, dir, opts),
        (e: Error) =>
          /tokenizer\.ngrams .*missing\.txt: file not found/.test(e.message) &&
          !e.message.includes("\n"),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
