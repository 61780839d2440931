// Whether this process runs the GEMM on the revectorized pair kernels (revec_kernels.ts),
// and each thread's instance of them. V8 fuses their f32x4 pairs into AVX2 only under
// `--v8-flags=--experimental-wasm-revectorize` (the tasks pass it: tasks/v8_flags.ts); a script
// cannot see its V8 flags, so with GLYPHGRAD_REVEC=auto (the default) the main thread
// times the pair kernel against the plain one once, on a small product, and uses it only
// when it is clearly faster. Both give the same bits, so the choice never changes a result.
// GLYPHGRAD_REVEC=1 or 0 (or setFastRevec) skips the probe.

import { isMemory64, type KernelExports, MR, NR } from "./kernels.ts";
import {
  type PairFn,
  REVEC_KC_MAX,
  REVEC_SLOTS,
  revecModuleBytes,
  revecSlotAddress,
} from "./revec_kernels.ts";
import { allocBytes, freeBytes, REVEC_BASE } from "./memory.ts";

export type RevecMode = "auto" | "on" | "off";

function envMode(): RevecMode {
  let v: string | undefined;
  try {
    v = Deno.env.get("GLYPHGRAD_REVEC");
  } catch { /* no env permission: the default */ }
  if (v === undefined || v === "" || v === "auto") return "auto";
  if (v === "1") return "on";
  if (v === "0") return "off";
  throw new Error(`GLYPHGRAD_REVEC must be auto, 1 (pair kernels) or 0 (plain kernels), got ${v}`);
}

let mode: RevecMode = envMode();
/** The process's decision (main thread; passed to workers), null until made. */
let decided: boolean | null = null;
/** How the decision was made, for fastInfo / benchmarks. */
let how = "";

/** This thread's slot and whether it uses the pair kernels (set once per thread). */
let slot = 0;
let enabled: boolean | null = null;
let pairs: Record<string, PairFn> | null = null;

/** Change the mode (resets the decision; pool.ts restarts the workers). */
export function setRevecMode(m: RevecMode): void {
  if (m !== "auto" && m !== "on" && m !== "off") {
    throw new Error(`setFastRevec: mode must be "auto", "on" or "off", got ${m}`);
  }
  mode = m;
  decided = null;
  enabled = null;
  pairs = null;
}

/** Worker threads: use slot `s` and the main thread's decision `on`. */
export function setThreadRevec(s: number, on: boolean): void {
  slot = s;
  enabled = on && s < REVEC_SLOTS;
  pairs = null;
}

/**
 * The main thread's decision: the mode, or for "auto" the probe (compiles and times both
 * kernels once per process: ~15 ms with the V8 flag, 200 ms without).
 */
export function revecDecision(memory: WebAssembly.Memory, plain: KernelExports, fma: boolean) {
  if (decided === null) {
    if (mode !== "auto") {
      decided = mode === "on";
      how = `GLYPHGRAD_REVEC/setFastRevec: ${mode}`;
    } else {
      // the main thread's own instance (slot 0): kept when chosen, already warm
      const inst = instantiate(memory, fma, slot);
      const r = probe(memory, plain, inst[`g16k${REVEC_KC_MAX}`]);
      decided = r.pair < 0.8 * r.plain;
      how = `probe: pair kernel ${r.pair.toFixed(3)} ms vs plain ${r.plain.toFixed(3)} ms`;
      if (decided) pairs = inst;
    }
    if (enabled === null) enabled = decided;
  }
  return { on: decided, how };
}

/** This thread's pair kernels (by name g16k{kc}), or null when it uses the plain kernel. */
export function threadPairs(
  memory: WebAssembly.Memory,
  fma: boolean,
): Record<string, PairFn> | null {
  if (!enabled) return null;
  if (pairs === null) pairs = instantiate(memory, fma, slot);
  return pairs;
}

function instantiate(memory: WebAssembly.Memory, fma: boolean, s: number): Record<string, PairFn> {
  const cb = revecSlotAddress(REVEC_BASE, s);
  const bytes = revecModuleBytes(fma, isMemory64(memory), cb);
  const mod = new WebAssembly.Module(bytes as BufferSource);
  return new WebAssembly.Instance(mod, { env: { mem: memory } }).exports as unknown as Record<
    string,
    PairFn
  >;
}

/** Best time (ms) of 20 calls of each kernel on 16 tiles x 2 panels x kc 64, alternating. */
function probe(
  memory: WebAssembly.Memory,
  plain: KernelExports,
  pair: PairFn,
): { plain: number; pair: number } {
  const kc = REVEC_KC_MAX, tiles = 16;
  const aN = tiles * kc * MR, bN = 2 * kc * NR, cN = tiles * MR * 2 * NR;
  const base = allocBytes(4 * (aN + bN + cN));
  try {
    const f = new Float32Array(memory.buffer, base, aN + bN + cN);
    for (let i = 0; i < f.length; i++) f[i] = ((i * 7919) % 13) / 13 - 0.5;
    const pa = base, pb = pa + 4 * aN, c = pb + 4 * bN, ldc = 2 * NR * 4;
    const time = (run: () => void): number => {
      const t = performance.now();
      for (let i = 0; i < 20; i++) run();
      return performance.now() - t;
    };
    const runPlain = () => plain.gemm(pa, pb, c, ldc, kc, tiles, 2, 0);
    const runPair = () => pair(pa, pb, c, ldc, tiles, 1, 0);
    let best = { plain: Infinity, pair: Infinity };
    // Liftoff code first, optimized code once V8 tiers up (in the background; slower on a
    // busy machine): keep the best of each for at least 15 ms, stop early once the pair
    // kernel is clearly ahead, give up after 200 ms (then it is not fused: no V8 flag).
    const t0 = performance.now();
    while (true) {
      best = {
        plain: Math.min(best.plain, time(runPlain)),
        pair: Math.min(best.pair, time(runPair)),
      };
      const spent = performance.now() - t0;
      if (spent > 200 || (spent > 15 && best.pair < 0.6 * best.plain)) return best;
    }
  } finally {
    freeBytes(base);
  }
}
