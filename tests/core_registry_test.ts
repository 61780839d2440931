// The backend registry (core/registry.ts) and the one resolver of backend names
// (core/use_backend.ts): re-registering a name replaces its cached instance, unknown names fail
// with one line naming the known ones, and the CPU choices resolve without touching WebGPU.
import { assert, assertEquals, assertThrows } from "./assert.ts";
import type { Backend } from "../core/backend.ts";
import { createRefBackend } from "../core/cpu/ref.ts";
import { getBackend, registerBackend, setBackend } from "../core/registry.ts";
import { BACKEND_CHOICES, useBackend } from "../core/use_backend.ts";

const named = (name: string): Backend => ({ ...createRefBackend(), name });

Deno.test("registry: re-registering a name drops the instance the old factory made", () => {
  registerBackend("test-swap", () => named("first"));
  assertEquals(setBackend("test-swap").name, "first");
  assertEquals(setBackend("test-swap").name, "first"); // cached: the factory runs once
  registerBackend("test-swap", () => named("second"));
  assertEquals(setBackend("test-swap").name, "second");
  setBackend("cpu");
});

Deno.test("registry: the built-ins resolve by name; an unknown name lists the known ones", () => {
  assertEquals(setBackend("cpu-ref").name, "cpu-ref");
  assertEquals(getBackend().name, "cpu-ref");
  assertEquals(setBackend("cpu").name, "cpu");
  const e = assertThrows(() => setBackend("nope"));
  assert(/"nope" is not registered.*known: cpu, cpu-ref/.test((e as Error).message), String(e));
});

Deno.test("useBackend: cpu choices activate; f16 on the CPU says why it runs f32; bad names fail", async () => {
  const r = await useBackend("cpu-ref", { precision: "f16" });
  assertEquals(r.name, "cpu-ref");
  assert(r.paths.includes("computes in f32"), r.paths);
  assertEquals(getBackend().name, "cpu-ref");
  assertEquals((await useBackend("cpu")).name, "cpu");
  let msg = "";
  try {
    await useBackend("gpu");
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, `unknown backend "gpu": use one of ${BACKEND_CHOICES.join(", ")}`);
  assertEquals(getBackend().name, "cpu");
});
