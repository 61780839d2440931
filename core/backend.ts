// The Backend interface: the one small contract every compute backend implements ("cpu-ref",
// "cpu", "webgpu"). It is llm.c style: raw storage handles plus explicit shapes, one kernel per
// forward and one per backward. Autodiff, ops and the GPT above it are backend-independent.
//
// Rules every backend follows (the tensor layer relies on them):
// - Storage is dense row-major. `alloc` returns a ZERO-FILLED buffer.
// - A kernel only writes to its output arguments (named out/dx/... below). The tensor layer
//   always passes freshly allocated outputs, never an input's storage, so no kernel mutates an
//   input and an output never aliases an input.
// - Kernels are asynchronous-friendly: none returns data to the host. Only `download` reads
//   back, and it is async; a whole training step can run on the device with no readback.
// - f32 storages hold float32, i32 storages hold int32. Ids, targets and masks are i32.
// - Ranks passed to `binary`/`copyStrided` are at most 6.

export type DType = "f32" | "i32";

/** An opaque storage handle owned by a backend (a Float32Array, a GPUBuffer, ...). */
export interface Storage {
  readonly size: number; // number of elements
  readonly dtype: DType;
}

export type UnaryOp =
  | "neg" // -x
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt" // 1/sqrt(x)
  | "tanh"
  | "abs"
  | "relu"
  | "recip" // 1/x
  | "affine" // x*a + b
  | "powScalar" // x^a
  | "geluTanh" // 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))
  | "geluErf" // 0.5x(1+erf(x/sqrt 2))
  | "sign" // -1, 0, 1
  | "step"; // x > 0 ? 1 : 0

export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow" // a^b
  | "max"
  | "min"
  | "eq" // a == b ? 1 : 0
  | "gt" // a > b ? 1 : 0
  | "geluTanhBwd" // a = x, b = upstream grad: d/dx geluTanh(x) * g
  | "geluErfBwd"; // a = x, b = upstream grad: d/dx geluErf(x) * g

export type ReduceOp = "sum" | "max";

/** One attention call: q, k, v, out [B, T, H, D], scores scaled by `scale` (1/sqrt(D)). */
export interface AttentionShape {
  B: number;
  T: number;
  H: number;
  D: number;
  scale: number;
}

/** One RoPE call on x [B, T, H, D]; every position is < `span` (T when positions is null). */
export interface RopeShape {
  B: number;
  T: number;
  H: number;
  D: number;
  base: number;
  inverse: boolean;
  span: number;
}

/** One AdamW step over n elements (the math is on `Backend.adamw`). */
export interface AdamwStep {
  n: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

export interface Backend {
  readonly name: string;

  // ---- memory -------------------------------------------------------------------------
  /**
   * A new zero-filled storage of `size` elements. With `zero` false the contents are undefined
   * (the caller passes it as the output of a kernel that writes every element); a backend may
   * zero it anyway ("cpu-ref" and "webgpu" do; "cpu" skips the fill, or fills NaN in its poison
   * debug mode so that an element left unwritten shows).
   */
  alloc(size: number, dtype: DType, zero?: boolean): Storage;
  /** Release a storage; it is never used again after this. */
  free(s: Storage): void;
  /** Copy host data into a storage (same length and dtype). */
  upload(s: Storage, data: Float32Array | Int32Array): void;
  /** Read a storage back to the host (a fresh array the caller owns). */
  download(s: Storage): Promise<Float32Array | Int32Array>;
  /** The storage's own host array, no copy (host-memory backends); never written through. */
  hostView?(s: Storage): Float32Array | Int32Array;
  /** Synchronous readback; only host-memory backends ("cpu", "cpu-ref") provide it. */
  downloadSync?(s: Storage): Float32Array | Int32Array;
  /** Wait until all submitted work is done (optional; a no-op on CPU). */
  sync?(): Promise<void>;

  // ---- data movement ------------------------------------------------------------------
  /** out[i] = value for i < n. */
  fill(out: Storage, n: number, value: number): void;
  /**
   * Strided copy over an index space `shape`: for every index vector idx,
   * dst[dstOffset + sum idx*dstStrides] = src[srcOffset + sum idx*srcStrides].
   * Covers permute, slice, broadcast (stride 0) and concat (several copies into one dst).
   * Elements of dst outside the index space keep their value (zero from alloc).
   */
  copyStrided(
    src: Storage,
    dst: Storage,
    shape: number[],
    srcStrides: number[],
    srcOffset: number,
    dstStrides: number[],
    dstOffset: number,
  ): void;
  /** out[i] = x[i] converted between f32 and i32 (f32 -> i32 truncates toward zero). */
  cast(x: Storage, out: Storage, n: number): void;

  // ---- elementwise ----------------------------------------------------------------------
  /** out[i] = op(x[i]) for i < n; `a`, `b` are the parameters of "affine"/"powScalar". */
  unary(op: UnaryOp, x: Storage, out: Storage, n: number, a: number, b: number): void;
  /**
   * Broadcasting binary op. out is contiguous with `shape`; a and b are read through strides
   * (0 on broadcast axes): out[idx] = op(a[sum idx*aStrides], b[sum idx*bStrides]).
   */
  binary(
    op: BinaryOp,
    a: Storage,
    b: Storage,
    out: Storage,
    shape: number[],
    aStrides: number[],
    bStrides: number[],
  ): void;
  /** x viewed as [outer, dim, inner]: out[o, i] = reduce over d of x[o, d, i]. */
  reduce(op: ReduceOp, x: Storage, out: Storage, outer: number, dim: number, inner: number): void;
  /** out[i] = mask[i] != 0 ? value : x[i] (mask i32, same length n). */
  maskedFill(x: Storage, mask: Storage, out: Storage, n: number, value: number): void;

  // ---- linear algebra -------------------------------------------------------------------
  /**
   * Batched matmul: for each of `batch`, out[M,N] = op(A) @ op(B), with A stored [M,K]
   * ([K,M] if transA) and B stored [K,N] ([N,K] if transB), batch-contiguous.
   */
  matmul(
    a: Storage,
    b: Storage,
    out: Storage,
    batch: number,
    M: number,
    N: number,
    K: number,
    transA: boolean,
    transB: boolean,
  ): void;

  // ---- embedding ------------------------------------------------------------------------
  /** out[i, :] = table[ids[i], :] for i < N; table is [V, D]; ids in [0, V). */
  gather(table: Storage, ids: Storage, out: Storage, N: number, D: number, V: number): void;
  /** out [V, D] (zero-filled) gets out[ids[i], :] += g[i, :] for i < N. */
  scatterAdd(g: Storage, ids: Storage, out: Storage, N: number, D: number, V: number): void;

  // ---- softmax and loss -----------------------------------------------------------------
  /** Row softmax (or log-softmax if `log`) of x [rows, cols]. */
  softmax(x: Storage, out: Storage, rows: number, cols: number, log: boolean): void;
  /** dx from y = softmax(x) (or log-softmax) and dy: rows x cols. */
  softmaxBackward(
    y: Storage,
    dy: Storage,
    dx: Storage,
    rows: number,
    cols: number,
    log: boolean,
  ): void;
  /**
   * Fused cross-entropy: out[0] = mean over rows with targets[r] != ignoreIndex of
   * (logsumexp(logits[r]) - logits[r, targets[r]]); 0 when every row is ignored.
   * lse [N] receives each valid row's logsumexp(logits[r]) (0 on ignored rows), saved for the
   * backward pass as attention saves its lse: no backend keeps hidden state between the two.
   */
  crossEntropyForward(
    logits: Storage,
    targets: Storage,
    out: Storage,
    lse: Storage,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void;
  /**
   * dlogits[r, :] = (softmax(logits[r]) - onehot(targets[r])) * dout[0] / count for valid rows,
   * 0 for ignored rows (count = number of valid rows); softmax(logits[r]) = exp(logits[r] -
   * lse[r]) with lse from the forward pass (a backend may recompute it: "cpu-ref" does, in
   * float64).
   */
  crossEntropyBackward(
    logits: Storage,
    targets: Storage,
    lse: Storage,
    dout: Storage,
    dlogits: Storage,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void;

  // ---- normalisation --------------------------------------------------------------------
  /** LayerNorm over the last axis of x [N, C]; saves mean[N] and rstd[N] for backward. */
  layerNormForward(
    x: Storage,
    w: Storage,
    b: Storage,
    out: Storage,
    mean: Storage,
    rstd: Storage,
    N: number,
    C: number,
    eps: number,
  ): void;
  layerNormBackward(
    dout: Storage,
    x: Storage,
    w: Storage,
    mean: Storage,
    rstd: Storage,
    dx: Storage,
    dw: Storage,
    db: Storage,
    N: number,
    C: number,
  ): void;
  /** RMSNorm: out = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps); saves rstd[N]. */
  rmsNormForward(
    x: Storage,
    w: Storage,
    out: Storage,
    rstd: Storage,
    N: number,
    C: number,
    eps: number,
  ): void;
  rmsNormBackward(
    dout: Storage,
    x: Storage,
    w: Storage,
    rstd: Storage,
    dx: Storage,
    dw: Storage,
    N: number,
    C: number,
  ): void;

  // ---- attention ------------------------------------------------------------------------
  /**
   * Causal self-attention. q, k, v, out are [B, T, H, D] (the natural layout of x @ W
   * reshaped, so no permute is needed). out[b,t,h] = sum_{s<=t} softmax_s(scale q.k_s) v_s.
   * lse [B, H, T] receives the log-sum-exp of each query row (for the backward pass), so
   * memory is O(T) per head: no T x T matrix is stored.
   */
  attentionForward(
    q: Storage,
    k: Storage,
    v: Storage,
    out: Storage,
    lse: Storage,
    s: AttentionShape,
  ): void;
  /** Gradients dq, dk, dv ([B, T, H, D], zero-filled on entry) from dout, recomputing P. */
  attentionBackward(
    q: Storage,
    k: Storage,
    v: Storage,
    out: Storage,
    lse: Storage,
    dout: Storage,
    dq: Storage,
    dk: Storage,
    dv: Storage,
    s: AttentionShape,
  ): void;

  /**
   * Rotary position embedding, rotate-half convention, on x [B, T, H, D] (D even), at position
   * p = positions[b, t] (i32 [B, T]; null: p = t): for j < D/2, theta = p * base^(-2j/D),
   * out[j] = x[j] cos - x[j+D/2] sin, out[j+D/2] = x[j+D/2] cos + x[j] sin.
   * `inverse` rotates by -theta (this is the backward pass).
   */
  rope(x: Storage, out: Storage, positions: Storage | null, s: RopeShape): void;

  // ---- randomness -----------------------------------------------------------------------
  /**
   * Inverted dropout: out[i] = keep(i) ? x[i] / (1 - p) : 0 with keep(i) = dropoutHash(seed, i)
   * >= p * 2^32 (dropoutHash below, u32 arithmetic). The same call on dy is the backward.
   */
  dropout(x: Storage, out: Storage, n: number, p: number, seed: number): void;

  // ---- optimiser and checks -------------------------------------------------------------
  /**
   * One AdamW step (decoupled weight decay) into fresh outputs:
   * m' = b1 m + (1-b1) g; v' = b2 v + (1-b2) g^2; mhat = m'/(1-b1^step); vhat = v'/(1-b2^step);
   * p' = p - lr * (mhat / (sqrt(vhat) + eps) + weightDecay * p). step counts from 1.
   */
  adamw(
    p: Storage,
    g: Storage,
    m: Storage,
    v: Storage,
    pOut: Storage,
    mOut: Storage,
    vOut: Storage,
    h: AdamwStep,
  ): void;
  /** out[0] = 1 if every x[i] (i < n) is finite, else 0 (f32 output). */
  allFinite(x: Storage, out: Storage, n: number): void;
}

/**
 * The dropout keep-hash, identical on every backend (u32 math): a murmur3-style finaliser of
 * (seed * 0x9E3779B9 + i). WGSL: the same sequence of u32 multiplies and xor-shifts.
 */
export function dropoutHash(seed: number, i: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b9) + (i >>> 0)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
