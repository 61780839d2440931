// `deno task pipeline full|<stage> [options]`: runs the glyphgrad pipeline (data -> tokenize ->
// glyphs -> embed -> train -> eval -> report) into runs/<run>/, skipping stages that are up to
// date. Options:
//   --config tiny|small|paper|file.json   (default small)
//   --set a.b=value                       override a config value (repeatable)
//   --force   rerun the named stages      --plan   say what would run and why, run nothing
//   --resume  continue interrupted training from its last checkpoint
//   --allow-changed train.lr[,...]  with --resume: continue with changed optimizer settings
//             (train.lr, minLr, warmup, clip, beta1, beta2, weightDecay; recorded in log.jsonl)
//   --seeds N (study.seeds)  --corpus file.txt|file.jsonl (repeatable)  --backend auto|cpu|webgpu  --run name
//   --set embed.import=table.safetensors  train the frozen twin on a [V, d_model] table made
//                                         elsewhere (V = runs/<run>/tokenize/vocab.json)
import { parseArgs } from "node:util";
import { join } from "node:path";
import { applySet, loadConfig, validateConfig } from "../pipeline/config.ts";
import { formatPlan, planPipeline, runPipeline, selectStages } from "../pipeline/runner.ts";
import { pipelineStages } from "../pipeline/stages.ts";
import { parseAllowChanged } from "../pipeline/train/resume.ts";
import { studyArms } from "../pipeline/study.ts";
import { stopWatchdog } from "../core/webgpu/watchdog.ts";

const USAGE = `usage: deno task pipeline full|<stage> [--config small] [--set key=value] [--force]
       [--plan] [--resume [--allow-changed train.lr]] [--seeds N] [--corpus file...]
       [--backend auto|cpu|webgpu] [--run name]
stages: full, data, tokenize, glyphs, embed, train, eval, report (embed, train and eval expand
        to one stage per study arm / cell, e.g. train/paper-s0; a group name selects them all)`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", default: "small" },
      set: { type: "string", multiple: true, default: [] },
      force: { type: "boolean", default: false },
      plan: { type: "boolean", default: false },
      resume: { type: "boolean", default: false },
      "allow-changed": { type: "string", multiple: true, default: [] },
      seeds: { type: "string" },
      corpus: { type: "string", multiple: true, default: [] },
      backend: { type: "string" },
      run: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const targets = positionals.length ? positionals : ["full"];
  const allowChanged = parseAllowChanged(values["allow-changed"]);
  if (allowChanged.length && !values.resume) {
    throw new Error("--allow-changed only applies with --resume (add --resume)");
  }
  let cfg = await loadConfig(values.config, values.set);
  // the options are keys of the config, checked by the same schema (pipeline/config.ts)
  const options: [string, string, string | undefined][] = [
    ["seeds", "study.seeds", values.seeds],
    ["backend", "train.backend", values.backend],
    ["run", "run", values.run],
  ];
  for (const [flag, key, v] of options) {
    if (v === undefined) continue;
    try {
      cfg = applySet(cfg, `${key}=${v}`);
    } catch (e) {
      throw new Error((e as Error).message.replace(`--set ${key}=${v}`, `--${flag} ${v}`));
    }
  }
  if (values.corpus.length) {
    cfg = { ...cfg, data: { ...cfg.data, corpus: values.corpus } };
    validateConfig(cfg, "--corpus");
    for (const f of values.corpus) {
      if (!(await Deno.stat(f).then((s) => s.isFile, () => false))) {
        throw new Error(`--corpus ${f}: file not found (give .txt or .jsonl files)`);
      }
    }
  }
  const stages = pipelineStages(cfg); // bad arms fail here, before any work
  for (const arm of studyArms(cfg).filter((a) => a.kind === "import")) {
    if (!(await Deno.stat(arm.path!).then((s) => s.isFile, () => false))) {
      throw new Error(`study.arms ${arm.spec}: file not found (give a [V, D] .safetensors table)`);
    }
  }
  selectStages(stages, targets); // unknown stage names fail here too
  if (cfg.embed.import && !(await Deno.stat(cfg.embed.import).then((s) => s.isFile, () => false))) {
    throw new Error(
      `embed.import ${cfg.embed.import}: file not found (give a [V, D] .safetensors table)`,
    );
  }
  const runDir = join("runs", cfg.run); // a folder name (SCHEMA "run"): never outside runs/
  if (values.plan) {
    const plan = await planPipeline(stages, cfg, runDir, { targets, force: values.force });
    console.log(`plan for ${runDir} (config ${values.config}):`);
    console.log(formatPlan(plan));
    if (plan.every((p) => p.action === "skip")) console.log("everything is up to date");
    return;
  }
  console.log(`pipeline ${targets.join(" ")} -> ${runDir} (config ${values.config})`);
  await runPipeline(stages, cfg, runDir, {
    targets,
    force: values.force,
    resume: values.resume,
    allowChanged,
  });
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`error: ${msg.split("\n")[0]}`);
    if (Deno.env.get("GLYPHGRAD_DEBUG")) console.error(e);
    Deno.exit(1);
  } finally {
    stopWatchdog(); // started when training picked webgpu
  }
}
