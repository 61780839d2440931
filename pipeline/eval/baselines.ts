// Question-blind baselines of a multiple-choice benchmark: pickers that never read the
// question, so a benchmark they solve measures its construction, not a model. Always the
// shortest option, always the longest (characters; ties go to the first option, like the
// protocols' argmax), always the most frequent answer letter, and a unigram language model
// fit on the training text that scores only the options (the summed log-probability of each
// option's tokens, as the loglik protocol sums a model's). The report prints them beside the
// models and flags a benchmark where one comes within FLAG_POINTS of the best model.

import type { McItem } from "./items.ts";
import type { ModelResult } from "./evaluate.ts";

export interface BlindBaselines {
  bench: string;
  n: number;
  chance: number;
  shortest: number;
  longest: number;
  topLetter: number;
  /** Absent when no training text (or tokenizer) was available to fit the unigram model. */
  unigram?: number;
}

/** A benchmark is flagged when a blind baseline is within this many points of the best model. */
export const FLAG_POINTS = 3;

function argBest(xs: number[], better: (a: number, b: number) => boolean): number {
  let k = 0;
  for (let i = 1; i < xs.length; i++) if (better(xs[i], xs[k])) k = i;
  return k;
}

/** Per item, the index of the shortest (or longest) option in code points; ties: the first. */
export function lengthPicks(items: McItem[], which: "shortest" | "longest"): number[] {
  const better = which === "shortest"
    ? (a: number, b: number) => a < b
    : (a: number, b: number) => a > b;
  return items.map((it) => argBest(it.choices.map((c) => [...c].length), better));
}

/** Accuracy of always answering the benchmark's most frequent answer position. */
export function topLetterAccuracy(items: McItem[]): number {
  const counts = new Map<number, number>();
  for (const it of items) counts.set(it.answer, (counts.get(it.answer) ?? 0) + 1);
  return items.length ? Math.max(...counts.values()) / items.length : 0;
}

/** A unigram model over token ids with add-one smoothing (one shared bucket for unseen ids). */
export interface Unigram {
  logProb(id: number): number;
}

export function fitUnigram(ids: ArrayLike<number>): Unigram {
  const counts = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) counts.set(ids[i], (counts.get(ids[i]) ?? 0) + 1);
  const denom = Math.log(ids.length + counts.size + 1);
  return { logProb: (id) => Math.log((counts.get(id) ?? 0) + 1) - denom };
}

/** Per item, the option whose " option" tokens have the highest summed unigram log-probability. */
export function unigramPicks(
  items: McItem[],
  encode: (s: string) => ArrayLike<number>,
  uni: Unigram,
): number[] {
  return items.map((it) =>
    argBest(
      it.choices.map((c) => Array.from(encode(" " + c)).reduce((s, id) => s + uni.logProb(id), 0)),
      (a, b) => a > b,
    )
  );
}

export function accuracy(items: McItem[], picks: number[]): number {
  return items.length ? picks.filter((p, i) => p === items[i].answer).length / items.length : 0;
}

/** Every blind baseline of one benchmark (the unigram one when a tokenizer and model are given). */
export function blindBaselines(
  bench: string,
  items: McItem[],
  lm?: { encode: (s: string) => ArrayLike<number>; unigram: Unigram },
): BlindBaselines {
  const chance = items.reduce((s, it) => s + 1 / it.choices.length, 0) / Math.max(1, items.length);
  return {
    bench,
    n: items.length,
    chance,
    shortest: accuracy(items, lengthPicks(items, "shortest")),
    longest: accuracy(items, lengthPicks(items, "longest")),
    topLetter: topLetterAccuracy(items),
    ...(lm ? { unigram: accuracy(items, unigramPicks(items, lm.encode, lm.unigram)) } : {}),
  };
}

/** The best model score on a benchmark over models, protocols and accuracy metrics. */
export function bestModelScore(
  results: ModelResult[],
  bench: string,
): { score: number; label: string } | null {
  let best: { score: number; label: string } | null = null;
  for (const r of results) {
    const b = r.benches.find((x) => x.name === bench);
    for (const p of [b?.generative, b?.loglik]) {
      for (const [metric, iv] of Object.entries(p?.metrics ?? {})) {
        if (!best || iv.mean > best.score) {
          best = { score: iv.mean, label: `${r.name}, ${p!.protocol} ${metric}` };
        }
      }
    }
  }
  return best;
}

/** The best blind baseline of a row, with its name. */
export function bestBaseline(b: BlindBaselines): { score: number; name: string } {
  const all: [string, number | undefined][] = [
    ["always shortest", b.shortest],
    ["always longest", b.longest],
    ["most frequent letter", b.topLetter],
    ["unigram LM", b.unigram],
  ];
  return all.filter((x): x is [string, number] => x[1] !== undefined)
    .reduce((a, [name, score]) => (score > a.score ? { score, name } : a), {
      score: -1,
      name: "",
    });
}

/** Whether a blind baseline comes within FLAG_POINTS of (or above) the best model. */
export function flagged(b: BlindBaselines, results: ModelResult[]): boolean {
  const best = bestModelScore(results, b.bench);
  return best !== null && bestBaseline(b).score >= best.score - FLAG_POINTS / 100;
}

const pct = (x: number | undefined) => (x === undefined ? "-" : `${(100 * x).toFixed(1)}%`);

/** The report section: one row per benchmark, the best model beside, flags named below. */
export function baselinesSection(baselines: BlindBaselines[], results: ModelResult[]): string[] {
  if (!baselines.length) return [];
  const md = ["## Question-blind baselines", ""];
  md.push("Accuracy of pickers that never read the question: the shortest or longest option");
  md.push("(characters; ties to the first), the most frequent answer letter, and a unigram");
  md.push("language model fit on the training text scoring only the options. A benchmark is");
  md.push(`flagged when one of them comes within ${FLAG_POINTS} points of the best model.`, "");
  md.push(
    "| benchmark | n | chance | always shortest | always longest | most frequent letter | " +
      "unigram LM | best model | flag |",
  );
  md.push("|---|---|---|---|---|---|---|---|---|");
  const flags: string[] = [];
  for (const b of baselines) {
    const best = bestModelScore(results, b.bench);
    const flag = flagged(b, results);
    if (flag) {
      const base = bestBaseline(b);
      flags.push(
        `${b.bench}: ${base.name} scores ${pct(base.score)} against the best model's ` +
          `${pct(best!.score)} (${best!.label})`,
      );
    }
    md.push(
      `| ${b.bench} | ${b.n} | ${pct(b.chance)} | ${pct(b.shortest)} | ${pct(b.longest)} | ` +
        `${pct(b.topLetter)} | ${pct(b.unigram)} | ` +
        `${best ? `${pct(best.score)} (${best.label})` : "-"} | ${flag ? "**flagged**" : ""} |`,
    );
  }
  md.push("");
  if (flags.length) {
    md.push("Flagged: these benchmarks do not show that the models read the question.", "");
    md.push(...flags.map((f) => `- ${f}`), "");
  }
  return md;
}
