// Small WGSL building blocks shared by every kernel: binding declarations, the parameter
// uniform (64 u32 words, floats as bits), 1-D thread index folding, workgroup reductions (in
// workgroup memory, or on subgroups where the adapter has them) and
// numerically careful math (erf, tanh, pow) that WGSL lacks or leaves loosely specified.
import type { DType } from "../backend.ts";
import { Params } from "./runtime.ts";

export type Access = "read" | "rw";
export type Bind = [name: string, elem: string, access: Access];

/** WGSL element type of a storage dtype. */
export function elem(d: DType): "f32" | "i32" {
  return d === "f32" ? "f32" : "i32";
}

/** Declarations of storage bindings 0..n-1, then (if `params`) the uniform at binding n. */
export function header(binds: Bind[], params = true, f16 = false): string {
  const lines = f16 ? ["enable f16;"] : [];
  binds.forEach(([name, t, access], i) => {
    const a = access === "rw" ? "read_write" : "read";
    lines.push(`@group(0) @binding(${i}) var<storage, ${a}> ${name}: array<${t}>;`);
  });
  if (params) {
    lines.push(
      `struct Params { w: array<vec4<u32>, 16> }`,
      `@group(0) @binding(${binds.length}) var<uniform> prm: Params;`,
      `fn pu(i: u32) -> u32 { return prm.w[i / 4u][i % 4u]; }`,
      `fn pf(i: u32) -> f32 { return bitcast<f32>(pu(i)); }`,
      `fn pi(i: u32) -> i32 { return bitcast<i32>(pu(i)); }`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Named uniforms: a kernel declares its parameters once as [name, type] pairs; `uniformLets`
 * gives the WGSL `let name = ...;` lines that read them (after `header`) and `paramsOf` packs
 * the host's values by the same names, so the two orders cannot drift apart.
 */
export type Uniforms = readonly (readonly [name: string, type: "u32" | "i32" | "f32"])[];

/** WGSL lines binding each declared uniform to a local of its name. */
export function uniformLets(u: Uniforms): string {
  const read = { u32: "pu", i32: "pi", f32: "pf" } as const;
  return u.map(([name, t], i) => `  let ${name} = ${read[t]}(${i}u);`).join("\n") + "\n";
}

/** The uniform block of `u` from values by name (booleans as 0/1); a missing name throws. */
export function paramsOf(u: Uniforms, values: Record<string, number | boolean>): Params {
  const p = new Params();
  for (const [name, t] of u) {
    const v = values[name];
    if (v === undefined) throw new Error(`webgpu: uniform "${name}" has no value`);
    const x = typeof v === "boolean" ? (v ? 1 : 0) : v;
    if (t === "f32") p.f(x);
    else if (t === "i32") p.i(x);
    else p.u(x);
  }
  return p;
}

/** Entry point of a 1-D kernel over `WG`-sized workgroups; `i` is the flat thread index. */
export function main1(body: string, wg = 256): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid_: vec3u, @builtin(num_workgroups) nwg_: vec3u) {
  let i = gid_.x + gid_.y * nwg_.x * ${wg}u;
${body}
}
`;
}

/** Runtime (not constant-folded) infinities and NaN. */
export const SPECIALS = `
fn inf_() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
fn nan_() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }
fn isFinite_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
`;

/** Math WGSL lacks: erf (A&S 7.1.26, |err| < 1.5e-7), overflow-safe tanh, pow for x < 0. */
export const MATH = SPECIALS + `
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let p = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
    + 0.254829592) * t;
  let y = 1.0 - p * exp(-a * a);
  return select(y, -y, x < 0.0);
}
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn pow_(x: f32, a: f32) -> f32 {
  if (a == 0.0) { return 1.0; }
  if (a == 1.0) { return x; }
  if (a == 2.0) { return x * x; }
  if (x == 0.0) { return select(inf_(), 0.0, a > 0.0); }
  let r = pow(abs(x), a);
  if (x > 0.0) { return r; }
  if (fract(a) != 0.0) { return nan_(); }
  return select(r, -r, fract(a * 0.5) != 0.0);
}
const GELU_C: f32 = 0.7978845608028654;
fn geluTanh_(x: f32) -> f32 { return 0.5 * x * (1.0 + tanh_(GELU_C * (x + 0.044715 * x * x * x))); }
fn geluErf_(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_(x * 0.7071067811865476)); }
fn geluTanhBwd_(x: f32, g: f32) -> f32 {
  let t = tanh_(GELU_C * (x + 0.044715 * x * x * x));
  let d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 0.134145 * x * x);
  return d * g;
}
fn geluErfBwd_(x: f32, g: f32) -> f32 {
  let d = 0.5 * (1.0 + erf_(x * 0.7071067811865476)) + x * exp(-0.5 * x * x) * 0.3989422804014327;
  return d * g;
}
`;

/** Workgroup-wide sum and max over a 256-thread workgroup (call from uniform control flow). */
export const WG_REDUCE = `
var<workgroup> red_: array<f32, 256>;
fn wgSum(v: f32, lid: u32) -> f32 {
  red_[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { red_[lid] = red_[lid] + red_[lid + s]; }
    workgroupBarrier();
  }
  let r = red_[0];
  workgroupBarrier();
  return r;
}
fn wgMax(v: f32, lid: u32) -> f32 {
  red_[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { red_[lid] = max(red_[lid], red_[lid + s]); }
    workgroupBarrier();
  }
  let r = red_[0];
  workgroupBarrier();
  return r;
}
`;

const ROW_ENTRY = `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lidv: vec3u,
        @builtin(num_workgroups) nw: vec3u) {`;

/** Entry point of a row kernel: one 256-thread workgroup per row (rows folded into y). */
export function mainRow(body: string): string {
  return `${ROW_ENTRY}
  let row = wid.x + wid.y * nw.x;
  let lid = lidv.x;
${body}
}
`;
}

/**
 * The same reductions on subgroups (`subgroups` feature): one subgroupAdd/Max, the subgroup
 * leaders' partials in workgroup memory, then every thread folds the partials in order (so
 * results are deterministic). Slot = local index / subgroup size: this assumes subgroups are
 * consecutive invocations, which `subgroupReductionsWork` checks on the device before use.
 */
const SG_REDUCE = `
var<workgroup> red_: array<f32, 64>;
var<private> sgi_: u32;
var<private> sgs_: u32;
fn wgSum(v: f32, lid: u32) -> f32 {
  let s = subgroupAdd(v);
  if (sgi_ == 0u) { red_[lid / sgs_] = s; }
  workgroupBarrier();
  var r = red_[0];
  for (var k = 1u; k < 256u / sgs_; k++) { r = r + red_[k]; }
  workgroupBarrier();
  return r;
}
fn wgMax(v: f32, lid: u32) -> f32 {
  let s = subgroupMax(v);
  if (sgi_ == 0u) { red_[lid / sgs_] = s; }
  workgroupBarrier();
  var r = red_[0];
  for (var k = 1u; k < 256u / sgs_; k++) { r = max(r, red_[k]); }
  workgroupBarrier();
  return r;
}
`;

const ROW_ENTRY_SG = `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lidv: vec3u,
        @builtin(num_workgroups) nw: vec3u, @builtin(subgroup_invocation_id) sgi: u32,
        @builtin(subgroup_size) sgs: u32) {
  sgi_ = sgi;
  sgs_ = sgs;`;

const sgMemo = new Map<string, string>();
/** A row kernel rewritten to reduce on subgroups (kernels without `wgSum`/`wgMax` unchanged). */
export function withSubgroups(src: string): string {
  let out = sgMemo.get(src);
  if (out === undefined) {
    out = src.includes(WG_REDUCE) && src.includes(ROW_ENTRY)
      ? "enable subgroups;\n" + src.replace(WG_REDUCE, SG_REDUCE).replace(ROW_ENTRY, ROW_ENTRY_SG)
      : src;
    sgMemo.set(src, out);
  }
  return out;
}
