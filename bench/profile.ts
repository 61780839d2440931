// `deno task bench profile [--config bench|small] [--steps N] [--backend cpu]`: where one GPT
// training step of `bench core`'s configs spends its time, kernel by kernel. Every Backend method
// is wrapped with a wall-clock timer (the kernels are synchronous on the CPU backends, so each
// call's time is its kernel's); matmuls are split by shape and transposes with their GFLOP/s.
// A diagnostic with no peer: `deno task bench core` compares whole steps against PyTorch.

import { parseArgs } from "node:util";
import { setBackend } from "../core/registry.ts";
import { warmupCpu } from "../core/cpu/backend.ts";
import type { Backend } from "../core/backend.ts";
import { TRAIN_CASES, trainTokensPerS } from "./lib/train_step.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    config: { type: "string", default: "small" },
    steps: { type: "string", default: "3" },
    backend: { type: "string", default: "cpu" },
  },
});
const steps = Number(args.steps);
const tc = TRAIN_CASES.find((c) => c.name === args.config);
if (!tc || !(Number.isInteger(steps) && steps >= 1)) {
  console.error(
    `bench profile: --config must be one of ${TRAIN_CASES.map((c) => c.name).join(", ")} ` +
      `and --steps a whole number >= 1 (got ${args.config}, ${args.steps})`,
  );
  Deno.exit(2);
}
if (args.backend === "webgpu") {
  console.error("bench profile: webgpu kernels run asynchronously; profile cpu or cpu-ref");
  Deno.exit(2);
}
const be = setBackend(args.backend!) as Backend & Record<string, unknown>;
if (be.name === "cpu") await warmupCpu();

const ms = new Map<string, number>(), calls = new Map<string, number>();
const flops = new Map<string, number>();
for (const key of Object.keys(be)) {
  const fn = be[key];
  if (typeof fn !== "function" || key === "download") continue;
  be[key] = (...a: unknown[]) => {
    const t = performance.now();
    const r = (fn as (...x: unknown[]) => unknown).apply(be, a);
    const dt = performance.now() - t;
    let name = key;
    if (key === "matmul") {
      const [, , , B, M, N, K, tA, tB] = a as number[];
      name = `matmul ${tA ? "T" : "N"}${tB ? "T" : "N"} ${B}x${M}x${N}x${K}`;
      flops.set(name, 2 * B * M * N * K);
    } else if (key === "unary" || key === "binary" || key === "reduce") name = `${key} ${a[0]}`;
    ms.set(name, (ms.get(name) ?? 0) + dt);
    calls.set(name, (calls.get(name) ?? 0) + 1);
    return r;
  };
}
await trainTokensPerS(tc.cfg, tc.batch, 1); // warm-up (kernels compiled, memory grown)
ms.clear();
calls.clear();
const r = await trainTokensPerS(tc.cfg, tc.batch, steps);
const runs = steps + 1; // trainTokensPerS runs a warm-up step before the timed ones
const total = [...ms.values()].reduce((a, b) => a + b, 0) / runs;
console.log(
  `bench profile: config ${tc.name} (${JSON.stringify({ ...tc.cfg, batch: tc.batch })}), ` +
    `backend ${be.name}; best step ${r.msPerStep.toFixed(0)} ms, kernels ${total.toFixed(0)} ms ` +
    `a step (mean of ${runs})`,
);
console.log("\n| kernel | calls/step | ms/step | share | GFLOP/s |\n|---|---|---|---|---|");
for (const [name, t] of [...ms].sort((x, y) => y[1] - x[1])) {
  const per = t / runs, f = flops.get(name);
  const gf = f ? (f * calls.get(name)! / runs / (per / 1e3) / 1e9).toFixed(1) : "";
  console.log(
    `| ${name} | ${+(calls.get(name)! / runs).toFixed(1)} | ${per.toFixed(1)} | ${
      (100 * per / total).toFixed(1)
    }% | ${gf} |`,
  );
}
const mm = [...ms].filter(([n]) => n.startsWith("matmul")).reduce((a, [, t]) => a + t, 0) / runs;
const mf = [...flops].reduce((a, [n, f]) => a + f * calls.get(n)! / runs, 0);
console.log(
  `\nmatmul: ${mm.toFixed(0)} ms a step (${(100 * mm / total).toFixed(0)}%), ` +
    `${(mf / 1e9).toFixed(1)} GFLOP at ${(mf / (mm / 1e3) / 1e9).toFixed(1)} GFLOP/s`,
);
Deno.exit(0); // the worker threads would keep the process alive
