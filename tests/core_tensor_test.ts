// Tensor lifetimes and constructors: tidy frees exactly what it should (nested scopes, errors,
// keep), views share storage through reference counts, use-after-dispose and bad inputs fail
// with one clear line, and `using` disposes.

import fc from "fast-check";
import { assert, assertArrayEquals } from "./assert.ts";
import { setBackend } from "../core/registry.ts";
import * as ops from "../core/ops.ts";
import {
  disposeTree,
  keep,
  liveBufferCount,
  liveTensorCount,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from "../core/tensor.ts";

function oneLineError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    const msg = (e as Error).message;
    assert(!msg.includes("\n"), `error spans lines: ${msg}`);
    return msg;
  }
  throw new Error("expected an error");
}

for (const backend of ["cpu", "cpu-ref"]) {
  Deno.test(`core tensor [${backend}]: tidy frees all but the returned tree, at any depth`, () => {
    setBackend(backend);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 3 }), (n, depth) => {
        const t0 = liveTensorCount(), b0 = liveBufferCount();
        const nest = (d: number): { a: Tensor; rest: Tensor[] } =>
          tidy(() => {
            const xs = Array.from({ length: n }, (_, i) => tensor([i, i + 1], [2]));
            const y = ops.add(xs[0], xs[n - 1]);
            return { a: y, rest: d > 0 ? [nest(d - 1).a] : [] };
          });
        const out = nest(depth);
        assert(liveTensorCount() === t0 + 1 + (depth > 0 ? 1 : 0), "only returned tensors live");
        assertArrayEquals(out.a.dataSync(), [n - 1, n + 1], "value survives");
        disposeTree(out);
        assert(liveTensorCount() === t0 && liveBufferCount() === b0, "all freed");
      }),
      { numRuns: 20 },
    );
  });
}

Deno.test("core tensor: tidy frees on a throw, keep exempts, views share storage", () => {
  setBackend("cpu");
  const t0 = liveTensorCount();
  let kept: Tensor | undefined;
  try {
    tidy(() => {
      zeros([3]);
      kept = keep(zeros([2]));
      throw new Error("boom");
    });
  } catch {
    // expected
  }
  assert(liveTensorCount() === t0 + 1 && kept !== undefined && !kept.isDisposed, "kept lives");
  const x = tensor([1, 2, 3, 4], [2, 2]);
  const v = ops.reshape(x, [4]);
  const b = liveBufferCount();
  x.dispose();
  assertArrayEquals(v.dataSync(), [1, 2, 3, 4], "view survives its source");
  assert(liveBufferCount() === b, "storage still held by the view");
  v.dispose();
  assert(liveBufferCount() === b - 1, "storage freed with the last view");
  kept!.dispose();
  assert(liveTensorCount() === t0, "all freed");
});

Deno.test("core tensor: use after dispose and bad inputs fail with one clear line", () => {
  setBackend("cpu");
  const x = tensor([1, 2], [2]);
  x.dispose();
  assert(oneLineError(() => x.dataSync()).includes("after dispose"), "use after dispose");
  assert(oneLineError(() => tensor([1, 2, 3], [2, 2])).includes("do not fit"), "shape");
  assert(oneLineError(() => tensor([1], [1.5])).includes("invalid shape"), "shape value");
  assert(oneLineError(() => tidy(() => Promise.resolve(1))).includes("Promise"), "async tidy");
  const a = tensor([1, 2, 3], [3]), c = tensor([1, 2], [2]);
  assert(oneLineError(() => ops.add(a, c)).includes("broadcast"), "broadcast");
  assert(oneLineError(() => ops.matmul(a, c)).includes("rank"), "matmul rank");
  disposeTree([a, c]);
});

Deno.test("core tensor: `using` disposes at block end", () => {
  setBackend("cpu");
  const t0 = liveTensorCount();
  {
    using _t = zeros([4]);
    assert(liveTensorCount() === t0 + 1, "alive inside the block");
  }
  assert(liveTensorCount() === t0, "disposed after the block");
});

for (const backend of ["cpu", "cpu-ref"]) {
  Deno.test(`core tensor [${backend}]: hostView is the values in place, no copy`, () => {
    setBackend(backend);
    const t = tensor([1, 2, 3, 4, 5], [5]);
    const view = t.hostView()!;
    assertArrayEquals(view, t.dataSync(), "hostView values");
    t.backend.upload(t.storage, Float32Array.of(9, 8, 7, 6, 5)); // a copy would not see this
    assertArrayEquals(view, [9, 8, 7, 6, 5], "hostView must share the storage");
    t.dispose();
    let threw = false;
    try {
      t.hostView();
    } catch {
      threw = true;
    }
    assert(threw, "hostView after dispose must throw");
  });
}
