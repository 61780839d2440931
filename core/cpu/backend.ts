// The "cpu" backend (core/registry.ts registers it and "cpu-ref" as built-ins): the WebAssembly
// SIMD + worker kernels of core/cpu/fast/mod.ts (matmul, attention, cross-entropy, softmax,
// GELU, LayerNorm, RoPE, AdamW, add/sub/mul/div, sums) over f32 storage that lives in their
// shared wasm memory (no copies), the TypeScript kernels of kernels.ts for strided copies, the
// other elementwise ops and max reductions,
// and the reference kernels of ref.ts for the rest. A wasm trap (e.g. NaN into attention) runs
// the ref.ts kernel instead, which writes every output element and lets NaN propagate so the
// caller's finiteness checks see it. No kernel keeps state between calls: what a backward pass
// needs from its forward pass is an explicit output (attention's and cross-entropy's lse).

import type { Backend, Storage } from "../backend.ts";
import { arr, cpuStorage, createRefBackend } from "./ref.ts";
import { isContiguous, trailingRow, tsKernels } from "./kernels.ts";

type FastModule = typeof import("./fast/mod.ts");

const f32 = (s: Storage) => arr(s) as Float32Array;
const i32 = (s: Storage) => arr(s) as Int32Array;

/** The wasm kernels, each mapped by name from the Backend's arguments; traps run `ref`'s. */
function wasmKernels(m: FastModule, base: Backend, ref: Backend): Partial<Backend> {
  return {
    matmul: (a, b, o, batch, M, N, K, transA, transB) =>
      m.matmulF32(f32(a), f32(b), f32(o), batch, M, N, K, transA, transB),
    attentionForward: (q, k, v, o, lse, s) =>
      orRef(
        () =>
          m.attentionForwardF32(
            f32(q),
            f32(k),
            f32(v),
            f32(o),
            f32(lse),
            s.B,
            s.T,
            s.H,
            s.D,
            s.scale,
          ),
        () => ref.attentionForward(q, k, v, o, lse, s),
      ),
    attentionBackward: (q, k, v, o, lse, g, dq, dk, dv, s) =>
      orRef(
        () =>
          m.attentionBackwardF32(
            ...[q, k, v, o, lse, g, dq, dk, dv].map(f32) as Nine,
            s.B,
            s.T,
            s.H,
            s.D,
            s.scale,
          ),
        () => {
          // the reference accumulates into zero-filled gradients: clear what the trap left
          for (const d of [dq, dk, dv]) f32(d).fill(0);
          ref.attentionBackward(q, k, v, o, lse, g, dq, dk, dv, s);
        },
      ),
    crossEntropyForward: (logits, targets, o, lse, N, V, ignoreIndex) =>
      m.crossEntropyForwardF32(f32(logits), i32(targets), f32(o), N, V, ignoreIndex, f32(lse)),
    crossEntropyBackward: (logits, targets, lse, dout, dl, N, V, ignoreIndex) =>
      m.crossEntropyBackwardF32(
        f32(logits),
        i32(targets),
        f32(dout),
        f32(dl),
        N,
        V,
        ignoreIndex,
        f32(lse),
      ),
    softmax: (x, o, rows, cols, log) => m.softmaxF32(f32(x), f32(o), rows, cols, log),
    softmaxBackward: (y, dy, dx, rows, cols, log) =>
      m.softmaxBackwardF32(f32(y), f32(dy), f32(dx), rows, cols, log),
    unary: (op, x, o, n, a, b) =>
      op === "geluTanh" ? m.geluTanhF32(f32(x), f32(o), n) : base.unary(op, x, o, n, a, b),
    binary: (op, a, b, o, shape, sa, sb) => {
      const n = shape.reduce((p, q) => p * q, 1);
      if (op === "geluTanhBwd" && isContiguous(shape, sa) && isContiguous(shape, sb)) {
        m.geluTanhBwdF32(f32(a), f32(b), f32(o), n);
      } else if (
        !(n % 4 === 0 && isArith(op) && isContiguous(shape, sa) &&
          wasmBinary(m, op, b, o, n, shape, sb, f32(a)))
      ) {
        base.binary(op, a, b, o, shape, sa, sb);
      }
    },
    reduce: (op, x, o, outer, dim, inner) => {
      if (!(op === "sum" && m.reduceSumF32(f32(x), f32(o), outer, dim, inner))) {
        base.reduce(op, x, o, outer, dim, inner);
      }
    },
    layerNormForward: (x, w, b, o, mean, rstd, N, C, eps) =>
      orRef(
        () =>
          m.layerNormForwardF32(f32(x), f32(w), f32(b), f32(o), f32(mean), f32(rstd), N, C, eps),
        () => ref.layerNormForward(x, w, b, o, mean, rstd, N, C, eps),
      ),
    layerNormBackward: (g, x, w, mean, rstd, dx, dw, db, N, C) =>
      orRef(
        () =>
          m.layerNormBackwardF32(
            ...[g, x, w, mean, rstd, dx, dw, db].map(f32) as Eight,
            N,
            C,
          ),
        () => ref.layerNormBackward(g, x, w, mean, rstd, dx, dw, db, N, C),
      ),
    // the wasm kernel rotates at positions 0..T-1; explicit positions (eval) run the reference
    rope: (x, o, positions, s) =>
      positions ? ref.rope(x, o, positions, s) : orRef(
        () => m.ropeF32(f32(x), f32(o), s.B, s.T, s.H, s.D, s.base, s.inverse),
        () => ref.rope(x, o, null, s),
      ),
    adamw: (p, g, mm, v, pOut, mOut, vOut, h) =>
      orRef(
        () =>
          m.adamwF32(
            ...[p, g, mm, v, pOut, mOut, vOut].map(f32) as Seven,
            h.n,
            h.lr,
            h.beta1,
            h.beta2,
            h.eps,
            h.weightDecay,
            h.step,
          ),
        () => ref.adamw(p, g, mm, v, pOut, mOut, vOut, h),
      ),
  };
}

type Arith = "add" | "sub" | "mul" | "div";
const isArith = (op: string): op is Arith =>
  op === "add" || op === "sub" || op === "mul" || op === "div";

/**
 * a (contiguous, n a multiple of 4) op b on the wasm kernel when b is contiguous, a scalar
 * (splatted to 4 floats) or a trailing row repeated over the leading axes (a bias); false when
 * b's layout is none of these. One float32 operation per element: the same bits as kernels.ts.
 */
function wasmBinary(
  m: FastModule,
  op: Arith,
  b: Storage,
  o: Storage,
  n: number,
  shape: number[],
  sb: number[],
  A: Float32Array,
): boolean {
  const B = f32(b);
  if (isContiguous(shape, sb)) m.binaryF32(op, A, B, f32(o), n);
  else if (sb.every((s) => s === 0)) {
    m.binaryF32(op, A, new Float32Array(4).fill(B[0]), f32(o), n, 4);
  } else {
    const row = trailingRow(shape, sb);
    if (!(row > 0 && row % 4 === 0 && n % row === 0)) return false;
    m.binaryF32(op, A, B, f32(o), n, row);
  }
  return true;
}

type F = Float32Array;
type Seven = [F, F, F, F, F, F, F];
type Eight = [...Seven, F];
type Nine = [...Eight, F];

/** Run a wasm kernel; on a WebAssembly trap run the reference one instead. */
function orRef(wasm: () => void, reference: () => void): void {
  try {
    wasm();
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    reference();
  }
}

/** An environment flag; false when env access is not permitted. */
function envFlag(name: string): boolean {
  try {
    return Deno.env.get(name) === "1";
  } catch {
    return false;
  }
}

/** core/cpu/fast/mod.ts if it loads (GLYPHGRAD_NO_WASM=1 skips it: "cpu" is then ref + TS). */
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

/** True when the WebAssembly kernels of core/cpu/fast/ are in use by "cpu". */
export const hasWasmMatmul = fast !== undefined;

/** Start the fast kernels' worker threads now (else they start on the first big matmul). */
export async function warmupCpu(timeoutMs = 10000): Promise<void> {
  if (fast) await fast.warmupFast(timeoutMs);
}

export function createCpuBackend(): Backend {
  const ref = createRefBackend();
  const base: Backend = { ...ref, ...tsKernels(), name: "cpu" };
  if (!fast) return base;
  const { allocF32, freeF32 } = fast;
  return {
    ...base,
    ...wasmKernels(fast, base, ref),
    // f32 storage lives in the shared wasm memory, so the kernels use it without copies
    alloc: (size, dtype, zero = true) => {
      if (dtype !== "f32" || size === 0) return ref.alloc(size, dtype);
      const data = allocF32(size); // NaN-filled in poison mode
      return cpuStorage(zero ? fast.zeroF32(data) : data);
    },
    free: (s) => {
      const data = arr(s);
      if (data instanceof Float32Array && data.length > 0) freeF32(data);
    },
  };
}

export { createRefBackend };
