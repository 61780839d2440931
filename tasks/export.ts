// `deno task export`: a trained checkpoint folder -> a Hugging Face GPT-NeoX folder that
// transformers' GPTNeoXForCausalLM and AutoTokenizer load (pipeline/export/export.ts).
//   deno task export --checkpoint runs/small/train/paper-s0 --out hf/frozen [--format neox]

import { parseArgs } from "node:util";
import { exportCheckpoint } from "../pipeline/export/export.ts";

const USAGE = "usage: deno task export --checkpoint <dir> --out <dir> [--format neox]";

async function main(): Promise<void> {
  let values;
  try {
    values = parseArgs({
      args: Deno.args,
      options: {
        checkpoint: { type: "string" },
        out: { type: "string" },
        format: { type: "string", default: "neox" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    throw new Error(`export: ${(e as Error).message}; ${USAGE}`);
  }
  if (values.help) return console.log(USAGE);
  if (!values.checkpoint) throw new Error(`export: --checkpoint <dir> is required; ${USAGE}`);
  if (!values.out) throw new Error(`export: --out <dir> is required; ${USAGE}`);
  const r = await exportCheckpoint(values.checkpoint, values.out, { format: values.format });
  console.log(
    `export: wrote ${r.out} (GPT-NeoX, vocabulary ${r.vocab}${r.compact ? " compact" : ""}): ` +
      r.files.join(", "),
  );
}

try {
  await main();
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(1);
}
