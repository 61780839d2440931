// WGSL batched matmul on subgroup matrices (tensor cores), Dawn's experimental
// `chromium-experimental-subgroup-matrix` feature: C[b] = op(A[b]) @ op(B[b]) with A, B packed
// f16 and C f32, the same params (M, N, K, transA, transB), bindings (A, B, C, uniform at 3) and
// grid shape as matmulSrc in kernels_matmul.ts, so the backend can swap the two kernels.
//
// A workgroup computes a 64 x 64 tile of C (BM x BN) with 4 subgroups
// in a 2 x 2 grid; each subgroup owns a (BM/2) x (BN/2) block of TM x TN result matrices. K is
// walked in BK steps: every thread stages tiles of A (as [m][k]) and B (as [k][n]) in workgroup
// memory, converting transposed layouts and zero-padding past M, N, K; the subgroups then load
// row-major left/right matrices from there and multiply-accumulate in f32. Results go out one
// result matrix per subgroup at a time through workgroup memory, and only in-bounds elements are
// written to C, so any M, N, K >= 1 works.
//
// Subgroup size: Dawn requires workgroup_size.x to be a multiple of the adapter's
// subgroupMaxSize. The workgroup has 4 * subgroupMaxSize invocations (32 when Dawn reports no
// size, NVIDIA's); if the driver runs smaller subgroups, the extra subgroups (subgroup_id >= 4)
// only help staging. Subgroup-matrix calls therefore sit in subgroup-uniform (not
// workgroup-uniform) control flow, so the uniformity diagnostic is turned off, as Dawn's users do.
//
// WGSL syntax (Dawn, the one in npm:webgpu@0.6.2): subgroupMatrixLoad<T, row_major>(ptr, offset,
// stride), subgroupMatrixStore<row_major>(ptr, offset, value, stride); older Dawn builds take
// the layout as a bool argument instead ("bool" syntax). "emulate" replaces the matrix builtins by
// plain WGSL with the same semantics (result matrices in workgroup memory), so that the tiling
// logic runs and is tested on any adapter with subgroups, lavapipe included.

import { matmulPrologue } from "./kernels_matmul.ts";

/** One entry of GPUAdapterInfo.subgroupMatrixConfigs, plus the adapter's subgroup sizes. */
export interface SubgroupMatrixConfig {
  M: number;
  N: number;
  K: number;
  componentType: string; // "f16", "f32", "u8", "i8", "u32", "i32"
  resultComponentType: string;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
}

/** How the subgroup-matrix builtins are spelled (see the header). */
export type SubgroupMatrixSyntax = "template" | "bool" | "emulate";

/** Hardware syntaxes in the order to try them (compile errors fall through to the next). */
export const SUBGROUP_MATRIX_SYNTAXES: readonly SubgroupMatrixSyntax[] = ["template", "bool"];

function num(x: unknown): number | undefined {
  return typeof x === "number" && Number.isFinite(x) ? x : undefined;
}

/**
 * The subgroup-matrix configs of an adapter's `info` (GPUAdapterInfo or a plain object), with
 * the adapter's subgroupMinSize/subgroupMaxSize copied into each. Entries missing a positive
 * integer M, N or K or a component type are dropped; no configs gives [].
 */
export function readConfigs(info: unknown): SubgroupMatrixConfig[] {
  if (typeof info !== "object" || info === null) return [];
  const i = info as Record<string, unknown>;
  const list = i.subgroupMatrixConfigs;
  if (!list || typeof (list as Iterable<unknown>)[Symbol.iterator] !== "function") return [];
  const minSize = num(i.subgroupMinSize), maxSize = num(i.subgroupMaxSize);
  const out: SubgroupMatrixConfig[] = [];
  for (const raw of list as Iterable<unknown>) {
    if (typeof raw !== "object" || raw === null) continue;
    const c = raw as Record<string, unknown>;
    const M = num(c.M ?? c.m), N = num(c.N ?? c.n), K = num(c.K ?? c.k);
    const componentType = c.componentType ?? c.component_type;
    const resultComponentType = c.resultComponentType ?? c.resultType ?? c.result_component_type;
    const dims = [M, N, K];
    if (!dims.every((d) => d !== undefined && Number.isInteger(d) && d > 0)) continue;
    if (typeof componentType !== "string" || typeof resultComponentType !== "string") continue;
    const cfg: SubgroupMatrixConfig = {
      M: M!,
      N: N!,
      K: K!,
      componentType: componentType.toLowerCase(),
      resultComponentType: resultComponentType.toLowerCase(),
    };
    if (minSize !== undefined) cfg.subgroupMinSize = minSize;
    if (maxSize !== undefined) cfg.subgroupMaxSize = maxSize;
    out.push(cfg);
  }
  return out;
}

/**
 * True when the kernel can use this config: f16 inputs, f32 results, M and N dividing 16 and K
 * dividing 32 (every f16 config Dawn reports today: 8x8x8, 16x16x16, 16x8x16, 8x16x16, ...), so
 * that the 64 x 64 x 32 tile fits 12 KiB of workgroup memory.
 */
export function usableConfig(c: SubgroupMatrixConfig): boolean {
  const divides = (d: number, n: number) => Number.isInteger(d) && d > 0 && n % d === 0;
  return c.componentType === "f16" && c.resultComponentType === "f32" && divides(c.M, 16) &&
    divides(c.N, 16) && divides(c.K, 32);
}

/**
 * The f16-in / f32-accumulate config the kernel should use (largest K, then largest M * N;
 * earlier entries win ties, as drivers list preferred ones first), or null when none exists.
 */
export function pickConfig(configs: SubgroupMatrixConfig[]): SubgroupMatrixConfig | null {
  let best: SubgroupMatrixConfig | null = null;
  for (const c of configs) {
    if (!usableConfig(c)) continue;
    if (!best || c.K > best.K || (c.K === best.K && c.M * c.N > best.M * best.N)) best = c;
  }
  return best;
}

/** The tile a config gives: workgroup tile BM x BN x BK, TM x TN result matrices per subgroup. */
export interface SubgroupMatrixTile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
  SGR: number; // subgroups along M
  SGC: number; // subgroups along N
  NSG: number; // subgroups doing matrix work
  WG: number; // invocations per workgroup
}

const DEFAULT_SUBGROUP_MAX = 32;

/** Tile sizes for a config (throws a one-line error for a config the kernel cannot use). */
export function subgroupMatrixTile(cfg: SubgroupMatrixConfig): SubgroupMatrixTile {
  if (!usableConfig(cfg)) {
    throw new Error(
      `subgroup-matrix config ${cfg.M}x${cfg.N}x${cfg.K} ${cfg.componentType}->` +
        `${cfg.resultComponentType} is unusable: need f16 inputs, f32 results, M and N ` +
        `dividing 16 and K dividing 32 (use pickConfig to choose one)`,
    );
  }
  const SGR = 2, SGC = 2;
  const TM = 32 / cfg.M, TN = 32 / cfg.N;
  const sgMax = cfg.subgroupMaxSize ?? DEFAULT_SUBGROUP_MAX;
  if (!Number.isInteger(sgMax) || sgMax < 1 || sgMax > 256) {
    throw new Error(`subgroup-matrix: subgroupMaxSize ${sgMax} is invalid (expected 1..256)`);
  }
  return {
    BM: SGR * TM * cfg.M,
    BN: SGC * TN * cfg.N,
    BK: 32,
    TM,
    TN,
    SGR,
    SGC,
    NSG: SGR * SGC,
    WG: SGR * SGC * sgMax,
  };
}

/** Grid for subgroupMatrixMatmulSrc: (ceil(N/BN), ceil(M/BM), batch). */
export function subgroupMatrixGrid(
  cfg: SubgroupMatrixConfig,
  M: number,
  N: number,
  batch: number,
): [number, number, number] {
  const t = subgroupMatrixTile(cfg);
  return [Math.ceil(N / t.BN), Math.ceil(M / t.BM), batch];
}

// ---- the builtins, spelled per syntax ------------------------------------------------------

interface Ops {
  header: string;
  decls: string;
  extraArgs: string;
  zero(slot: string): string;
  loadA(off: string, stride: string): string;
  loadB(off: string, stride: string): string;
  storeC(off: string, value: string, stride: string): string;
  mma(l: string, r: string, acc: string): string;
}

function hardwareOps(syntax: "template" | "bool", cfg: SubgroupMatrixConfig): Ops {
  const tmpl = syntax === "template";
  const load = (T: string, arr: string, off: string, stride: string) =>
    tmpl
      ? `subgroupMatrixLoad<${T}, row_major>(&${arr}, ${off}, ${stride})`
      : `subgroupMatrixLoad<${T}>(&${arr}, ${off}, false, ${stride})`;
  return {
    header: "enable chromium_experimental_subgroup_matrix;\n" +
      "diagnostic(off, chromium.subgroup_matrix_uniformity);\n",
    decls: `alias LT = subgroup_matrix_left<f16, ${cfg.K}, ${cfg.M}>;
alias RT = subgroup_matrix_right<f16, ${cfg.N}, ${cfg.K}>;
alias AT = subgroup_matrix_result<f32, ${cfg.N}, ${cfg.M}>;
`,
    extraArgs: "",
    zero: () => "AT()",
    loadA: (off, stride) => load("LT", "As", off, stride),
    loadB: (off, stride) => load("RT", "Bs", off, stride),
    storeC: (off, value, stride) =>
      tmpl
        ? `subgroupMatrixStore<row_major>(&Cs, ${off}, ${value}, ${stride});`
        : `subgroupMatrixStore(&Cs, ${off}, ${value}, false, ${stride});`,
    mma: (l, r, acc) => `subgroupMatrixMultiplyAccumulate(${l}, ${r}, ${acc})`,
  };
}

/**
 * Plain-WGSL stand-ins with the builtins' row-major semantics. A left/right "matrix" is its
 * (offset, stride) in As/Bs (which hold still between load and use), a result matrix is a slot of
 * SM x SN floats in workgroup memory (16 KiB more), each element owned by one lane of the
 * subgroup, so no lane holds a whole matrix (lavapipe is very slow at big private arrays).
 */
function emulatedOps(cfg: SubgroupMatrixConfig, t: SubgroupMatrixTile): Ops {
  const { M: SM, N: SN, K: SK } = cfg;
  const slots = t.TM * t.TN;
  return {
    header: "",
    decls: `alias LT = vec2u;
alias RT = vec2u;
alias AT = u32;
var<workgroup> Acc: array<f32, ${t.NSG * slots * SM * SN}>;
fn emuLoadA(off: u32, stride: u32) -> LT { return LT(off, stride); }
fn emuLoadB(off: u32, stride: u32) -> RT { return RT(off, stride); }
fn emuZero(sg: u32, slot: u32, lane: u32, sgs: u32) -> AT {
  let acc = (sg * ${slots}u + slot) * ${SM * SN}u;
  if (sg < NSG) {
    for (var e = lane; e < ${SM * SN}u; e += sgs) { Acc[acc + e] = 0.0; }
  }
  return acc;
}
fn emuMma(l: LT, r: RT, acc: AT, lane: u32, sgs: u32) -> AT {
  for (var e = lane; e < ${SM * SN}u; e += sgs) {
    let row = e / ${SN}u; let col = e % ${SN}u;
    var s = Acc[acc + e];
    for (var k = 0u; k < ${SK}u; k++) {
      s = fma(f32(As[l.x + row * l.y + k]), f32(Bs[r.x + k * r.y + col]), s);
    }
    Acc[acc + e] = s;
  }
  return acc;
}
fn emuStoreC(off: u32, acc: AT, stride: u32, lane: u32, sgs: u32) {
  for (var e = lane; e < ${SM * SN}u; e += sgs) {
    Cs[off + (e / ${SN}u) * stride + e % ${SN}u] = Acc[acc + e];
  }
}
`,
    extraArgs:
      ",\n        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32",
    zero: (slot) => `emuZero(sg, ${slot}, lane, sgs)`,
    loadA: (off, stride) => `emuLoadA(${off}, ${stride})`,
    loadB: (off, stride) => `emuLoadB(${off}, ${stride})`,
    storeC: (off, value, stride) => `emuStoreC(${off}, ${value}, ${stride}, lane, sgs);`,
    mma: (l, r, acc) => `emuMma(${l}, ${r}, ${acc}, lane, sgs)`,
  };
}

const memo = new Map<string, string>();

/**
 * WGSL for C[b] = op(A[b]) @ op(B[b]). Bindings: A (array<f16>), B (array<f16>), C (array<f32>),
 * params uniform at 3 (M, N, K, transA, transB). Grid: subgroupMatrixGrid. Needs the device
 * features shader-f16, subgroups and (except "emulate") chromium-experimental-subgroup-matrix.
 */
export function subgroupMatrixMatmulSrc(
  cfg: SubgroupMatrixConfig,
  syntax: SubgroupMatrixSyntax = "template",
): string {
  const t = subgroupMatrixTile(cfg);
  const key = `${cfg.M}x${cfg.N}x${cfg.K}/${cfg.subgroupMaxSize}/${syntax}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const ops = syntax === "emulate" ? emulatedOps(cfg, t) : hardwareOps(syntax, cfg);
  const { BM, BN, BK, TM, TN, SGC, NSG, WG } = t;
  const { M: SM, N: SN, K: SK } = cfg;
  const src = `enable f16;
enable subgroups;
${ops.header}
@group(0) @binding(0) var<storage, read> A: array<f16>;
@group(0) @binding(1) var<storage, read> B: array<f16>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
struct Params { w: array<vec4<u32>, 16> }
@group(0) @binding(3) var<uniform> prm: Params;
fn pu(i: u32) -> u32 { return prm.w[i / 4u][i % 4u]; }
const BM: u32 = ${BM}u; const BN: u32 = ${BN}u; const BK: u32 = ${BK}u;
const SM: u32 = ${SM}u; const SN: u32 = ${SN}u; const SK: u32 = ${SK}u;
const TM: u32 = ${TM}u; const TN: u32 = ${TN}u; const SGC: u32 = ${SGC}u;
const NSG: u32 = ${NSG}u; const WG: u32 = ${WG}u;
var<workgroup> As: array<f16, ${BM * BK}>; // [m][k], row stride BK
var<workgroup> Bs: array<f16, ${BK * BN}>; // [k][n], row stride BN
var<workgroup> Cs: array<f32, ${NSG * SM * SN}>; // one SM x SN result per subgroup, stride SN
${ops.decls}
// Write result matrix (i0, j0) of every subgroup (staged in Cs) to C, in-bounds elements only.
fn writeOut(i0: u32, j0: u32, m0: u32, n0: u32, cOff: u32, M: u32, N: u32, tid: u32) {
  for (var e = tid; e < NSG * SM * SN; e += WG) {
    let s = e / (SM * SN);
    let gm = m0 + (s / SGC) * TM * SM + i0 + (e / SN) % SM;
    let gn = n0 + (s % SGC) * TN * SN + j0 + e % SN;
    if (gm < M && gn < N) { C[cOff + gm * N + gn] = Cs[e]; }
  }
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32,
        @builtin(subgroup_id) sg: u32${ops.extraArgs}) {
${matmulPrologue("")}
  let working = sg < NSG; // subgroups past NSG (smaller runtime subgroups) only stage tiles
  let sm = (sg / SGC) * TM * SM; // this subgroup's block inside the tile
  let sn = (sg % SGC) * TN * SN;
  var acc: array<AT, ${TM * TN}>; // result (i, j) at i * TN + j
  for (var q = 0u; q < TM * TN; q++) { acc[q] = ${ops.zero("q")}; }
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var e = tid; e < BM * BK; e += WG) {
      var mm = e / BK; var kk = e % BK;
      if (tA) { kk = e / BM; mm = e % BM; }
      let gm = m0 + mm; let gk = k0 + kk;
      var v = f16(0.0);
      if (gm < M && gk < K) { v = A[aOff + select(gm * K + gk, gk * M + gm, tA)]; }
      As[mm * BK + kk] = v;
    }
    for (var e = tid; e < BK * BN; e += WG) {
      var kk = e / BN; var nn = e % BN;
      if (tB) { nn = e / BK; kk = e % BK; }
      let gn = n0 + nn; let gk = k0 + kk;
      var v = f16(0.0);
      if (gn < N && gk < K) { v = B[bOff + select(gk * N + gn, gn * K + gk, tB)]; }
      Bs[kk * BN + nn] = v;
    }
    workgroupBarrier();
    if (working) {
      for (var kk = 0u; kk < BK; kk += SK) {
        var a: array<LT, ${TM}>;
        for (var i = 0u; i < TM; i++) {
          a[i] = ${ops.loadA("(sm + i * SM) * BK + kk", "BK")};
        }
        for (var j = 0u; j < TN; j++) {
          let b = ${ops.loadB("kk * BN + sn + j * SN", "BN")};
          for (var i = 0u; i < TM; i++) {
            acc[i * TN + j] = ${ops.mma("a[i]", "b", "acc[i * TN + j]")};
          }
        }
      }
    }
    workgroupBarrier();
  }
  for (var q = 0u; q < TM * TN; q++) {
    if (working) { ${ops.storeC("sg * SM * SN", "acc[q]", "SN")} }
    workgroupBarrier();
    writeOut((q / TN) * SM, (q % TN) * SN, m0, n0, cOff, M, N, tid);
    workgroupBarrier();
  }
}
`;
  memo.set(key, src);
  return src;
}

/**
 * The first of `syntaxes` whose matmul pipeline compiles on `device` for `cfg`, or null when
 * none does (feature missing, unusable config, or a Dawn build with other spellings). Compiles
 * only: the caller still checks results (e.g. against the f32 kernel) before using it.
 */
export async function firstCompilingSyntax(
  device: GPUDevice,
  cfg: SubgroupMatrixConfig,
  syntaxes: readonly SubgroupMatrixSyntax[] = SUBGROUP_MATRIX_SYNTAXES,
): Promise<SubgroupMatrixSyntax | null> {
  if (!usableConfig(cfg)) return null;
  for (const syntax of syntaxes) {
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ code: subgroupMatrixMatmulSrc(cfg, syntax) });
    device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
    if (!(await device.popErrorScope())) return syntax;
  }
  return null;
}
