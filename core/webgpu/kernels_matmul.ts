// WGSL batched matmul C[b] = op(A[b]) @ op(B[b]) (op = optional transpose), register-tiled:
// a workgroup computes a BM x BN tile of C, each thread a TM x TN block held in registers,
// K is walked in BK steps through workgroup memory with coalesced global loads for every
// transpose combination. The tile shape is a parameter: tune.ts picks one per adapter.
// Inputs may be f16 (`shader-f16`), accumulation and output are always f32.

export interface Tile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
}

export const TILES: Tile[] = [
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 },
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 },
  { BM: 64, BN: 64, BK: 8, TM: 4, TN: 4 },
  { BM: 32, BN: 32, BK: 16, TM: 2, TN: 2 },
];

export function tileName(t: Tile): string {
  return `${t.BM}x${t.BN}x${t.BK}/${t.TM}x${t.TN}`;
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
  let M = pu(0); let N = pu(1); let K = pu(2); let tA = pu(3) != 0u; let tB = pu(4) != 0u;
  let aOff = wid.z * M * K;
  let bOff = wid.z * K * N;
  let cOff = wid.z * M * N;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
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
