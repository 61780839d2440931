// The model card (README.md) of an exported folder, from facts gathered by export.ts: what the
// model is, its embedding (frozen glyph table or trainable), the recipe and table hash, the
// training data with packages and licences, and the evaluation figures of its run.

export interface CardFacts {
  model: string;
  embedding: "frozen" | "trainable";
  gpt: { vocab: number; dModel: number; layers: number; heads: number; context: number };
  params: number;
  step: number;
  vocabMode: "full" | "compact";
  tokenizerSha256: string;
  recipe?: string;
  tableSha256?: string;
  sources?: { name: string; package?: string; version?: string; licence?: string }[];
  /** Eval figures of this model from the run's eval/results.json. */
  lm?: { bitsPerChar?: number; perplexity?: number; tokens?: number };
  benches?: { name: string; n: number; acc?: number }[];
}

const fmt = (x: number | undefined, d = 3) => x === undefined ? "n/a" : x.toFixed(d);

/** Markdown text of the card. */
export function modelCard(f: CardFacts): string {
  const g = f.gpt;
  const lines = [
    "---",
    "library_name: transformers",
    "pipeline_tag: text-generation",
    "tags: [gpt_neox, glyphgrad, frozen-embeddings]",
    "---",
    "",
    `# ${f.model} (glyphgrad, GPT-NeoX layout)`,
    "",
    `A decoder-only GPT trained by glyphgrad (a reproduction of Bochkov, "Emergent Semantics Beyond ` +
    `Token Embeddings", TMLR 2025), exported to the GPT-NeoX layout: ${g.layers} ` +
    `layer${g.layers === 1 ? "" : "s"}, ` +
    `d_model ${g.dModel}, ${g.heads} heads, context ${g.context}, vocabulary ${g.vocab} ` +
    `(${f.vocabMode}), ${f.params.toLocaleString("en-US")} parameters, ${f.step} training steps.`,
    "",
    f.embedding === "frozen"
      ? "The input embedding table is **frozen**: vectors computed from pictures of Unicode " +
        "glyphs, never trained. Only the blocks, norms and output head were trained."
      : "The input embedding table is **trainable** (the twin of a frozen-table model trained " +
        "on the same data with the same seed).",
    "",
    `- glyph recipe: ${f.recipe ?? "n/a"}; frozen table SHA-256: ${f.tableSha256 ?? "n/a"}`,
    `- tokenizer (glyphgrad Unicode-centric, SHA-256 ${f.tokenizerSha256}): ids are code ` +
    "points; private-use and non-BMP characters become UTF-8 byte tokens; text never becomes a " +
    "special id; decoding is exact (`clean_up_tokenization_spaces: false`).",
    "",
    "## Use",
    "",
    "```python",
    "from transformers import AutoTokenizer, GPTNeoXForCausalLM",
    'tok = AutoTokenizer.from_pretrained("path/to/this/folder")',
    'model = GPTNeoXForCausalLM.from_pretrained("path/to/this/folder")',
    'ids = tok("In the beginning", return_tensors="pt").input_ids',
    "print(tok.decode(model.generate(ids, max_new_tokens=40)[0]))",
    "```",
    "",
    "## Training data",
    "",
  ];
  if (f.sources?.length) {
    lines.push("| source | package | licence |", "| --- | --- | --- |");
    for (const s of f.sources) {
      lines.push(
        `| ${s.name} | ${s.package ?? ""} ${s.version ?? ""} | ${s.licence ?? "not recorded"} |`,
      );
    }
  } else lines.push("Not recorded with this checkpoint (no run manifest beside it).");
  lines.push("", "## Evaluation (glyphgrad, held-out split of the same run)", "");
  if (f.lm || f.benches?.length) {
    lines.push(
      `- held-out bits per character ${fmt(f.lm?.bitsPerChar)}, perplexity ` +
        `${fmt(f.lm?.perplexity, 1)} (${f.lm?.tokens ?? "n/a"} tokens)`,
    );
    for (const b of f.benches ?? []) {
      lines.push(`- ${b.name}: log-likelihood accuracy ${fmt(b.acc)} on ${b.n} items`);
    }
  } else lines.push("No evaluation results were found beside this checkpoint.");
  return lines.join("\n") + "\n";
}
