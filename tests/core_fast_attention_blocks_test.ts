// The "cpu" backend's causal attention (the blocked kernels of core/cpu/fast/attention_kernels.ts:
// 16 query rows per block, register tiles with row and column remainders) against the "cpu-ref"
// backend on shapes around the block edges: T = 1, 15, 16, 17, 33, ..., head sizes 4 to 80
// (odd numbers of f32x4 columns included), several B and H, ordinary and peaked (large-score)
// inputs, with one thread and with a worker thread (shapes above the parallel threshold); and
// the generated module itself with and without relaxed-SIMD FMA (engines without it use mul + add).

import { createCpuBackend, createRefBackend } from "../core/cpu/backend.ts";
import type { AttentionShape, Backend, Storage } from "../core/backend.ts";
import { fastStats, setFastThreads, shutdownFast, warmupFast } from "../core/cpu/fast/mod.ts";
import { type AttnExports, attnModuleBytes } from "../core/cpu/fast/attention_kernels.ts";
import { causalAttentionBackward, causalAttentionForward } from "../core/cpu/ref.ts";
import { xorshiftUniform } from "./xorshift.ts";

interface Case {
  B: number;
  T: number;
  H: number;
  D: number;
  /** inputs uniform in [-amp, amp) */
  amp: number;
  seed: number;
}

const cpu = createCpuBackend(), ref = createRefBackend();

function upload(be: Backend, data: Float32Array): Storage {
  const s = be.alloc(data.length, "f32");
  be.upload(s, data);
  return s;
}

/** out, lse, dq, dk, dv of one backend on the case's inputs. */
function run(be: Backend, c: Case): Float32Array[] {
  const n = c.B * c.T * c.H * c.D;
  const input = (i: number) =>
    upload(be, Float32Array.from(xorshiftUniform(n, c.seed + i), (u) => (2 * u - 1) * c.amp));
  const [q, k, v, g] = [0, 1, 2, 3].map(input);
  const zeros = () => upload(be, new Float32Array(n));
  const out = zeros(), lse = upload(be, new Float32Array(c.B * c.H * c.T));
  const [dq, dk, dv] = [zeros(), zeros(), zeros()];
  const s: AttentionShape = { B: c.B, T: c.T, H: c.H, D: c.D, scale: 1 / Math.sqrt(c.D) };
  be.attentionForward(q, k, v, out, lse, s);
  be.attentionBackward(q, k, v, out, lse, g, dq, dk, dv, s);
  const res = [out, lse, dq, dk, dv].map((x) => be.downloadSync!(x) as Float32Array);
  [q, k, v, g, out, lse, dq, dk, dv].forEach((x) => be.free(x));
  return res;
}

function check(c: Case): Float32Array[] {
  const got = run(cpu, c), want = run(ref, c);
  ["out", "lse", "dq", "dk", "dv"].forEach((what, i) => {
    let big = 0;
    for (const x of want[i]) big = Math.max(big, Math.abs(x));
    for (let j = 0; j < want[i].length; j++) {
      if (!(Math.abs(got[i][j] - want[i][j]) <= 2e-5 * (1 + big))) {
        throw new Error(
          `${what}[${j}] = ${got[i][j]}, cpu-ref ${want[i][j]}: ${JSON.stringify(c)}`,
        );
      }
    }
  });
  return got;
}

const workerCases = [
  { B: 3, T: 71, H: 2, D: 64 },
  { B: 2, T: 49, H: 3, D: 80 },
  { B: 8, T: 100, H: 4, D: 32 },
  { B: 8, T: 129, H: 8, D: 8 },
].map((c) => ({ ...c, amp: 1, seed: c.T }));

Deno.test("blocked attention matches cpu-ref around the block edges (one thread)", () => {
  setFastThreads(1);
  const bh = [[1, 1], [2, 3], [3, 2]];
  let seed = 1;
  for (const T of [1, 2, 15, 16, 17, 31, 33, 50]) {
    for (const D of [4, 8, 12, 16, 32, 64, 80]) {
      const [B, H] = bh[seed % bh.length];
      check({ B, T, H, D, amp: 1, seed: seed++ * 7 });
    }
  }
  // peaked softmax: scores of several hundred, most probabilities underflow to zero
  for (const [T, D] of [[17, 8], [40, 64], [33, 80]]) check({ B: 2, T, H: 2, D, amp: 6, seed: 99 });
  shutdownFast();
});

Deno.test("blocked attention matches cpu-ref with a worker thread, same bits as one", async () => {
  setFastThreads(1);
  const single = workerCases.map((c) => run(cpu, c));
  setFastThreads(2);
  await warmupFast();
  fastStats(true);
  workerCases.forEach((c, i) => {
    const got = check(c);
    got.forEach((x, j) => {
      if (x.some((y, e) => !Object.is(y, single[i][j][e]))) {
        throw new Error(`output ${j} differs between 1 and 2 threads: ${JSON.stringify(c)}`);
      }
    });
  });
  const { parallelJobs } = fastStats(true);
  if (parallelJobs < 8) {
    throw new Error(`only ${parallelJobs} of the 8 attention jobs ran in parallel`);
  }
  shutdownFast();
});

Deno.test("blocked attention modules with plain mul + add (no relaxed FMA) and with FMA", () => {
  // one head (B = H = 1) straight through the generated fwd / bwd on a memory of our own
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
  for (const fma of [false, true]) {
    for (const [T, D] of [[1, 8], [19, 12], [37, 64]]) {
      const ex = new WebAssembly.Instance(
        new WebAssembly.Module(attnModuleBytes(D / 4, fma) as BufferSource),
        { env: { mem: memory } },
      ).exports as unknown as AttnExports;
      const n = T * D, scale = 1 / Math.sqrt(D), f = new Float32Array(memory.buffer);
      // float offsets: q k v o g dq dk dv (n each), m l (T each), scratch
      const at = (i: number) => i * n, m = 8 * n, l = m + T, scr = l + T;
      for (let i = 0; i < 4; i++) f.set(xorshiftUniform(n, T + i).map((u) => 2 * u - 1), at(i));
      f.fill(0, at(5), at(8));
      const [q, k, v, o, g, dq, dk, dv] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => at(i) * 4);
      ex.fwd(q, k, v, o, m * 4, l * 4, T, D * 4, scale, scr * 4);
      const lse = Float32Array.from({ length: T }, (_, t) => f[m + t] + Math.log(f[l + t]));
      const ops = [0, 1, 2].map((i) => f.slice(at(i), at(i) + n));
      const dims = { B: 1, T, H: 1, D, scale };
      const want = { out: new Float64Array(n), lse: new Float64Array(T) };
      causalAttentionForward(ops[0], ops[1], ops[2], want.out, want.lse, dims);
      f.set(f.slice(at(3), at(3) + n), at(4)); // dO := the forward's output (any values do)
      f.set(lse, m);
      ex.bwd(q, k, v, o, g, dq, dk, dv, m * 4, T, D * 4, scale, scr * 4);
      const grads = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
      const [out, dOut] = [f.slice(at(3), at(3) + n), f.slice(at(4), at(4) + n)];
      causalAttentionBackward(
        ops[0],
        ops[1],
        ops[2],
        out,
        lse,
        dOut,
        grads[0],
        grads[1],
        grads[2],
        dims,
      );
      const pairs: [string, Float32Array, Float64Array][] = [
        ["out", out, want.out],
        ["lse", lse, want.lse],
        ...[5, 6, 7].map((i, j): [string, Float32Array, Float64Array] => [
          ["dq", "dk", "dv"][j],
          f.slice(at(i), at(i) + n),
          grads[j],
        ]),
      ];
      for (const [what, got, ref] of pairs) {
        let big = 0;
        for (const x of ref) big = Math.max(big, Math.abs(x));
        got.forEach((x, i) => {
          if (!(Math.abs(x - ref[i]) <= 2e-5 * (1 + big))) {
            throw new Error(`${what}[${i}] = ${x}, want ${ref[i]} (fma ${fma}, T ${T}, D ${D})`);
          }
        });
      }
    }
  }
});
