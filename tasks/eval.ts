// `deno task eval`: evaluate one or more checkpoints side by side (held-out LM metrics,
// multiple-choice benchmarks under each protocol: generative, loglik, loglik-letter, paper; our WordNet and cloze benchmarks, the
// semantic probe) and write results.json + report.md; or `--generate "prompt"` to sample text.

import { parseArgs } from "node:util";
import "../core/cpu/backend.ts";
import { setBackend } from "../core/backend.ts";
import { startWatchdog, stopWatchdog } from "../core/webgpu/watchdog.ts";
import { loadEvalModel } from "../pipeline/merge/load.ts";
import { generate } from "../pipeline/eval/generate.ts";
import { runEval } from "../pipeline/eval/run.ts";
import { type Protocol, PROTOCOLS } from "../pipeline/eval/evaluate.ts";
import { formatPeakMemory, peakMemory } from "../pipeline/eval/peak_memory.ts";

const USAGE = `usage: deno task eval --checkpoint <dir> [--checkpoint <dir2>]
  [--checkpoint a,b [--weights 0.5,0.5] [--merge-mode logits|logprobs|probs]] (a merge; or
  --checkpoint merge.json) [--allow-trainable-merge] (merge trainable-embedding experts anyway)
  [--bench mmlu:<dir|file.jsonl|file.parquet>] [--bench arc:<file>] [--bench csqa:<file>]
  [--bench boolq:<file.jsonl>] [--bench jsonl:<file>]
  [--heldout <file.txt|file.jsonl>] [--train-text <file>] [--out <dir>] [--name <run>]
  [--items 1000] [--limit N] [--probe 200] [--no-builtin]
  [--protocols generative,loglik,loglik-letter] (also: paper) [--shots 0] [--gen-tokens 3]
  [--paper-runs 10] [--paper-temperature 1] [--atlas <png>] [--seed 0]
  [--backend cpu|cpu-ref|webgpu]
  deno task eval --checkpoint <dir> --generate "prompt" [--max-new 200] [--temperature 0.8]
  [--top-k 40] [--seed 0] [--stop "\\n" (repeatable; also stops at </s>)]`;

function fail(msg: string): never {
  console.error(`eval: ${msg}\n${USAGE}`);
  Deno.exit(2);
}

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x)) fail(`--${name} must be a number, got "${v}"`);
  return x;
}

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
  const backend = args.backend ?? "cpu";
  if (backend === "webgpu") {
    await (await import("../core/webgpu/mod.ts")).initWebGPU();
    startWatchdog();
  } else if (backend !== "cpu" && backend !== "cpu-ref") fail(`unknown --backend "${backend}"`);
  setBackend(backend);
  const checkpoints = args.checkpoint ?? [];
  if (checkpoints.length === 0) fail("give at least one --checkpoint <dir>");
  const seed = num(args.seed, "seed", 0);
  const merge = {
    mergeWeights: args.weights === undefined
      ? []
      : args.weights.split(",").map((w) => num(w.trim(), "weights", NaN)),
    mergeMode: args["merge-mode"] ?? "logits",
    allowTrainableMerge: args["allow-trainable-merge"] ?? false,
  };

  if (args.generate !== undefined) {
    const m = await loadEvalModel(checkpoints[0], merge);
    const text = await generate(m.model, m.codec, args.generate, {
      maxNew: num(args["max-new"], "max-new", 200),
      temperature: num(args.temperature, "temperature", 0),
      topK: num(args["top-k"], "top-k", 0),
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
  const whole = (v: string | undefined, name: string, dflt: number, min: number) => {
    const x = num(v, name, dflt);
    if (!Number.isInteger(x) || x < min) fail(`--${name} must be a whole number >= ${min}`);
    return x;
  };
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
    items: num(args.items, "items", 1000),
    limit: num(args.limit, "limit", 0),
    probe: num(args.probe, "probe", 200),
    protocols,
    shots: whole(args.shots, "shots", 0, 0),
    genTokens: whole(args["gen-tokens"], "gen-tokens", 3, 1),
    paperRuns: whole(args["paper-runs"], "paper-runs", 10, 1),
    paperTemperature: num(args["paper-temperature"], "paper-temperature", 1),
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
