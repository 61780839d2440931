// safetensors read/write (https://github.com/huggingface/safetensors format): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw
// little-endian bytes. Writes are atomic (temp file + rename); reads validate every offset so a
// truncated or corrupt file fails with one clear line instead of garbage weights.

export type StDtype = "F32" | "I32" | "F64" | "U8" | "I64" | "F16";
export interface StTensor {
  dtype: StDtype;
  shape: number[];
  data: Float32Array | Int32Array | Float64Array | Uint8Array | BigInt64Array | Uint16Array;
}
export type StDict = Record<string, StTensor>;

const BYTES: Record<StDtype, number> = { F32: 4, I32: 4, F64: 8, U8: 1, I64: 8, F16: 2 };

/** Serialise tensors (sorted by name) and string metadata into safetensors bytes. */
export function encodeSafetensors(
  tensors: StDict,
  metadata: Record<string, string> = {},
): Uint8Array {
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
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** Parse safetensors bytes; `what` names the file in error messages. */
export function decodeSafetensors(
  bytes: Uint8Array,
  what = "safetensors data",
): { tensors: StDict; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new Error(
      `${what}: ${why} (the file is corrupt or truncated: regenerate it or restore a good copy)`,
    );
  };
  if (bytes.length < 8) fail("shorter than the 8-byte header length");
  const hlen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (hlen > bytes.length - 8) fail(`header length ${hlen} exceeds file size ${bytes.length}`);
  let header: Record<string, { dtype: StDtype; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + hlen)),
    );
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + hlen;
  const tensors: StDict = {};
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = info as unknown as Record<string, string>;
      continue;
    }
    const size = BYTES[info.dtype];
    if (!size) fail(`tensor "${name}" has unsupported dtype ${info.dtype}`);
    const [a, b] = info.data_offsets;
    const n = info.shape.reduce((x, y) => x * y, 1);
    if (b - a !== n * size || base + b > bytes.length || a < 0) {
      fail(
        `tensor "${name}" offsets [${a}, ${b}] do not fit shape [${info.shape}] in ${bytes.length} bytes`,
      );
    }
    const raw = bytes.slice(base + a, base + b); // copy: aligned and independent of the file buffer
    const ctor = {
      F32: Float32Array,
      I32: Int32Array,
      F64: Float64Array,
      U8: Uint8Array,
      I64: BigInt64Array,
      F16: Uint16Array,
    }[
      info.dtype
    ];
    tensors[name] = { dtype: info.dtype, shape: info.shape, data: new ctor(raw.buffer, 0, n) };
  }
  return { tensors, metadata };
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
