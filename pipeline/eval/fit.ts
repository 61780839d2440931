// Whether a multiple-choice item's prompt fits a model's context whole under every protocol
// (zero-shot): the generative prompt plus the generated tokens (the paper's 1-token prompt is the
// same text with fewer tokens), the letter prompt with its longest " A".." D" continuation, and
// the loglik question with its longest option. Built-in benchmarks keep only items that fit (the
// rest are skipped and counted), so nothing is cut when they are scored.

import type { McItem } from "./items.ts";
import type { TextCodec } from "./model.ts";
import { harnessLetterPrompt, letterContinuations } from "./prompts.ts";
import { DEFAULT_GEN_TOKENS, generativePrompt, loglikContext } from "./protocols.ts";

/** True when no protocol would drop any of the item's prompt in `context` tokens. */
export function promptFits(
  it: McItem,
  codec: TextCodec,
  context: number,
  genTokens = DEFAULT_GEN_TOKENS,
): boolean {
  const len = (s: string) => codec.encode(s).length;
  if (len(generativePrompt(it)) > context - genTokens + 1) return false;
  const letter = Math.max(...letterContinuations(it).map(len));
  if (len(harnessLetterPrompt(it)) + letter > context) return false;
  return len(loglikContext(it)) + Math.max(...it.choices.map((c) => len(" " + c))) <= context;
}

/** An item fits every model (codec and context) of a run. */
export function fitsAll(
  models: { codec: TextCodec; context: number }[],
  genTokens = DEFAULT_GEN_TOKENS,
): (it: McItem) => boolean {
  return (it) => models.every((m) => promptFits(it, m.codec, m.context, genTokens));
}
