// safetensors read/write (https://github.com/huggingface/safetensors format): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw
// little-endian bytes. Writes are atomic (temp file + rename); reads validate the header as the
// format specifies (types, shapes, offsets tiling the data exactly) so a truncated, corrupt or
// edited file fails with one clear line instead of garbage weights or a TypeError.

export type StDtype = "F32" | "I32" | "F64" | "U8" | "I64" | "F16";
export interface StTensor {
  dtype: StDtype;
  shape: number[];
  data: Float32Array | Int32Array | Float64Array | Uint8Array | BigInt64Array | Uint16Array;
}
export type StDict = Record<string, StTensor>;

import { createHash } from "node:crypto";

const BYTES: Record<StDtype, number> = { F32: 4, I32: 4, F64: 8, U8: 1, I64: 8, F16: 2 };

/**
 * The pieces of a safetensors file in order: the length prefix and JSON header, then each
 * tensor's bytes (views of the tensors' own arrays, sorted by name; nothing is copied).
 */
export function safetensorsParts(
  tensors: StDict,
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new Error(
        `safetensors: tensor "${name}" has ${t.data.length} values but shape [${t.shape}]`,
      );
    }
    const bytes = n * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // keep the data section 8-byte aligned
  const head = new TextEncoder().encode(json);
  const first = new Uint8Array(8 + head.length);
  new DataView(first.buffer).setBigUint64(0, BigInt(head.length), true);
  first.set(head, 8);
  return [
    first,
    ...names.map((name) => {
      const d = tensors[name].data;
      return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    }),
  ];
}

/** Serialise tensors (sorted by name) and string metadata into safetensors bytes. */
export function encodeSafetensors(
  tensors: StDict,
  metadata: Record<string, string> = {},
): Uint8Array {
  const parts = safetensorsParts(tensors, metadata);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/**
 * Write a safetensors file piece by piece (no whole-file buffer: a paper-size checkpoint is
 * ~4 GB) to a new file at `path` (the caller makes it atomic, e.g. inside a temp folder);
 * returns the file's lower-case hex SHA-256, hashed as it is written.
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: StDict,
  metadata: Record<string, string> = {},
): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (const part of safetensorsParts(tensors, metadata)) {
      for (let at = 0; at < part.length; at += WRITE_CHUNK) {
        const piece = part.subarray(at, Math.min(part.length, at + WRITE_CHUNK));
        hash.update(piece);
        let done = 0;
        while (done < piece.length) done += await file.write(piece.subarray(done));
      }
    }
  } finally {
    file.close();
  }
  return hash.digest("hex");
}

/** Bytes per write and hash update while streaming a file out. */
const WRITE_CHUNK = 1 << 24;

const CTORS = {
  F32: Float32Array,
  I32: Int32Array,
  F64: Float64Array,
  U8: Uint8Array,
  I64: BigInt64Array,
  F16: Uint16Array,
} as const;

/** The format's own header limit (the Rust reference refuses headers over 100 MB). */
const MAX_HEADER = 100_000_000;

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

const isCount = (x: unknown): x is number =>
  typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/**
 * Parse safetensors bytes; `what` names the file in error messages. Validates as the format
 * specifies (github.com/huggingface/safetensors, "Format" and the Rust `validate`): the header
 * is a JSON object of tensors plus an optional `__metadata__` map of strings; each tensor has a
 * known dtype, a shape of non-negative integers and `data_offsets` [begin, end] whose length is
 * the shape's product times the dtype's size; sorted by offset the tensors tile the data section
 * exactly (no gap, no overlap, no trailing byte). Anything else is one line naming the problem.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  what = "safetensors data",
): { tensors: StDict; metadata: Record<string, string> } {
  const { base, metadata, entries } = parseHeader(bytes, bytes.length, what);
  const tensors: StDict = {};
  for (const { name, dtype, shape, a, b } of entries) {
    const raw = bytes.slice(base + a, base + b); // copy: aligned and independent of the file buffer
    tensors[name] = { dtype, shape, data: new CTORS[dtype](raw.buffer, 0, (b - a) / BYTES[dtype]) };
  }
  return { tensors, metadata };
}

interface HeaderEntry {
  name: string;
  dtype: StDtype;
  shape: number[];
  a: number; // data_offsets, relative to the data section at byte `base`
  b: number;
}

/**
 * Read and check the header of a safetensors file of `fileLength` bytes from `prefix`, which
 * holds at least its first 8 + header-length bytes (the whole file, or only that much when the
 * tensors are read by seeking): every check of `decodeSafetensors`, the tiling of the data
 * section included. Entries are sorted by offset.
 */
function parseHeader(
  prefix: Uint8Array,
  fileLength: number,
  what: string,
): { base: number; metadata: Record<string, string>; entries: HeaderEntry[] } {
  const fail = (why: string): never => {
    throw new Error(
      `${what}: ${why} (the file is corrupt or truncated: regenerate it or restore a good copy)`,
    );
  };
  if (fileLength < 8 || prefix.length < 8) fail("shorter than the 8-byte header length");
  const hlen64 = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (hlen64 > BigInt(fileLength - 8)) {
    fail(`header length ${hlen64} exceeds file size ${fileLength}`);
  }
  const hlen = Number(hlen64);
  if (hlen > MAX_HEADER) fail(`header length ${hlen} is over the format's ${MAX_HEADER} bytes`);
  if (prefix.length < 8 + hlen) fail(`only ${prefix.length} bytes of the header were read`);
  if (hlen < 2 || prefix[8] !== 0x7b) fail("header does not start with '{' (not safetensors)");
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(prefix.subarray(8, 8 + hlen)),
    );
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message.replace(/\s+/g, " ")})`);
  }
  if (!isObject(header)) return fail("header is not a JSON object");
  const base = 8 + hlen, dataLen = fileLength - base;
  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isObject(info) || !Object.values(info).every((v) => typeof v === "string")) {
        fail("__metadata__ is not a map of strings");
      }
      metadata = info as Record<string, string>;
      continue;
    }
    const t = `tensor ${JSON.stringify(name)}`;
    if (!isObject(info)) return fail(`${t} is not an object {dtype, shape, data_offsets}`);
    const dtype = info.dtype as StDtype;
    if (typeof dtype !== "string" || !Object.hasOwn(BYTES, dtype)) {
      fail(`${t} has unsupported dtype ${JSON.stringify(info.dtype)} (${Object.keys(BYTES)})`);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      return fail(`${t} shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    const off = info.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || off[0] > off[1]) {
      return fail(`${t} data_offsets ${JSON.stringify(off)} is not [begin, end] with begin <= end`);
    }
    let n = 1;
    for (const d of shape) n *= d;
    const [a, b] = off as number[];
    if (!Number.isSafeInteger(n * BYTES[dtype]) || b - a !== n * BYTES[dtype]) {
      fail(
        `${t} offsets [${a}, ${b}] hold ${b - a} bytes, shape [${shape}] ${dtype} needs ${
          n * BYTES[dtype]
        }`,
      );
    }
    entries.push({ name, dtype, shape, a, b });
  }
  entries.sort((x, y) => x.a - y.a || x.b - y.b);
  let end = 0;
  for (const e of entries) {
    if (e.a !== end) {
      fail(
        `tensor ${JSON.stringify(e.name)} starts at byte ${e.a}, expected ${end} ` +
          `(${e.a < end ? "overlaps the tensor before it" : "a gap before it"})`,
      );
    }
    end = e.b;
  }
  if (end !== dataLen) {
    fail(`the tensors cover ${end} bytes of a ${dataLen}-byte data section`);
  }
  return { base, metadata, entries };
}

/**
 * One tensor of a safetensors file, read by seeking to its bytes (the header and that tensor
 * only, not the whole file): checking one table of a multi-gigabyte checkpoint costs that table's
 * memory. A missing tensor or a header that does not describe it is a one-line error.
 */
export async function readSafetensorsTensor(path: string, name: string): Promise<StTensor> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    const readAt = async (at: number, n: number): Promise<Uint8Array> => {
      const buf = new Uint8Array(n);
      await file.seek(at, Deno.SeekMode.Start);
      for (let got = 0; got < n;) {
        const r = await file.read(buf.subarray(got));
        if (r === null) throw new Error(`${path}: ends at byte ${at + got} (truncated)`);
        got += r;
      }
      return buf;
    };
    const first = await readAt(0, Math.min(8, size));
    // the header too when its length is plausible; parseHeader explains any that is not
    const hlen = first.length === 8
      ? Number(new DataView(first.buffer).getBigUint64(0, true))
      : Infinity;
    const prefix = hlen <= Math.min(MAX_HEADER, size - 8) ? await readAt(0, 8 + hlen) : first;
    const { base, entries } = parseHeader(prefix, size, path);
    const e = entries.find((x) => x.name === name);
    if (!e) throw new Error(`${path}: no tensor "${name}" in the file`);
    const bytes = await readAt(base + e.a, e.b - e.a);
    return {
      dtype: e.dtype,
      shape: e.shape,
      data: new CTORS[e.dtype](bytes.buffer as ArrayBuffer, 0, (e.b - e.a) / BYTES[e.dtype]),
    };
  } finally {
    file.close();
  }
}

/** Write bytes atomically: a temp file in the same folder, then rename over the target. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

export async function saveSafetensors(
  path: string,
  tensors: StDict,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Read a whole file; a missing one gives a one-line error naming it and the fix. */
export async function readFileOrExplain(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `${path}: file not found (check the path, or rerun the stage that writes it)`,
      );
    }
    throw e;
  }
}

export async function loadSafetensors(
  path: string,
): Promise<{ tensors: StDict; metadata: Record<string, string> }> {
  return decodeSafetensors(await readFileOrExplain(path), path);
}
