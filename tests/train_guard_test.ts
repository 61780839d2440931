// The training guard (pipeline/train/guard.ts): it stops on a non-finite or diverged step and
// keeps the last checkpoint whose weights gave a sane loss (not merely finite ones); its advice
// can be followed (--resume --allow-changed train.lr with the printed rate finishes the run, and
// the change is recorded in log.jsonl); beta = 1 is named as the cause; --resume refuses other
// changed settings in one line.

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { join } from "node:path";
import { trainModel, type TrainSpec } from "../pipeline/train/loop.ts";
import { hasCheckpoint, loadCheckpoint } from "../pipeline/train/checkpoint.ts";
import { readLog, readLogEvents } from "../pipeline/train/log.ts";
import { SANE_FACTOR } from "../pipeline/train/guard.ts";
import { canonicalJson, sha256Hex } from "../pipeline/hash.ts";
import { spec } from "./train_spec_lib.ts";

/** A stand-in for the runner's stage fingerprint: a hash of the train settings. */
const fp = (train: Record<string, unknown>) => sha256Hex(canonicalJson(train));

async function withFingerprint(s: TrainSpec): Promise<TrainSpec> {
  return { ...s, fingerprint: await fp({ ...s.train }), fingerprintOf: fp };
}

Deno.test("guard: a diverging run keeps the last sane checkpoint; the advice printed works", async () => {
  const dir = await Deno.makeTempDir();
  const base = spec(dir, "frozen");
  // warms up to a rate that blows up near step 10 (finite but huge losses first)
  const wild = { ...base.train, lr: 2, minLr: 0, warmup: 10, steps: 12, checkpointEvery: 1 };
  const e = await assertRejects(
    async () => trainModel(await withFingerprint({ ...base, train: wild })),
    /frozen-s0: loss is [\d.e+]+, over 2x the first step's [\d.]+ \(diverged\) at step \d+; stopped, the last good checkpoint \(step \d+\) is kept/,
  );
  const kept = Number(/checkpoint \(step (\d+)\)/.exec(e.message)![1]);
  assertEquals((await loadCheckpoint(dir)).config.step, kept);
  // the loss computed on the kept weights is the next step's logged loss: sane
  const log = await readLog(join(dir, "log.jsonl"));
  const onKept = log.find((l) => l.step === kept + 1)!.loss;
  assert(onKept <= SANE_FACTOR * log[0].loss, `kept weights give loss ${onKept}`);
  // follow the advice literally: --resume --allow-changed train.lr --set train.lr=X
  const m = /--resume --allow-changed (train\.lr) --set train\.lr=([\d.e+-]+)\)$/.exec(e.message);
  assert(m, e.message);
  const calmer = { ...wild, lr: Number(m[2]) };
  const r = await trainModel({
    ...await withFingerprint({ ...base, train: calmer }),
    resume: true,
    allowChanged: [m[1]],
  });
  assertEquals([r.resumedFrom, r.steps], [kept, 12]);
  assert(Number.isFinite(r.valLoss) && r.valLoss <= SANE_FACTOR * log[0].loss, `${r.valLoss}`);
  assertEquals(await readLogEvents(join(dir, "log.jsonl")), [
    { step: kept, event: "resume", changed: { "train.lr": { from: 2, to: calmer.lr } } },
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("guard: NaN after the first step leaves no checkpoint (its weights made the NaN)", async () => {
  const dir = await Deno.makeTempDir();
  const base = spec(dir, "frozen");
  const wild = { ...base.train, lr: 1e35, minLr: 1e35, warmup: 1, checkpointEvery: 1 };
  const e = await assertRejects(
    () => trainModel({ ...base, train: wild }),
    /frozen-s0: (loss|gradient norm) is (NaN|-?Infinity) at step 2; stopped, no checkpoint was written \(rerun the same command with --set train\.lr=2\.5e\+34/,
  );
  assert(!e.message.includes("\n"));
  assert(!(await hasCheckpoint(dir)));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("guard: beta2 = 1 (or beta1 = 1) is named as the cause, not the learning rate", async () => {
  for (const key of ["beta2", "beta1"] as const) {
    const dir = await Deno.makeTempDir();
    const base = spec(dir, "trainable");
    const e = await assertRejects(
      () => trainModel({ ...base, train: { ...base.train, [key]: 1 } }),
      new RegExp(`train\\.${key} is 1: AdamW divides by 1 - ${key}\\^t, which is 0`),
    );
    assert(!/lower|train\.lr/.test(e.message), e.message);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resume: changed settings need --allow-changed, and only optimizer settings", async () => {
  const dir = await Deno.makeTempDir();
  const base = await withFingerprint(spec(dir, "trainable"));
  await trainModel({ ...base, stopAfter: 3 }); // step 2 is current
  const lower = { ...base.train, lr: 0.005 };
  await assertRejects(
    async () => trainModel({ ...await withFingerprint({ ...base, train: lower }), resume: true }),
    /written with other settings or inputs \(train\.lr 0\.01 -> 0\.005\); add --allow-changed train\.lr to continue/,
  );
  const bigger = { ...base.train, batch: 6 };
  await assertRejects(
    async () =>
      trainModel({
        ...await withFingerprint({ ...base, train: bigger }),
        resume: true,
        allowChanged: ["train.batch"],
      }),
    /\(train\.batch 3 -> 6\); rerun without --resume to train from scratch/,
  );
  const other = { ...await withFingerprint({ ...base, train: lower }), resume: true };
  await assertRejects( // only lr differs in train, but the data or model changed too
    () =>
      trainModel({
        ...other,
        allowChanged: ["train.lr"],
        fingerprintOf: async (t) => "data changed " + await fp(t),
      }),
    /other settings or inputs besides train\.lr \(data, model or code\)/,
  );
  await trainModel({ ...other, allowChanged: ["train.lr"], stopAfter: 1 }); // killed again
  const r = await trainModel({ ...other, allowChanged: ["train.lr"] });
  assertEquals([r.resumedFrom, r.steps], [2, 7]);
  assertEquals(await readLogEvents(join(dir, "log.jsonl")), [ // recorded once
    { step: 2, event: "resume", changed: { "train.lr": { from: 0.01, to: 0.005 } } },
  ]);
  await Deno.remove(dir, { recursive: true });
});
