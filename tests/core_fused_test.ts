// The fused kernels against compositions of simple ops (values and gradients): causal
// attention vs masked softmax(QK^T/sqrt d)V, LayerNorm/RMSNorm vs their formulas, RoPE vs
// slice/concat with cos/sin tables, cross-entropy vs -mean(log-softmax picked), on both CPU
// backends; and a whole GPT's loss and gradients on "cpu" vs "cpu-ref".

import fc from "fast-check";
import { assertArrayClose, assertArrayEquals } from "./assert.ts";
import { treeFlatten, valueAndGrad } from "../core/autodiff.ts";
import { setBackend } from "../core/registry.ts";
import { type GPTConfig, gptLoss, type GPTParams, initGPT, mergeParams } from "../core/gpt.ts";
import * as ops from "../core/ops.ts";
import { Rng } from "../core/rng.ts";
import { disposeTree, type Tensor, tensor, tidy, zeros } from "../core/tensor.ts";

function rand(rng: Rng, shape: number[], s = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: n }, () => s * rng.normal()), shape);
}

/** Values and gradients (w.r.t. xs, cotangent c) of f and g agree. */
function sameFn(
  f: (xs: Tensor[]) => Tensor,
  g: (xs: Tensor[]) => Tensor,
  xs: Tensor[],
  rng: Rng,
  tol = 2e-5,
) {
  tidy(() => {
    const y = f(xs);
    const c = rand(rng, [...y.shape]);
    const L = (fn: typeof f) => valueAndGrad((ps: Tensor[]) => ops.sum(ops.mul(fn(ps), c)))(xs);
    assertArrayClose(f(xs).dataSync(), g(xs).dataSync(), tol, "values differ");
    const a = L(f), b = L(g);
    a.grads.forEach((ga, i) =>
      assertArrayClose(ga.dataSync(), b.grads[i].dataSync(), tol, `grad ${i} differs`)
    );
  });
}

function composedAttention([q, k, v]: Tensor[]): Tensor {
  const [, T, , D] = q.shape;
  const qh = ops.permute(q, [0, 2, 1, 3]),
    kh = ops.permute(k, [0, 2, 1, 3]),
    vh = ops.permute(v, [0, 2, 1, 3]);
  const s = ops.scale(ops.matmul(qh, kh, { transB: true }), 1 / Math.sqrt(D));
  const mask = tensor(
    Int32Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? 1 : 0)),
    [T, T],
  );
  const p = ops.softmax(ops.maskedFill(s, mask, -1e30));
  return ops.permute(ops.matmul(p, vh), [0, 2, 1, 3]);
}

/** Rotate-half RoPE from slices and cos/sin tables at positions pos ([B * T]; default t). */
function composedRope([x]: Tensor[], pos?: Int32Array): Tensor {
  const [B, T, , D] = x.shape, half = D / 2;
  const cos = new Float32Array(B * T * half), sin = new Float32Array(B * T * half);
  for (let r = 0; r < B * T; r++) {
    const p = pos ? pos[r] : r % T;
    for (let j = 0; j < half; j++) {
      cos[r * half + j] = Math.cos(p * 10000 ** (-2 * j / D));
      sin[r * half + j] = Math.sin(p * 10000 ** (-2 * j / D));
    }
  }
  const c = tensor(cos, [B, T, 1, half]), s = tensor(sin, [B, T, 1, half]);
  const x1 = ops.slice(x, 3, 0, half), x2 = ops.slice(x, 3, half, D);
  return ops.concat([
    ops.sub(ops.mul(x1, c), ops.mul(x2, s)),
    ops.add(ops.mul(x2, c), ops.mul(x1, s)),
  ], 3);
}

for (const backend of ["cpu-ref", "cpu"]) {
  const prop = (body: (rng: Rng) => void, numRuns = 8) =>
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e9 }), (seed) => body(new Rng(seed))), {
      numRuns,
    });

  Deno.test(`core fused [${backend}]: causalAttention equals masked softmax(QK^T/sqrt d) V`, () => {
    setBackend(backend);
    prop((rng) => {
      const s = [1 + rng.int(2), 1 + rng.int(9), 1 + rng.int(3), 1 + rng.int(6)];
      const xs = [rand(rng, s), rand(rng, s), rand(rng, s)];
      sameFn(([q, k, v]) => ops.causalAttention(q, k, v), composedAttention, xs, rng, 1e-4);
      disposeTree(xs);
    });
  });

  Deno.test(`core fused [${backend}]: layerNorm and rmsNorm equal their formulas`, () => {
    setBackend(backend);
    prop((rng) => {
      const C = 2 + rng.int(7),
        x = rand(rng, [1 + rng.int(4), C]),
        w = rand(rng, [C]),
        b = rand(rng, [C]);
      sameFn(
        ([x, w, b]) => ops.layerNorm(x, w, b),
        ([x, w, b]) => {
          const mu = ops.mean(x, -1, true), xc = ops.sub(x, mu);
          const v = ops.mean(ops.mul(xc, xc), -1, true);
          return ops.add(ops.mul(ops.mul(xc, ops.rsqrt(ops.add(v, 1e-5))), w), b);
        },
        [x, w, b],
        rng,
        1e-4,
      );
      sameFn(
        ([x, w]) => ops.rmsNorm(x, w),
        ([x, w]) => {
          const ms = ops.mean(ops.mul(x, x), -1, true);
          return ops.mul(ops.mul(x, ops.rsqrt(ops.add(ms, 1e-5))), w);
        },
        [x, w],
        rng,
        1e-4,
      );
      disposeTree([x, w, b]);
    });
  });

  Deno.test(`core fused [${backend}]: rope equals rotate-half with cos/sin tables`, () => {
    setBackend(backend);
    prop((rng) => {
      const x = rand(rng, [1 + rng.int(2), 1 + rng.int(9), 1 + rng.int(3), 2 * (1 + rng.int(5))]);
      sameFn(([x]) => ops.rope(x), (xs) => composedRope(xs), [x], rng, 1e-4);
      x.dispose();
    });
  });

  Deno.test(`core fused [${backend}]: rope at explicit positions equals its formula and a longer sequence's tail`, () => {
    setBackend(backend);
    prop((rng) => {
      const B = 1 + rng.int(2), T = 1 + rng.int(6), H = 1 + rng.int(3), D = 2 * (1 + rng.int(4));
      const pos = Int32Array.from({ length: B * T }, () => rng.int(300));
      const x = rand(rng, [B, T, H, D]);
      sameFn(
        ([x]) => ops.rope(x, { positions: pos }),
        (xs) => composedRope(xs, pos),
        [x],
        rng,
        1e-4,
      );
      // positions off..off+T-1 rotate like the last T steps of a sequence of off+T
      const off = rng.int(20);
      const shifted = Int32Array.from({ length: B * T }, (_, i) => off + (i % T));
      tidy(() => {
        const long = ops.concat([zeros([B, off, H, D]), x], 1);
        const tail = ops.slice(ops.rope(long), 1, off, off + T);
        assertArrayClose(
          ops.rope(x, { positions: shifted }).dataSync(),
          tail.dataSync(),
          1e-6,
          "tail",
        );
      });
      x.dispose();
    });
  });

  Deno.test(`core fused [${backend}]: crossEntropyForward writes each valid row's logsumexp to lse`, () => {
    setBackend(backend);
    prop((rng) => {
      const N = 1 + rng.int(6), V = 2 + rng.int(9);
      const tg = Int32Array.from({ length: N }, () => (rng.uniform() < 0.3 ? -1 : rng.int(V)));
      tidy(() => {
        const l = rand(rng, [N, V], 3), t = tensor(tg, [N]);
        const be = l.backend, out = be.alloc(1, "f32"), lse = be.alloc(N, "f32");
        be.crossEntropyForward(l.storage, t.storage, out, lse, N, V, -1);
        const L = l.dataSync(), got = be.downloadSync!(lse);
        const want = Float32Array.from({ length: N }, (_, r) => {
          if (tg[r] === -1) return 0;
          const row = Array.from(L.subarray(r * V, r * V + V)), mx = Math.max(...row);
          return mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
        });
        assertArrayClose(got, want, 1e-5, "lse");
        be.free(out);
        be.free(lse);
      });
    });
  });

  Deno.test(`core fused [${backend}]: crossEntropy equals -mean of picked log-softmax`, () => {
    setBackend(backend);
    prop((rng) => {
      const N = 1 + rng.int(6), V = 2 + rng.int(8);
      const tg = Int32Array.from({ length: N }, () => rng.int(V));
      const l = rand(rng, [N, V], 2), t = tensor(tg, [N]);
      const onehot = tensor(
        Float32Array.from({ length: N * V }, (_, i) => (tg[Math.floor(i / V)] === i % V ? 1 : 0)),
        [N, V],
      );
      sameFn(
        ([l]) => ops.crossEntropy(l, t),
        ([l]) => ops.scale(ops.sum(ops.mul(ops.logSoftmax(l), onehot)), -1 / N),
        [l],
        rng,
        1e-4,
      );
      disposeTree([l, t, onehot]);
    });
  });
}

Deno.test("core fused: a GPT's loss and gradients on cpu equal cpu-ref", () => {
  const cfg: GPTConfig = {
    vocab: 40,
    dModel: 16,
    layers: 2,
    heads: 2,
    context: 12,
    embedding: "trainable",
  };
  const run = (backend: string) => {
    setBackend(backend);
    const { trainable, frozen } = initGPT(cfg, { seed: 9 });
    const rng = new Rng(4);
    const ids = tensor(Int32Array.from({ length: 24 }, () => rng.int(40)), [2, 12]);
    const tg = tensor(Int32Array.from({ length: 24 }, () => rng.int(40)), [2, 12]);
    const { value, grads } = valueAndGrad((p: GPTParams) =>
      gptLoss(mergeParams(p, frozen), cfg, ids, tg)
    )(trainable);
    const out = {
      loss: value.dataSync(),
      grads: treeFlatten(grads).map(([p, g]) => [p, g.dataSync()] as const),
    };
    disposeTree([trainable, frozen, ids, tg, value, grads]);
    return out;
  };
  const a = run("cpu"), b = run("cpu-ref");
  assertArrayClose(a.loss, b.loss, 1e-5, "loss");
  a.grads.forEach(([p, g], i) => assertArrayClose(g, b.grads[i][1], 1e-4, `grad ${p}`));
});

Deno.test("core fused: a closed-over matmul operand changes no gradient of the other", () => {
  setBackend("cpu");
  const rng = new Rng(8);
  const x = rand(rng, [3, 4, 5]), w = rand(rng, [5, 6]);
  tidy(() => {
    const loss = (a: Tensor, b: Tensor) => ops.sum(ops.tanh(ops.matmul(a, b)));
    const both = valueAndGrad(([a, b]: Tensor[]) => loss(a, b))([x, w]);
    const onlyW = valueAndGrad(([b]: Tensor[]) => loss(x, b))([w]);
    const onlyX = valueAndGrad(([a]: Tensor[]) => loss(a, w))([x]);
    assertArrayEquals(onlyW.grads[0].dataSync(), both.grads[1].dataSync(), "dW");
    assertArrayEquals(onlyX.grads[0].dataSync(), both.grads[0].dataSync(), "dX");
  });
  disposeTree([x, w]);
});
