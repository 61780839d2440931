// Tokenizer speed: encode and decode MB/s (UTF-8 bytes of the input text) of our tokenizer
// ("2-3" and "max", built from the first 90% of each language) against gpt-tokenizer's o200k,
// measured in the same run on the same multilingual held-out text (last 10% per language).
// Usage: deno task bench tokenizer [--json] [--repeats N]

import { parseArgs } from "node:util";
import { decode as gptDecode, encode as gptEncode } from "gpt-tokenizer/encoding/o200k_base";
import { allLanguages, splitHeldOut } from "../pipeline/tokenizer/corpus.ts";
import { buildTokenizer, decode, encode } from "../pipeline/tokenizer/mod.ts";

const { values } = parseArgs({
  args: Deno.args.filter((a) => a !== "tokenizer"),
  options: { json: { type: "boolean", default: false }, repeats: { type: "string", default: "5" } },
});
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) {
  throw new Error(`bench tokenizer: --repeats must be a positive integer, got ${values.repeats}`);
}

/** Median seconds of `repeats` timed calls after one warm-up call. */
function time(f: () => unknown): number {
  f();
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    f();
    t.push((performance.now() - t0) / 1000);
  }
  return t.sort((a, b) => a - b)[Math.floor(t.length / 2)];
}

const langs = await allLanguages();
const train = langs.flatMap((l) => splitHeldOut(l).train);
const text = langs.map((l) => splitHeldOut(l).heldOut.join("\n")).join("\n");
const mb = new TextEncoder().encode(text).length / 1e6;
const fig: Record<string, number | string> = {
  text_mb: +mb.toFixed(3),
  text_chars: text.length,
  languages: langs.map((l) => l.lang).join(","),
};
for (const variant of ["2-3", "max"] as const) {
  const tok = buildTokenizer(train, { variant });
  const ids = encode(tok, text);
  if (decode(tok, ids) !== text) throw new Error(`bench tokenizer: ${variant} round trip failed`);
  fig[`ours_${variant}_tokens`] = ids.length;
  fig[`ours_${variant}_encode_mb_s`] = +(mb / time(() => encode(tok, text))).toFixed(2);
  fig[`ours_${variant}_decode_mb_s`] = +(mb / time(() => decode(tok, ids))).toFixed(2);
}
const gids = gptEncode(text);
if (gptDecode(gids) !== text) throw new Error("bench tokenizer: gpt-tokenizer round trip failed");
fig.o200k_tokens = gids.length;
fig.o200k_encode_mb_s = +(mb / time(() => gptEncode(text))).toFixed(2);
fig.o200k_decode_mb_s = +(mb / time(() => gptDecode(gids))).toFixed(2);
for (const v of ["2-3", "max"]) {
  fig[`ours_${v}_encode_vs_o200k`] = +(
    (fig[`ours_${v}_encode_mb_s`] as number) / (fig.o200k_encode_mb_s as number)
  ).toFixed(2);
}
if (values.json) console.log(JSON.stringify(fig));
else {
  console.log(
    `tokenizer bench: ${fig.text_mb} MB held-out text (${fig.languages}), ` +
      `median of ${repeats} runs (provisional: shared machine)`,
  );
  console.log("tokenizer        encode MB/s  decode MB/s  tokens");
  for (
    const [name, key] of [["ours 2-3", "ours_2-3"], ["ours max", "ours_max"], ["o200k", "o200k"]]
  ) {
    console.log(
      `${name.padEnd(16)} ${String(fig[`${key}_encode_mb_s`]).padStart(11)}  ` +
        `${String(fig[`${key}_decode_mb_s`]).padStart(11)}  ${fig[`${key}_tokens`]}`,
    );
  }
  console.log(
    `encode vs o200k: 2-3 ${fig["ours_2-3_encode_vs_o200k"]}x, ` +
      `max ${fig["ours_max_encode_vs_o200k"]}x`,
  );
}
