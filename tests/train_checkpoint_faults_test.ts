// Faults of training checkpoints (issue #16): a failure inside a checkpoint write (a kill, a
// full disk) must leave the previous checkpoint loadable and --resume bit-identical; a
// config.json whose `step` was edited, or weights with Inf/NaN, are refused with one line
// naming the file (and the tensor).

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { join } from "node:path";
import { trainModel } from "../pipeline/train/loop.ts";
import { checkpointHook, loadCheckpoint, tidyCheckpointDir } from "../pipeline/train/checkpoint.ts";
import { spec } from "./train_spec_lib.ts";

const bytes = (dir: string, f: string) => Deno.readFile(join(dir, f));

Deno.test("checkpoint: a failure at any point of a save keeps a whole checkpoint", async () => {
  const root = await Deno.makeTempDir();
  const full = join(root, "full");
  await trainModel(spec(full, "trainable"));
  // the points of a save in order; "pointer" is after the switch of `current` to step 4
  const points = { model: 2, optim: 2, config: 2, folder: 2, pointer: 4 };
  for (const [point, resumedFrom] of Object.entries(points)) {
    const dir = join(root, point);
    checkpointHook.at = (p, step) => {
      if (p === point && step === 4) throw new Error(`simulated crash (or full disk) at ${p}`);
    };
    try {
      await assertRejects(() => trainModel(spec(dir, "trainable")), /simulated crash/);
    } finally {
      checkpointHook.at = () => {};
    }
    assertEquals((await loadCheckpoint(dir)).config.step, resumedFrom, point);
    const resumed = await trainModel(spec(dir, "trainable", { resume: true }));
    assertEquals(resumed.resumedFrom, resumedFrom, point);
    assertEquals(await bytes(dir, "model.safetensors"), await bytes(full, "model.safetensors"));
    assertEquals(await bytes(dir, "optim.safetensors"), await bytes(full, "optim.safetensors"));
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assertEquals(names.sort(), [
      "config.json",
      "current",
      "log.jsonl",
      "model.safetensors",
      "optim.safetensors",
      "step-00000007",
    ]);
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("checkpoint: a checkpoint of the older layout (files in the folder) is adopted", async () => {
  const dir = await Deno.makeTempDir();
  await trainModel(spec(dir, "trainable", { stopAfter: 5 })); // step 4 is current
  const model = await bytes(dir, "model.safetensors");
  for (const f of ["config.json", "model.safetensors", "optim.safetensors"]) { // the old layout
    const real = await Deno.readFile(join(dir, f));
    await Deno.remove(join(dir, f));
    await Deno.writeFile(join(dir, f), real);
  }
  await Deno.remove(join(dir, "current"));
  await Deno.remove(join(dir, "step-00000004"), { recursive: true });
  assertEquals((await loadCheckpoint(dir)).config.step, 4); // readable as it is
  await tidyCheckpointDir(dir); // what training does first
  assertEquals((await Deno.lstat(join(dir, "model.safetensors"))).isSymlink, true);
  assertEquals(
    await Deno.realPath(join(dir, "model.safetensors")),
    join(await Deno.realPath(dir), "step-00000004", "model.safetensors"),
  );
  assertEquals(await bytes(dir, "model.safetensors"), model);
  const resumed = await trainModel(spec(dir, "trainable", { resume: true }));
  assertEquals(resumed.resumedFrom, 4);
  await Deno.remove(dir, { recursive: true });
});

/** Rewrite the checkpoint's config.json with `edit` applied (through the link). */
async function editConfig(dir: string, edit: (c: Record<string, unknown>) => void) {
  const path = join(dir, "config.json");
  const c = JSON.parse(await Deno.readTextFile(path));
  edit(c);
  await Deno.writeTextFile(path, JSON.stringify(c));
}

Deno.test('checkpoint: --resume refuses an edited step (-3, "abc", 100, 2.5, 4) in one line', async () => {
  const dir = await Deno.makeTempDir();
  await trainModel(spec(dir, "trainable")); // finished: step 7 of 7
  const good = await Deno.readTextFile(join(dir, "config.json"));
  for (const step of [-3, "abc", 100, 2.5, null]) {
    await editConfig(dir, (c) => c.step = step);
    await assertRejects(
      () => trainModel(spec(dir, "trainable", { resume: true })),
      new RegExp(
        `config\\.json "step" is ${JSON.stringify(step)}; it must be a whole number in \\[0, 7\\]`,
      ),
    );
    await Deno.writeTextFile(join(dir, "config.json"), good);
  }
  await editConfig(dir, (c) => c.step = 4); // in range, but not the step the weights were saved at
  await assertRejects(
    () => trainModel(spec(dir, "trainable", { resume: true })),
    /config\.json says step 4 but model\.safetensors was written at step 7/,
  );
  await Deno.remove(dir, { recursive: true });
});

/** Replace one value of one tensor of model.safetensors and record the new SHA-256. */
async function poison(dir: string, tensorName: string, value: number) {
  const { decodeSafetensors, encodeSafetensors } = await import("../core/safetensors.ts");
  const { sha256Hex } = await import("../pipeline/hash.ts");
  const path = join(dir, "model.safetensors");
  const st = decodeSafetensors(await Deno.readFile(path), path);
  (st.tensors[tensorName].data as Float32Array)[3] = value;
  const bytes = encodeSafetensors(st.tensors, st.metadata);
  await Deno.writeFile(path, bytes);
  const sha = await sha256Hex(bytes);
  await editConfig(dir, (c) => (c.files as Record<string, string>)["model.safetensors"] = sha);
}

Deno.test("checkpoint: --resume refuses Inf or NaN weights, naming the file and the tensor", async () => {
  const dir = await Deno.makeTempDir();
  await trainModel(spec(dir, "trainable"));
  const good = await bytes(dir, "model.safetensors");
  const cfg = await Deno.readTextFile(join(dir, "config.json"));
  for (const [value, shown] of [[Infinity, "Infinity"], [NaN, "NaN"]] as const) {
    await poison(dir, "head", value);
    const e = await assertRejects(
      () => trainModel(spec(dir, "trainable", { resume: true })),
      new RegExp(`model\\.safetensors tensor "head" holds ${shown} at index 3`),
    );
    assert(e.message.includes(dir), e.message);
    await Deno.writeFile(join(dir, "model.safetensors"), good);
    await Deno.writeTextFile(join(dir, "config.json"), cfg);
  }
  assertEquals((await loadCheckpoint(dir)).config.step, 7); // restored: loads again
  await Deno.remove(dir, { recursive: true });
});
