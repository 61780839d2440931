// Checks of the subgroup-matrix (tensor-core) matmul kernel, core/webgpu/kernels_subgroup_matrix.ts:
// config parsing and choice (pure), tile and grid arithmetic (fast-check), then the kernel on the
// GPU against a float64 reference computed from the f16-rounded inputs, on ragged shapes, a
// batch and all four transpose combinations. The "emulate" spelling (plain-WGSL stand-ins for
// the matrix builtins) runs wherever the adapter has shader-f16 and subgroups, lavapipe included,
// and tests the tiling, staging, padding and write-out logic; the hardware spellings run only on
// an adapter that exposes chromium-experimental-subgroup-matrix with an f16->f32 config.
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { openDevice } from "../core/webgpu/device.ts";
import { Params, Runtime } from "../core/webgpu/runtime.ts";
import {
  firstCompilingSyntax,
  pickConfig,
  readConfigs,
  type SubgroupMatrixConfig,
  subgroupMatrixGrid,
  subgroupMatrixMatmulSrc,
  type SubgroupMatrixSyntax,
  subgroupMatrixTile,
  usableConfig,
} from "../core/webgpu/kernels_subgroup_matrix.ts";

const cfg = (M: number, N: number, K: number, a = "f16", r = "f32"): SubgroupMatrixConfig => ({
  M,
  N,
  K,
  componentType: a,
  resultComponentType: r,
});

// ---- pure: configs ---------------------------------------------------------------------------

Deno.test("subgroup-matrix: readConfigs normalises Dawn's config list and copies subgroup sizes", () => {
  const info = {
    subgroupMinSize: 16,
    subgroupMaxSize: 32,
    subgroupMatrixConfigs: [
      { M: 16, N: 16, K: 16, componentType: "f16", resultComponentType: "f32" },
      { M: 8, N: 8, K: 8, componentType: "F32", resultComponentType: "F32" },
      { M: 0, N: 8, K: 8, componentType: "f16", resultComponentType: "f32" }, // bad M
      { M: 8, N: 8, K: 8, componentType: "f16" }, // no result type
      null,
      "junk",
    ],
  };
  assertEquals(readConfigs(info), [
    { ...cfg(16, 16, 16), subgroupMinSize: 16, subgroupMaxSize: 32 },
    { ...cfg(8, 8, 8, "f32", "f32"), subgroupMinSize: 16, subgroupMaxSize: 32 },
  ]);
  // Getter-only objects (Dawn's wrappers) read the same as plain ones.
  class Cfg {
    get M() {
      return 8;
    }
    get N() {
      return 16;
    }
    get K() {
      return 16;
    }
    get componentType() {
      return "f16";
    }
    get resultComponentType() {
      return "f32";
    }
  }
  assertEquals(readConfigs({ subgroupMatrixConfigs: Object.freeze([new Cfg()]) }), [
    cfg(8, 16, 16),
  ]);
  for (const bad of [null, undefined, 3, "x", {}, { subgroupMatrixConfigs: 5 }]) {
    assertEquals(readConfigs(bad), []);
  }
});

Deno.test("subgroup-matrix: pickConfig takes f16->f32 with the largest K, else null", () => {
  assertEquals(pickConfig([]), null);
  assertEquals(pickConfig([cfg(8, 8, 8, "f32", "f32"), cfg(16, 16, 16, "f16", "f16")]), null);
  assertEquals(pickConfig([cfg(8, 8, 8, "i8", "i32"), cfg(16, 16, 32, "u8", "u32")]), null);
  assertEquals(pickConfig([cfg(12, 16, 16)]), null); // 12 does not divide the 64-wide tile
  assertEquals(
    pickConfig([cfg(16, 16, 8), cfg(16, 8, 16), cfg(8, 8, 8, "f32", "f32"), cfg(16, 16, 16)]),
    cfg(16, 16, 16),
  );
  assertEquals(pickConfig([cfg(8, 16, 16), cfg(16, 8, 16)]), cfg(8, 16, 16)); // tie: first
  assertEquals(pickConfig([cfg(8, 8, 16), cfg(16, 16, 16, "f16", "f16")]), cfg(8, 8, 16));
});

Deno.test("subgroup-matrix: tiles cover every shape and fit 16 KiB of workgroup memory", () => {
  const dims = fc.constantFrom(1, 2, 4, 8, 16);
  fc.assert(
    fc.property(
      dims,
      dims,
      fc.constantFrom(1, 2, 4, 8, 16, 32),
      fc.constantFrom(4, 8, 16, 32, 64, 128),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 5000 }),
      (M, N, K, sg, m, n) => {
        const c = { ...cfg(M, N, K), subgroupMaxSize: sg };
        const t = subgroupMatrixTile(c);
        assert(t.BM % M === 0 && t.BN % N === 0 && t.BK % K === 0, "tile multiple of config");
        assert(t.WG % sg === 0 && t.WG === t.NSG * sg, "workgroup x multiple of max subgroup");
        assert(t.BM * t.BK * 2 + t.BK * t.BN * 2 + t.NSG * M * N * 4 <= 16384, "workgroup bytes");
        const [gx, gy, gz] = subgroupMatrixGrid(c, m, n, 3);
        assert(gx * t.BN >= n && (gx - 1) * t.BN < n, "grid x covers N exactly");
        assert(gy * t.BM >= m && (gy - 1) * t.BM < m, "grid y covers M exactly");
        assertEquals(gz, 3);
        const src = subgroupMatrixMatmulSrc(c);
        assert(src.includes(`@workgroup_size(${t.WG})`), "workgroup size in the source");
      },
    ),
    { numRuns: 60 },
  );
  assertThrows(() => subgroupMatrixTile(cfg(16, 16, 16, "f32", "f32")), /unusable/);
  assertThrows(() => subgroupMatrixTile({ ...cfg(8, 8, 8), subgroupMaxSize: 0 }), /invalid/);
  assert(!usableConfig(cfg(16, 16, 64)), "K beyond the tile");
  assert(!usableConfig(cfg(32, 16, 16)), "M beyond the tile");
});

Deno.test("subgroup-matrix: the two hardware spellings differ only in how layout is passed", () => {
  const c = { ...cfg(16, 16, 16), subgroupMaxSize: 32 };
  const t = subgroupMatrixMatmulSrc(c, "template"), b = subgroupMatrixMatmulSrc(c, "bool");
  assert(t.includes("subgroupMatrixLoad<LT, row_major>(&As, "), "template load");
  assert(t.includes("subgroupMatrixStore<row_major>(&Cs, "), "template store");
  assert(b.includes("subgroupMatrixLoad<LT>(&As, ") && b.includes(", false, BK)"), "bool load");
  assert(b.includes("alias LT = subgroup_matrix_left<f16, 16, 16>;"), "left type K, M");
  const e = subgroupMatrixMatmulSrc(c, "emulate");
  assert(!e.includes("chromium_experimental_subgroup_matrix"), "emulation needs no feature");
});

// ---- GPU: the kernel against a float64 reference -------------------------------------------

const ctx = await openDevice().catch(() => null);
const rt = ctx ? new Runtime(ctx) : null;
const hasF16Subgroups = !!ctx && ctx.info.features.includes("shader-f16") &&
  ctx.info.features.includes("subgroups");
const sgMax = (ctx?.adapter.info as { subgroupMaxSize?: number } | undefined)?.subgroupMaxSize;
const hwCfg = ctx && ctx.info.subgroupMatrix ? pickConfig(readConfigs(ctx.adapter.info)) : null;
const hwSyntax = rt && hwCfg ? await firstCompilingSyntax(rt.device, hwCfg) : null;

/** A deterministic pseudo-random f16 array (values in [-1, 1], rounded to f16). */
function randomF16(n: number, seed: number): Float16Array {
  let s = seed >>> 0;
  const out = new Float16Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

function storageBuffer(device: GPUDevice, data: ArrayBufferView): GPUBuffer {
  const bytes = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
  const buf = device.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  const padded = new Uint8Array(bytes);
  padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  device.queue.writeBuffer(buf, 0, padded);
  return buf;
}

const GUARD = 64; // NaN words after C that the kernel must leave alone

/** Run the kernel on [batch, M, K] x [batch, K, N] (stored transposed where tA / tB) and check. */
async function checkShape(
  c: SubgroupMatrixConfig,
  syntax: SubgroupMatrixSyntax,
  [batch, M, N, K]: number[],
  tA: boolean,
  tB: boolean,
): Promise<void> {
  const device = rt!.device;
  const a = randomF16(batch * M * K, M * 7 + K), b = randomF16(batch * K * N, N * 13 + K + 1);
  const cInit = new Float32Array(batch * M * N + GUARD).fill(NaN);
  const bufA = storageBuffer(device, a), bufB = storageBuffer(device, b);
  const bufC = storageBuffer(device, cInit);
  const params = new Params().u(M).u(N).u(K).u(tA ? 1 : 0).u(tB ? 1 : 0);
  rt!.dispatch(
    subgroupMatrixMatmulSrc(c, syntax),
    [bufA, bufB, bufC],
    params,
    subgroupMatrixGrid(c, M, N, batch),
  );
  const got = new Float32Array(await rt!.read(bufC, cInit.byteLength));
  for (const buf of [bufA, bufB, bufC]) buf.destroy();
  const where = `${syntax} ${c.M}x${c.N}x${c.K} shape b${batch} ${M}x${N}x${K} tA=${tA} tB=${tB}`;
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let ref = 0, mag = 0;
        for (let k = 0; k < K; k++) {
          const x = a[z * M * K + (tA ? k * M + i : i * K + k)];
          const y = b[z * K * N + (tB ? j * K + k : k * N + j)];
          ref += x * y;
          mag += Math.abs(x * y);
        }
        const v = got[z * M * N + i * N + j];
        // f32 accumulation of exact f16 products: error well under 1e-3 of sum |x y|.
        if (!(Math.abs(v - ref) <= 1e-3 * mag + 1e-6)) {
          throw new Error(`${where}: C[${z}][${i}][${j}] = ${v}, expected ${ref}`);
        }
      }
    }
  }
  for (let g = batch * M * N; g < got.length; g++) {
    assert(Number.isNaN(got[g]), `${where}: wrote past the end of C at word ${g}`);
  }
}

const SHAPES = [[1, 1, 1, 1], [1, 17, 33, 9], [1, 64, 64, 64], [1, 130, 70, 200], [3, 33, 65, 47]];
const TRANSPOSES: [boolean, boolean][] = [[false, false], [true, false], [false, true], [
  true,
  true,
]];

function gpuTest(name: string, skip: string | null, fn: () => Promise<void>): void {
  if (skip) Deno.test({ name: `subgroup-matrix: ${name} (skipped: ${skip})`, ignore: true, fn });
  else Deno.test(`subgroup-matrix: ${name}`, fn);
}

gpuTest(
  "emulated kernel (plain-WGSL builtins) matches float64 on ragged shapes, batch, transposes",
  !ctx ? "no WebGPU adapter" : !hasF16Subgroups ? "adapter lacks shader-f16 or subgroups" : null,
  async () => {
    const sg = sgMax ?? 32;
    // Non-square configs catch swapped M/N roles. K = 16 configs are left out only because
    // lavapipe's LLVM takes minutes to compile their emulation (same WGSL, other numbers).
    for (const c of [cfg(8, 8, 8), cfg(16, 8, 8), cfg(8, 16, 8)]) {
      const withSize = { ...c, subgroupMaxSize: sg };
      assertEquals(
        await firstCompilingSyntax(rt!.device, withSize, ["emulate"]),
        "emulate",
        "emulated kernel compiles",
      );
      for (const shape of SHAPES) {
        for (const [tA, tB] of TRANSPOSES) await checkShape(withSize, "emulate", shape, tA, tB);
      }
    }
  },
);

gpuTest(
  "without the feature no hardware spelling compiles (callers fall back)",
  !ctx ? "no WebGPU adapter" : ctx.info.subgroupMatrix ? "adapter has subgroup-matrix" : null,
  async () => {
    const c = { ...cfg(16, 16, 16), subgroupMaxSize: 32 };
    assertEquals(await firstCompilingSyntax(rt!.device, c), null);
  },
);

gpuTest(
  `hardware kernel (${hwCfg ? `${hwCfg.M}x${hwCfg.N}x${hwCfg.K}` : "none"}) matches float64 ` +
    "on ragged shapes, batch, transposes",
  !ctx ? "no WebGPU adapter" : !hwCfg ? "adapter has no subgroup-matrix config" : null,
  async () => {
    assert(hwSyntax, "neither the template nor the bool spelling of the builtins compiled");
    for (const shape of SHAPES) {
      for (const [tA, tB] of TRANSPOSES) await checkShape(hwCfg!, hwSyntax!, shape, tA, tB);
    }
  },
);
