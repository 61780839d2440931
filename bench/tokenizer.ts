// Tokenizer speed: encode and decode MB/s (UTF-8 bytes of the input text) of our tokenizer
// ("2-3" and "max", built from the first 90% of each language) against gpt-tokenizer's o200k,
// measured in the same run on the same multilingual held-out text (last 10% per language).
// Usage: deno task bench tokenizer [--json] [--repeats N]

import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { decode as gptDecode, encode as gptEncode } from "gpt-tokenizer/encoding/o200k_base";
import { allLanguages, splitHeldOut } from "../pipeline/tokenizer/corpus.ts";
import { buildTokenizer, decode, encode } from "../pipeline/tokenizer/mod.ts";

// gpt-tokenizer's encode caches merged words as we do (encode.ts), so both are timed warm.

const { values } = parseArgs({
  args: Deno.args.filter((a) => a !== "tokenizer"),
  options: { json: { type: "boolean", default: false }, repeats: { type: "string", default: "5" } },
});
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) {
  throw new Error(`bench tokenizer: --repeats must be a positive integer, got ${values.repeats}`);
}

/** Wall-clock and process CPU seconds of one call (CPU time is steadier on a shared box). */
function once(f: () => unknown): [number, number] {
  const c0 = cpuUsage(), t0 = performance.now();
  f();
  const c = cpuUsage(c0);
  return [(performance.now() - t0) / 1000, (c.user + c.system) / 1e6];
}
const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];

const langs = await allLanguages();
const train = langs.flatMap((l) => splitHeldOut(l).train);
const text = langs.map((l) => splitHeldOut(l).heldOut.join("\n")).join("\n");
const mb = new TextEncoder().encode(text).length / 1e6;
const fig: Record<string, number | string> = {
  text_mb: +mb.toFixed(3),
  text_chars: text.length,
  languages: langs.map((l) => l.lang).join(","),
};
// Each case: [figure-name prefix, encode, decode, ids]; runs are interleaved across cases so
// that load from other processes on the shared machine hits every tokenizer alike.
const cases: [string, () => ArrayLike<number>, (ids: ArrayLike<number>) => string][] = [];
for (const variant of ["2-3", "max"] as const) {
  const tok = buildTokenizer(train, { variant });
  cases.push([`ours_${variant}`, () => encode(tok, text), (ids) => decode(tok, ids)]);
}
cases.push(["o200k", () => gptEncode(text), (ids) => gptDecode(ids as number[])]);
const ids = cases.map(([name, enc, dec]) => {
  const out = enc(); // also the warm-up
  if (dec(out) !== text) throw new Error(`bench tokenizer: ${name} round trip failed`);
  fig[`${name}_tokens`] = out.length;
  return out;
});
const times = cases.map(() => ({ enc: [] as [number, number][], dec: [] as [number, number][] }));
for (let r = 0; r < repeats; r++) {
  cases.forEach(([, enc, dec], k) => {
    times[k].enc.push(once(enc));
    times[k].dec.push(once(() => dec(ids[k])));
  });
}
cases.forEach(([name], k) => {
  const rate = (t: [number, number][], i: number) => +(mb / median(t.map((x) => x[i]))).toFixed(2);
  fig[`${name}_encode_mb_s`] = rate(times[k].enc, 0);
  fig[`${name}_decode_mb_s`] = rate(times[k].dec, 0);
  fig[`${name}_encode_mb_cpu_s`] = rate(times[k].enc, 1);
  fig[`${name}_decode_mb_cpu_s`] = rate(times[k].dec, 1);
});
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
  console.log(
    "tokenizer        encode MB/s  decode MB/s  (per CPU-second: encode  decode)  tokens",
  );
  for (
    const [name, key] of [["ours 2-3", "ours_2-3"], ["ours max", "ours_max"], ["o200k", "o200k"]]
  ) {
    console.log(
      `${name.padEnd(16)} ${String(fig[`${key}_encode_mb_s`]).padStart(11)}  ` +
        `${String(fig[`${key}_decode_mb_s`]).padStart(11)}  ` +
        `${String(fig[`${key}_encode_mb_cpu_s`]).padStart(23)}  ` +
        `${String(fig[`${key}_decode_mb_cpu_s`]).padStart(6)}  ${fig[`${key}_tokens`]}`,
    );
  }
  console.log(
    `encode vs o200k: 2-3 ${fig["ours_2-3_encode_vs_o200k"]}x, ` +
      `max ${fig["ours_max_encode_vs_o200k"]}x`,
  );
}
