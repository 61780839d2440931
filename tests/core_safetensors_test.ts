// core/safetensors.ts decoding: a round trip, a file laid out as the Python writer lays it out
// (header padded with spaces, offsets in an order other than the header's keys), and every
// malformed header the issue-16 audit found (crashes and silent acceptance) refused with one line
// naming the file and the problem, never a TypeError / RangeError.

import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsTensor,
  writeSafetensorsFile,
} from "../core/safetensors.ts";
import { sha256File, sha256Hex } from "../pipeline/hash.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

/** A safetensors file from a header value (any JSON) and a data section of `dataBytes` bytes. */
function file(header: unknown, dataBytes: number, pad = 0): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + head.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  for (let i = 0; i < dataBytes; i++) out[8 + head.length + i] = i & 0xff;
  return out;
}

/** The decoder refuses with a plain one-line Error naming the file and matching `why`. */
function refuses(bytes: Uint8Array, why: RegExp): void {
  const e = assertThrows(() => decodeSafetensors(bytes, "x.safetensors"), why);
  assert(e.constructor === Error, `${e.constructor.name} instead of a plain Error: ${e.message}`);
  assert(e.message.startsWith("x.safetensors: "), e.message);
}

const t = (dtype: string, shape: unknown, offs: unknown) => ({
  dtype,
  shape,
  data_offsets: offs,
});

Deno.test("safetensors: round trip keeps names, dtypes, shapes, values and metadata", () => {
  const tensors = {
    b: { dtype: "F32" as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6]) },
    a: { dtype: "I32" as const, shape: [4], data: Int32Array.from([7, -8, 9, 10]) },
    e: { dtype: "U8" as const, shape: [0], data: new Uint8Array(0) },
  };
  const { tensors: got, metadata } = decodeSafetensors(encodeSafetensors(tensors, { k: "v" }));
  assertEquals(metadata, { k: "v" });
  assertEquals(Object.keys(got).sort(), ["a", "b", "e"]);
  for (const k of ["a", "b", "e"] as const) {
    assertEquals(got[k].dtype, tensors[k].dtype);
    assertEquals(got[k].shape, tensors[k].shape);
    assertEquals(got[k].data, tensors[k].data);
  }
});

Deno.test("safetensors: offsets in another order than the keys and a space-padded header load", () => {
  // the Python writer orders data by dtype alignment, not by name, and pads the header to 8
  const bytes = file(
    {
      __metadata__: { format: "pt" },
      a: t("U8", [2], [8, 10]),
      b: t("F32", [2], [0, 8]),
    },
    10,
    5,
  );
  const { tensors } = decodeSafetensors(bytes);
  assertEquals(Array.from(tensors.b.data as Float32Array).length, 2);
  assertEquals(tensors.a.data, Uint8Array.from([8, 9]));
});

Deno.test("safetensors: the audit's crashing headers are one-line errors", () => {
  refuses(file(null, 0), /header does not start with/);
  refuses(file({ w: null }, 24), /tensor "w" is not an object/);
  refuses(file({ w: t("F32", "6", [0, 24]) }, 24), /shape "6" is not a list/);
  refuses(file({ w: t("F32", null, [0, 24]) }, 24), /shape null is not a list/);
  refuses(file({ w: { dtype: "F32", shape: [6] } }, 24), /data_offsets undefined/);
  refuses(file({ w: t("F32", [-6], [0, 24]) }, 24), /shape \[-6\] is not a list/);
});

Deno.test("safetensors: what the format forbids is refused, not loaded", () => {
  refuses(file(7, 0), /does not start with '\{'/);
  refuses(file([1, 2], 0), /does not start with '\{'/);
  refuses(file({ w: t("F32", [2.5], [0, 10]) }, 10), /shape \[2.5\]/);
  refuses(file({ w: t("F32", ["2"], [0, 8]) }, 8), /shape \["2"\]/);
  refuses(file({ w: t("BF16", [2], [0, 4]) }, 4), /unsupported dtype "BF16"/);
  refuses(file({ w: t("F32", [2], [8, 0]) }, 8), /data_offsets \[8,0\]/);
  refuses(file({ w: t("F32", [2], [0, 8, 9]) }, 8), /data_offsets/);
  refuses(file({ w: t("F32", [3], [0, 8]) }, 8), /hold 8 bytes, shape \[3\] F32 needs 12/);
  // overlapping tensors, a gap, trailing bytes, a data section too short
  refuses(file({ a: t("F32", [2], [0, 8]), b: t("F32", [2], [4, 12]) }, 12), /overlaps/);
  refuses(file({ a: t("F32", [1], [0, 4]), b: t("F32", [1], [8, 12]) }, 12), /a gap before it/);
  refuses(file({ a: t("F32", [1], [0, 4]) }, 5), /cover 4 bytes of a 5-byte data section/);
  refuses(file({ a: t("F32", [2], [0, 8]) }, 4), /cover 8 bytes of a 4-byte/);
  refuses(file({ __metadata__: { step: 3 } }, 0), /__metadata__ is not a map of strings/);
  refuses(file({ __metadata__: null }, 0), /__metadata__ is not a map of strings/);
  refuses(new Uint8Array(5), /shorter than the 8-byte/);
  const broken = file({ a: t("F32", [1], [0, 4]) }, 4);
  broken[12] = 0x0a; // a newline inside the header's JSON: the parser's message spans lines
  refuses(broken, /header is not valid JSON/); // refuses() checks the message is one line
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 1n << 63n, true);
  refuses(huge, /header length 9223372036854775808 exceeds file size 16/);
});

Deno.test("safetensors: any inserted or deleted byte in a valid file is refused", () => {
  const good = encodeSafetensors({
    a: { dtype: "F32", shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    b: { dtype: "I32", shape: [2], data: Int32Array.from([1, 2]) },
  });
  for (let at = 0; at <= good.length; at++) {
    const ins = new Uint8Array(good.length + 1);
    ins.set(good.subarray(0, at));
    ins[at] = 0x20;
    ins.set(good.subarray(at), at + 1);
    if (at >= 8) refuses(ins, /./); // an inserted byte changes no stored length: never a tiling
    if (at < good.length) {
      const del = new Uint8Array([...good.subarray(0, at), ...good.subarray(at + 1)]);
      refuses(del, /./);
    }
  }
});

Deno.test("safetensors: the streamed file is the encoded bytes, and its hash is theirs", async () => {
  // 5M floats (20 MB) cross the 16 MiB write chunk; the names sort in another order than given
  const big = Float32Array.from({ length: 5_000_001 }, (_, i) => Math.sin(i));
  const tensors = {
    "z.big": { dtype: "F32" as const, shape: [5_000_001], data: big },
    "a.ids": { dtype: "I32" as const, shape: [2, 3], data: Int32Array.of(1, -2, 3, 4, 5, 6) },
  };
  const meta = { format: "test", step: "7" };
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t.safetensors`;
    const hash = await writeSafetensorsFile(path, tensors, meta);
    const want = encodeSafetensors(tensors, meta), got = await Deno.readFile(path);
    assertEquals(got.length, want.length, "file length");
    assert(got.every((b, i) => b === want[i]), "file bytes differ from encodeSafetensors");
    assertEquals(hash, await sha256Hex(want), "returned hash");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: one tensor read by seeking equals the decoded one; bad names are one line", async () => {
  const tensors = {
    "a.ids": { dtype: "I32" as const, shape: [2, 3], data: Int32Array.of(1, -2, 3, 4, 5, 6) },
    "m.wte": { dtype: "F32" as const, shape: [3, 2], data: Float32Array.of(0.5, 1, 2, 3, 4, 5) },
    "z.last": { dtype: "F32" as const, shape: [1], data: Float32Array.of(7) },
  };
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t.safetensors`;
    await writeSafetensorsFile(path, tensors, { step: "3" });
    for (const [name, t] of Object.entries(tensors)) {
      const got = await readSafetensorsTensor(path, name);
      assertEquals(got.dtype, t.dtype, `${name} dtype`);
      assertEquals(got.shape, t.shape, `${name} shape`);
      assertEquals([...got.data], [...t.data], `${name} values`);
    }
    for (const bad of ["nope", "__metadata__"]) {
      const msg = await readSafetensorsTensor(path, bad).then(() => "", (e) => String(e));
      assert(msg.includes(`no tensor "${bad}"`) && !msg.includes("\n"), msg);
    }
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 2)); // cut into z.last
    const cut = await readSafetensorsTensor(path, "z.last").then(() => "", (e) => String(e));
    assert(cut.includes("the tensors cover") && !cut.includes("\n"), cut); // the full header checks
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sha256File: the streamed hash of a file over several 16 MiB reads equals the one-shot hash", async () => {
  const bytes = new Uint8Array(40_000_003);
  for (let i = 0; i < bytes.length; i += 4093) bytes[i] = (i * 2654435761) >>> 24;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/f.bin`, bytes);
    assertEquals(await sha256File(`${dir}/f.bin`), await sha256Hex(bytes), "streamed hash");
    await Deno.writeFile(`${dir}/empty.bin`, new Uint8Array(0));
    assertEquals(await sha256File(`${dir}/empty.bin`), await sha256Hex(new Uint8Array(0)), "empty");
    const msg = await sha256File(`${dir}/missing.bin`).then(() => "", (e) => String(e));
    assert(msg.includes("missing.bin") && !msg.includes("\n"), msg);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
