// The paper's own multiple-choice protocol, as the author's `_models_benchmarking.py`
// (AVBochkov/PGT) runs it, as the named variant "paper":
//  - prompts by benchmark kind: MMLU options on one line (`Options: A) a B) b ...`), ARC and
//    CommonsenseQA one per line with the item's own labels, BoolQ `Answer (True/False):`;
//  - new tokens: 1 for MMLU and BoolQ, 2 for ARC / CommonsenseQA, no shots, never cut
//    (an item whose prompt cannot fit the context is skipped and counted);
//  - the answer: decode(prompt ids + new ids) without "<s>", then `[len(prompt):]` in code
//    points, strip, upper-case, first character, compared with the label (BoolQ: T / F);
//  - `runs` sampled decodings (the model's own `generate` samples: its figures vary run to run;
//    temperature 1, no top-k here), per-run accuracy, and the author's interval
//    1.96 * std / sqrt(runs) (numpy std, decoding noise only), reported beside the bootstrap
//    interval over items of each item's share of right runs.

import {
  chanceLevel,
  continuePrompts,
  type ProtocolResult,
  type ScoreOptions,
} from "./protocols.ts";
import type { McItem } from "./items.ts";
import type { ScoringModel, TextCodec } from "./model.ts";
import { itemLabels, paperPrompt, type PromptStyle } from "./prompts.ts";
import { sampleNext } from "./generate.ts";
import { seededRandom } from "../../core/rng.ts";
import { bootstrapCI } from "./stats.ts";

export interface PaperOptions extends ScoreOptions {
  style?: PromptStyle;
  /** Sampled decodings of the whole benchmark (the paper: 10). */
  runs?: number;
  /** Sampling temperature (0 = greedy: every run is the same). */
  temperature?: number;
  topK?: number;
}

/** Tokens the paper generates for a benchmark kind. */
export function paperNewTokens(style: PromptStyle): number {
  return style === "arc" ? 2 : 1;
}

/** `decoded[len(prompt):].strip().upper()[:1]` of the author's script (code points). */
export function paperAnswer(prompt: string, decoded: string): string {
  const text = [...decoded.replaceAll("<s>", "")].slice([...prompt].length).join("");
  return [...text.trim().toUpperCase()][0] ?? "";
}

/** The author's interval over runs: mean, numpy std (population) and 1.96 * std / sqrt(runs). */
export function runInterval(accs: number[]): { mean: number; std: number; ci95: number } {
  const n = accs.length;
  const mean = accs.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { mean, std, ci95: 1.96 * std / Math.sqrt(n) };
}

export async function scorePaper(
  model: ScoringModel,
  codec: TextCodec,
  items: McItem[],
  opts: PaperOptions = {},
): Promise<ProtocolResult> {
  const style = opts.style ?? "mmlu";
  const newTokens = paperNewTokens(style);
  const runs = Math.max(1, opts.runs ?? 10);
  const temperature = opts.temperature ?? 1;
  const texts = items.map((it) => paperPrompt(it, style));
  const ids = texts.map((t) => codec.encode(t));
  const scored = ids.flatMap((p, i) => (p.length + newTokens - 1 <= model.context ? [i] : []));
  const right = new Float64Array(scored.length);
  const accs: number[] = [];
  const firstRun: number[] = [];
  for (let r = 0; r < runs; r++) {
    const rand = seededRandom((opts.seed ?? 0) * 1000003 + r);
    const gen = await continuePrompts(
      model,
      scored.map((i) => ids[i]),
      newTokens,
      (lp) => sampleNext(lp, temperature, opts.topK ?? 0, rand),
      () => false,
      opts.chunk,
    );
    let ok = 0;
    scored.forEach((i, k) => {
      const full = new Int32Array(ids[i].length + gen[k].length);
      full.set(ids[i]);
      full.set(gen[k], ids[i].length);
      const got = paperAnswer(texts[i], codec.decode(full));
      const labels = itemLabels(items[i]).map((l) => l.toUpperCase());
      if (r === 0) firstRun.push(got === "" ? -1 : labels.indexOf(got));
      if (got === labels[items[i].answer]) {
        ok++;
        right[k]++;
      }
    });
    accs.push(scored.length ? ok / scored.length : NaN);
  }
  const perItem = Array.from(right, (x) => x / runs);
  const n = scored.length;
  return {
    protocol: "paper",
    variant:
      `the author's script: ${style} prompt, ${newTokens} new token${
        newTokens > 1 ? "s" : ""
      }, ${runs} run${runs > 1 ? "s" : ""} ` +
      (temperature > 0 ? `sampled at temperature ${temperature}` : "greedy"),
    n,
    chance: chanceLevel(scored.map((i) => items[i])),
    metrics: { acc: bootstrapCI(perItem, { seed: opts.seed, resamples: opts.resamples }) },
    correct: { acc: perItem },
    predictions: firstRun,
    ...(n < items.length ? { scored } : {}),
    truncated: 0,
    skipped: (items.length - n) / Math.max(1, items.length),
    noLetter: firstRun.filter((p) => p < 0).length / Math.max(1, n),
    runs: { runs, temperature, accs, ...runInterval(accs) },
  };
}
