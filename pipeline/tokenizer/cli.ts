// Command line for the tokenizer: build one from text files (or the Debian sample corpus),
// inspect it, encode/decode text, export Hugging Face tokenizer.json.
//   deno run -A pipeline/tokenizer/cli.ts build --variant 2-3 --out tok.json [files... | --sample]
//   deno run -A pipeline/tokenizer/cli.ts build --layout bvv241 --ngrams _n-gramms-2-3.txt \
//     --out tok.json        (the author's ids; max: add --shared _n-gramms-intersection.txt)
//   deno run -A pipeline/tokenizer/cli.ts info tok.json
//   deno run -A pipeline/tokenizer/cli.ts encode tok.json "some text"   (or text on stdin)
//   deno run -A pipeline/tokenizer/cli.ts decode tok.json 72 101 ...
//   deno run -A pipeline/tokenizer/cli.ts export-hf tok.json <folder>   (tokenizer.json,
//     tokenizer_config.json, special_tokens_map.json; a path ending in .json: tokenizer.json only)

import { parseArgs } from "node:util";
import { writeFileAtomic } from "../../core/safetensors.ts";
import { buildTokenizer } from "./build.ts";
import { loadAuthorTokenizer } from "./author_ngrams.ts";
import { allLanguages, splitHeldOut } from "./corpus.ts";
import { decode } from "./decode.ts";
import { encode } from "./encode.ts";
import { utf8ToText } from "./fallback.ts";
import { writeHfTokenizer } from "./hf.ts";
import { exportHuggingFace, loadTokenizer, saveTokenizer, tokenizerHash } from "./io.ts";

const USAGE = "usage: cli.ts build|info|encode|decode|export-hf ... (see the header of cli.ts)";

async function readText(path: string): Promise<string> {
  try {
    return utf8ToText(await Deno.readFile(path), path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`tokenizer: no such file ${path}`);
    throw e;
  }
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      variant: { type: "string", default: "2-3" },
      "per-script": { type: "string" },
      "min-count": { type: "string" },
      production: { type: "boolean" },
      "no-production": { type: "boolean" },
      sample: { type: "boolean", default: false },
      out: { type: "string" },
      layout: { type: "string", default: "glyphgrad" },
      ngrams: { type: "string" },
      shared: { type: "string" },
    },
  });
  const [cmd, ...rest] = positionals;
  const num = (s: string | undefined) => s === undefined ? undefined : Number(s);
  if (cmd === "build") {
    if (!values.out) throw new Error("tokenizer build: --out <file.json> is required");
    if (values.variant !== "2-3" && values.variant !== "max") {
      throw new Error(`tokenizer build: --variant must be 2-3 or max, got ${values.variant}`);
    }
    if (values.layout === "bvv241") {
      if (!values.ngrams) throw new Error("tokenizer build: --layout bvv241 needs --ngrams <file>");
      const tok = await loadAuthorTokenizer(values.variant, values.ngrams, values.shared ?? "");
      await saveTokenizer(values.out, tok);
      console.log(
        `${values.out}: ${tok.tokens.length} multi-character tokens, ` +
          `${tok.merges.length / 3} merges, ${tok.meta.dropped} dropped, hash ${
            tokenizerHash(tok)
          }`,
      );
      return;
    }
    if (values.layout !== "glyphgrad") {
      throw new Error(
        `tokenizer build: --layout must be glyphgrad or bvv241, got ${values.layout}`,
      );
    }
    const docs = values.sample
      ? (await allLanguages()).flatMap((l) => splitHeldOut(l).train)
      : await Promise.all(rest.map(readText));
    if (docs.length === 0) throw new Error("tokenizer build: give text files or --sample");
    const tok = buildTokenizer(docs, {
      variant: values.variant,
      perScript: num(values["per-script"]),
      minCount: num(values["min-count"]),
      productionVocabs: values.production ? true : values["no-production"] ? false : undefined,
    });
    await saveTokenizer(values.out, tok);
    console.log(
      `${values.out}: ${tok.tokens.length} multi-character tokens, hash ${tokenizerHash(tok)}`,
    );
  } else if (cmd === "info") {
    const tok = await loadTokenizer(rest[0] ?? "");
    const byLen = new Map<number, number>();
    for (const t of tok.tokens) byLen.set(t.length, (byLen.get(t.length) ?? 0) + 1);
    console.log(JSON.stringify(
      {
        variant: tok.variant,
        layout: tok.layout,
        vocabSize: tok.vocabSize,
        hash: tokenizerHash(tok),
        multiTokens: tok.tokens.length,
        merges: tok.merges.length / 3,
        tokensByLength: Object.fromEntries([...byLen].sort((a, b) => a[0] - b[0])),
        firstTokens: tok.tokens.slice(0, 20),
        meta: tok.meta,
      },
      null,
      2,
    ));
  } else if (cmd === "encode") {
    const tok = await loadTokenizer(rest[0] ?? "");
    const text = rest.length > 1
      ? rest.slice(1).join(" ")
      : utf8ToText(new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()), "stdin");
    console.log(JSON.stringify([...encode(tok, text)]));
  } else if (cmd === "decode") {
    const tok = await loadTokenizer(rest[0] ?? "");
    console.log(decode(tok, rest.slice(1).map(Number), { invalid: "replace" }));
  } else if (cmd === "export-hf") {
    if (rest.length !== 2) throw new Error("tokenizer export-hf: give <tok.json> <out folder>");
    const tok = await loadTokenizer(rest[0]);
    if (rest[1].endsWith(".json")) {
      await writeFileAtomic(rest[1], JSON.stringify(exportHuggingFace(tok)));
    } else {
      await Deno.mkdir(rest[1], { recursive: true });
      await writeHfTokenizer(rest[1], tok);
    }
    console.log(`wrote ${rest[1]}`);
  } else {
    throw new Error(`tokenizer: unknown command "${cmd ?? ""}"; ${USAGE}`);
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
