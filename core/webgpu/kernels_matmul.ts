// WGSL batched matmul C[b] = op(A[b]) @ op(B[b]) (op = optional transpose), register-tiled:
// a workgroup computes a BM x BN tile of C, each thread a TM x TN block held in registers,
// K is walked in BK steps through workgroup memory with coalesced global loads for every
// transpose combination. The tile shape is a parameter: tune.ts picks one per adapter.
// A vec4 variant reads and writes quads where every dimension is a multiple of 4.
// Inputs may be f16 (`shader-f16`), accumulation and output are always f32.

export interface Tile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
  /** Use the vec4 kernel when M, N, K are multiples of 4 (else the scalar one, same tile). */
  vec4: boolean;
}

/** Probe candidates; the first is the default where no probe runs (software adapters). */
export const TILES: Tile[] = [
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, vec4: true },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, vec4: true },
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4, vec4: true },
  { BM: 64, BN: 64, BK: 8, TM: 4, TN: 4, vec4: true },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, vec4: false },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, vec4: false },
  { BM: 32, BN: 32, BK: 16, TM: 2, TN: 2, vec4: false },
];

export function tileName(t: Tile): string {
  return `${t.vec4 ? "vec4 " : ""}${t.BM}x${t.BN}x${t.BK}/${t.TM}x${t.TN}`;
}

/** The kernel source for one call: vec4 when the tile asks for it and the shape allows. */
export function matmulKernelSrc(
  t: Tile,
  inType: "f32" | "f16",
  M: number,
  N: number,
  K: number,
): string {
  return t.vec4 && vec4Aligned(M, N, K) ? matmulVec4Src(t, inType) : matmulSrc(t, inType);
}

/**
 * WGSL opening of a matmul kernel's main (shared with kernels_subgroup_matrix.ts): the params
 * M, N, K, tA, tB, batch item wid.z's offsets of A, B, C (element counts, then `per`, e.g.
 * " / 4u" for vec4 arrays) and the tile origin m0, n0 (no trailing newline).
 */
export function matmulPrologue(per: string): string {
  return `  let M = pu(0); let N = pu(1); let K = pu(2); let tA = pu(3) != 0u; let tB = pu(4) != 0u;
  let aOff = wid.z * M * K${per};
  let bOff = wid.z * K * N${per};
  let cOff = wid.z * M * N${per};
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;`;
}

const memo = new Map<string, string>();

/**
 * Params: M, N, K, transA, transB. Bindings: A, B, C. Grid: (ceil(N/BN), ceil(M/BM), batch).
 * `inType` is the element type of A and B ("f32" or "f16").
 */
export function matmulSrc(t: Tile, inType: "f32" | "f16" = "f32"): string {
  const key = `${tileName(t)}${inType}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const { BM, BN, BK, TM, TN } = t;
  const WX = BN / TN, WY = BM / TM, NT = WX * WY;
  const src = `${inType === "f16" ? "enable f16;\n" : ""}
@group(0) @binding(0) var<storage, read> A: array<${inType}>;
@group(0) @binding(1) var<storage, read> B: array<${inType}>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
struct Params { w: array<vec4<u32>, 16> }
@group(0) @binding(3) var<uniform> prm: Params;
fn pu(i: u32) -> u32 { return prm.w[i / 4u][i % 4u]; }
const BM: u32 = ${BM}u; const BN: u32 = ${BN}u; const BK: u32 = ${BK}u;
const TM: u32 = ${TM}u; const TN: u32 = ${TN}u; const WX: u32 = ${WX}u; const WY: u32 = ${WY}u;
const NT: u32 = ${NT}u;
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;
@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
${matmulPrologue("")}
  let tid = lid.y * WX + lid.x;
  var acc: array<f32, ${TM * TN}>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = 0.0; }
  var a: array<f32, ${TM}>;
  var b: array<f32, ${TN}>;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var e = tid; e < BK * BM; e += NT) {
      var mm = e / BK; var kk = e % BK;
      if (tA) { kk = e / BM; mm = e % BM; }
      let gm = m0 + mm; let gk = k0 + kk;
      var val = 0.0;
      if (gm < M && gk < K) { val = f32(A[aOff + select(gm * K + gk, gk * M + gm, tA)]); }
      As[kk * BM + mm] = val;
    }
    for (var e = tid; e < BK * BN; e += NT) {
      var kk = e / BN; var nn = e % BN;
      if (tB) { nn = e / BK; kk = e % BK; }
      let gn = n0 + nn; let gk = k0 + kk;
      var val = 0.0;
      if (gn < N && gk < K) { val = f32(B[bOff + select(gk * N + gn, gn * K + gk, tB)]); }
      Bs[kk * BN + nn] = val;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      for (var i = 0u; i < TM; i++) { a[i] = As[kk * BM + lid.y + i * WY]; }
      for (var j = 0u; j < TN; j++) { b[j] = Bs[kk * BN + lid.x + j * WX]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let gm = m0 + lid.y + i * WY;
    if (gm >= M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let gn = n0 + lid.x + j * WX;
      if (gn < N) { C[cOff + gm * N + gn] = acc[i * TN + j]; }
    }
  }
}
`;
  memo.set(key, src);
  return src;
}

/** True when the vec4 kernel may run: every dimension is a multiple of 4 (aligned quads). */
export function vec4Aligned(M: number, N: number, K: number): boolean {
  return M % 4 === 0 && N % 4 === 0 && K % 4 === 0;
}

/**
 * The vectorised kernel: A, B and C are read and written as vec4 quads along their contiguous
 * dimension, B's tile lives in workgroup memory as quads, and each thread accumulates TM rows
 * x TN/4 column quads with vec4 FMAs. Needs M, N, K multiples of 4 (see `vec4Aligned`); the
 * scalar kernel covers every other shape. Same params, bindings and grid as `matmulSrc`.
 */
export function matmulVec4Src(t: Tile, inType: "f32" | "f16" = "f32"): string {
  const key = `v4${tileName(t)}${inType}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const { BM, BN, BK, TM, TN } = t;
  if (TN % 4 || BK % 4 || BM % 4) throw new Error(`matmul vec4: tile ${tileName(t)} not by 4`);
  const WX = BN / TN, WY = BM / TM, NT = WX * WY, TQ = TN / 4;
  const v = `vec4<${inType}>`;
  const src = `${inType === "f16" ? "enable f16;\n" : ""}
@group(0) @binding(0) var<storage, read> A: array<${v}>;
@group(0) @binding(1) var<storage, read> B: array<${v}>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
struct Params { w: array<vec4<u32>, 16> }
@group(0) @binding(3) var<uniform> prm: Params;
fn pu(i: u32) -> u32 { return prm.w[i / 4u][i % 4u]; }
const BM: u32 = ${BM}u; const BN: u32 = ${BN}u; const BK: u32 = ${BK}u;
const BNQ: u32 = ${BN / 4}u; const BKQ: u32 = ${BK / 4}u; const BMQ: u32 = ${BM / 4}u;
const TM: u32 = ${TM}u; const TQ: u32 = ${TQ}u; const WX: u32 = ${WX}u; const WY: u32 = ${WY}u;
const NT: u32 = ${NT}u;
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<vec4<f32>, ${(BK * BN) / 4}>;
@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
${matmulPrologue(" / 4u")}
  let tid = lid.y * WX + lid.x;
  var acc: array<vec4<f32>, ${TM * TQ}>;
  for (var i = 0u; i < TM * TQ; i++) { acc[i] = vec4<f32>(0.0); }
  var a: array<f32, ${TM}>;
  var b: array<vec4<f32>, ${TQ}>;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    if (tA) { // A stored [K, M]: quads run along m
      for (var e = tid; e < BK * BMQ; e += NT) {
        let kk = e / BMQ; let mq = e % BMQ;
        let gk = k0 + kk; let gm = m0 + 4u * mq;
        var q = vec4<f32>(0.0);
        if (gk < K && gm < M) { q = vec4<f32>(A[aOff + (gk * M + gm) / 4u]); }
        for (var c = 0u; c < 4u; c++) { As[kk * BM + 4u * mq + c] = q[c]; }
      }
    } else { // A stored [M, K]: quads run along k
      for (var e = tid; e < BM * BKQ; e += NT) {
        let mm = e / BKQ; let kq = e % BKQ;
        let gm = m0 + mm; let gk = k0 + 4u * kq;
        var q = vec4<f32>(0.0);
        if (gm < M && gk < K) { q = vec4<f32>(A[aOff + (gm * K + gk) / 4u]); }
        for (var c = 0u; c < 4u; c++) { As[(4u * kq + c) * BM + mm] = q[c]; }
      }
    }
    if (tB) { // B stored [N, K]: quads run along k
      for (var e = tid; e < BN * BKQ; e += NT) {
        let nn = e / BKQ; let kq = e % BKQ;
        let gn = n0 + nn; let gk = k0 + 4u * kq;
        var q = vec4<f32>(0.0);
        if (gn < N && gk < K) { q = vec4<f32>(B[bOff + (gn * K + gk) / 4u]); }
        for (var c = 0u; c < 4u; c++) { Bs[(4u * kq + c) * BNQ + nn / 4u][nn % 4u] = q[c]; }
      }
    } else { // B stored [K, N]: quads run along n
      for (var e = tid; e < BK * BNQ; e += NT) {
        let kk = e / BNQ; let nq = e % BNQ;
        let gk = k0 + kk; let gn = n0 + 4u * nq;
        var q = vec4<f32>(0.0);
        if (gk < K && gn < N) { q = vec4<f32>(B[bOff + (gk * N + gn) / 4u]); }
        Bs[kk * BNQ + nq] = q;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      for (var i = 0u; i < TM; i++) { a[i] = As[kk * BM + lid.y + i * WY]; }
      for (var j = 0u; j < TQ; j++) { b[j] = Bs[kk * BNQ + lid.x + j * WX]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TQ; j++) { acc[i * TQ + j] = fma(vec4<f32>(a[i]), b[j], acc[i * TQ + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let gm = m0 + lid.y + i * WY;
    if (gm >= M) { continue; }
    for (var j = 0u; j < TQ; j++) {
      let gn = n0 + 4u * (lid.x + j * WX);
      if (gn < N) { C[cOff + (gm * N + gn) / 4u] = acc[i * TQ + j]; }
    }
  }
}
`;
  memo.set(key, src);
  return src;
}

/** f32 -> f16 conversion (for the f16 matmul path). Params: n. Output packed 2 per word. */
export function toF16Src(): string {
  return `enable f16;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f16>;
struct Params { w: array<vec4<u32>, 16> }
@group(0) @binding(2) var<uniform> prm: Params;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  if (i >= prm.w[0][0]) { return; }
  out[i] = f16(x[i]);
}
`;
}
