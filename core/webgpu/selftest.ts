// Start-up self-tests of the optional fast paths: each runs its path once on this device over a
// small input with a known answer and says whether the backend may use it, or why not. A path
// that fails to compile or answers wrong is left off with that reason (shown in the paths line).
import { reduceSrc } from "./kernels_basic.ts";
import { toF16Src } from "./kernels_matmul.ts";
import {
  pickConfig,
  readConfigs,
  SUBGROUP_MATRIX_SYNTAXES,
  type SubgroupMatrixConfig,
  subgroupMatrixGrid,
  subgroupMatrixMatmulSrc,
  type SubgroupMatrixSyntax,
} from "./kernels_subgroup_matrix.ts";
import { Params, type Runtime } from "./runtime.ts";
import { withSubgroups } from "./wgsl.ts";

/** Outcome of one self-test: `ok`, or the one-line reason the path stays off. */
export type Verdict = { ok: true } | { ok: false; why: string };

/**
 * Row sums and maxima on subgroups equal the exact answers (integer data, so order does not
 * matter). Catches a driver whose subgroups are not consecutive invocations.
 */
export async function subgroupReductionsWork(rt: Runtime): Promise<Verdict> {
  if (!rt.ctx.info.features.includes("subgroups")) return { ok: false, why: "no subgroups" };
  const rows = 5, dim = 1037;
  const data = Float32Array.from({ length: rows * dim }, (_, i) => ((i * 7919) % 61) - 30);
  const x = rt.alloc(rows * dim, "f32");
  rt.upload(x, data);
  x.needsZero = false;
  try {
    for (const op of ["sum", "max"] as const) {
      const src = withSubgroups(reduceSrc(op, "f32", "rows"));
      const err = await rt.tryPipeline(src);
      if (err) return { ok: false, why: `shader rejected: ${err}` };
      const o = rt.alloc(rows, "f32");
      o.needsZero = false;
      rt.dispatch(src, [x, o], new Params().u(rows).u(dim).u(1), rt.grid1(rows, 1));
      const got = new Float32Array(await rt.read(o.buffer, rows * 4));
      rt.free(o);
      for (let r = 0; r < rows; r++) {
        const row = data.subarray(r * dim, (r + 1) * dim);
        const want = op === "sum" ? row.reduce((a, b) => a + b, 0) : Math.max(...row);
        if (got[r] !== want) {
          return { ok: false, why: `row ${op} gave ${got[r]}, expected ${want}` };
        }
      }
    }
    return { ok: true };
  } finally {
    rt.free(x);
  }
}

/** The subgroup-matrix kernel this device may use: its config and how its builtins are spelled. */
export interface SubgroupMatrixChoice {
  cfg: SubgroupMatrixConfig;
  syntax: SubgroupMatrixSyntax;
}

/**
 * Batched matmuls through `src` (f16 operands, f32 result) on ragged shapes and all four
 * transpose combinations equal the exact products. The data are multiples of 1/8 in [-1, 1],
 * exact in f16, and K <= 70 keeps every partial sum exact in f32, so any wrong index shows.
 * Returns null when every element is right, else the first wrong one.
 */
export async function matmulKernelExact(
  rt: Runtime,
  src: string,
  grid: (M: number, N: number, batch: number) => [number, number, number],
): Promise<string | null> {
  const batch = 2;
  for (const [M, N, K] of [[1, 1, 1], [37, 70, 19], [64, 48, 70], [130, 33, 40]]) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = Float32Array.from({ length: batch * M * K }, (_, i) => ((i * 37) % 17 - 8) / 8);
      const b = Float32Array.from({ length: batch * K * N }, (_, i) => ((i * 53) % 13 - 6) / 8);
      const [ga, gb] = [a, b].map((x) => {
        const s = rt.alloc(x.length, "f32");
        rt.upload(s, x);
        s.needsZero = false;
        const h = rt.alloc(Math.ceil(x.length / 2), "f32");
        h.needsZero = false;
        rt.dispatch(toF16Src(), [s, h], new Params().u(x.length), rt.grid1(x.length));
        rt.free(s);
        return h;
      });
      const c = rt.alloc(batch * M * N, "f32");
      c.needsZero = false;
      const p = new Params().u(M).u(N).u(K).u(tA ? 1 : 0).u(tB ? 1 : 0);
      rt.dispatch(src, [ga, gb, c], p, grid(M, N, batch));
      const got = new Float32Array(await rt.read(c.buffer, batch * M * N * 4));
      [ga, gb, c].forEach((s) => rt.free(s));
      for (let z = 0; z < batch; z++) {
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            let want = 0;
            for (let k = 0; k < K; k++) {
              const av = a[z * M * K + (tA ? k * M + m : m * K + k)];
              want += av * b[z * K * N + (tB ? n * K + k : k * N + n)];
            }
            const v = got[z * M * N + m * N + n];
            if (v !== want) {
              return `${M}x${N}x${K} tA=${tA} tB=${tB}: C[${z},${m},${n}] = ${v}, expected ${want}`;
            }
          }
        }
      }
    }
  }
  return null;
}

/**
 * The subgroup-matrix (tensor-core) matmul compiles here in one of the known spellings and
 * gives exact products; else why it stays off (the tiled f16 kernel is used instead).
 */
export async function subgroupMatrixWorks(
  rt: Runtime,
): Promise<({ ok: true } & SubgroupMatrixChoice) | { ok: false; why: string }> {
  const { info, adapter } = rt.ctx;
  if (!info.features.includes("chromium-experimental-subgroup-matrix")) {
    return { ok: false, why: "no" };
  }
  if (!info.features.includes("shader-f16")) return { ok: false, why: "needs shader-f16" };
  const cfg = pickConfig(readConfigs(adapter.info));
  if (!cfg) return { ok: false, why: "no f16 -> f32 configuration the kernel can use" };
  const errors: string[] = [];
  for (const syntax of SUBGROUP_MATRIX_SYNTAXES) {
    const src = subgroupMatrixMatmulSrc(cfg, syntax);
    const err = await rt.tryPipeline(src);
    if (err) {
      errors.push(`${syntax}: ${err}`);
      continue;
    }
    const wrong = await matmulKernelExact(rt, src, (M, N, b) => subgroupMatrixGrid(cfg, M, N, b));
    if (wrong) return { ok: false, why: `wrong result (${syntax} syntax) at ${wrong}` };
    return { ok: true, cfg, syntax };
  }
  return { ok: false, why: `shader rejected (${errors.join("; ")})`.slice(0, 300) };
}
