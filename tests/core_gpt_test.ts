// GPT tests: the whole-model loss gradient against central differences (adjoint identity along
// a random direction) in both embedding modes, frozen tables widened by repeat-interleave, and
// the paper's parameter count.

import fc from "fast-check";
import { assert, assertArrayEquals } from "./assert.ts";
import { treeFlatten, treeUnflatten, valueAndGrad } from "../core/autodiff.ts";
import { setBackend } from "../core/registry.ts";
import {
  countParams,
  type GPTConfig,
  gptLoss,
  type GPTParams,
  initGPT,
  mergeParams,
  widenTable,
} from "../core/gpt.ts";
import { Rng } from "../core/rng.ts";
import { disposeTree, type Tensor, tensor, tidy } from "../core/tensor.ts";

const SCALE = 3; // weights larger than the init so every path carries signal
// 1e-3 failed on seed 677112302 (LayerNorm with dropout and weights x3 is sharply curved there:
// the central difference moved toward the analytic value as eps fell); 3e-4 passes 150 runs.
const EPS = 3e-4;
const TRAIN = { train: true, seed: 77 }; // dropout masks are a fixed function of the seed

function tinyTable(rng: Rng, rows: number, cols: number) {
  const data = Float32Array.from({ length: rows * cols }, () => rng.normal() * 0.3);
  return { data, rows, cols };
}

async function lossAt(
  trainable: GPTParams,
  frozen: GPTParams,
  cfg: GPTConfig,
  ids: Tensor,
  tg: Tensor,
): Promise<number> {
  const l = tidy(() => gptLoss(mergeParams(trainable, frozen), cfg, ids, tg, TRAIN));
  const v = (await l.data())[0];
  l.dispose();
  return v;
}

for (const embedding of ["trainable", "frozen"] as const) {
  for (const norm of ["layernorm", "rmsnorm"] as const) {
    const dropout = norm === "layernorm" ? 0.2 : 0; // one of each pair also has dropout
    const name =
      `core gpt: 2-layer ${embedding}-embedding ${norm} dropout ${dropout} loss gradient ` +
      "matches central differences";
    Deno.test(name, async () => {
      setBackend("cpu-ref");
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 1e9 }), async (seed) => {
          const rng = new Rng(seed);
          const cfg: GPTConfig = {
            vocab: 11,
            dModel: 8,
            layers: 2,
            heads: 2,
            context: 6,
            embedding,
            norm,
            dropout,
          };
          const { trainable, frozen } = initGPT(cfg, {
            seed,
            frozenTable: embedding === "frozen" ? tinyTable(rng, 11, 4) : undefined,
          });
          // bigger weights than the init so every path carries signal
          const big = treeUnflatten(
            trainable,
            treeFlatten(trainable).map(([, t]) => {
              const d = t.dataSync() as Float32Array;
              return tensor(d.map((v) => v * SCALE + (t.rank === 1 ? 0.1 * rng.normal() : 0)), [
                ...t.shape,
              ]);
            }),
          );
          const B = 2, T = 5;
          const idArr = Int32Array.from({ length: B * T }, () => rng.int(11));
          const tgArr = Int32Array.from({ length: B * T }, () => rng.int(12) - 1); // some -1
          const ids = tensor(idArr, [B, T]), tg = tensor(tgArr, [B, T]);
          const { value, grads } = valueAndGrad((p: GPTParams) =>
            gptLoss(mergeParams(p, frozen), cfg, ids, tg, TRAIN)
          )(big);
          const gFlat = treeFlatten(grads);
          assert(
            gFlat.every(([p]) => !p.startsWith("wte") || embedding === "trainable"),
            "frozen wte got a gradient",
          );
          const eps = EPS;
          const pFlat = treeFlatten(big);
          const dirs = pFlat.map(([, t]) =>
            Float32Array.from({ length: t.size }, () => rng.uniform() * 2 - 1)
          );
          const shifted = (sign: number) =>
            treeUnflatten(
              big,
              pFlat.map(([, t], i) => {
                const d = t.dataSync() as Float32Array;
                return tensor(d.map((v, j) => v + sign * eps * dirs[i][j]), [...t.shape]);
              }),
            );
          const plus = shifted(1), minus = shifted(-1);
          const numeric =
            (await lossAt(plus, frozen, cfg, ids, tg) - await lossAt(minus, frozen, cfg, ids, tg)) /
            2;
          let analytic = 0, mag = 0;
          const pp = treeFlatten(plus), mm = treeFlatten(minus);
          gFlat.forEach(([, g], i) => {
            const gd = g.dataSync(), a = pp[i][1].dataSync(), b = mm[i][1].dataSync();
            for (let j = 0; j < gd.length; j++) {
              analytic += gd[j] * (a[j] - b[j]) / 2;
              mag += Math.abs(gd[j] * (a[j] - b[j]) / 2);
            }
          });
          const err = Math.abs(analytic - numeric);
          assert(
            err <= 2e-2 * Math.abs(analytic) + 2e-3 * mag + 1e-6,
            `loss ${value.dataSync()[0]}: analytic ${analytic} vs numeric ${numeric}`,
          );
          disposeTree([trainable, frozen, big, plus, minus, grads, value, ids, tg]);
        }),
        { numRuns: Number(Deno.env.get("NR") ?? 4) },
      );
    });
  }
}

Deno.test("core gpt: frozen table narrower than dModel is widened by repeat-interleave", () => {
  const t = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 };
  assertArrayEquals(widenTable(t, 6), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
  assertArrayEquals(widenTable(t, 3), t.data);
  let msg = "";
  try {
    widenTable(t, 4);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("cannot be widened"), "a non-divisor width must fail clearly");
});

Deno.test("core gpt: paper config has 16*12*1024^2 + 2*65536*1024 params plus norms", () => {
  const cfg: GPTConfig = {
    vocab: 65536,
    dModel: 1024,
    layers: 16,
    heads: 32,
    context: 1024,
    embedding: "frozen",
  };
  const { total, trainable } = countParams(cfg);
  const norms = (2 * 16 + 1) * 2 * 1024; // LayerNorm weight + bias, 2 per block + final
  assert(total === 16 * 12 * 1024 ** 2 + 2 * 65536 * 1024 + norms, `total ${total}`);
  assert(trainable === total - 65536 * 1024, `trainable ${trainable}`);
  const tr = countParams({ ...cfg, embedding: "trainable" });
  assert(tr.trainable === tr.total, "trainable mode trains everything");
});

Deno.test("core gpt: initGPT parameter tree sizes add up to countParams", () => {
  setBackend("cpu");
  const cfg: GPTConfig = {
    vocab: 20,
    dModel: 8,
    layers: 3,
    heads: 2,
    context: 4,
    embedding: "trainable",
  };
  const { trainable, frozen } = initGPT(cfg, { seed: 3 });
  const n = treeFlatten(trainable).reduce((a, [, t]) => a + t.size, 0);
  assert(n === countParams(cfg).trainable, `${n} vs ${countParams(cfg).trainable}`);
  disposeTree([trainable, frozen]);
});

Deno.test("core gpt: bad configs fail with one clear line", () => {
  const bad: [Partial<GPTConfig>, string][] = [
    [{ heads: 3 }, "divisible"],
    [{ vocab: 0 }, "vocab"],
    [{ embedding: "frozen" }, "frozenTable"],
  ];
  for (const [patch, word] of bad) {
    const cfg = {
      vocab: 8,
      dModel: 8,
      layers: 1,
      heads: 2,
      context: 4,
      embedding: "trainable",
      ...patch,
    } as GPTConfig;
    let msg = "";
    try {
      initGPT(cfg, { seed: 1 });
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(
      msg.includes(word) && !msg.includes("\n"),
      `expected an error about ${word}, got "${msg}"`,
    );
  }
});
