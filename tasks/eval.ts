// `deno task eval`: evaluate one or more checkpoints side by side (held-out LM metrics,
// multiple-choice benchmarks under each protocol: generative, loglik, loglik-letter, paper; our WordNet and cloze benchmarks, the
// semantic probe) and write results.json + report.md; or `--generate "prompt"` to sample text.

import { parseArgs } from "node:util";
import { useBackend } from "../core/use_backend.ts";
import { startWatchdog, stopWatchdog } from "../core/webgpu/watchdog.ts";
import { loadEvalModel } from "../pipeline/merge/load.ts";
import { generate } from "../pipeline/eval/generate.ts";
import { runEval } from "../pipeline/eval/run.ts";
import { type Protocol, PROTOCOLS } from "../pipeline/eval/evaluate.ts";
import { formatPeakMemory, peakMemory } from "../pipeline/eval/peak_memory.ts";
import { type FlagRange, numberFlag } from "../pipeline/eval/flags.ts";

const USAGE = `usage: deno task eval --checkpoint <dir> [--checkpoint <dir2>]
  [--checkpoint a,b [--weights 0.5,0.5] [--merge-mode logits|logprobs|probs]] (a merge; or
  --checkpoint merge.json) [--allow-trainable-merge] (merge trainable-embedding experts anyway)
  [--bench mmlu:<dir|file.jsonl|file.parquet>] [--bench arc:<file>] [--bench csqa:<file>]
  [--bench boolq:<file.jsonl>] [--bench jsonl:<file>]
  [--heldout <file.txt|file.jsonl>] [--train-text <file>] [--out <dir>] [--name <run>]
  [--items 1000] [--limit N] [--probe 200] [--no-builtin]
  [--protocols generative,loglik,loglik-letter] (also: paper) [--shots 0] [--gen-tokens 3]
  [--paper-runs 10] [--paper-temperature 1] [--atlas <png>] [--seed 0]
  [--backend auto|cpu|cpu-ref|webgpu]
  deno task eval --checkpoint <dir> --generate "prompt" [--max-new 200] [--temperature 0.8]
  [--top-k 40] [--seed 0] [--stop "\\n" (repeatable; also stops at </s>)]`;

function fail(msg: string): never {
  console.error(`eval: ${msg}\n${USAGE}`);
  Deno.exit(2);
}

/** A numeric flag (pipeline/eval/flags.ts); a bad value exits with the usage. */
function num(v: string | undefined, name: string, dflt: number, range: FlagRange): number {
  try {
    return numberFlag(v, name, dflt, range);
  } catch (e) {
    return fail((e as Error).message);
  }
}

const COUNT = { min: 0, whole: true }, POSITIVE = { min: 1, whole: true };

async function main() {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        checkpoint: { type: "string", multiple: true },
        bench: { type: "string", multiple: true },
        heldout: { type: "string", multiple: true },
        "train-text": { type: "string", multiple: true },
        out: { type: "string" },
        name: { type: "string" },
        items: { type: "string" },
        limit: { type: "string" },
        probe: { type: "string" },
        protocols: { type: "string" },
        shots: { type: "string" },
        "gen-tokens": { type: "string" },
        "paper-runs": { type: "string" },
        "paper-temperature": { type: "string" },
        "no-builtin": { type: "boolean" },
        atlas: { type: "string" },
        seed: { type: "string" },
        backend: { type: "string" },
        generate: { type: "string" },
        "max-new": { type: "string" },
        temperature: { type: "string" },
        "top-k": { type: "string" },
        stop: { type: "string", multiple: true },
        weights: { type: "string" },
        "merge-mode": { type: "string" },
        "allow-trainable-merge": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  try {
    const inUse = await useBackend(args.backend ?? "cpu");
    if (inUse.name === "webgpu") startWatchdog();
  } catch (e) {
    fail((e as Error).message);
  }
  const checkpoints = args.checkpoint ?? [];
  if (checkpoints.length === 0) fail("give at least one --checkpoint <dir>");
  const seed = num(args.seed, "seed", 0, { min: 0, max: 2 ** 32 - 1, whole: true });
  const merge = {
    mergeWeights: args.weights === undefined
      ? []
      : args.weights.split(",").map((w) => num(w.trim(), "weights", NaN, { min: 0 })),
    mergeMode: args["merge-mode"] ?? "logits",
    allowTrainableMerge: args["allow-trainable-merge"] ?? false,
  };

  if (args.generate !== undefined) {
    const m = await loadEvalModel(checkpoints[0], merge);
    const text = await generate(m.model, m.codec, args.generate, {
      maxNew: num(args["max-new"], "max-new", 200, POSITIVE),
      temperature: num(args.temperature, "temperature", 0, { min: 0 }),
      topK: num(args["top-k"], "top-k", 0, COUNT),
      seed,
      stop: (args.stop ?? []).map((s) => s.replaceAll("\\n", "\n")),
      stopId: m.stopId,
    });
    console.log(args.generate + text);
    return;
  }

  const protocols = (args.protocols ?? "generative,loglik,loglik-letter").split(",") as Protocol[];
  for (const p of protocols) {
    if (!PROTOCOLS.includes(p)) fail(`unknown protocol "${p}"; use ${PROTOCOLS.join(", ")}`);
  }
  const name = args.name ?? "eval";
  const t0 = performance.now();
  const { reportPath, resultsPath } = await runEval({
    checkpoints,
    benches: args.bench,
    heldOut: args.heldout,
    trainText: args["train-text"],
    out: args.out ?? `runs/${name}`,
    name,
    builtin: !args["no-builtin"],
    items: num(args.items, "items", 1000, POSITIVE),
    limit: num(args.limit, "limit", 0, COUNT),
    probe: num(args.probe, "probe", 200, COUNT),
    protocols,
    shots: num(args.shots, "shots", 0, COUNT),
    genTokens: num(args["gen-tokens"], "gen-tokens", 3, POSITIVE),
    paperRuns: num(args["paper-runs"], "paper-runs", 10, POSITIVE),
    paperTemperature: num(args["paper-temperature"], "paper-temperature", 1, { min: 0 }),
    atlas: args.atlas,
    seed,
    merge,
  });
  console.log(
    `eval: wrote ${resultsPath} and ${reportPath} ` +
      `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  console.log(`eval: peak memory: ${formatPeakMemory(peakMemory())}`);
}

try {
  await main();
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(1);
} finally {
  stopWatchdog();
}
