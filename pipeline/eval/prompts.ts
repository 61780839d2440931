// Every prompt text the multiple-choice protocols build, as pure functions of an item:
//  - formatMcPrompt: the MMLU-style prompt of the paper (`Question: q\nOptions: A) a B) b\nAnswer:`),
//    also the one the training-mix generator reuses so the model sees the format it is tested on;
//  - the paper's other formats (ARC / CommonsenseQA options one per line, BoolQ True/False);
//  - lm-evaluation-harness formats: `mmlu` (letters: `q\nA. a\nB. b\nAnswer:`, scored " A"..),
//    `mmlu_continuation` (`Question: q\nAnswer:`, scored " <option>"), the subject header line
//    and few-shot examples joined by a blank line;
//  - fitShots: header + as many shots as fit + the item (shots dropped first, then the header),
//    never cutting the item itself.

import { LETTERS, type McItem } from "./items.ts";
import type { TextCodec } from "./model.ts";

/**
 * The MMLU-style multiple-choice prompt, options on one line:
 * `Question: {q}\nOptions: A) {a} B) {b} C) {c} D) {d}\nAnswer:` (the paper's MMLU format).
 * `labels` defaults to A, B, C, ...
 */
export function formatMcPrompt(question: string, choices: string[], labels?: string[]): string {
  const opts = choices.map((c, i) => `${labels?.[i] ?? LETTERS[i]}) ${c}`).join(" ");
  return `Question: ${question}\nOptions: ${opts}\nAnswer:`;
}

/** The paper's ARC / CommonsenseQA prompt: `Question: q\nOptions:\nA) a\nB) b\nAnswer:`. */
export function formatMcPromptLines(
  question: string,
  choices: string[],
  labels?: string[],
): string {
  const opts = choices.map((c, i) => `${labels?.[i] ?? LETTERS[i]}) ${c}`).join("\n");
  return `Question: ${question}\nOptions:\n${opts}\nAnswer:`;
}

/** The paper's BoolQ prompt; the answer is `T` or `F`. */
export function formatBoolqPrompt(passage: string, question: string): string {
  return `Context: ${passage}\nQuestion: ${question}\nAnswer (True/False):`;
}

/** How the paper lays out a benchmark's prompt (by benchmark kind). */
export type PromptStyle = "mmlu" | "arc" | "boolq";

/** The labels an item is answered with (its own, e.g. ARC "1".."4", else A, B, C...). */
export function itemLabels(it: McItem): string[] {
  return it.labels ?? it.choices.map((_, i) => LETTERS[i]);
}

/** The paper's prompt for an item of a benchmark laid out in `style`. */
export function paperPrompt(it: McItem, style: PromptStyle): string {
  if (style === "boolq") return formatBoolqPrompt(it.passage ?? "", it.question);
  if (style === "arc") return formatMcPromptLines(it.question, it.choices, itemLabels(it));
  return formatMcPrompt(it.question, it.choices);
}

/** lm-evaluation-harness `mmlu` default: `{q.strip()}\nA. a\nB. b\n...\nAnswer:`. */
export function harnessLetterPrompt(it: McItem): string {
  const opts = it.choices.map((c, i) => `${LETTERS[i]}. ${c}\n`).join("");
  const p = `${it.question.trim()}\n${opts}Answer:`;
  return it.passage ? `${it.passage.trim()}\n${p}` : p;
}

/** The continuations the letter protocol scores: " A", " B", ... */
export function letterContinuations(it: McItem): string[] {
  return it.choices.map((_, i) => ` ${LETTERS[i]}`);
}

/** lm-evaluation-harness `mmlu_continuation` / `arc_easy` context: `Question: q\nAnswer:`. */
export function harnessContinuationPrompt(it: McItem): string {
  const q = `Question: ${it.question.trim()}\nAnswer:`;
  return it.passage ? `${it.passage.trim()}\n${q}` : q;
}

/** The harness's MMLU description line (the subject with underscores as spaces). */
export function subjectHeader(subject: string | undefined): string {
  if (!subject) return "";
  return `The following are multiple choice questions (with answers) about ${
    subject.replaceAll("_", " ")
  }.\n\n`;
}

/** A solved example: the prompt, a space and the answer (letter or option text). */
export function shotText(prompt: string, answer: string): string {
  return `${prompt} ${answer}`;
}

export interface FittedPrompt {
  ids: Int32Array;
  /** Shots kept (of those offered). */
  shots: number;
  /** Whether the header line was kept (it is dropped after every shot, before the item). */
  header: boolean;
}

/**
 * header(k) + the first k shots (each followed by a blank line) + the item prompt, for the
 * largest k <= shots.length whose tokens fit `budget`; shots are dropped first, then the
 * header, the item is never cut: null when the item alone does not fit (the caller skips it).
 */
export function fitShots(
  codec: TextCodec,
  header: string | ((shots: number) => string),
  shots: string[],
  item: string,
  budget: number,
): FittedPrompt | null {
  const head = (k: number) => (typeof header === "string" ? header : header(k));
  for (let k = shots.length; k >= 0; k--) {
    const text = head(k) + shots.slice(0, k).map((s) => s + "\n\n").join("") + item;
    const ids = codec.encode(text);
    if (ids.length <= budget) return { ids, shots: k, header: head(k) !== "" };
  }
  // the header goes last, before the item is given up
  const ids = codec.encode(item);
  return head(0) !== "" && ids.length <= budget ? { ids, shots: 0, header: false } : null;
}
