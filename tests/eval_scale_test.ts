// Scale test of multiple-choice scoring: a generated MMLU-format benchmark (the real subject mix
// and question / option lengths, pipeline/eval/synthetic.ts) streams through both protocols on
// a tiny core GPT with the fast CPU kernels, and memory stays flat in the number of items:
// after each call into the model the live-buffer count is back where it started and the wasm
// high-water mark of that protocol, set by its first calls, never rises again; no call holds more than
// SCORE_CHUNK sequences (so per-item distributions over the vocabulary never outlive a chunk).
// 6,144 items by default: six calls of SCORE_CHUNK (1,024) per protocol, so calls 3 to 6 are
// compared with the high-water mark that calls 1 and 2 set, in about 40 s on a loaded 2-core
// machine. GLYPHGRAD_SCALE_ITEMS=20000 runs the full size (passed here: 22 log-likelihood
// and 20 generative calls, high-water 2.81 and 1.16 MiB from call 2 on, 14 live buffers
// throughout, 2 min 20 s).

import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, initGPT, mergeParams } from "../core/gpt.ts";
import { liveBufferCount } from "../core/tensor.ts";
import { fastMemoryStats } from "../core/cpu/fast/mod.ts";
import { gptScoringModel } from "../pipeline/eval/checkpoint.ts";
import { SCORE_CHUNK, type ScoringModel, type TextCodec } from "../pipeline/eval/model.ts";
import { scoreGenerative, scoreLoglik } from "../pipeline/eval/protocols.ts";
import { subjectSizes, synthItem } from "../pipeline/eval/synthetic.ts";
import { seededRandom } from "../core/rng.ts";
import { assert, assertEquals } from "./assert.ts";

const ITEMS = Number(Deno.env.get("GLYPHGRAD_SCALE_ITEMS") ?? 6 * SCORE_CHUNK);

/** One token per word (hashed into the vocabulary): realistic token counts for English. */
function wordCodec(vocab: number): TextCodec {
  return {
    encode(text) {
      const words = text.split(/(?=\s)/).filter((w) => w !== "");
      return Int32Array.from(words, (w) => {
        let h = 2166136261;
        for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
        return (h >>> 0) % vocab;
      });
    },
    decode: (ids) => Array.from(ids, (i) => (i % 3 === 0 ? " " : "ABCDEFGH"[i % 8])).join(""),
  };
}

interface Sample {
  live: number;
  highWater: number;
  seqs: number;
}

/** The model, sampling memory after every call and recording how many sequences it got. */
function observed(m: ScoringModel, out: Sample[]): ScoringModel {
  const snap = (seqs: number) =>
    out.push({ live: liveBufferCount(), highWater: fastMemoryStats().highWaterBytes, seqs });
  return {
    context: m.context,
    vocab: m.vocab,
    tokenLogProbs: async (reqs) => ((r) => (snap(reqs.length), r))(await m.tokenLogProbs(reqs)),
    nextLogProbs: async (seqs) => ((r) => (snap(seqs.length), r))(await m.nextLogProbs(seqs)),
    choiceLogLiks: async (groups) =>
      ((r) => (snap(groups.length), r))(await m.choiceLogLiks!(groups)),
  };
}

function checkFlat(name: string, samples: Sample[], liveBefore: number, t0: number) {
  assert(samples.length >= 4, `${name}: only ${samples.length} calls; too few to see a trend`);
  for (const [k, s] of samples.entries()) {
    assertEquals(s.live, liveBefore, `${name}: live buffers after call ${k + 1}`);
    assert(s.seqs <= SCORE_CHUNK, `${name}: call ${k + 1} got ${s.seqs} > ${SCORE_CHUNK}`);
    if (k >= 2) {
      assertEquals(
        s.highWater,
        samples[1].highWater,
        `${name}: wasm high-water after call ${k + 1} vs after call 2 (bytes)`,
      );
    }
  }
  const mib = (b: number) => (b / 2 ** 20).toFixed(2);
  console.log(
    `${name}: ${samples.length} calls, wasm high-water ${mib(samples[1].highWater)} MiB after ` +
      `call 2 and ${mib(samples.at(-1)!.highWater)} MiB at the end, ${liveBefore} live ` +
      `buffers throughout (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
}

Deno.test(`eval scale: ${ITEMS} generated MMLU-format items (${Math.ceil(ITEMS / SCORE_CHUNK)} calls a protocol), both protocols, flat memory`, async () => {
  setBackend("cpu");
  const cfg: GPTConfig = {
    vocab: 512,
    dModel: 32,
    layers: 1,
    heads: 2,
    context: 256,
    embedding: "trainable",
    norm: "layernorm",
  };
  const { trainable, frozen } = initGPT(cfg, { seed: 3 });
  const model = gptScoringModel(mergeParams(trainable, frozen), cfg);
  const codec = wordCodec(cfg.vocab);
  const rand = seededRandom(5);
  const items = subjectSizes(ITEMS, 57).flatMap(([subject, n]) =>
    Array.from({ length: n }, (_, k) => synthItem(rand, subject, k))
  );
  assertEquals(items.length, ITEMS);
  const liveBefore = liveBufferCount();

  let t0 = performance.now();
  fastMemoryStats(true);
  const ll: Sample[] = [];
  const rl = await scoreLoglik(observed(model, ll), codec, items, { resamples: 50 });
  assertEquals(rl.n, ITEMS);
  assert(ll.length >= Math.ceil(ITEMS / SCORE_CHUNK), `loglik: ${ll.length} calls`);
  checkFlat("loglik", ll, liveBefore, t0);

  t0 = performance.now();
  fastMemoryStats(true);
  const gen: Sample[] = [];
  const rg = await scoreGenerative(observed(model, gen), codec, items, { resamples: 50 });
  // long realistic questions that cannot fit with room for the generated tokens are skipped,
  // never cut; most of them are scored
  assertEquals(rg.n + Math.round(rg.skipped! * ITEMS), ITEMS, "scored + skipped");
  assert(rg.n > 0.8 * ITEMS, `generative scored only ${rg.n} of ${ITEMS}`);
  checkFlat("generative", gen, liveBefore, t0);
});
