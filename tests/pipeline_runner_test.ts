// Tests of the pipeline runner with fake stages: ordering, skipping what is up to date,
// fingerprint invalidation (a changed parameter reruns exactly that stage and its downstream
// stages), --plan, --force, and detection of modified outputs.

import { assert, assertEquals, assertRejects } from "./assert.ts";
import fc from "fast-check";
import { join } from "node:path";
import { planPipeline, readManifest, runPipeline, type Stage } from "../pipeline/runner.ts";

interface FakeCfg {
  run: string;
  p: Record<string, number>;
}

/** A fake stage writes <name>.txt from its parameter and its inputs' contents. */
function fake(name: string, inputs: string[]): Stage<FakeCfg> {
  return {
    name,
    version: 1,
    inputs,
    params: (cfg) => ({ value: cfg.p[name] }),
    outputs: () => [`${name}.txt`],
    run: async (ctx, p) => {
      const parts = [`${name}=${(p as { value: number }).value}`];
      for (const i of inputs) parts.push(await Deno.readTextFile(ctx.path(`${i}.txt`)));
      await Deno.writeTextFile(ctx.path(`${name}.txt`), parts.join("|"));
    },
  };
}

// a -> b -> c, a -> d, (c, d) -> e ; declared out of order on purpose
const STAGES = [
  fake("e", ["c", "d"]),
  fake("c", ["b"]),
  fake("b", ["a"]),
  fake("a", []),
  fake(
    "d",
    ["a"],
  ),
];
const DOWNSTREAM: Record<string, string[]> = {
  a: ["a", "b", "c", "d", "e"],
  b: ["b", "c", "e"],
  c: ["c", "e"],
  d: ["d", "e"],
  e: ["e"],
};
const quiet = () => {};
const cfg0 = (): FakeCfg => ({ run: "t", p: { a: 1, b: 2, c: 3, d: 4, e: 5 } });

Deno.test("runner: runs in dependency order, then everything is up to date", async () => {
  const dir = await Deno.makeTempDir();
  const ran = await runPipeline(STAGES, cfg0(), dir, { targets: ["full"], log: quiet });
  assertEquals(ran, ["a", "b", "c", "d", "e"]);
  const lines: string[] = [];
  const again = await runPipeline(STAGES, cfg0(), dir, {
    targets: ["full"],
    log: (l) => lines.push(l),
  });
  assertEquals(again, []);
  assert(lines.some((l) => l.startsWith("everything is up to date")), lines.join("\n"));
  const m = await readManifest(dir, "t");
  assertEquals(Object.keys(m.stages).sort(), ["a", "b", "c", "d", "e"]);
  assertEquals(m.stages.a.outputs["a.txt"].sha256.length, 64);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runner: changing one param reruns exactly its downstream stages (property)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom("a", "b", "c", "d", "e"), fc.integer(), async (s, v) => {
      const dir = await Deno.makeTempDir();
      const cfg = cfg0();
      await runPipeline(STAGES, cfg, dir, { targets: ["full"], log: quiet });
      fc.pre(cfg.p[s] !== v);
      cfg.p[s] = v;
      const plan = await planPipeline(STAGES, cfg, dir, { targets: ["full"] });
      const planned = plan.filter((p) => p.action === "run").map((p) => p.stage);
      const ran = await runPipeline(STAGES, cfg, dir, { targets: ["full"], log: quiet });
      await Deno.remove(dir, { recursive: true });
      assertEquals(ran, DOWNSTREAM[s]);
      assertEquals(planned, DOWNSTREAM[s]);
      const why = plan.find((p) => p.stage === s)!.reasons.join(";");
      assert(why.includes(`param value changed`), why);
    }),
    { numRuns: 12 },
  );
});

Deno.test("runner: a stage target brings only its upstream; --force reruns the target", async () => {
  const dir = await Deno.makeTempDir();
  assertEquals(await runPipeline(STAGES, cfg0(), dir, { targets: ["c"], log: quiet }), [
    "a",
    "b",
    "c",
  ]);
  assertEquals(
    await runPipeline(STAGES, cfg0(), dir, { targets: ["c"], force: true, log: quiet }),
    ["c"],
  );
  const plan = await planPipeline(STAGES, cfg0(), dir, { targets: ["full"] });
  assertEquals(plan.filter((p) => p.action === "run").map((p) => p.stage), ["d", "e"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runner: a modified or deleted output reruns that stage and what it feeds", async () => {
  const dir = await Deno.makeTempDir();
  await runPipeline(STAGES, cfg0(), dir, { targets: ["full"], log: quiet });
  await Deno.writeTextFile(join(dir, "d.txt"), "tampered");
  const plan = await planPipeline(STAGES, cfg0(), dir, { targets: ["full"] });
  assertEquals(plan.find((p) => p.stage === "d")!.reasons, ["output d.txt was modified"]);
  assertEquals(await runPipeline(STAGES, cfg0(), dir, { targets: ["full"], log: quiet }), ["d"]);
  await Deno.remove(join(dir, "b.txt"));
  // b's output comes back identical, so c sees the same input digest and stays up to date
  assertEquals(await runPipeline(STAGES, cfg0(), dir, { targets: ["full"], log: quiet }), ["b"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runner: unknown stage and a stage that writes nothing give clear errors", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(
    () => runPipeline(STAGES, cfg0(), dir, { targets: ["nope"], log: quiet }),
    /unknown stage "nope" \(valid: full, /,
  );
  const lazy: Stage<FakeCfg> = { ...fake("a", []), run: async () => {} };
  await assertRejects(
    () => runPipeline([lazy], cfg0(), dir, { targets: ["full"], log: quiet }),
    /stage "a" did not write its output a\.txt/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runner: a stage interrupted mid-run is planned as interrupted, then reruns", async () => {
  const dir = await Deno.makeTempDir();
  await runPipeline(STAGES, cfg0(), dir, { targets: ["full"], log: quiet });
  const crash: Stage<FakeCfg> = {
    ...fake("b", ["a"]),
    run: () => Promise.reject(new Error("killed")),
  };
  const cfg = { ...cfg0(), p: { ...cfg0().p, b: 9 } };
  const broken = STAGES.map((s) => (s.name === "b" ? crash : s));
  await assertRejects(() => runPipeline(broken, cfg, dir, { targets: ["full"], log: quiet }));
  const plan = await planPipeline(STAGES, cfg, dir, { targets: ["full"] });
  assertEquals(plan.find((p) => p.stage === "b")!.reasons, ["interrupted last time"]);
  assertEquals(await runPipeline(STAGES, cfg, dir, { targets: ["full"], log: quiet }), [
    "b",
    "c",
    "e",
  ]);
  assertEquals((await readManifest(dir, "t")).unfinished, []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runner: a stage's run gets exactly the parameters it was fingerprinted with", async () => {
  const dir = await Deno.makeTempDir();
  const got: unknown[] = [];
  const stage: Stage<FakeCfg, { value: number; twice: number }> = {
    name: "s",
    version: 1,
    inputs: [],
    params: (cfg) => ({ value: cfg.p.a, twice: 2 * cfg.p.a }),
    outputs: () => ["s.txt"],
    run: async (ctx, p) => {
      got.push(p);
      await Deno.writeTextFile(ctx.path("s.txt"), String(p.twice));
    },
  };
  await runPipeline([stage], cfg0(), dir, { targets: ["full"], log: quiet });
  const m = await readManifest(dir, "t");
  assertEquals(got, [m.stages.s.params]);
  assertEquals(got, [{ value: 1, twice: 2 }]);
  await Deno.remove(dir, { recursive: true });
});
