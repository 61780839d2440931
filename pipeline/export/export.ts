// Export a train-stage checkpoint folder to the Hugging Face GPT-NeoX layout:
//   config.json             GPTNeoXForCausalLM config + a "glyphgrad" block (tokenizer, compact
//                           vocabulary, embedding mode) so `deno task eval` reads the folder back
//   model.safetensors       GPT-NeoX names and layouts (neox.ts)
//   tokenizer.json, tokenizer_config.json, special_tokens_map.json (model ids; tokenizer/hf.ts)
//   glyphgrad_tokenizer.json  glyphgrad's own tokenizer file (+ glyphgrad_vocab_ids.json)
//   generation_config.json, README.md (model card, card.ts)
// The folder is written under a temporary name beside --out and renamed when complete, so a
// failed export leaves nothing behind.

import { basename, dirname, join, resolve } from "node:path";
import { countParams, type GPTConfig } from "../../core/gpt.ts";
import { decodeSafetensors, encodeSafetensors } from "../../core/safetensors.ts";
import { sha256Hex } from "../hash.ts";
import { readCheckpointConfig } from "../train/checkpoint.ts";
import { BOS, EOS, loadTokenizer, PAD, tokenizerHash, tokenizerToJson } from "../tokenizer/mod.ts";
import { hfTokenizerFiles } from "../tokenizer/hf.ts";
import { type CardFacts, modelCard } from "./card.ts";
import { neoxConfig, toNeox } from "./neox.ts";

export const EXPORT_FORMAT = "glyphgrad-neox-export-1";
export const GLYPHGRAD_TOKENIZER = "glyphgrad_tokenizer.json";
/** Model id -> tokenizer id of a compact vocabulary (a JSON array). */
export const GLYPHGRAD_VOCAB = "glyphgrad_vocab_ids.json";

export interface ExportResult {
  out: string;
  files: string[];
  vocab: number;
  compact: boolean;
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

async function readJsonMaybe(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
}

/** Facts for the model card from the run folder around the checkpoint (best effort). */
async function cardFacts(ckpt: string, base: Omit<CardFacts, "sources" | "lm" | "benches">) {
  const run = resolve(ckpt, "../..");
  const facts: CardFacts = { ...base };
  const sources = await readJsonMaybe(join(run, "data/sources.json"));
  if (Array.isArray(sources)) facts.sources = sources as CardFacts["sources"];
  const table = await readJsonMaybe(join(run, "embed/table.json"));
  if (table && base.embedding === "frozen") facts.recipe = table.recipe as string;
  const results = await readJsonMaybe(join(run, "eval/results.json"));
  const mine = (results?.results as Record<string, unknown>[] | undefined)
    ?.find((r) => r.name === base.model);
  if (mine) {
    facts.lm = mine.lm as CardFacts["lm"];
    facts.benches = ((mine.benches ?? []) as Record<string, unknown>[]).map((b) => ({
      name: b.name as string,
      n: b.n as number,
      acc: ((b.loglik as Record<string, unknown>)?.metrics as Record<string, { mean: number }>)
        ?.acc?.mean,
    }));
  }
  return facts;
}

/** Export `ckpt` (a train-stage checkpoint folder) to `out` (must not exist yet). */
export async function exportCheckpoint(
  ckpt: string,
  out: string,
  opts: { format?: string } = {},
): Promise<ExportResult> {
  const format = opts.format ?? "neox";
  if (format !== "neox") throw new Error(`export: unknown --format "${format}"; use neox`);
  if (await exists(out)) {
    throw new Error(`export: ${out} already exists; remove it or choose another --out`);
  }
  if (!(await exists(dirname(resolve(out))))) {
    throw new Error(`export: the parent folder of ${out} does not exist; create it first`);
  }
  if (!(await exists(join(ckpt, "config.json")))) {
    throw new Error(
      `export: ${ckpt}/config.json not found; pass a train-stage checkpoint folder ` +
        "such as runs/small/train/paper-s0",
    );
  }
  const config = await readCheckpointConfig(ckpt);
  const gpt = config.gpt as GPTConfig;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(ckpt, "model.safetensors"));
  } catch {
    throw new Error(`export: cannot read ${ckpt}/model.safetensors; is the checkpoint complete?`);
  }
  if (config.files?.["model.safetensors"] !== await sha256Hex(bytes)) {
    throw new Error(
      `export: ${ckpt}/model.safetensors does not match the SHA-256 in its config.json ` +
        "(truncated or corrupt); restore it or train again",
    );
  }
  const { tensors } = decodeSafetensors(bytes, join(ckpt, "model.safetensors"));
  const vocabIds = tensors.vocab_ids?.data as Int32Array | undefined;
  const tok = await loadTokenizer(join(ckpt, config.tokenizer));
  if (vocabIds ? vocabIds.length !== gpt.vocab : tok.vocabSize !== gpt.vocab) {
    throw new Error(
      `export: the model has ${gpt.vocab} rows but its vocabulary has ` +
        `${vocabIds?.length ?? tok.vocabSize} ids; the checkpoint and tokenizer do not match`,
    );
  }
  const modelId = (t: number) => {
    const m = vocabIds ? vocabIds.indexOf(t) : t;
    return m >= 0 && m < gpt.vocab ? m : undefined;
  };
  const specials = { bos: modelId(BOS), eos: modelId(EOS), pad: modelId(PAD) };
  const neox = toNeox(tensors, gpt);
  const tokenizerSha256 = tokenizerHash(tok);
  const files: Record<string, Uint8Array | string> = {
    "config.json": JSON.stringify(
      {
        ...neoxConfig(gpt, specials),
        glyphgrad: {
          format: EXPORT_FORMAT,
          model: config.model,
          embedding: gpt.embedding,
          step: config.step,
          tokenizer: GLYPHGRAD_TOKENIZER,
          tokenizerSha256,
          frozenTableSha256: config.embedding?.frozenSha256 ?? null,
          ...(vocabIds ? { vocabIds: GLYPHGRAD_VOCAB } : {}),
        },
      },
      null,
      2,
    ) + "\n",
    "model.safetensors": encodeSafetensors(neox, { format: "pt" }),
    ...hfTokenizerFiles(tok, vocabIds, gpt.context),
    [GLYPHGRAD_TOKENIZER]: tokenizerToJson(tok),
    ...(vocabIds ? { [GLYPHGRAD_VOCAB]: JSON.stringify(Array.from(vocabIds)) + "\n" } : {}),
    "generation_config.json": JSON.stringify(
      {
        bos_token_id: specials.bos ?? null,
        eos_token_id: specials.eos ?? null,
        pad_token_id: specials.pad ?? null,
        max_length: gpt.context,
        do_sample: false,
      },
      null,
      2,
    ) + "\n",
    "README.md": modelCard(
      await cardFacts(ckpt, {
        model: config.model,
        embedding: gpt.embedding,
        gpt,
        params: countParams(gpt).total,
        step: config.step,
        vocabMode: vocabIds ? "compact" : "full",
        tokenizerSha256,
        tableSha256: config.embedding?.frozenSha256,
      }),
    ),
  };
  const tmp = join(dirname(resolve(out)), `.${basename(out)}.${Deno.pid}.tmp`);
  try {
    await Deno.mkdir(tmp);
    for (const [name, data] of Object.entries(files)) {
      if (typeof data === "string") await Deno.writeTextFile(join(tmp, name), data);
      else await Deno.writeFile(join(tmp, name), data);
    }
    await Deno.rename(tmp, out);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  return { out, files: Object.keys(files).sort(), vocab: gpt.vocab, compact: !!vocabIds };
}
