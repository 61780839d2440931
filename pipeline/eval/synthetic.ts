// Synthetic MMLU-format benchmark folders for scale tests and benchmarks: the real layout
// (`data/test/<subject>_test.csv`, `data/dev/<subject>_dev.csv`, hendrycks CSV rows
// `question,A,B,C,D,answer`, no header), the real 57 subject names and test sizes (14,042 items in
// all), and question / option lengths drawn from log-normal distributions whose medians and tails
// approximate the real set's (long passages for law, history and the moral scenarios, short
// questions elsewhere). The text is seeded pseudo-English from a fixed word list: only its length
// and shape matter (for memory and speed), never its meaning. Pure functions plus a CLI:
//   deno run -A pipeline/eval/synthetic.ts --out <dir> [--items 14042] [--subjects 57] [--seed 1]

import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../../core/safetensors.ts";
import { LETTERS, type McItem } from "./items.ts";
import { randInt, seededRandom } from "../../core/rng.ts";

/** MMLU's 57 subjects and their test-split sizes (hendrycks/test, 14,042 items in all). */
export const MMLU_SUBJECTS: readonly (readonly [string, number])[] = [
  ["abstract_algebra", 100],
  ["anatomy", 135],
  ["astronomy", 152],
  ["business_ethics", 100],
  ["clinical_knowledge", 265],
  ["college_biology", 144],
  ["college_chemistry", 100],
  ["college_computer_science", 100],
  ["college_mathematics", 100],
  ["college_medicine", 173],
  ["college_physics", 102],
  ["computer_security", 100],
  ["conceptual_physics", 235],
  ["econometrics", 114],
  ["electrical_engineering", 145],
  ["elementary_mathematics", 378],
  ["formal_logic", 126],
  ["global_facts", 100],
  ["high_school_biology", 310],
  ["high_school_chemistry", 203],
  ["high_school_computer_science", 100],
  ["high_school_european_history", 165],
  ["high_school_geography", 198],
  ["high_school_government_and_politics", 193],
  ["high_school_macroeconomics", 390],
  ["high_school_mathematics", 270],
  ["high_school_microeconomics", 238],
  ["high_school_physics", 151],
  ["high_school_psychology", 545],
  ["high_school_statistics", 216],
  ["high_school_us_history", 204],
  ["high_school_world_history", 237],
  ["human_aging", 223],
  ["human_sexuality", 131],
  ["international_law", 121],
  ["jurisprudence", 108],
  ["logical_fallacies", 163],
  ["machine_learning", 112],
  ["management", 103],
  ["marketing", 234],
  ["medical_genetics", 100],
  ["miscellaneous", 783],
  ["moral_disputes", 346],
  ["moral_scenarios", 895],
  ["nutrition", 306],
  ["philosophy", 311],
  ["prehistory", 324],
  ["professional_accounting", 282],
  ["professional_law", 1534],
  ["professional_medicine", 272],
  ["professional_psychology", 612],
  ["public_relations", 110],
  ["security_studies", 245],
  ["sociology", 201],
  ["us_foreign_policy", 100],
  ["virology", 166],
  ["world_religions", 171],
];

/** Subjects whose questions are long passages (a reading, a case, two scenarios). */
const LONG = /history|law|professional_medicine|moral_scenarios|security_studies|accounting/;

const WORDS = ("the of and to a in is that for it as was with be by on not he this are or his " +
  "from at which but have an they you were her she there been one all we their has would when " +
  "what if will who more no out so can said up about into them than its time only could new " +
  "these two may first then do any like my now over such our man me even most made after also " +
  "did many before must through back years where much your way well down should because each " +
  "just those people how too little state good very make world still own see men work long get " +
  "here between both life being under never day same another know while last might us great " +
  "old year off come since against go came right used take three states himself few house use " +
  "during without again place american around however home small found thought went say part " +
  "once general high upon school every government following statement function equation energy " +
  "patient court defendant plaintiff economy market demand supply cell protein theory variable")
  .split(" ");

/** Standard normal from two uniforms (Box-Muller). */
function gauss(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Seeded pseudo-English of about `chars` characters (at least one word). */
function text(rand: () => number, chars: number): string {
  const words: string[] = [];
  let n = 0;
  while (n < chars || words.length === 0) {
    let w = WORDS[randInt(rand, WORDS.length)];
    const r = rand(); // punctuation the CSV must quote: commas, double quotes, a line break
    if (r < 0.06) w += ",";
    else if (r < 0.07) w = `"${w}"`;
    else if (r < 0.072) w += "\n";
    words.push(w);
    n += w.length + 1;
  }
  const s = words.join(" ");
  return s[0].toUpperCase() + s.slice(1);
}

/** A log-normal length with this median and spread, clamped to [lo, hi]. */
function lengthDraw(rand: () => number, median: number, sigma: number, lo: number, hi: number) {
  return Math.round(Math.min(hi, Math.max(lo, median * Math.exp(sigma * gauss(rand)))));
}

/** One synthetic four-option item of `subject` (answer letter uniform). */
export function synthItem(rand: () => number, subject: string, k: number): McItem {
  const long = LONG.test(subject);
  const qLen = long ? lengthDraw(rand, 700, 0.5, 150, 4000) : lengthDraw(rand, 110, 0.8, 15, 1500);
  const oMed = long ? 70 : 22;
  const choices = [0, 1, 2, 3].map(() => text(rand, lengthDraw(rand, oMed, 0.8, 1, 600)));
  const q = text(rand, qLen) + (rand() < 0.5 ? "?" : ".");
  return {
    id: `mmlu/${subject}/${k}`,
    question: q,
    choices,
    answer: randInt(rand, 4),
    subject,
    source: `synthetic:${subject}:${k}`,
  };
}

/**
 * How many test items each of the first `subjects` MMLU subjects gets so that they total
 * `items`: the real sizes when they already do (all 57 subjects, 14,042 items), else in
 * proportion to them (largest remainder), every subject at least one item.
 */
export function subjectSizes(items: number, subjects: number): [string, number][] {
  if (!Number.isInteger(subjects) || subjects < 1 || subjects > MMLU_SUBJECTS.length) {
    throw new Error(`synthetic: --subjects must be 1..${MMLU_SUBJECTS.length}, got ${subjects}`);
  }
  if (!Number.isInteger(items) || items < subjects) {
    throw new Error(`synthetic: --items must be an integer >= --subjects (${subjects})`);
  }
  const chosen = MMLU_SUBJECTS.slice(0, subjects);
  const total = chosen.reduce((s, [, n]) => s + n, 0);
  const exact = chosen.map(([, n]) => (items * n) / total);
  const sizes = exact.map(Math.floor);
  let rest = items - sizes.reduce((s, x) => s + x, 0);
  const byFraction = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0]);
  for (const [, i] of byFraction) {
    if (rest-- <= 0) break;
    sizes[i]++;
  }
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] > 0) continue; // a subject left empty borrows from the largest
    sizes[sizes.indexOf(Math.max(...sizes))]--;
    sizes[i] = 1;
  }
  return chosen.map(([name], i) => [name, sizes[i]]);
}

/** One CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Items as hendrycks CSV text (no header). */
export function toMmluCsv(items: McItem[]): string {
  return items.map((it) =>
    [it.question, ...it.choices, LETTERS[it.answer]].map(csvField).join(",") + "\n"
  ).join("");
}

/** Every file of a synthetic MMLU folder: relative path -> CSV text (5 dev items a subject). */
export function synthMmluFiles(items: number, subjects: number, seed = 1): Map<string, string> {
  const rand = seededRandom(seed);
  const files = new Map<string, string>();
  for (const [subject, n] of subjectSizes(items, subjects)) {
    const test = Array.from({ length: n }, (_, k) => synthItem(rand, subject, k));
    const dev = Array.from({ length: 5 }, (_, k) => synthItem(rand, subject, k));
    files.set(join("data", "test", `${subject}_test.csv`), toMmluCsv(test));
    files.set(join("data", "dev", `${subject}_dev.csv`), toMmluCsv(dev));
  }
  return files;
}

/** Write a synthetic MMLU folder under `out` (each file atomically). */
export async function writeSynthMmlu(out: string, items: number, subjects: number, seed = 1) {
  const files = synthMmluFiles(items, subjects, seed);
  await Deno.mkdir(join(out, "data", "test"), { recursive: true });
  await Deno.mkdir(join(out, "data", "dev"), { recursive: true });
  for (const [rel, csv] of files) {
    await writeFileAtomic(join(out, rel), csv);
  }
  return files.size / 2;
}

if (import.meta.main) {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string" },
      items: { type: "string", default: "14042" },
      subjects: { type: "string", default: "57" },
      seed: { type: "string", default: "1" },
    },
  });
  if (!a.out) {
    console.error(
      "synthetic: give --out <dir> (usage: deno run -A pipeline/eval/synthetic.ts --out <dir> " +
        "[--items 14042] [--subjects 57] [--seed 1])",
    );
    Deno.exit(2);
  }
  try {
    const n = await writeSynthMmlu(a.out, Number(a.items), Number(a.subjects), Number(a.seed));
    console.log(`synthetic: wrote ${a.items} test items over ${n} subjects under ${a.out}`);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
}
