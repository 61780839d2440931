// Content hashes for the pipeline: SHA-256 (crypto.subtle) of bytes, strings and files, and a
// canonical JSON form (sorted keys) so that equal parameters always hash equal.

import { createHash } from "node:crypto";
import { readFileOrExplain } from "../core/safetensors.ts";

/** Lower-case hex SHA-256 of bytes or a UTF-8 string. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of a typed array's bytes (e.g. a Float32Array embedding table). */
export function sha256OfArray(a: ArrayBufferView): Promise<string> {
  return sha256Hex(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/**
 * SHA-256 of a file's bytes, read 16 MiB at a time (a multi-gigabyte checkpoint is never held
 * whole in memory); a missing file gives a one-line error naming it.
 */
export async function sha256File(path: string): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) await readFileOrExplain(path); // throws its one line
    throw e;
  }
  try {
    const hash = createHash("sha256"), buf = new Uint8Array(1 << 24);
    for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
      hash.update(buf.subarray(0, n));
    }
    return hash.digest("hex");
  } finally {
    file.close();
  }
}

/** JSON with object keys sorted at every level: a stable text for hashing. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortKeys(o[k])]));
  }
  return v;
}
