// WGSL sources of the simple kernels: fill, strided copy, cast, unary and broadcasting binary
// elementwise ops, axis reductions, masked fill, gather / scatter-add, dropout, AdamW and the
// finiteness check. Each function returns the shader text for one (op, dtype) combination;
// the runtime caches pipelines by that text.
import type { BinaryOp, DType, ReduceOp, UnaryOp } from "../backend.ts";
import { elem, header, main1, mainRow, MATH, SPECIALS, WG_REDUCE } from "./wgsl.ts";

const memo = new Map<string, string>();
function cached(key: string, make: () => string): string {
  let s = memo.get(key);
  if (s === undefined) memo.set(key, s = make());
  return s;
}

/**
 * WGSL lines that walk the flat index i over rank = pu(1) axes, innermost first (axis sizes at
 * pu(shape + ax)), adding each coordinate times pu(stride + ax) to every [name, start, stride]
 * index variable.
 */
function stridedWalk(shape: number, vars: [string, string, number][]): string {
  return `  let rank = pu(1);
  var rem = i;
${vars.map(([v, start]) => `  var ${v} = ${start};\n`).join("")}  for (var k = 0u; k < rank; k++) {
    let ax = rank - 1u - k;
    let n = pu(${shape}u + ax);
    let c = rem % n;
    rem = rem / n;
${vars.map(([v, , stride]) => `    ${v} += c * pu(${stride}u + ax);\n`).join("")}  }`;
}

/** out[i] = bits for i < n (bits of an f32 or i32 value). Params: n, bits. */
export function fillSrc(): string {
  return cached(
    "fill",
    () =>
      header([["out", "u32", "rw"]]) + main1(`  if (i >= pu(0)) { return; }\n  out[i] = pu(1);`),
  );
}

/**
 * Strided copy of raw 32-bit words over an index space of rank <= 6. Params: n, rank, srcOff,
 * dstOff, shape[6] (4..9), srcStrides[6] (10..15), dstStrides[6] (16..21).
 */
export function copyStridedSrc(): string {
  return cached(
    "copyStrided",
    () =>
      header([["src", "u32", "read"], ["dst", "u32", "rw"]]) + main1(`
  if (i >= pu(0)) { return; }
${stridedWalk(4, [["s", "pu(2)", 10], ["d", "pu(3)", 16]])}
  dst[d] = src[s];`),
  );
}

/** out[i] = convert(x[i]) between f32 and i32 (truncation toward zero). Params: n. */
export function castSrc(from: DType, to: DType): string {
  return cached(
    `cast${from}${to}`,
    () =>
      header([["x", elem(from), "read"], ["out", elem(to), "rw"]]) +
      main1(`  if (i >= pu(0)) { return; }\n  out[i] = ${elem(to)}(x[i]);`),
  );
}

const UNARY: Record<UnaryOp, string> = {
  neg: "-v",
  exp: "exp(v)",
  log: "log(v)",
  sqrt: "sqrt(v)",
  rsqrt: "1.0 / sqrt(v)",
  tanh: "tanh_(v)",
  abs: "abs(v)",
  relu: "max(v, 0.0)",
  recip: "1.0 / v",
  affine: "v * pf(1) + pf(2)",
  powScalar: "pow_(v, pf(1))",
  geluTanh: "geluTanh_(v)",
  geluErf: "geluErf_(v)",
  sign: "sign(v)",
  step: "select(0.0, 1.0, v > 0.0)",
};

/** out[i] = op(x[i]) computed in f32. Params: n, a, b. */
export function unarySrc(op: UnaryOp, xd: DType, od: DType): string {
  return cached(
    `unary${op}${xd}${od}`,
    () =>
      header([["x", elem(xd), "read"], ["out", elem(od), "rw"]]) + MATH + main1(`
  if (i >= pu(0)) { return; }
  let v = f32(x[i]);
  out[i] = ${elem(od)}(${UNARY[op]});`),
  );
}

const BINARY: Record<BinaryOp, string> = {
  add: "u + v",
  sub: "u - v",
  mul: "u * v",
  div: "u / v",
  pow: "pow_(u, v)",
  max: "max(u, v)",
  min: "min(u, v)",
  eq: "select(0.0, 1.0, u == v)",
  gt: "select(0.0, 1.0, u > v)",
  geluTanhBwd: "geluTanhBwd_(u, v)",
  geluErfBwd: "geluErfBwd_(u, v)",
};

/**
 * Broadcasting binary op over a contiguous output of rank <= 6. Params: n, rank,
 * shape[6] (2..7), aStrides[6] (8..13), bStrides[6] (14..19).
 */
export function binarySrc(op: BinaryOp, ad: DType, bd: DType, od: DType): string {
  return cached(
    `binary${op}${ad}${bd}${od}`,
    () =>
      header([["a", elem(ad), "read"], ["b", elem(bd), "read"], ["out", elem(od), "rw"]]) + MATH +
      main1(`
  if (i >= pu(0)) { return; }
${stridedWalk(2, [["ia", "0u", 8], ["ib", "0u", 14]])}
  let u = f32(a[ia]);
  let v = f32(b[ib]);
  out[i] = ${elem(od)}(${BINARY[op]});`),
  );
}

/**
 * Reduction of x viewed as [outer, dim, inner] over dim. `rows` variant (inner == 1): one
 * workgroup per output, tree reduction; `cols` variant: one thread per output. Params: outer,
 * dim, inner.
 */
export function reduceSrc(op: ReduceOp, d: DType, variant: "rows" | "cols"): string {
  return cached(`reduce${op}${d}${variant}`, () => {
    const t = elem(d);
    const acc = d === "f32" ? "f32" : "i32";
    const id = op === "sum" ? `${acc}(0)` : d === "f32" ? "-inf_()" : "i32(-2147483647 - 1)";
    const comb = op === "sum" ? "s + v" : "max(s, v)";
    const h = header([["x", t, "read"], ["out", t, "rw"]]) + SPECIALS;
    if (variant === "cols") {
      return h + main1(`
  let outer = pu(0); let dim = pu(1); let inner = pu(2);
  if (i >= outer * inner) { return; }
  let o = i / inner;
  let c = i % inner;
  var s = ${id};
  for (var k = 0u; k < dim; k++) {
    let v = ${acc}(x[(o * dim + k) * inner + c]);
    s = ${comb};
  }
  out[i] = ${t}(s);`);
    }
    // rows: accumulate in f32 for the workgroup tree (i32 sums stay exact below 2^24).
    const wid = op === "sum" ? "wgSum" : "wgMax";
    const fid = op === "sum" ? "0.0" : "-inf_()";
    const fcomb = op === "sum" ? "s + v" : "max(s, v)";
    return h + WG_REDUCE + mainRow(`
  let outer = pu(0); let dim = pu(1);
  if (row >= outer) { return; }
  var s = ${fid};
  for (var k = lid; k < dim; k += 256u) {
    let v = f32(x[row * dim + k]);
    s = ${fcomb};
  }
  let r = ${wid}(s, lid);
  if (lid == 0u) { out[row] = ${t}(r); }`);
  });
}

/** out[i] = mask[i] != 0 ? value : x[i]. Params: n, value bits. */
export function maskedFillSrc(d: DType): string {
  return cached(
    `maskedFill${d}`,
    () =>
      header([["x", "u32", "read"], ["mask", "i32", "read"], ["out", "u32", "rw"]]) + main1(`
  if (i >= pu(0)) { return; }
  out[i] = select(x[i], pu(1), mask[i] != 0);`),
  );
}

/** out[r, d] = table[ids[r], d] as raw words; out of range ids give NaN. Params: N, D, V. */
export function gatherSrc(): string {
  return cached(
    "gather",
    () =>
      header([["table", "u32", "read"], ["ids", "i32", "read"], ["out", "u32", "rw"]]) + main1(`
  let N = pu(0); let D = pu(1); let V = pu(2);
  if (i >= N * D) { return; }
  let r = i / D;
  let id = ids[r];
  if (id < 0 || u32(id) >= V) { out[i] = 0x7fc00000u; return; }
  out[i] = table[u32(id) * D + i % D];`),
  );
}

/**
 * out[ids[r], d] += g[r, d]. One thread owns one column d and walks the rows in order, so the
 * sum is deterministic with no atomics. Params: N, D, V.
 */
export function scatterAddSrc(): string {
  return cached(
    "scatterAdd",
    () =>
      header([["g", "f32", "read"], ["ids", "i32", "read"], ["out", "f32", "rw"]]) + main1(`
  let N = pu(0); let D = pu(1); let V = pu(2);
  if (i >= D) { return; }
  for (var r = 0u; r < N; r++) {
    let id = ids[r];
    if (id >= 0 && u32(id) < V) {
      let o = u32(id) * D + i;
      out[o] = out[o] + g[r * D + i];
    }
  }`),
  );
}

/** Inverted dropout with the backend's murmur-style keep hash. Params: n, threshold, scale, seed. */
export function dropoutSrc(): string {
  return cached("dropout", () =>
    header([["x", "f32", "read"], ["out", "f32", "rw"]]) + main1(`
  if (i >= pu(0)) { return; }
  var h = pu(3) * 0x9e3779b9u + i;
  h = (h ^ (h >> 16u)) * 0x85ebca6bu;
  h = (h ^ (h >> 13u)) * 0xc2b2ae35u;
  h = h ^ (h >> 16u);
  out[i] = select(0.0, x[i] * pf(2), h >= pu(1));`));
}

/** AdamW into fresh outputs. Params: n, lr, b1, b2, eps, wd, 1-b1^t, 1-b2^t. */
export function adamwSrc(): string {
  return cached("adamw", () =>
    header([
      ["p", "f32", "read"],
      ["g", "f32", "read"],
      ["m", "f32", "read"],
      ["v", "f32", "read"],
      ["pOut", "f32", "rw"],
      ["mOut", "f32", "rw"],
      ["vOut", "f32", "rw"],
    ]) + main1(`
  if (i >= pu(0)) { return; }
  let lr = pf(1); let b1 = pf(2); let b2 = pf(3); let eps = pf(4); let wd = pf(5);
  let gi = g[i];
  let m1 = b1 * m[i] + (1.0 - b1) * gi;
  let v1 = b2 * v[i] + (1.0 - b2) * gi * gi;
  let mhat = m1 / pf(6);
  let vhat = v1 / pf(7);
  mOut[i] = m1;
  vOut[i] = v1;
  pOut[i] = p[i] - lr * (mhat / (sqrt(vhat) + eps) + wd * p[i]);`));
}

/** flag[0] |= 1 where some x[i] (i < n) is NaN or Inf (flag is an atomic word). Params: n. */
export function nonFiniteSrc(): string {
  return cached("nonFinite", () =>
    `@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> flag: array<atomic<u32>>;
` + header([], true).replace("@binding(0) var<uniform>", "@binding(2) var<uniform>") + main1(`
  if (i >= pu(0)) { return; }
  if ((x[i] & 0x7f800000u) == 0x7f800000u) { atomicOr(&flag[0], 1u); }`));
}

/** out[0] = flag[0] == 0 ? 1.0 : 0.0 (one thread). */
export function flagToFiniteSrc(): string {
  return cached(
    "flagToFinite",
    () =>
      header([["flag", "u32", "read"], ["out", "f32", "rw"]], false) +
      `@compute @workgroup_size(1) fn main() { out[0] = select(0.0, 1.0, flag[0] == 0u); }\n`,
  );
}
