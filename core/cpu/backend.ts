// The "cpu" backend (fast); core/backend.ts registers it and "cpu-ref" as built-ins. "cpu"
// uses, in order of preference: the WebAssembly SIMD + worker kernels of core/cpu/fast/mod.ts
// (matmul, attention, cross-entropy, GELU, each only if that module exports it), then the
// faster TypeScript kernels of kernels.ts, then the reference kernels of ref.ts. f32 storage
// lives in the fast kernels' shared wasm memory so they use it in place.

import type { Backend, Storage } from "../backend.ts";
import { arr, cpuStorage, createRefBackend } from "./ref.ts";
import { fastKernels } from "./kernels.ts";

/** What core/cpu/fast/mod.ts exports: matmul always, every other kernel optional. */
type FastModule =
  & Pick<typeof import("./fast/mod.ts"), "matmulF32">
  & Partial<typeof import("./fast/mod.ts")>;

const f32 = (s: Storage) => arr(s) as Float32Array;
const i32 = (s: Storage) => arr(s) as Int32Array;

/** Overrides from the WASM module for every kernel it exports. */
function wasmKernels(m: FastModule, base: Backend): Partial<Backend> {
  const out: Partial<Backend> = {};
  const attF = m.attentionForwardF32, attB = m.attentionBackwardF32;
  if (attF && attB) {
    // a wasm trap (e.g. on NaN input) falls back to the TypeScript kernel, which writes every
    // output element and lets NaN propagate so the caller's NaN checks see it
    out.attentionForward = (q, k, v, o, lse, B, T, H, D, scale) =>
      orFallback(
        () => attF(f32(q), f32(k), f32(v), f32(o), f32(lse), B, T, H, D, scale),
        () => base.attentionForward(q, k, v, o, lse, B, T, H, D, scale),
      );
    out.attentionBackward = (q, k, v, o, lse, g, dq, dk, dv, B, T, H, D, scale) =>
      orFallback(
        () =>
          attB(
            f32(q),
            f32(k),
            f32(v),
            f32(o),
            f32(lse),
            f32(g),
            f32(dq),
            f32(dk),
            f32(dv),
            B,
            T,
            H,
            D,
            scale,
          ),
        () => base.attentionBackward(q, k, v, o, lse, g, dq, dk, dv, B, T, H, D, scale),
      );
  }
  const ceF = m.crossEntropyForwardF32, ceB = m.crossEntropyBackwardF32;
  if (ceF && ceB) {
    // storages are immutable, so a forward's row log-sum-exps stay valid for its backward
    const lseOf = new WeakMap<Storage, { lse: Float32Array; targets: Storage }>();
    out.crossEntropyForward = (logits, targets, o, N, V, ignoreIndex) => {
      const lse = new Float32Array(N);
      ceF(f32(logits), i32(targets), f32(o), N, V, ignoreIndex, lse);
      lseOf.set(logits, { lse, targets });
    };
    out.crossEntropyBackward = (logits, targets, dout, dl, N, V, ignoreIndex) => {
      const c = lseOf.get(logits);
      lseOf.delete(logits);
      const lse = c && c.targets === targets && c.lse.length === N ? c.lse : undefined;
      ceB(f32(logits), i32(targets), f32(dout), f32(dl), N, V, ignoreIndex, lse);
    };
  }
  const gF = m.geluTanhF32, gB = m.geluTanhBwdF32;
  if (gF && gB) {
    out.unary = (op, x, o, n, a, b) =>
      op === "geluTanh" ? gF(f32(x), f32(o), n) : base.unary(op, x, o, n, a, b);
    out.binary = (op, a, b, o, shape, sa, sb) => {
      const n = shape.reduce((p, q) => p * q, 1);
      if (op === "geluTanhBwd" && contiguous(shape, sa) && contiguous(shape, sb)) {
        gB(f32(a), f32(b), f32(o), n);
      } else base.binary(op, a, b, o, shape, sa, sb);
    };
  }
  // kernels whose wasm argument list is the Backend's with storages unwrapped
  const direct = [
    ["layerNormForward", m.layerNormForwardF32],
    ["layerNormBackward", m.layerNormBackwardF32],
    ["rope", m.ropeF32],
    ["adamw", m.adamwF32],
  ] as const;
  for (const [name, fn] of direct) {
    if (!fn) continue;
    const ts = base[name] as (...a: unknown[]) => void;
    const wasm = fn as (...a: unknown[]) => void;
    (out as Record<string, unknown>)[name] = (...args: unknown[]) =>
      orFallback(
        () => wasm(...args.map((a) => (isStorage(a) ? arr(a) : a))),
        () => ts(...args),
      );
  }
  return out;
}

function isStorage(a: unknown): a is Storage {
  return typeof a === "object" && a !== null && "data" in a && "dtype" in a;
}

/** Run a wasm kernel; on a WebAssembly trap run the TypeScript one instead. */
function orFallback(wasm: () => void, ts: () => void): void {
  try {
    wasm();
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    ts();
  }
}

function contiguous(shape: number[], strides: number[]): boolean {
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== acc) return false;
    acc *= shape[d];
  }
  return true;
}

/** An environment flag; false when env access is not permitted. */
function envFlag(name: string): boolean {
  try {
    return Deno.env.get(name) === "1";
  } catch {
    return false;
  }
}

/** core/cpu/fast/mod.ts if that module exists and loads (GLYPHGRAD_NO_WASM=1 skips it). */
async function loadFast(): Promise<FastModule | undefined> {
  try {
    if (envFlag("GLYPHGRAD_NO_WASM")) return undefined;
    const url = new URL("./fast/mod.ts", import.meta.url).href;
    const mod = await import(url);
    return typeof mod.matmulF32 === "function" ? mod as FastModule : undefined;
  } catch {
    return undefined;
  }
}

const fast: FastModule | undefined = await loadFast();

/** True when the WebAssembly matmul of core/cpu/fast/ is in use by "cpu". */
export const hasWasmMatmul = fast !== undefined;

/** Start the fast kernels' worker threads now (else they start on the first big matmul). */
export async function warmupCpu(timeoutMs = 10000): Promise<void> {
  if (fast?.warmupFast) await fast.warmupFast(timeoutMs);
}

export function createCpuBackend(): Backend {
  const ref = createRefBackend();
  if (!fast) return { ...ref, ...fastKernels(), name: "cpu" };
  const { allocF32, freeF32 } = fast;
  const scratch = allocF32 ?? ((n: number) => new Float32Array(n));
  const release = freeF32 ?? (() => {});
  const ts: Backend = { ...ref, ...fastKernels(fast.matmulF32, scratch, release), name: "cpu" };
  const be: Backend = envFlag("GLYPHGRAD_TS_KERNELS") ? ts : { ...ts, ...wasmKernels(fast, ts) };
  if (allocF32 && freeF32) {
    // f32 storage lives in the shared wasm memory, so the kernels use it without copies
    be.alloc = (size, dtype) => {
      if (dtype !== "f32" || size === 0) return ref.alloc(size, dtype);
      const data = allocF32(size).fill(0);
      return cpuStorage(data);
    };
    be.free = (s) => {
      const data = arr(s);
      if (data instanceof Float32Array && data.length > 0) freeF32(data);
    };
  }
  return be;
}

export { createRefBackend };
