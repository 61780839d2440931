// Whether a multiple-choice item's prompt fits a model's context whole under both protocols:
// the generative prompt plus the generated tokens, and the loglik question with its longest
// option. Built-in benchmarks keep only items that fit (the rest are skipped and counted), so
// nothing is cut when they are scored.

import type { McItem } from "./items.ts";
import type { TextCodec } from "./model.ts";
import { generativePrompt, loglikContext } from "./protocols.ts";

/** True when neither protocol would drop any of the item's prompt in `context` tokens. */
export function promptFits(it: McItem, codec: TextCodec, context: number, genTokens = 1): boolean {
  if (codec.encode(generativePrompt(it)).length > context - genTokens + 1) return false;
  const question = codec.encode(loglikContext(it)).length;
  const longest = Math.max(...it.choices.map((c) => codec.encode(" " + c).length));
  return question + longest <= context;
}

/** An item fits every model (codec and context) of a run. */
export function fitsAll(
  models: { codec: TextCodec; context: number }[],
  genTokens = 1,
): (it: McItem) => boolean {
  return (it) => models.every((m) => promptFits(it, m.codec, m.context, genTokens));
}
