// Shared by the tokenizer tests: the multilingual sample (fixtures/tokenizer/sample.txt) as
// documents, and the two tokenizers built from it, variants "2-3" and "max" (built once per
// test process; tests read them, never change them).
import { buildTokenizer } from "../pipeline/tokenizer/mod.ts";

export const sampleText = Deno.readTextFileSync(
  new URL("../fixtures/tokenizer/sample.txt", import.meta.url),
);
export const sampleDocs: string[] = sampleText.split("\n");

export const sampleTokenizers = [
  buildTokenizer(sampleDocs, { variant: "2-3" }),
  buildTokenizer(sampleDocs, { variant: "max" }),
] as const;
