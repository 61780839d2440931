// The "webgpu" Backend: every kernel of core/backend.ts as WGSL dispatches recorded into the
// runtime's per-step command encoder. Storages live on pooled buffers; a pooled buffer is
// zeroed lazily, only when a kernel does not overwrite all of it. Nothing here reads back
// except `download` (async) and the optional finiteness watch (`pollFinite`).
import type { Backend, BinaryOp, DType, ReduceOp, Storage, UnaryOp } from "../backend.ts";
import type { AdapterInfo } from "./device.ts";
import * as K from "./kernels_basic.ts";
import * as NN from "./kernels_nn.ts";
import * as AT from "./kernels_attention.ts";
import { matmulKernelSrc, type Tile, tileName, toF16Src } from "./kernels_matmul.ts";
import { type GStorage, Params, type Runtime } from "./runtime.ts";
import { paramsOf, withSubgroups } from "./wgsl.ts";
import { subgroupMatrixGrid, subgroupMatrixMatmulSrc } from "./kernels_subgroup_matrix.ts";
import type { SubgroupMatrixChoice } from "./selftest.ts";

/** Matmul precision paths: f32 throughout, or f16 operand copies with f32 accumulation. */
export type MatmulPath = "f32" | "f16";

export interface WebGPUOptions {
  /** "f16" needs shader-f16 and falls back to "f32" without it. Default "f32". */
  matmul?: MatmulPath;
  /**
   * Row reductions (softmax, cross-entropy, norms, row sums) on subgroups. Needs `subgroups`;
   * initWebGPU turns it on only after `subgroupReductionsWork` passed on the device.
   */
  subgroups?: boolean;
  /** Reason shown in `paths` when subgroups exist but are off. */
  subgroupsWhyNot?: string;
  /**
   * The tensor-core kernel for the f16 matmul path (initWebGPU sets it only after
   * `subgroupMatrixWorks` passed on the device); without it f16 runs the tiled kernel.
   */
  subgroupMatrix?: SubgroupMatrixChoice;
  /** Reason shown in `paths` when the adapter has subgroup matrices but they are off. */
  subgroupMatrixWhyNot?: string;
}

/** Which optional paths this backend uses, in words. */
export interface PathReport {
  adapter: AdapterInfo;
  matmulTile: string;
  matmul: "f32" | "f16";
  /** Why the matmul path differs from the one asked for ("" when it does not). */
  matmulNote: string;
  f16Available: boolean;
  /** Whether row reductions run on subgroups, or why not. */
  subgroups: string;
  /** Whether f16 matmuls run on subgroup matrices (tensor cores), or why not. */
  subgroupMatrix: string;
}

export interface WebGPUBackend extends Backend {
  readonly runtime: Runtime;
  readonly paths: PathReport;
  /** The matmul tile in use (probed per adapter). */
  readonly tile: Tile;
  /** The options it was made with (the checked optional paths included). */
  readonly options: WebGPUOptions;
  /** Submit everything recorded so far (a step boundary; no wait). */
  flush(): void;
  /** OR "x has a NaN/Inf" into the device-side watch flag (no readback). */
  watchFinite(x: Storage, n: number): void;
  /** Read the watch flag (async) and clear it: true when every watched value was finite. */
  pollFinite(): Promise<boolean>;
  /** Buffers handed out now, pooled, and bytes (live, total, peak). */
  poolStats(): ReturnType<Runtime["pool"]["stats"]>;
  dispose(): void;
}

function gs(s: Storage): GStorage {
  return s as GStorage;
}

function bitsOf(value: number, dtype: DType): number {
  const w = new Uint32Array(1);
  if (dtype === "f32") new Float32Array(w.buffer)[0] = value;
  else new Int32Array(w.buffer)[0] = value;
  return w[0];
}

/** Pad a shape/stride list to 6 entries. */
function six(xs: readonly number[], pad: number): number[] {
  if (xs.length > 6) throw new Error(`webgpu: rank ${xs.length} > 6 is not supported`);
  return [...xs, ...new Array(6 - xs.length).fill(pad)];
}

export function createWebGPUBackend(
  rt: Runtime,
  tile: Tile,
  opts: WebGPUOptions = {},
): WebGPUBackend {
  const info = rt.ctx.info;
  const f16 = info.features.includes("shader-f16");
  const useF16 = opts.matmul === "f16" && f16;
  const useSG = !!opts.subgroups && info.features.includes("subgroups");
  const sm = f16 ? opts.subgroupMatrix : undefined;
  /** Record one kernel (row kernels rewritten to reduce on subgroups when that path is on). */
  const run: Runtime["dispatch"] = (src, bufs, p, grid) =>
    rt.dispatch(useSG ? withSubgroups(src) : src, bufs, p, grid);
  const watchFlag = rt.device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  const ropeTables = new Map<string, GPUBuffer>();
  const f32Of = (s: Storage) => s.dtype === "f32";

  /** Make an output ready: zero it first unless the kernel overwrites all `written` elements. */
  function out(s: Storage, written: number): GStorage {
    const g = gs(s);
    if (g.freed) throw new Error("webgpu: kernel output was already freed");
    if (shadows.size) dropShadow(g);
    if (g.needsZero && written < g.size) rt.zero(g);
    g.needsZero = false;
    return g;
  }

  function temp(size: number): GStorage {
    return out(rt.alloc(size, "f32"), 0);
  }

  let noPositions: GPUBuffer | undefined;
  /** A one-element i32 buffer bound as `pos` when RoPE runs at positions 0..T-1. */
  function ropeNoPositions(): GPUBuffer {
    noPositions ??= rt.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    return noPositions;
  }

  function ropeTable(T: number, D: number, base: number): GPUBuffer {
    const key = `${T},${D},${base}`;
    let buf = ropeTables.get(key);
    if (!buf) {
      const half = D / 2, cs = new Float32Array(T * half * 2);
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < half; j++) {
          const th = t * Math.pow(base, (-2 * j) / D);
          cs[2 * (t * half + j)] = Math.cos(th);
          cs[2 * (t * half + j) + 1] = Math.sin(th);
        }
      }
      buf = rt.device.createBuffer({
        size: Math.max(16, cs.byteLength),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      rt.device.queue.writeBuffer(buf, 0, cs);
      ropeTables.set(key, buf);
    }
    return buf;
  }

  // f16 copies of matmul operands, made once per storage and kept while it lives: a storage is
  // written once and then only read (immutable tensors), so the weights' copy made for the
  // forward matmul serves the backward ones too. Master weights, optimizer state and every
  // accumulator stay f32. A storage written again (any kernel output, an upload) drops its copy.
  const shadows = new Map<GStorage, GStorage>();
  function dropShadow(g: GStorage): void {
    const h = shadows.get(g);
    if (h) rt.free(h), shadows.delete(g);
  }
  function f16Of(x: GStorage): GStorage {
    let h = shadows.get(x);
    if (!h) {
      h = rt.alloc(Math.ceil(x.size / 2), "f32");
      h.needsZero = false; // the conversion writes every element read later
      run(toF16Src(), [x, h], new Params().u(x.size), rt.grid1(x.size));
      shadows.set(x, h);
    }
    return h;
  }

  const be: WebGPUBackend = {
    name: "webgpu",
    runtime: rt,
    tile,
    options: opts,
    paths: {
      adapter: info,
      matmulTile: tileName(tile),
      matmul: useF16 ? "f16" : "f32",
      matmulNote: opts.matmul === "f16" && !f16
        ? "f16 asked for: the adapter lacks shader-f16"
        : "",
      f16Available: f16,
      subgroups: useSG
        ? "in use (row reductions)"
        : info.features.includes("subgroups")
        ? `available, not used${opts.subgroupsWhyNot ? `: ${opts.subgroupsWhyNot}` : ""}`
        : "no",
      subgroupMatrix: sm
        ? `in use for f16 matmuls (${sm.cfg.M}x${sm.cfg.N}x${sm.cfg.K} f16->f32, ${sm.syntax} ` +
          `syntax)${useF16 ? "" : "; this backend's matmuls are f32"}`
        : info.features.includes("chromium-experimental-subgroup-matrix")
        ? `available, not used${opts.subgroupMatrixWhyNot ? `: ${opts.subgroupMatrixWhyNot}` : ""}`
        : "no",
    },

    alloc(size: number, dtype: DType): Storage {
      if (!Number.isInteger(size) || size < 0) throw new Error(`webgpu: bad alloc size ${size}`);
      return rt.alloc(size, dtype);
    },
    free(s: Storage): void {
      dropShadow(gs(s));
      rt.free(gs(s));
    },
    upload(s: Storage, data: Float32Array | Int32Array): void {
      const g = gs(s);
      if (data.length !== g.size) {
        throw new Error(`webgpu upload: ${data.length} values for a storage of ${g.size}`);
      }
      if (g.size === 0) return;
      dropShadow(g);
      rt.upload(g, data);
      g.needsZero = false;
    },
    async download(s: Storage): Promise<Float32Array | Int32Array> {
      const g = out(s, 0); // a never-written pooled buffer reads as zeros
      if (g.size === 0) return g.dtype === "f32" ? new Float32Array(0) : new Int32Array(0);
      const ab = await rt.read(g.buffer, g.size * 4);
      return g.dtype === "f32" ? new Float32Array(ab) : new Int32Array(ab);
    },
    async sync(): Promise<void> {
      await rt.sync();
    },

    fill(o: Storage, n: number, value: number): void {
      const g = out(o, n);
      run(K.fillSrc(), [g], new Params().u(n).u(bitsOf(value, g.dtype)), rt.grid1(n));
    },
    copyStrided(src, dst, shape, srcStrides, srcOffset, dstStrides, dstOffset): void {
      const n = shape.reduce((a, b) => a * b, 1);
      const d = out(dst, 0);
      if (n === 0) return;
      const p = new Params().u(n).u(shape.length).u(srcOffset).u(dstOffset)
        .us(six(shape, 1)).us(six(srcStrides, 0)).us(six(dstStrides, 0));
      run(K.copyStridedSrc(), [gs(src), d], p, rt.grid1(n));
    },
    cast(x: Storage, o: Storage, n: number): void {
      const g = out(o, n);
      run(K.castSrc(x.dtype, o.dtype), [gs(x), g], new Params().u(n), rt.grid1(n));
    },

    unary(op: UnaryOp, x: Storage, o: Storage, n: number, a: number, b: number): void {
      const g = out(o, n);
      const p = new Params().u(n).f(a).f(b);
      run(K.unarySrc(op, x.dtype, o.dtype), [gs(x), g], p, rt.grid1(n));
    },
    binary(op: BinaryOp, a, b, o, shape, aStrides, bStrides): void {
      const n = shape.reduce((x, y) => x * y, 1);
      const g = out(o, n);
      if (n === 0) return;
      const p = new Params().u(n).u(shape.length).us(six(shape, 1)).us(six(aStrides, 0))
        .us(six(bStrides, 0));
      run(K.binarySrc(op, a.dtype, b.dtype, o.dtype), [gs(a), gs(b), g], p, rt.grid1(n));
    },
    reduce(op: ReduceOp, x: Storage, o: Storage, outer: number, dim: number, inner: number): void {
      const g = out(o, outer * inner);
      const p = new Params().u(outer).u(dim).u(inner);
      if (inner === 1) {
        run(K.reduceSrc(op, x.dtype, "rows"), [gs(x), g], p, rt.grid1(outer, 1));
      } else {
        run(K.reduceSrc(op, x.dtype, "cols"), [gs(x), g], p, rt.grid1(outer * inner));
      }
    },
    maskedFill(x: Storage, mask: Storage, o: Storage, n: number, value: number): void {
      const g = out(o, n);
      const p = new Params().u(n).u(bitsOf(value, o.dtype));
      run(K.maskedFillSrc(o.dtype), [gs(x), gs(mask), g], p, rt.grid1(n));
    },

    matmul(a, b, o, batch, M, N, Kd, transA, transB): void {
      const g = out(o, batch * M * N);
      if (batch * M * N === 0) return;
      if (Kd === 0) return; // zero-filled output is the answer
      const p = new Params().u(M).u(N).u(Kd).u(transA ? 1 : 0).u(transB ? 1 : 0);
      const grid: [number, number, number] = [
        Math.ceil(N / tile.BN),
        Math.ceil(M / tile.BM),
        batch,
      ];
      if (useF16 && sm) {
        const src = subgroupMatrixMatmulSrc(sm.cfg, sm.syntax);
        run(src, [f16Of(gs(a)), f16Of(gs(b)), g], p, subgroupMatrixGrid(sm.cfg, M, N, batch));
        return;
      }
      const src = matmulKernelSrc(tile, useF16 ? "f16" : "f32", M, N, Kd);
      const ins = useF16 ? [f16Of(gs(a)), f16Of(gs(b))] : [gs(a), gs(b)];
      run(src, [...ins, g], p, grid);
    },

    gather(table, ids, o, N, D, V): void {
      const g = out(o, N * D);
      run(
        K.gatherSrc(),
        [gs(table), gs(ids), g],
        new Params().u(N).u(D).u(V),
        rt.grid1(N * D),
      );
    },
    scatterAdd(g, ids, o, N, D, V): void {
      const d = out(o, 0);
      run(K.scatterAddSrc(), [gs(g), gs(ids), d], new Params().u(N).u(D).u(V), rt.grid1(D));
    },

    softmax(x, o, rows, cols, log): void {
      const g = out(o, rows * cols);
      const p = new Params().u(rows).u(cols).u(log ? 1 : 0);
      run(NN.softmaxSrc(), [gs(x), g], p, rt.grid1(rows, 1));
    },
    softmaxBackward(y, dy, dx, rows, cols, log): void {
      const g = out(dx, rows * cols);
      const p = new Params().u(rows).u(cols).u(log ? 1 : 0);
      run(NN.softmaxBackwardSrc(), [gs(y), gs(dy), g], p, rt.grid1(rows, 1));
    },
    crossEntropyForward(logits, targets, o, lse, N, V, ignoreIndex): void {
      const g = out(o, 1);
      const part = temp(Math.max(2 * N, 2));
      const p = paramsOf(NN.CE_UNIFORMS, { N, V, ign: ignoreIndex });
      const bufs = [gs(logits), gs(targets), part, out(lse, N)];
      run(NN.crossEntropyRowsSrc(), bufs, p, rt.grid1(N, 1));
      run(NN.crossEntropyMeanSrc(), [part, g], p, [1]);
      rt.free(part);
    },
    crossEntropyBackward(logits, targets, lse, dout, dlogits, N, V, ignoreIndex): void {
      const g = out(dlogits, N * V);
      const cnt = temp(1);
      const p = paramsOf(NN.CE_UNIFORMS, { N, V, ign: ignoreIndex });
      run(NN.crossEntropyCountSrc(), [gs(targets), cnt], p, [1]);
      run(
        NN.crossEntropyBackwardSrc(),
        [gs(logits), gs(targets), gs(lse), gs(dout), cnt, g],
        p,
        rt.grid1(N, 1),
      );
      rt.free(cnt);
    },

    layerNormForward(x, w, b, o, mean, rstd, N, C, eps): void {
      const bufs = [gs(x), gs(w), gs(b), out(o, N * C), out(mean, N), out(rstd, N)];
      run(NN.normForwardSrc(false), bufs, new Params().u(N).u(C).f(eps), rt.grid1(N, 1));
    },
    layerNormBackward(dout, x, w, mean, rstd, dx, dw, db, N, C): void {
      const p = new Params().u(N).u(C);
      const ins = [gs(dout), gs(x), gs(w), gs(mean), gs(rstd)];
      run(NN.normBackwardDxSrc(false), [...ins, out(dx, N * C)], p, rt.grid1(N, 1));
      run(
        NN.normBackwardDwSrc(false),
        [gs(dout), gs(x), gs(mean), gs(rstd), out(dw, C), out(db, C)],
        p,
        rt.grid1(C, 64),
      );
    },
    rmsNormForward(x, w, o, rstd, N, C, eps): void {
      const bufs = [gs(x), gs(w), out(o, N * C), out(rstd, N)];
      run(NN.normForwardSrc(true), bufs, new Params().u(N).u(C).f(eps), rt.grid1(N, 1));
    },
    rmsNormBackward(dout, x, w, rstd, dx, dw, N, C): void {
      const p = new Params().u(N).u(C);
      const ins = [gs(dout), gs(x), gs(w), gs(rstd)];
      run(NN.normBackwardDxSrc(true), [...ins, out(dx, N * C)], p, rt.grid1(N, 1));
      run(
        NN.normBackwardDwSrc(true),
        [gs(dout), gs(x), gs(rstd), out(dw, C)],
        p,
        rt.grid1(C, 64),
      );
    },

    attentionForward(q, k, v, o, lse, { B, T, H, D, scale }): void {
      const bufs = [gs(q), gs(k), gs(v), out(o, B * T * H * D), out(lse, B * H * T)];
      const p = new Params().u(B).u(T).u(H).f(scale).u(D);
      run(AT.attentionForwardSrc(D), bufs, p, [Math.ceil(T / AT.ATT_ROWS), B * H]);
    },
    attentionBackward(q, k, v, o, lse, dout, dq, dk, dv, { B, T, H, D, scale }): void {
      const n = B * T * H * D;
      const delta = temp(B * H * T);
      run(
        AT.attentionDeltaSrc(),
        [gs(o), gs(dout), delta],
        new Params().u(B).u(T).u(H).u(D),
        rt.grid1(B * H * T),
      );
      const p = new Params().u(B).u(T).u(H).f(scale).u(D);
      const grid: [number, number] = [Math.ceil(T / AT.ATT_ROWS), B * H];
      const ins = [gs(q), gs(k), gs(v), gs(lse), delta, gs(dout)];
      run(AT.attentionDqSrc(D), [...ins, out(dq, n)], p, grid);
      run(AT.attentionDkvSrc(D), [...ins, out(dk, n), out(dv, n)], p, grid);
      rt.free(delta);
    },

    rope(x, o, positions, { B, T, H, D, base, inverse, span }): void {
      if (D % 2) throw new Error(`rope: head dim ${D} must be even`);
      const g = out(o, B * T * H * D);
      const n = B * T * H * (D / 2);
      const p = paramsOf(NN.ROPE_UNIFORMS, {
        B,
        T,
        H,
        D,
        inv: inverse,
        usePos: positions !== null,
      });
      const pos = positions ? gs(positions) : ropeNoPositions();
      run(NN.ropeSrc(), [gs(x), ropeTable(positions ? span : T, D, base), pos, g], p, rt.grid1(n));
    },

    dropout(x, o, n, p, seed): void {
      const g = out(o, n);
      const thr = Math.ceil(p * 2 ** 32);
      const keepAll = thr <= 0;
      const prm = new Params().u(n).u(keepAll ? 0 : Math.min(thr, 2 ** 32 - 1))
        .f(p >= 1 ? 0 : 1 / (1 - p)).u(seed >>> 0);
      run(K.dropoutSrc(), [gs(x), g], prm, rt.grid1(n));
      if (p >= 1) be.fill(o, n, 0);
    },

    adamw(p, g, m, v, pOut, mOut, vOut, { n, lr, beta1, beta2, eps, weightDecay, step }): void {
      const bufs = [gs(p), gs(g), gs(m), gs(v), out(pOut, n), out(mOut, n), out(vOut, n)];
      const prm = new Params().u(n).f(lr).f(beta1).f(beta2).f(eps).f(weightDecay)
        .f(1 - Math.pow(beta1, step)).f(1 - Math.pow(beta2, step));
      run(K.adamwSrc(), bufs, prm, rt.grid1(n));
    },
    allFinite(x: Storage, o: Storage, n: number): void {
      const g = out(o, 1);
      const flag = temp(1);
      run(K.nonFiniteSrc(), [gs(x), flag], new Params().u(n), rt.grid1(n));
      run(K.flagToFiniteSrc(), [flag, g], null, [1]);
      rt.free(flag);
    },

    flush(): void {
      rt.flush();
    },
    watchFinite(x: Storage, n: number): void {
      if (!f32Of(x)) return;
      run(K.nonFiniteSrc(), [gs(x), watchFlag], new Params().u(n), rt.grid1(n));
    },
    async pollFinite(): Promise<boolean> {
      const v = new Uint32Array(await rt.read(watchFlag, 4));
      if (v[0] !== 0) rt.device.queue.writeBuffer(watchFlag, 0, new Uint32Array(4));
      return v[0] === 0;
    },
    poolStats() {
      return rt.pool.stats();
    },
    dispose(): void {
      rt.flush();
      for (const g of [...shadows.keys()]) dropShadow(g);
      for (const b of ropeTables.values()) b.destroy();
      noPositions?.destroy();
      watchFlag.destroy();
      rt.pool.trim();
      rt.device.destroy();
    },
  };
  return be;
}
