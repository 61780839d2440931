// Tests of training: an interrupted run resumed from its checkpoint ends bit-identical to an
// uninterrupted one; the frozen table is unchanged; corrupt or truncated checkpoints give one
// clear line; batches, bits per character and progress lines. (The guard: train_guard_test.ts;
// checkpoint faults: train_checkpoint_faults_test.ts.)

import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import fc from "fast-check";
import { join } from "node:path";
import { trainModel } from "../pipeline/train/loop.ts";
import { loadCheckpoint } from "../pipeline/train/checkpoint.ts";
import { readLog } from "../pipeline/train/log.ts";
import { coverBatches, trainBatch, valBatches } from "../pipeline/train/batches.ts";
import { bitsPerChar, unigramBitsPerChar } from "../pipeline/train/bpc.ts";
import { formatDuration, formatProgress, progressReporter } from "../pipeline/train/progress.ts";

import { ids, spec } from "./train_spec_lib.ts";

const bytesOf = async (dir: string, f: string) => await Deno.readFile(join(dir, f));

for (const mode of ["frozen", "trainable"] as const) {
  Deno.test(`train: interrupt then --resume is bit-identical to one run (${mode})`, async () => {
    const root = await Deno.makeTempDir();
    const a = join(root, "a"), b = join(root, "b");
    const full = await trainModel(spec(a, mode));
    const cut = await trainModel(spec(b, mode, { stopAfter: 5 })); // last checkpoint: step 4
    assert(cut.interrupted);
    assertEquals((await loadCheckpoint(b)).config.step, 4);
    const resumed = await trainModel(spec(b, mode, { resume: true }));
    assertEquals(resumed.resumedFrom, 4);
    assertEquals(await bytesOf(b, "model.safetensors"), await bytesOf(a, "model.safetensors"));
    assertEquals(await bytesOf(b, "optim.safetensors"), await bytesOf(a, "optim.safetensors"));
    assertEquals(
      await readLog(join(b, "log.jsonl")).then((l) => l.map((x) => [x.step, x.loss])),
      await readLog(join(a, "log.jsonl")).then((l) => l.map((x) => [x.step, x.loss])),
    );
    assertEquals(resumed.valLoss, full.valLoss);
    if (mode === "frozen") {
      assert(full.frozenSha256Before && full.frozenSha256Before === full.frozenSha256After);
    }
    const again = await trainModel(spec(a, mode, { resume: true })); // already finished
    assertEquals([again.resumedFrom, again.finalLoss, again.valLoss], [
      7,
      full.finalLoss,
      full.valLoss,
    ]);
    const cfg = (await loadCheckpoint(a)).config;
    assertEquals([cfg.step, cfg.finished, cfg.dataCursor.tokensSeen], [7, true, 7 * 3 * 8]);
    await Deno.remove(root, { recursive: true });
  });
}

Deno.test("train: corrupt, truncated or missing checkpoint files give one clear line", async () => {
  const dir = await Deno.makeTempDir();
  await trainModel(
    spec(dir, "trainable", { train: { ...spec(dir, "trainable").train, steps: 2 } }),
  );
  const model = join(dir, "model.safetensors");
  const good = await Deno.readFile(model);
  await Deno.writeFile(model, good.subarray(0, good.length - 100));
  const e = await assertRejects(() => loadCheckpoint(dir), /model\.safetensors does not match/);
  assert(!e.message.includes("\n") && e.message.includes("train again"), e.message);
  await assertRejects(
    () => trainModel(spec(dir, "trainable", { resume: true })),
    /does not match the SHA-256/,
  );
  await Deno.writeFile(model, good);
  const cfgPath = join(dir, "config.json");
  const cfgText = await Deno.readTextFile(cfgPath);
  await Deno.writeTextFile(cfgPath, cfgText.slice(0, 50));
  await assertRejects(() => loadCheckpoint(dir), /config\.json is not valid JSON/);
  await Deno.remove(await Deno.realPath(cfgPath)); // the file in the current step folder
  await assertRejects(() => loadCheckpoint(dir), /config\.json is missing/);
  await Deno.writeTextFile(cfgPath, cfgText);
  await Deno.remove(await Deno.realPath(join(dir, "optim.safetensors")));
  await assertRejects(() => loadCheckpoint(dir), /optim\.safetensors is missing/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train: --resume refuses a checkpoint written with other settings", async () => {
  const dir = await Deno.makeTempDir();
  await trainModel(spec(dir, "trainable", { stopAfter: 3 })); // step 2's checkpoint is current
  await assertRejects(
    () => trainModel(spec(dir, "trainable", { resume: true, fingerprint: "other" })),
    /written with other settings or inputs; rerun without --resume/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("batches: deterministic, targets are the next tokens, cover predicts each once", () => {
  fc.assert(
    fc.property(fc.nat(1000), fc.nat(50), fc.integer({ min: 1, max: 5 }), (seed, step, B) => {
      const a = trainBatch(ids, seed, step, B, 8), b = trainBatch(ids, seed, step, B, 8);
      assertEquals(a.x, b.x);
      for (let r = 0; r < B; r++) {
        for (let t = 0; t < 7; t++) assertEquals(a.y[r * 8 + t], a.x[r * 8 + t + 1]);
      }
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 200 }), fc.integer({ min: 1, max: 9 }), (n, B) => {
      const seq = Int32Array.from({ length: n }, (_, i) => i);
      const seen: number[] = [];
      for (const b of coverBatches(seq, B, 8)) for (const y of b.y) if (y >= 0) seen.push(y);
      assertEquals(seen.sort((p, q) => p - q), Array.from({ length: n - 1 }, (_, i) => i + 1));
    }),
  );
  assertEquals(valBatches(ids, 3, 2, 8).length, 3);
});

Deno.test("bpc: unigram baseline and conversion from nats", () => {
  assertAlmostEquals(unigramBitsPerChar("abab", "ab"), 1, 1e-12);
  // 'c' is unseen in train: add-one gives it 1/(4+3)
  assertAlmostEquals(unigramBitsPerChar("aaab", "c"), Math.log2(7), 1e-12);
  assertAlmostEquals(bitsPerChar(Math.LN2 * 10, 5), 2, 1e-12);
});

Deno.test("progress: a bar on a terminal, plain lines every k steps otherwise", () => {
  const p = { model: "frozen-s0", step: 5, total: 10, loss: 2.5, tokensPerS: 1234.4, etaS: 65 };
  assertEquals(formatProgress(p, false), "frozen-s0 step  5/10 loss 2.5000 1234 tok/s ETA 1m05s");
  assert(formatProgress(p, true).includes("[##########..........]"));
  assertEquals(formatDuration(3725), "1h02m");
  const lines: string[] = [];
  const r = progressReporter({ every: 2, tty: false, write: (s) => lines.push(s) });
  for (let s = 1; s <= 5; s++) r.update({ ...p, step: s, total: 5 });
  assertEquals(lines.length, 3); // steps 2, 4 and the last
  const tty: string[] = [];
  const t = progressReporter({ every: 2, tty: true, write: (s) => tty.push(s) });
  t.update(p);
  t.done();
  assert(tty[0].startsWith("\r\x1b[2K") && tty[1] === "\n");
});

Deno.test("train: micro-batches accumulate to the whole batch's step (dropout 0)", async () => {
  const root = await Deno.makeTempDir();
  const run = async (name: string, microBatch: number) => {
    const base = spec(join(root, name), "trainable");
    const s = { ...base, gpt: { ...base.gpt, dropout: 0 }, train: { ...base.train, microBatch } };
    const r = await trainModel(s);
    const log = await readLog(join(root, name, "log.jsonl"));
    return { r, losses: log.map((l) => l.loss as number) };
  };
  const whole = await run("whole", 0), rows1 = await run("rows1", 1);
  assertEquals(rows1.losses.length, whole.losses.length);
  rows1.losses.forEach((l, i) => assertAlmostEquals(l, whole.losses[i], 1e-4, `step ${i + 1}`));
  assertAlmostEquals(rows1.r.valLoss, whole.r.valLoss, 1e-4, "validation loss");
  const bpc = async (name: string) =>
    (await readLog(join(root, name, "log.jsonl"))).filter((l) => l.val_bpc !== undefined)
      .map((l) => l.val_bpc!);
  const [b1, b0] = [await bpc("rows1"), await bpc("whole")];
  assertEquals(b1.length, b0.length);
  b1.forEach((b, i) => assertAlmostEquals(b, b0[i], 1e-4, "validation bits per char"));
  const bad = spec(join(root, "bad"), "trainable");
  await assertRejects(
    () => trainModel({ ...bad, train: { ...bad.train, microBatch: 2 } }), // batch 3
    /train\.microBatch 2 must divide train\.batch 3/,
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("train: with train.clip=0 log.jsonl records the gradient norm, not the loss", async () => {
  const root = await Deno.makeTempDir();
  const logOf = async (clip: number) => {
    const base = spec(join(root, `clip${clip}`), "trainable");
    await trainModel({ ...base, train: { ...base.train, clip, steps: 2 } });
    return await readLog(join(root, `clip${clip}`, "log.jsonl"));
  };
  const [off, on] = [await logOf(0), await logOf(1)];
  // the first step's gradients are the same either way; the norm is measured before clipping
  assertEquals(off[0].grad_norm, on[0].grad_norm);
  assert(off.every((l) => l.grad_norm !== l.loss && Number.isFinite(l.grad_norm)));
  await Deno.remove(root, { recursive: true });
});
