// `deno task bench eval [--json] [--items 1000] [--peer-items 40] [--mmlu 14042] [--backend cpu]`:
// speed of multiple-choice scoring on a `small`-sized GPT (random weights; speed does not
// depend on them) over real WordNet definition items with a one-token-per-character codec (more
// tokens than the real tokenizer, so a conservative figure). Batched log-likelihood scoring and
// the generative protocol, next to two named peers measured in the same run: the
// unbatched scorer (one forward pass per option) and the batched scorer that runs core
// gptLogits over every position ("full" head). Then the full MMLU size: `--mmlu` synthetic
// items (pipeline/eval/synthetic.ts: the real 57 subjects and sizes, written as hendrycks CSV
// and read back by the real loader) through both protocols with a codec of two characters per
// token (ours averages 1.6 on English), each protocol's wasm heap high-water mark and the
// process's peak RSS printed (`--mmlu 0` skips it).

import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import "../core/cpu/backend.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, initGPT, mergeParams } from "../core/gpt.ts";
import { gptScoringModel } from "../pipeline/eval/checkpoint.ts";
import { type ScoringModel, type TextCodec, unbatched } from "../pipeline/eval/model.ts";
import { scoreGenerative, scoreLoglik } from "../pipeline/eval/protocols.ts";
import { buildDefinitionItems, loadWordnet } from "../pipeline/eval/wordnet.ts";
import type { McItem } from "../pipeline/eval/items.ts";
import { loadBench } from "../pipeline/eval/loaders.ts";
import { writeSynthMmlu } from "../pipeline/eval/synthetic.ts";
import { formatPeakMemory, peakMemory } from "../pipeline/eval/peak_memory.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean" },
    items: { type: "string", default: "1000" },
    "peer-items": { type: "string", default: "40" },
    backend: { type: "string", default: "cpu" },
    dmodel: { type: "string", default: "128" },
    layers: { type: "string", default: "4" },
    context: { type: "string", default: "128" },
    vocab: { type: "string", default: "8192" },
    budget: { type: "string", default: "2048" },
    mmlu: { type: "string", default: "14042" },
  },
});
const mmluN = Number(a.mmlu);
if (!Number.isInteger(mmluN) || mmluN < 0) {
  console.error(`bench eval: --mmlu must be a whole number of items (0 skips), got "${a.mmlu}"`);
  Deno.exit(2);
}
if (a.backend === "webgpu") await import("../core/webgpu/mod.ts");
setBackend(a.backend!);

const cfg: GPTConfig = {
  vocab: Number(a.vocab),
  dModel: Number(a.dmodel),
  layers: Number(a.layers),
  heads: 4,
  context: Number(a.context),
  embedding: "trainable",
  norm: "layernorm",
};
const { trainable, frozen } = initGPT(cfg, { seed: 1 });
const params = mergeParams(trainable, frozen);
const codec: TextCodec = {
  encode: (s) => Int32Array.from(s, (ch) => ch.codePointAt(0)! % cfg.vocab),
  decode: (ids) => String.fromCodePoint(...Array.from(ids)),
};
const items = buildDefinitionItems(await loadWordnet(), { n: Number(a.items), seed: 42 });
const peerItems = items.slice(0, Number(a["peer-items"]));
const tokens = items.reduce((s, it) => s + codec.encode(it.question).length + 20, 0);

async function timed(
  label: string,
  model: ScoringModel,
  its: McItem[],
  proto: "loglik" | "generative",
  cod: TextCodec = codec,
) {
  peakMemory(true);
  const t0 = performance.now();
  const c0 = cpuUsage();
  if (proto === "loglik") await scoreLoglik(model, cod, its);
  else await scoreGenerative(model, cod, its);
  const s = (performance.now() - t0) / 1000;
  const c = cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  const mem = peakMemory();
  return {
    label,
    items: its.length,
    seconds: s,
    cpuSeconds: cpu,
    itemsPerSec: its.length / s,
    memory: formatPeakMemory(mem),
    wasmHighWaterMiB: +(mem.wasmHighWaterBytes / 2 ** 20).toFixed(1),
    peakRssMiB: +(mem.peakRssBytes / 2 ** 20).toFixed(1),
  };
}

/** Two characters per token (hashed into the vocabulary), decoded as letters. */
const pairCodec: TextCodec = {
  encode(text) {
    const ids = new Int32Array(Math.ceil(text.length / 2));
    for (let i = 0; i < ids.length; i++) {
      const h = Math.imul(text.charCodeAt(2 * i), 65599) + (text.charCodeAt(2 * i + 1) || 0);
      ids[i] = (h >>> 0) % cfg.vocab;
    }
    return ids;
  },
  decode: (ids) => Array.from(ids, (i) => (i % 2 ? " " : "ABCD"[(i >> 1) % 4])).join(""),
};

const tokenBudget = Number(a.budget);
const batched = gptScoringModel(params, cfg, { tokenBudget });
const full = gptScoringModel(params, cfg, { mode: "full", tokenBudget });
const runs = [
  await timed("batched loglik (rows-only head)", batched, items, "loglik"),
  await timed(
    "batched generative (greedy to the first non-space character)",
    batched,
    items,
    "generative",
  ),
  await timed(
    "peer: unbatched loglik (one forward per option)",
    unbatched(batched),
    peerItems,
    "loglik",
  ),
  await timed("peer: batched loglik, full gptLogits head", full, peerItems, "loglik"),
];
const mmluRuns = [];
if (mmluN > 0) {
  const dir = await Deno.makeTempDir({ prefix: "glyphgrad-mmlu-" });
  try {
    await writeSynthMmlu(dir, mmluN, Math.min(57, mmluN));
    const mmlu = (await loadBench(`mmlu:${dir}`)).items;
    mmluRuns.push(
      await timed("MMLU-size loglik (synthetic, real format)", batched, mmlu, "loglik", pairCodec),
      await timed(
        "MMLU-size generative (synthetic, real format)",
        batched,
        mmlu,
        "generative",
        pairCodec,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
const fig = {
  bench: "eval",
  backend: a.backend,
  model: `d${cfg.dModel} x ${cfg.layers} layers, context ${cfg.context}, vocab ${cfg.vocab}`,
  items: items.length,
  approxTokensPerItem: Math.round(tokens / items.length),
  runs: runs.map((r) => ({
    ...r,
    seconds: +r.seconds.toFixed(2),
    itemsPerSec: +r.itemsPerSec.toFixed(1),
  })),
  speedupVsUnbatched: +(runs[0].itemsPerSec / runs[2].itemsPerSec).toFixed(1),
  seconds1000Loglik: +(1000 / runs[0].itemsPerSec).toFixed(1),
  /** CPU seconds (all threads) per 1,000 items: what an idle machine has to spend. */
  cpuSeconds1000Loglik: +(1000 * runs[0].cpuSeconds / runs[0].items).toFixed(1),
  mmlu: mmluRuns.map((r) => ({ ...r, seconds: +r.seconds.toFixed(1) })),
  loadAverage: Deno.loadavg()[0],
};
if (a.json) console.log(JSON.stringify(fig));
else {
  console.log(`eval scoring, ${fig.model}, backend ${fig.backend}, WordNet 4-option items`);
  for (const r of fig.runs) {
    console.log(
      `  ${r.label.padEnd(50)} ${String(r.itemsPerSec).padStart(8)} items/s` +
        `  (${r.items} items, ${r.seconds} s wall, ${r.cpuSeconds} s CPU)`,
    );
  }
  console.log(
    `  1,000 items (loglik, batched): ${fig.seconds1000Loglik} s wall, ` +
      `${fig.cpuSeconds1000Loglik} s CPU; ${fig.speedupVsUnbatched}x the unbatched peer; ` +
      `load average ${fig.loadAverage.toFixed(1)} (provisional: shared machine)`,
  );
  for (const r of fig.mmlu) {
    console.log(
      `  ${r.label.padEnd(50)} ${r.items} items in ${r.seconds} s wall (${
        r.cpuSeconds.toFixed(1)
      } s ` +
        `CPU); ${r.memory}`,
    );
  }
}
