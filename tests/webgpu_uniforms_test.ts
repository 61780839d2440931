// Named WGSL uniforms (core/webgpu/wgsl.ts): the host packs values by name in the order the
// kernel declared them, and the kernel reads each one by that name; no GPU needed.
import { assertEquals, assertThrows } from "./assert.ts";
import { paramsOf, uniformLets, type Uniforms } from "../core/webgpu/wgsl.ts";

const U: Uniforms = [["N", "u32"], ["ign", "i32"], ["scale", "f32"], ["flag", "u32"]];

Deno.test("webgpu uniforms: values are packed by name, in declaration order, by type", () => {
  const p = paramsOf(U, { scale: 0.5, flag: true, N: 7, ign: -1 });
  assertEquals(p.n, 4);
  assertEquals(Array.from(p.words.subarray(0, 2)), [7, 0xffffffff]);
  assertEquals(new Float32Array(p.words.buffer, 8, 1)[0], 0.5);
  assertEquals(p.words[3], 1);
  assertThrows(() => paramsOf(U, { N: 1, ign: 0, scale: 1 }), 'uniform "flag" has no value');
});

Deno.test("webgpu uniforms: the kernel reads each uniform under its name at its slot", () => {
  assertEquals(
    uniformLets(U),
    "  let N = pu(0u);\n  let ign = pi(1u);\n  let scale = pf(2u);\n  let flag = pu(3u);\n",
  );
});
