// Faults of training checkpoints (issue #16): a failure inside a checkpoint write (a kill, a
// full disk) must leave the previous checkpoint loadable and --resume bit-identical; a
// config.json whose `step` was edited, or weights with Inf/NaN, are refused with one line
// naming the file (and the tensor).

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { join } from "node:path";
import { trainModel } from "../pipeline/train/loop.ts";
import { checkpointHook, loadCheckpoint } from "../pipeline/train/checkpoint.ts";
import { spec } from "./train_spec_lib.ts";

const bytes = (dir: string, f: string) => Deno.readFile(join(dir, f));

Deno.test("checkpoint: a failure between the file writes keeps the previous checkpoint", async () => {
  const root = await Deno.makeTempDir();
  const full = join(root, "full");
  await trainModel(spec(full, "trainable"));
  for (const point of ["model", "optim"]) {
    const dir = join(root, point);
    checkpointHook.at = (p, step) => {
      if (p === point && step === 4) throw new Error(`simulated crash at ${p}`);
    };
    try {
      await assertRejects(() => trainModel(spec(dir, "trainable")), /simulated crash/);
    } finally {
      checkpointHook.at = () => {};
    }
    const resumed = await trainModel(spec(dir, "trainable", { resume: true }));
    assertEquals(resumed.resumedFrom, 2, point);
    assertEquals(await bytes(dir, "model.safetensors"), await bytes(full, "model.safetensors"));
    assertEquals(await bytes(dir, "optim.safetensors"), await bytes(full, "optim.safetensors"));
  }
  await Deno.remove(root, { recursive: true });
});
