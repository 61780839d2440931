// A tiny WebAssembly binary emitter: LEB128, opcodes, and a module builder with
// one imported shared memory. Kernels are generated from TypeScript at run time
// with it (no external compiler, no committed binaries). The same generators emit
// 32-bit or memory64 modules: inside `emitFor(true, ...)` the integer type `I32`
// and its helpers (i32, add, mul, shl, ...) mean i64, memories are i64-addressed,
// and every export is an f64-argument trampoline (so JavaScript passes plain numbers).

/** Byte sequences are plain number arrays; nested arrays are flattened by `code`. */
export type Bytes = number[];
export type Code = number | Code[];

/** Flatten nested instruction arrays into one byte array. */
export function code(...parts: Code[]): Bytes {
  const out: Bytes = [];
  const walk = (c: Code) => {
    if (typeof c === "number") out.push(c);
    else for (const x of c) walk(x);
  };
  for (const p of parts) walk(p);
  return out;
}

/** Unsigned LEB128. */
export function uleb(n: number): Bytes {
  const out: Bytes = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of an integer (|n| < 2^53; i32.const / i64.const). */
export function sleb(n: number): Bytes {
  const out: Bytes = [];
  while (true) {
    const byte = ((n % 128) + 128) % 128;
    n = Math.floor(n / 128);
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A length-prefixed vector of already-encoded items. */
export function vec(items: Bytes[]): Bytes {
  return code(uleb(items.length), items);
}

function utf8(s: string): Bytes {
  return [...new TextEncoder().encode(s)];
}

function nameBytes(s: string): Bytes {
  const b = utf8(s);
  return code(uleb(b.length), b);
}

// ---- address width ----
let wide = false;

/** Run `emit` with integer locals, addresses and memory of 64 bits (`mem64`) or 32. */
export function emitFor<T>(mem64: boolean, emit: () => T): T {
  const was = wide;
  wide = mem64;
  I32 = mem64 ? I64 : I32_TYPE;
  try {
    return emit();
  } finally {
    wide = was;
    I32 = was ? I64 : I32_TYPE;
  }
}

/** True while emitting a memory64 module. */
export const isWide = (): boolean => wide;

// ---- value types and block types ----
const I32_TYPE = 0x7f, I64 = 0x7e;
export const F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;
/** The integer (index and address) type: i32, or i64 inside emitFor(true, ...). */
export let I32 = I32_TYPE;
const VOID = 0x40;
/** An integer opcode: the i32 one, or its i64 twin while emitting memory64. */
const iop = (op32: number, op64: number): number => (wide ? op64 : op32);

// ---- control ----
export const block = (...body: Code[]): Code => [0x02, VOID, body, 0x0b];
export const loop = (...body: Code[]): Code => [0x03, VOID, body, 0x0b];
export const if_ = (cond: Code, ...body: Code[]): Code => [cond, 0x04, VOID, body, 0x0b];
export const ifElse = (cond: Code, then: Code, otherwise: Code): Code => [
  cond,
  0x04,
  VOID,
  then,
  0x05,
  otherwise,
  0x0b,
];
export const br = (depth: number): Code => [0x0c, uleb(depth)];
export const brIf = (depth: number, cond: Code): Code => [cond, 0x0d, uleb(depth)];

// ---- locals ----
export const get = (i: number): Code => [0x20, uleb(i)];
export const set = (i: number, v: Code): Code => [v, 0x21, uleb(i)];

// ---- integers (i32, or i64 when emitting memory64; comparisons give i32) ----
export const i32 = (n: number): Code => [iop(0x41, 0x42), sleb(n)];
export const add = (a: Code, b: Code): Code => [a, b, iop(0x6a, 0x7c)];
export const sub = (a: Code, b: Code): Code => [a, b, iop(0x6b, 0x7d)];
export const mul = (a: Code, b: Code): Code => [a, b, iop(0x6c, 0x7e)];
export const shl = (a: Code, b: Code): Code => [a, b, iop(0x74, 0x86)];
export const and = (a: Code, b: Code): Code => [a, b, iop(0x71, 0x83)];
export const ltS = (a: Code, b: Code): Code => [a, b, iop(0x48, 0x53)];
export const ne = (a: Code, b: Code): Code => [a, b, iop(0x47, 0x52)];
/** An integer as a branch condition (i32 != 0). */
export const nz = (a: Code): Code => (wide ? [a, 0x50, 0x45] : a); // i64.eqz, i32.eqz
/** f32.convert_{i32,i64}_s */
export const toF32 = (a: Code): Code => [a, iop(0xb2, 0xb4)];
/** A 32-bit constant whatever the address width (bit patterns, shift counts, lane splats). */
export const c32 = (n: number): Code => [0x41, sleb(n | 0)];
/** local[i] += v */
export const inc = (i: number, v: Code): Code => set(i, add(get(i), v));

// ---- f32 scalar memory ----
const memarg = (align: number, offset: number): Bytes => code(uleb(align), uleb(offset));
/** memory.fill(dest, byte value (i32), length): bulk fill (a memset), address-typed dest/length. */
export const memoryFill = (
  dest: Code,
  value: Code,
  n: Code,
): Code => [dest, value, n, 0xfc, 0x0b, 0];
export const f32Load = (addr: Code, off = 0): Code => [addr, 0x2a, memarg(2, off)];
export const f32Store = (addr: Code, v: Code, off = 0): Code => [addr, v, 0x38, memarg(2, off)];
export const f32Const = (x: number): Code => {
  const b = new Uint8Array(new Float32Array([x]).buffer);
  return [0x43, ...b];
};

// ---- SIMD (0xfd prefix, LEB128 sub-opcode) ----
const simd = (op: number): Code => [0xfd, uleb(op)];
export const v128Load = (addr: Code, off = 0): Code => [addr, simd(0x00), memarg(4, off)];
export const v128Splat32 = (addr: Code, off = 0): Code => [addr, simd(0x09), memarg(2, off)];
export const v128Store = (addr: Code, v: Code, off = 0): Code => [
  addr,
  v,
  simd(0x0b),
  memarg(4, off),
];
export const v128Zero = (): Code => [simd(0x0c), new Array(16).fill(0)];
/** i8x16.shuffle picking 32-bit lanes: lane i of the result is lane lanes[i] of a ++ b (0..7). */
export const i32x4Shuffle = (a: Code, b: Code, lanes: number[]): Code => [
  a,
  b,
  simd(0x0d),
  lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
];
export const f32x4Splat = (x: Code): Code => [x, simd(0x13)];
export const f32x4Add = (a: Code, b: Code): Code => [a, b, simd(0xe4)];
export const f32x4Sub = (a: Code, b: Code): Code => [a, b, simd(0xe5)];
export const f32x4Mul = (a: Code, b: Code): Code => [a, b, simd(0xe6)];
export const f32x4Div = (a: Code, b: Code): Code => [a, b, simd(0xe7)];
export const f32x4Max = (a: Code, b: Code): Code => [a, b, simd(0xe9)];
export const f32x4Sqrt = (a: Code): Code => [a, simd(0xe3)];
/** Relaxed-SIMD fused multiply-add: a * b + c (may or may not round once). */
export const f32x4RelaxedMadd = (a: Code, b: Code, c: Code): Code => [a, b, c, simd(0x105)];
/** a * b + c as the kernels compute it: relaxed FMA when `fma`, else mul then add. */
export const f32x4MaddFor = (fma: boolean): (a: Code, b: Code, c: Code) => Code =>
  fma ? f32x4RelaxedMadd : (a, b, c) => f32x4Add(f32x4Mul(a, b), c);

/** One function: parameter types, result types, extra locals, body, export name. */
export interface FuncDef {
  name: string;
  params: number[];
  results: number[];
  locals: number[];
  body: Code;
}

/**
 * A module that imports `env.mem` (shared memory; i64-addressed while emitting memory64)
 * and exports the given functions. With memory64 each export is a trampoline taking f64
 * for every integer parameter (truncated to i64; exact below 2^53) so callers pass numbers.
 */
export function buildModule(funcs: FuncDef[], memPages: { min: number; max: number }): Uint8Array {
  const section = (id: number, content: Bytes): Bytes => code(id, uleb(content.length), content);
  const toF64 = (t: number) => (t === I64 ? F64 : t);
  const tramps: FuncDef[] = !wide ? [] : funcs.map((f, i) => ({
    name: f.name,
    params: f.params.map(toF64),
    results: f.results.map(toF64),
    locals: [],
    body: [
      f.params.map((t, p) => [get(p), t === I64 ? [0xfc, 0x06] : []]), // i64.trunc_sat_f64_s
      0x10, // call
      uleb(i),
      f.results.map((t) => (t === I64 ? 0xb9 : [])), // f64.convert_i64_s
    ],
  }));
  const all = [...funcs, ...tramps];
  const types = all.map((f) =>
    code(0x60, vec(f.params.map((t) => [t])), vec(f.results.map((t) => [t])))
  );
  const memImport = code(
    nameBytes("env"),
    nameBytes("mem"),
    0x02,
    wide ? 0x07 : 0x03, // shared, has maximum (, 64-bit addresses)
    uleb(memPages.min),
    uleb(memPages.max),
  );
  const first = tramps.length > 0 ? funcs.length : 0;
  const exports = funcs.map((f, i) => code(nameBytes(f.name), 0x00, uleb(first + i)));
  const bodies = all.map((f) => {
    const groups: Bytes[] = [];
    for (let i = 0; i < f.locals.length;) {
      let j = i;
      while (j < f.locals.length && f.locals[j] === f.locals[i]) j++;
      groups.push(code(uleb(j - i), f.locals[i]));
      i = j;
    }
    const body = code(vec(groups), f.body, 0x0b);
    return code(uleb(body.length), body);
  });
  return new Uint8Array(code(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vec(types)),
    section(2, vec([memImport])),
    section(3, vec(all.map((_, i) => uleb(i)))),
    section(7, vec(exports)),
    section(10, vec(bodies)),
  ));
}

// ---- scalar f32 helpers used by the attention kernels ----
export const F32_OP = {
  add: 0x92,
  sub: 0x93,
  mul: 0x94,
  div: 0x95,
  min: 0x96,
  max: 0x97,
  nearest: 0x90,
} as const;
export const fop = (op: number, a: Code, b: Code): Code => [a, b, op];
export const f32x4ExtractLane = (v: Code, lane: number): Code => [v, simd(0x1f), lane];

/** Sum of the four lanes of a v128 (a local index), as f32. */
export function hsum(v: number): Code {
  const l = (i: number) => f32x4ExtractLane(get(v), i);
  return fop(F32_OP.add, fop(F32_OP.add, l(0), l(1)), fop(F32_OP.add, l(2), l(3)));
}

/** Taylor coefficients of 2^f = sum (f ln 2)^i / i!, i = 0..6 (shared by the exp kernels). */
const EXP2_TAYLOR = [
  1,
  0.6931471805599453,
  0.2402265069591007,
  0.05550410866482158,
  0.009618129107628477,
  0.0013333558146428443,
  0.00015403530393381606,
];

/**
 * exp(x) for f32 via 2^n * p(f): x clamped to [-87, 88] with compare + select (NaN passes
 * through), n = round(x log2 e) by the magic constant 1.5 * 2^23 (whose low mantissa bits
 * then hold n, so 2^n = bits(r) << 23 + bits(1.0)), degree-6 Taylor polynomial of 2^f on
 * |f| <= 0.5 (relative error ~1e-7). `tmp` and `n` are f32 locals it clobbers.
 */
export function expF32(x: Code, tmp: number, n: number): Code {
  const c = EXP2_TAYLOR;
  const magic = f32Const(12582912);
  const select = (a: Code, b: Code, cond: Code): Code => [a, b, cond, 0x1b];
  let poly: Code = f32Const(c[6]);
  for (let i = 5; i >= 0; i--) {
    poly = fop(F32_OP.add, fop(F32_OP.mul, poly, get(tmp)), f32Const(c[i]));
  }
  const pow2n: Code = [
    get(n),
    0xbc, // i32.reinterpret_f32
    c32(23),
    0x74, // i32.shl
    c32(0x3f800000),
    0x6a, // i32.add
    0xbe, // f32.reinterpret_i32
  ];
  return [
    set(tmp, x),
    set(tmp, select(f32Const(-87), get(tmp), [get(tmp), f32Const(-87), 0x5d])), // f32.lt
    set(tmp, select(f32Const(88), get(tmp), [get(tmp), f32Const(88), 0x5e])), // f32.gt
    set(tmp, fop(F32_OP.mul, get(tmp), f32Const(Math.LOG2E))),
    set(n, fop(F32_OP.add, get(tmp), magic)),
    set(tmp, fop(F32_OP.sub, get(tmp), fop(F32_OP.sub, get(n), magic))),
    fop(F32_OP.mul, poly, pow2n),
  ];
}

// ---- more SIMD ops for the elementwise kernels ----
export const f32x4Const = (x: number): Code => {
  const b = new Uint8Array(new Float32Array([x, x, x, x]).buffer);
  return [simd(0x0c), ...b];
};
export const f32x4Nearest = (a: Code): Code => [a, simd(0x6a)];
export const f32x4Pmin = (a: Code, b: Code): Code => [a, b, simd(0xea)];
export const f32x4Pmax = (a: Code, b: Code): Code => [a, b, simd(0xeb)];
export const i32x4TruncSatF32x4 = (a: Code): Code => [a, simd(0xf8)];
export const i32x4Shl = (a: Code, bits: Code): Code => [a, bits, simd(0xab)];
export const i32x4Add = (a: Code, b: Code): Code => [a, b, simd(0xae)];
export const i32x4Splat = (x: Code): Code => [x, simd(0x11)];

/**
 * Vector exp(x) (4 x f32): x clamped to [-87, 88], t = x log2(e) split as n + f with the
 * round-to-nearest magic constant 1.5 * 2^23 (whose low mantissa bits then hold n, so
 * 2^n = bits(r) << 23 + bits(1.0)), degree-6 Taylor polynomial of 2^f. The constants live
 * in 12 v128 locals from `first` on, set once by `init` (V8 does not hoist v128.const).
 * `madd` (a * b + c, e.g. relaxed FMA) evaluates the polynomial if given, else mul + add.
 */
export function vecExp(
  first: number,
  madd: (a: Code, b: Code, c: Code) => Code = (a, b, c) => f32x4Add(f32x4Mul(a, b), c),
): { init: Code; count: number; exp: (x: Code, t: number, r: number) => Code } {
  const c = EXP2_TAYLOR;
  const [lo, hi, l2e, magic, one] = [7, 8, 9, 10, 11].map((i) => first + i);
  const init: Code = [
    c.map((x, i) => set(first + i, f32x4Const(x))),
    set(lo, f32x4Const(-87)),
    set(hi, f32x4Const(88)),
    set(l2e, f32x4Const(Math.LOG2E)),
    set(magic, f32x4Const(12582912)),
    set(one, i32x4Splat(c32(0x3f800000))),
  ];
  const exp = (x: Code, t: number, r: number): Code => {
    let poly: Code = get(first + 6);
    for (let i = 5; i >= 0; i--) poly = madd(poly, get(t), get(first + i));
    return [
      set(t, f32x4Mul(f32x4Pmin(f32x4Pmax(x, get(lo)), get(hi)), get(l2e))),
      set(r, f32x4Add(get(t), get(magic))),
      set(t, f32x4Sub(get(t), f32x4Sub(get(r), get(magic)))),
      f32x4Mul(poly, i32x4Add(i32x4Shl(get(r), c32(23)), get(one))),
    ];
  };
  return { init, count: 12, exp };
}
