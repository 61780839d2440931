// End-to-end test of an evaluation run: two tiny twins (frozen and trainable table) saved in
// the checkpoint layout with a real tokenizer and a compact vocabulary, evaluated on every
// fixture format plus the built-in WordNet and cloze benchmarks; results.json, report.md and
// its PNG plots are written and hold what they should.

import { assert, assertEquals } from "./assert.ts";
import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, initGPT, mergeParams } from "../core/gpt.ts";
import { treeFlatten } from "../core/autodiff.ts";
import { saveSafetensors } from "../core/safetensors.ts";
import { buildTokenizer, encode, saveTokenizer, UNK } from "../pipeline/tokenizer/mod.ts";
import { runEval, seededSubset } from "../pipeline/eval/run.ts";
import fc from "fast-check";
import { splitDocs } from "../pipeline/data/split.ts";
import { webgpuAvailable } from "../core/webgpu/device.ts";
import { kjvDocs } from "./kjv.ts";

setBackend("cpu-ref");

Deno.test("eval run: two twins, every bench format, report with plots", async () => {
  const dir = await Deno.makeTempDir();
  const kjv = await kjvDocs();
  const { train, val } = splitDocs(kjv, 0.1, 1);
  const heldOut = val.slice(0, 12).map((d) => d.text.slice(0, 1500));
  await Deno.writeTextFile(`${dir}/heldout.txt`, heldOut.join("\n\n"));
  const trainText = train.slice(0, 200).map((d) => d.text).join("\n\n");
  await Deno.writeTextFile(`${dir}/train.txt`, trainText);
  const tok = buildTokenizer([trainText], { variant: "2-3", perScript: 32 });
  await saveTokenizer(`${dir}/tokenizer.json`, tok);
  // compact vocabulary: every id in the training text plus every printable ASCII character
  const ascii = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
  const seen = new Set([UNK, 10, ...encode(tok, trainText), ...encode(tok, ascii)]);
  const vocabIds = [...seen].sort((a, b) => a - b);
  const cfg: GPTConfig = {
    vocab: vocabIds.length,
    dModel: 16,
    layers: 2,
    heads: 2,
    context: 128,
    embedding: "trainable",
    norm: "layernorm",
  };
  const ckpts: string[] = [];
  for (const embedding of ["frozen", "trainable"] as const) {
    const c = { ...cfg, embedding };
    const table = new Float32Array(c.vocab * 16).map((_, i) => Math.sin(i * 0.7));
    const { trainable, frozen } = initGPT(c, {
      seed: 1,
      frozenTable: embedding === "frozen" ? { data: table, rows: c.vocab, cols: 16 } : undefined,
    });
    const st: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
    for (const [name, t] of treeFlatten(mergeParams(trainable, frozen))) {
      st[name] = { dtype: "F32", shape: [...t.shape], data: t.dataSync() as Float32Array };
    }
    const ck = `${dir}/${embedding}`;
    await Deno.mkdir(ck);
    await saveSafetensors(`${ck}/model.safetensors`, st);
    await Deno.writeTextFile(
      `${ck}/config.json`,
      JSON.stringify({ gpt: c, tokenizer: "../tokenizer.json", vocabIds, name: embedding }),
    );
    await Deno.writeTextFile(
      `${ck}/log.jsonl`,
      Array.from({ length: 30 }, (_, s) =>
        JSON.stringify({
          step: s * 10,
          loss: 5 * Math.exp(-s / (embedding === "frozen" ? 9 : 8)) + 2,
          ...(s % 5 === 0 ? { val_loss: 5 * Math.exp(-s / 9) + 2.2 } : {}),
          tokens_per_s: 1000,
        })).join("\n") + "\n{broken\n",
    );
    ckpts.push(ck);
  }
  const lines: string[] = [];
  const { results, reportPath, resultsPath } = await runEval({
    checkpoints: ckpts,
    benches: [
      "mmlu:fixtures/eval/mmlu",
      "mmlu:fixtures/eval/mmlu_hf_bad.jsonl",
      "arc:fixtures/eval/arc.jsonl",
      "jsonl:fixtures/eval/generic.jsonl",
    ],
    heldOut: [`${dir}/heldout.txt`],
    trainText: [`${dir}/train.txt`],
    out: `${dir}/out`,
    name: "tiny",
    items: 24,
    probe: 10,
    protocols: ["generative", "loglik", "loglik-letter", "paper"],
    shots: 5,
    paperRuns: 2,
    seed: 3,
    log: (l) => lines.push(l),
  });
  assertEquals(results.map((r) => r.name), ["frozen", "trainable"]);
  const names = results[0].benches.map((b) => b.name);
  assertEquals(names, ["mmlu", "mmlu-2", "arc", "generic", "wordnet-def", "cloze"]);
  for (const r of results) {
    assert(r.lm && r.lm.bitsPerChar > 0 && Number.isFinite(r.lm.loss), "LM metrics");
    assertEquals(r.probe!.length, 3);
    for (const b of r.benches) {
      const acc = b.loglik!.metrics.acc;
      assert(acc.lo <= acc.mean && acc.mean <= acc.hi, `${b.name} interval`);
      for (const p of [b.generative!, b["loglik-letter"]!, b.paper!]) {
        assertEquals(p.n + Math.round(p.skipped! * b.n), b.n, `${b.name} ${p.protocol} counts`);
      }
      assertEquals(b.paper!.runs!.accs.length, 2);
      if (b.name === "wordnet-def" || b.name === "cloze") {
        // built to fit: every item scored whole under every protocol
        assertEquals([b.generative!.truncated, b.loglik!.truncated], [0, 0], `${b.name} cut`);
        assertEquals([b.generative!.n, b.generative!.skipped], [b.n, 0], `${b.name} skipped`);
      }
    }
  }
  const md = await Deno.readTextFile(reportPath);
  for (
    const s of [
      "## Held-out language modelling",
      "| wordnet-def | loglik | acc_norm | 24 | 25.0% |",
      "| wordnet-def | loglik | acc_bytes | 24 | 25.0% |",
      "- _paper_: the author's script",
      "### The paper's protocol, repeated sampled runs",
      "### Per subject",
      "| frozen | mmlu | loglik acc | 2 |",
      "frozen - trainable (paired)",
      "![accuracy, log-likelihood acc](accuracy-loglik.png)",
      "![loss curves](loss.png)",
      "![probe](probe.png)",
      "log.jsonl:31: not valid JSON",
      "mmlu_hf_bad.jsonl:2: not valid JSON",
      "Overlap check of cloze against the training text: 0 of 24",
      "## Question-blind baselines",
      "wordnet-def: built 24 of 24 items for a 128-token context",
    ]
  ) assert(md.includes(s), `report lacks "${s}"`);
  for (
    const f of ["accuracy-generative.png", "accuracy-loglik-norm.png", "loss.png", "probe.png"]
  ) {
    const png = await Deno.readFile(`${dir}/out/${f}`);
    assertEquals(Array.from(png.subarray(1, 4)), [80, 78, 71]); // "PNG"
  }
  const json = JSON.parse(await Deno.readTextFile(resultsPath));
  assertEquals(json.results.length, 2);
  assertEquals([json.settings.seed, json.settings.shots], [3, 5]);
  const mm = json.results[0].benches[0];
  assertEquals(mm.bySubject.loglik.acc.subjects.map((s: { subject: string }) => s.subject), [
    "astronomy",
    "biology",
  ]);
  assert(Number.isFinite(mm.bySubject.loglik.acc.macro.lo), "macro interval");

  // the CLI: seeded generation from a checkpoint, and a one-line error for a bad flag
  const cli = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tasks/eval.ts", "--backend", "cpu-ref", ...args],
    }).output();
    return {
      code: out.code,
      out: new TextDecoder().decode(out.stdout),
      err: new TextDecoder().decode(out.stderr),
    };
  };
  const gen = ["--checkpoint", ckpts[0], "--generate", "In the", "--max-new", "6"];
  const g1 = await cli(...gen, "--temperature", "0.9", "--top-k", "5", "--seed", "3");
  const g2 = await cli(...gen, "--temperature", "0.9", "--top-k", "5", "--seed", "3");
  assertEquals(g1.code, 0, g1.err);
  assert(g1.out.startsWith("In the") && g1.out.length > 7, g1.out);
  assertEquals(g1.out, g2.out);
  // greedy generation on webgpu (where an adapter exists) gives the cpu-ref text
  if (await webgpuAvailable()) {
    const greedy = [...gen, "--max-new", "12"];
    const [onRef, onGpu] = [await cli(...greedy), await cli(...greedy, "--backend", "webgpu")];
    assertEquals(onGpu.code, 0, onGpu.err);
    assertEquals(onGpu.out, onRef.out);
  }
  const bad = await cli("--checkpoint", ckpts[0], "--items", "many");
  assertEquals(bad.code, 2);
  assert(bad.err.startsWith("eval: --items must be a whole number from 1 up"), bad.err);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("seededSubset: n distinct items in their original order, the same for a seed", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer(),
      (len, n, seed) => {
        const items = Array.from({ length: len }, (_, i) => i);
        const s = seededSubset(items, n, seed);
        assertEquals(s.length, Math.min(n, len));
        assert(s.every((x, i) => i === 0 || s[i - 1] < x), "original order, no repeats");
        assertEquals(seededSubset(items, n, seed), s);
      },
    ),
  );
});
