// WGSL causal attention on q, k, v [B, T, H, D], flash style: memory O(T) per head, no T x T
// matrix. Forward: one thread per query row with an online softmax over key tiles staged in
// workgroup memory; it saves the row's log-sum-exp. Backward recomputes the probabilities:
// one kernel for dq (a thread per query), one for dk and dv (a thread per key), so every
// gradient has a single writer and the result is deterministic.
import { header, main1, SPECIALS } from "./wgsl.ts";

const memo = new Map<string, string>();
function cached(key: string, make: () => string): string {
  let s = memo.get(key);
  if (s === undefined) memo.set(key, s = make());
  return s;
}

export const ATT_ROWS = 64; // query (or key) rows per workgroup

/** Keys per shared tile: two tiles of BK x D floats fit in 16 KiB. */
export function attTile(D: number): number {
  return Math.max(1, Math.min(64, Math.floor(2048 / D)));
}

const IDX =
  `fn at(b: u32, t: u32, h: u32, d: u32) -> u32 {\n  return ((b * pu(1) + t) * pu(2) + h) * pu(4) + d;\n}`;

/** Head sizes share one shader per bucket (16, 32, 64, 128, then exact): fewer compiles. */
export function attBucket(D: number): number {
  for (const b of [16, 32, 64, 128]) if (D <= b) return b;
  return D;
}

/** Bindings (f32 arrays): the read-only `reads`, then the read-write `writes`; params uniform. */
function f32Header(reads: string[], writes: string[]): string {
  return header([
    ...reads.map((n): [string, string, "read"] => [n, "f32", "read"]),
    ...writes.map((n): [string, string, "rw"] => [n, "f32", "rw"]),
  ]);
}

/** The backward kernels' inputs. */
const BWD_INPUTS = ["q", "k", "v", "lse", "delta", "dout"];

function consts(DM: number): string {
  return `const BK: u32 = ${attTile(DM)}u;\nconst BQ: u32 = ${ATT_ROWS}u;\n`;
}

/** WGSL opening of the tiled kernels' main: params, lane, batch item b and head h. */
const MAIN_HEAD = `@compute @workgroup_size(${ATT_ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lidv: vec3u) {
  let T = pu(1); let H = pu(2); let scale = pf(3); let D = pu(4);
  let lid = lidv.x;
  let b = wid.y / H;
  let h = wid.y % H;`;

/**
 * WGSL of the one-thread-per-query kernels (forward, dq) from the K/V tile declarations to the
 * thread's query row t, its `valid` flag and its row qr (no trailing newline).
 */
function queryHead(DM: number): string {
  return `${IDX}
var<workgroup> ks: array<f32, ${attTile(DM) * DM}>;
var<workgroup> vs: array<f32, ${attTile(DM) * DM}>;
${MAIN_HEAD}
  let t = wid.x * BQ + lid;
  let valid = t < T;
  var qr: array<f32, ${DM}>;`;
}

/**
 * WGSL of the one-thread-per-query kernels: walk the key tiles up to the block's last query,
 * stage K and V of each in ks, vs, and loop over the tile's keys j <= t, opening the score sc.
 */
const KEY_TILES = `  let tEnd = min(wid.x * BQ + BQ, T);
  for (var s0 = 0u; s0 < tEnd; s0 += BK) {
    for (var e = lid; e < BK * D; e += BQ) {
      let s = s0 + e / D;
      if (s < T) { ks[e] = k[at(b, s, h, e % D)]; vs[e] = v[at(b, s, h, e % D)]; }
    }
    workgroupBarrier();
    if (valid && t >= s0) {
      let n = min(BK, t + 1u - s0);
      for (var j = 0u; j < n; j++) {
        var sc = 0.0;`;

/** Params: B, T, H, scale, D. Grid: (ceil(T / 64), B * H). */
export function attentionForwardSrc(D: number): string {
  const DM = attBucket(D);
  return cached(
    `attF${DM}`,
    () =>
      f32Header(["q", "k", "v"], ["out", "lse"]) + SPECIALS + consts(DM) + `
${queryHead(DM)}
  var acc: array<f32, ${DM}>;
  if (valid) { for (var d = 0u; d < D; d++) { qr[d] = q[at(b, t, h, d)] * scale; acc[d] = 0.0; } }
  var m = -inf_();
  var l = 0.0;
${KEY_TILES}
        for (var d = 0u; d < D; d++) { sc += qr[d] * ks[j * D + d]; }
        let mNew = max(m, sc);
        let corr = exp(m - mNew);
        let p = exp(sc - mNew);
        l = l * corr + p;
        for (var d = 0u; d < D; d++) { acc[d] = acc[d] * corr + p * vs[j * D + d]; }
        m = mNew;
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var d = 0u; d < D; d++) { out[at(b, t, h, d)] = acc[d] / l; }
    lse[(b * H + h) * T + t] = m + log(l);
  }
}
`,
  );
}

/** delta[b, h, t] = sum_d dout * out. Params: B, T, H, D. */
export function attentionDeltaSrc(): string {
  return cached(
    "attDelta",
    () =>
      header([["out", "f32", "read"], ["dout", "f32", "read"], ["delta", "f32", "rw"]]) + main1(`
  let B = pu(0); let T = pu(1); let H = pu(2); let D = pu(3);
  if (i >= B * H * T) { return; }
  let t = i % T;
  let h = (i / T) % H;
  let b = i / (T * H);
  let o = ((b * T + t) * H + h) * D;
  var s = 0.0;
  for (var d = 0u; d < D; d++) { s += dout[o + d] * out[o + d]; }
  delta[i] = s;`),
  );
}

/** dq: one thread per query. Params: B, T, H, scale. Grid: (ceil(T / 64), B * H). */
export function attentionDqSrc(D: number): string {
  const DM = attBucket(D);
  return cached(`attDq${DM}`, () =>
    f32Header(BWD_INPUTS, ["dq"]) + consts(DM) + `
${queryHead(DM)}
  var go: array<f32, ${DM}>;
  var acc: array<f32, ${DM}>;
  var L = 0.0;
  var Dl = 0.0;
  if (valid) {
    for (var d = 0u; d < D; d++) {
      qr[d] = q[at(b, t, h, d)] * scale; go[d] = dout[at(b, t, h, d)]; acc[d] = 0.0;
    }
    L = lse[(b * H + h) * T + t];
    Dl = delta[(b * H + h) * T + t];
  }
${KEY_TILES}
        var dp = 0.0;
        for (var d = 0u; d < D; d++) { sc += qr[d] * ks[j * D + d]; dp += go[d] * vs[j * D + d]; }
        let ds = exp(sc - L) * (dp - Dl) * scale;
        for (var d = 0u; d < D; d++) { acc[d] += ds * ks[j * D + d]; }
      }
    }
    workgroupBarrier();
  }
  if (valid) { for (var d = 0u; d < D; d++) { dq[at(b, t, h, d)] = acc[d]; } }
}
`);
}

/** dk, dv: one thread per key. Params: B, T, H, scale. Grid: (ceil(T / 64), B * H). */
export function attentionDkvSrc(D: number): string {
  const DM = attBucket(D);
  return cached(`attDkv${DM}`, () =>
    f32Header(BWD_INPUTS, ["dk", "dv"]) + consts(DM) + `
${IDX}
var<workgroup> qs: array<f32, ${attTile(DM) * DM}>;
var<workgroup> gs: array<f32, ${attTile(DM) * DM}>;
var<workgroup> ls: array<f32, ${attTile(DM)}>;
var<workgroup> dls: array<f32, ${attTile(DM)}>;
${MAIN_HEAD}
  let s = wid.x * BQ + lid;
  let valid = s < T;
  var kr: array<f32, ${DM}>;
  var vr: array<f32, ${DM}>;
  var dkr: array<f32, ${DM}>;
  var dvr: array<f32, ${DM}>;
  if (valid) {
    for (var d = 0u; d < D; d++) {
      kr[d] = k[at(b, s, h, d)]; vr[d] = v[at(b, s, h, d)]; dkr[d] = 0.0; dvr[d] = 0.0;
    }
  }
  let row0 = (b * H + h) * T;
  for (var t0 = wid.x * BQ; t0 < T; t0 += BK) {
    for (var e = lid; e < BK * D; e += BQ) {
      let t = t0 + e / D;
      if (t < T) { qs[e] = q[at(b, t, h, e % D)] * scale; gs[e] = dout[at(b, t, h, e % D)]; }
    }
    for (var e = lid; e < BK; e += BQ) {
      if (t0 + e < T) { ls[e] = lse[row0 + t0 + e]; dls[e] = delta[row0 + t0 + e]; }
    }
    workgroupBarrier();
    if (valid) {
      let n = min(BK, T - t0);
      for (var j = 0u; j < n; j++) {
        if (t0 + j >= s) {
          var sc = 0.0;
          var dp = 0.0;
          for (var d = 0u; d < D; d++) { sc += qs[j * D + d] * kr[d]; dp += gs[j * D + d] * vr[d]; }
          let p = exp(sc - ls[j]);
          let ds = p * (dp - dls[j]);
          for (var d = 0u; d < D; d++) {
            dvr[d] += p * gs[j * D + d];
            dkr[d] += ds * qs[j * D + d];
          }
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var d = 0u; d < D; d++) { dk[at(b, s, h, d)] = dkr[d]; dv[at(b, s, h, d)] = dvr[d]; }
  }
}
`);
}
