// The one multiple-choice item shape every benchmark loader and builder produces, plus the
// small checks that make a malformed item an error with its file and line.

export interface McItem {
  /** Stable id, e.g. "mmlu/anatomy/12" or "wordnet/n/00001740". */
  id: string;
  question: string;
  choices: string[];
  /** Index of the correct choice. */
  answer: number;
  subject?: string;
  /** Where the item came from, "file:line". */
  source: string;
  /** Text that must not occur in training data (defaults to question + " " + answer text). */
  key?: string;
  /** The labels the item shows its choices with, when not A, B, C... (ARC "1".."4", BoolQ T/F). */
  labels?: string[];
  /** Reading passage (BoolQ). */
  passage?: string;
}

/** A loaded benchmark: items plus every row that could not be read, with file:line and why. */
export interface Bench {
  name: string;
  items: McItem[];
  problems: string[];
  /** How the paper lays out its prompt: MMLU (options on one line, default), ARC, BoolQ. */
  style?: "mmlu" | "arc" | "boolq";
  /** Solved examples for few-shot prompts (MMLU's dev split), by subject. */
  dev?: Record<string, McItem[]>;
}

/** Returns why an item is unusable, or null when it is fine. */
export function itemProblem(it: McItem): string | null {
  if (typeof it.question !== "string" || it.question.trim() === "") return "empty question";
  if (!Array.isArray(it.choices) || it.choices.length < 2) return "fewer than 2 choices";
  for (const [i, c] of it.choices.entries()) {
    if (typeof c !== "string" || c.trim() === "") return `choice ${i} is empty`;
  }
  if (!Number.isInteger(it.answer) || it.answer < 0 || it.answer >= it.choices.length) {
    return `answer ${it.answer} is not a choice index 0..${it.choices.length - 1}`;
  }
  return null;
}

/** Built items, how many were asked for, and how many candidates were skipped and why. */
export interface BuiltItems {
  items: McItem[];
  wanted: number;
  skipped: Record<string, number>;
}

export const LETTERS = "ABCDEFGHIJ";

/** The text an overlap check looks for. */
export function itemKey(it: McItem): string {
  return it.key ?? `${it.question} ${it.choices[it.answer]}`;
}
