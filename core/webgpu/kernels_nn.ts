// WGSL sources of the row kernels of a transformer: softmax / log-softmax and their backward,
// fused softmax cross-entropy forward and backward, LayerNorm and RMSNorm forward and backward,
// and rotary position embedding. One 256-thread workgroup per row; column sums (dw, db) use
// one thread per column walking the rows in order, so every result is deterministic.
import { header, main1, mainRow, SPECIALS, uniformLets, type Uniforms, WG_REDUCE } from "./wgsl.ts";

const memo = new Map<string, string>();
function cached(key: string, make: () => string): string {
  let s = memo.get(key);
  if (s === undefined) memo.set(key, s = make());
  return s;
}

/** Max and log-sum-exp of row `o..o+cols` of `x` (workgroup-cooperative). */
const ROW_LSE = `
fn rowLse(o: u32, cols: u32, lid: u32) -> f32 {
  var mx = -inf_();
  for (var c = lid; c < cols; c += 256u) { mx = max(mx, x[o + c]); }
  mx = wgMax(mx, lid);
  var s = 0.0;
  for (var c = lid; c < cols; c += 256u) { s += exp(x[o + c] - mx); }
  s = wgSum(s, lid);
  return mx + log(s);
}
`;

/** The row's target, shared so that branching on it stays workgroup-uniform. */
const TARGET = "var<workgroup> tgt_: i32;\n";

/** Row softmax / log-softmax. Params: rows, cols, log. */
export function softmaxSrc(): string {
  return cached(
    "softmax",
    () =>
      header([["x", "f32", "read"], ["out", "f32", "rw"]]) + SPECIALS + WG_REDUCE + ROW_LSE +
      mainRow(`
  let rows = pu(0); let cols = pu(1); let lg = pu(2) != 0u;
  if (row >= rows) { return; }
  let o = row * cols;
  let lse = rowLse(o, cols, lid);
  for (var c = lid; c < cols; c += 256u) {
    let z = x[o + c] - lse;
    out[o + c] = select(exp(z), z, lg);
  }`),
  );
}

/** dx from y and dy. Params: rows, cols, log. */
export function softmaxBackwardSrc(): string {
  return cached(
    "softmaxBwd",
    () =>
      header([["y", "f32", "read"], ["dy", "f32", "read"], ["dx", "f32", "rw"]]) + WG_REDUCE +
      mainRow(`
  let rows = pu(0); let cols = pu(1); let lg = pu(2) != 0u;
  if (row >= rows) { return; }
  let o = row * cols;
  var s = 0.0;
  for (var c = lid; c < cols; c += 256u) { s += select(dy[o + c] * y[o + c], dy[o + c], lg); }
  s = wgSum(s, lid);
  for (var c = lid; c < cols; c += 256u) {
    dx[o + c] = select(y[o + c] * (dy[o + c] - s), dy[o + c] - exp(y[o + c]) * s, lg);
  }`),
  );
}

/** The uniforms of the cross-entropy kernels. */
export const CE_UNIFORMS: Uniforms = [["N", "u32"], ["V", "u32"], ["ign", "i32"]];

/**
 * Cross-entropy, pass 1: per row loss and validity into part[2r], part[2r+1], the row's
 * logsumexp into lse[r] (0 on ignored rows). An id outside [0, V) that is not ignoreIndex gives
 * a NaN loss (caught by the finiteness check). Uniforms: CE_UNIFORMS.
 */
export function crossEntropyRowsSrc(): string {
  return cached(
    "ceRows",
    () =>
      header([
        ["x", "f32", "read"],
        ["targets", "i32", "read"],
        ["part", "f32", "rw"],
        ["lseOut", "f32", "rw"],
      ]) +
      SPECIALS + WG_REDUCE + ROW_LSE + TARGET + mainRow(`
${uniformLets(CE_UNIFORMS)}  if (row >= N) { return; }
  if (lid == 0u) { tgt_ = targets[row]; }
  let t = workgroupUniformLoad(&tgt_);
  if (t == ign) {
    if (lid == 0u) { part[2u * row] = 0.0; part[2u * row + 1u] = 0.0; lseOut[row] = 0.0; }
    return;
  }
  let o = row * V;
  let lse = rowLse(o, V, lid);
  if (lid == 0u) {
    var l = nan_();
    if (t >= 0 && u32(t) < V) { l = lse - x[o + u32(t)]; }
    part[2u * row] = l;
    part[2u * row + 1u] = 1.0;
    lseOut[row] = lse;
  }`),
  );
}

/** Cross-entropy, pass 2 (one workgroup): out[0] = sum(loss) / count, 0 if count == 0. */
export function crossEntropyMeanSrc(): string {
  return cached(
    "ceMean",
    () =>
      header([["part", "f32", "read"], ["out", "f32", "rw"]]) + WG_REDUCE + mainRow(`
${uniformLets(CE_UNIFORMS)}  var s = 0.0;
  var c = 0.0;
  for (var r = lid; r < N; r += 256u) { s += part[2u * r]; c += part[2u * r + 1u]; }
  s = wgSum(s, lid);
  c = wgSum(c, lid);
  if (lid == 0u) { out[0] = select(0.0, s / c, c > 0.0); }`),
  );
}

/** Count of valid targets into cnt[0] (one workgroup). Uniforms: CE_UNIFORMS. */
export function crossEntropyCountSrc(): string {
  return cached(
    "ceCount",
    () =>
      header([["targets", "i32", "read"], ["cnt", "f32", "rw"]]) + WG_REDUCE + mainRow(`
${uniformLets(CE_UNIFORMS)}  var c = 0.0;
  for (var r = lid; r < N; r += 256u) { c += select(1.0, 0.0, targets[r] == ign); }
  c = wgSum(c, lid);
  if (lid == 0u) { cnt[0] = c; }`),
  );
}

/**
 * dlogits = (softmax - onehot) * dout / count, 0 on ignored rows, with softmax = exp(x - lse)
 * from the forward pass's lse. Uniforms: CE_UNIFORMS.
 */
export function crossEntropyBackwardSrc(): string {
  return cached("ceBwd", () =>
    header([
      ["x", "f32", "read"],
      ["targets", "i32", "read"],
      ["lse", "f32", "read"],
      ["dout", "f32", "read"],
      ["cnt", "f32", "read"],
      ["dx", "f32", "rw"],
    ]) + TARGET + mainRow(`
${uniformLets(CE_UNIFORMS)}  if (row >= N) { return; }
  let o = row * V;
  if (lid == 0u) { tgt_ = targets[row]; }
  let t = workgroupUniformLoad(&tgt_);
  if (t == ign) {
    for (var c = lid; c < V; c += 256u) { dx[o + c] = 0.0; }
    return;
  }
  let l = lse[row];
  let scale = dout[0] / cnt[0];
  for (var c = lid; c < V; c += 256u) {
    let p = exp(x[o + c] - l);
    dx[o + c] = (p - select(0.0, 1.0, i32(c) == t)) * scale;
  }`));
}

/** LayerNorm forward (rms = false) or RMSNorm forward. Params: N, C, eps. */
export function normForwardSrc(rms: boolean): string {
  return cached(`normFwd${rms}`, () => {
    const binds: [string, string, "read" | "rw"][] = rms
      ? [["x", "f32", "read"], ["w", "f32", "read"], ["out", "f32", "rw"], ["rstd", "f32", "rw"]]
      : [
        ["x", "f32", "read"],
        ["w", "f32", "read"],
        ["b", "f32", "read"],
        ["out", "f32", "rw"],
        ["mean", "f32", "rw"],
        ["rstd", "f32", "rw"],
      ];
    return header(binds) + WG_REDUCE + mainRow(`
  let N = pu(0); let C = pu(1); let eps = pf(2);
  if (row >= N) { return; }
  let o = row * C;
  var mu = 0.0;
  ${
      rms ? "" : `for (var c = lid; c < C; c += 256u) { mu += x[o + c]; }
  mu = wgSum(mu, lid) / f32(C);`
    }
  var ss = 0.0;
  for (var c = lid; c < C; c += 256u) { let d = x[o + c] - mu; ss += d * d; }
  ss = wgSum(ss, lid) / f32(C);
  let rs = 1.0 / sqrt(ss + eps);
  for (var c = lid; c < C; c += 256u) {
    out[o + c] = (x[o + c] - mu) * rs * w[c]${rms ? "" : " + b[c]"};
  }
  if (lid == 0u) { rstd[row] = rs; ${rms ? "" : "mean[row] = mu;"} }`);
  });
}

/** dx of LayerNorm / RMSNorm (one workgroup per row). Params: N, C. */
export function normBackwardDxSrc(rms: boolean): string {
  return cached(`normBwdDx${rms}`, () => {
    const binds: [string, string, "read" | "rw"][] = [
      ["dout", "f32", "read"],
      ["x", "f32", "read"],
      ["w", "f32", "read"],
      ["rstd", "f32", "read"],
      ["dx", "f32", "rw"],
    ];
    if (!rms) binds.splice(3, 0, ["mean", "f32", "read"]);
    return header(binds) + WG_REDUCE + mainRow(`
  let N = pu(0); let C = pu(1);
  if (row >= N) { return; }
  let o = row * C;
  let mu = ${rms ? "0.0" : "mean[row]"};
  let rs = rstd[row];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = lid; c < C; c += 256u) {
    let gw = dout[o + c] * w[c];
    sg += gw;
    sgx += gw * (x[o + c] - mu) * rs;
  }
  sg = wgSum(sg, lid) / f32(C);
  sgx = wgSum(sgx, lid) / f32(C);
  for (var c = lid; c < C; c += 256u) {
    let xh = (x[o + c] - mu) * rs;
    let gw = dout[o + c] * w[c];
    dx[o + c] = rs * (gw - ${rms ? "" : "sg - "}xh * sgx);
  }`);
  });
}

/** dw (and db) of LayerNorm / RMSNorm: one thread per column over all rows. Params: N, C. */
export function normBackwardDwSrc(rms: boolean): string {
  return cached(`normBwdDw${rms}`, () => {
    const binds: [string, string, "read" | "rw"][] = [
      ["dout", "f32", "read"],
      ["x", "f32", "read"],
      ["rstd", "f32", "read"],
      ["dw", "f32", "rw"],
    ];
    if (!rms) {
      binds.splice(2, 0, ["mean", "f32", "read"]);
      binds.push(["db", "f32", "rw"]);
    }
    return header(binds) + main1(
      `
  let N = pu(0); let C = pu(1);
  if (i >= C) { return; }
  var sw = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < N; r++) {
    let g = dout[r * C + i];
    sw += g * (x[r * C + i] - ${rms ? "0.0" : "mean[r]"}) * rstd[r];
    sb += g;
  }
  dw[i] = sw;
  ${rms ? "" : "db[i] = sb;"}`,
      64,
    );
  });
}

/**
 * Rotate-half RoPE on x [B, T, H, D] with a host-computed table cs [span, D/2, 2] of (cos, sin)
 * at position t, or at pos[b, t] (i32 [B, T]) when usePos. Uniforms: ROPE_UNIFORMS.
 */
export const ROPE_UNIFORMS: Uniforms = [
  ["B", "u32"],
  ["T", "u32"],
  ["H", "u32"],
  ["D", "u32"],
  ["inv", "u32"],
  ["usePos", "u32"],
];

export function ropeSrc(): string {
  return cached(
    "rope",
    () =>
      header([
        ["x", "f32", "read"],
        ["cs", "f32", "read"],
        ["pos", "i32", "read"],
        ["out", "f32", "rw"],
      ]) + main1(`
${uniformLets(ROPE_UNIFORMS)}  let half = D / 2u;
  if (i >= B * T * H * half) { return; }
  let j = i % half;
  let bth = i / half;
  var t = (bth / H) % T;
  if (usePos != 0u) { t = u32(pos[bth / H]); }
  let base = bth * D;
  let c = cs[2u * (t * half + j)];
  let s = select(cs[2u * (t * half + j) + 1u], -cs[2u * (t * half + j) + 1u], inv != 0u);
  let x1 = x[base + j];
  let x2 = x[base + j + half];
  out[base + j] = x1 * c - x2 * s;
  out[base + j + half] = x2 * c + x1 * s;`),
  );
}
