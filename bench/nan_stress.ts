// Stress hunt for the intermittent NaN of the tiny pipeline (tests/pipeline_e2e_test.ts):
// runs the whole `tiny` pipeline (data .. train both twins .. eval .. report) `--runs` times in
// ONE process, each in a fresh temporary run dir, and prints which runs failed and why.
//   --trip   check every backend call: the first calls whose outputs turn NaN from inputs
//            without NaN are printed with their arguments and caller (slow)
//   --gc     collect garbage every millisecond (needs --v8-flags=--expose-gc), so tensors
//            dropped without dispose() are finalised (and their storage freed) at once
// Combine with GLYPHGRAD_FAST_POISON=1 (freed and fresh blocks read NaN) and GLYPHGRAD_THREADS.
// Usage: GLYPHGRAD_FAST_POISON=1 deno run -A --v8-flags=--expose-gc bench/nan_stress.ts --runs 6

import { getBackend } from "../core/registry.ts";
import { loadConfig } from "../pipeline/config.ts";
import { runPipeline } from "../pipeline/runner.ts";
import { pipelineStages } from "../pipeline/stages.ts";

const args = Deno.args;
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
if (!Number.isInteger(runs) || runs < 1) {
  throw new Error(`nan_stress: --runs needs a positive integer, got ${args[runsAt + 1]}`);
}

if (args.includes("--gc")) {
  const gc = (globalThis as unknown as { gc?: () => void }).gc;
  if (!gc) throw new Error("nan_stress: --gc needs --v8-flags=--expose-gc");
  Deno.unrefTimer(setInterval(gc, 1));
}

function hasNaN(a: unknown): boolean {
  if (!a || typeof a !== "object" || !("data" in a)) return false;
  const d = (a as { data: unknown }).data;
  if (!(d instanceof Float32Array)) return false;
  for (let i = 0; i < d.length; i++) if (d[i] !== d[i]) return true;
  return false;
}

if (args.includes("--trip")) {
  const be = getBackend() as unknown as Record<string, unknown>;
  let reported = 0;
  for (const [name, f] of Object.entries(be)) {
    if (typeof f !== "function" || name === "free" || name === "alloc") continue;
    be[name] = (...a: unknown[]) => {
      const before = a.some(hasNaN);
      const r = (f as (...x: unknown[]) => unknown)(...a);
      if (reported < 5 && !before && a.some(hasNaN)) {
        reported++;
        const show = a.map((x) => hasNaN(x) ? "NaN-array" : typeof x === "object" ? "array" : x);
        console.log(`NaN born in backend.${name}(${show.join(", ")})`);
        console.log(new Error().stack?.split("\n").slice(2, 8).join("\n"));
      }
      return r;
    };
  }
}

const cfg = await loadConfig("tiny");
let failed = 0;
for (let i = 0; i < runs; i++) {
  const dir = await Deno.makeTempDir({ prefix: "glyphgrad-nan-stress-" });
  try {
    await runPipeline(pipelineStages(cfg), cfg, dir, {
      targets: ["full"],
      log: () => {},
      quiet: true,
    });
    console.log(`run ${i + 1}: ok`);
  } catch (e) {
    failed++;
    console.log(`run ${i + 1}: FAILED ${String(e).split("\n")[0]}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
console.log(`${failed} of ${runs} runs failed`);
