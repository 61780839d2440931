// Start-up self-tests of the optional fast paths: each runs its path once on this device over a
// small input with a known answer and says whether the backend may use it, or why not. A path
// that fails to compile or answers wrong is left off with that reason (shown in the paths line).
import { reduceSrc } from "./kernels_basic.ts";
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
