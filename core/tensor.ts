// Immutable tensors: a shape, a dtype and a reference-counted backend storage. No op ever writes
// into an existing tensor. Lifetimes: `dispose()` or `tidy(fn)` scopes, which free every tensor
// created inside fn except the ones it returns, so a training loop holds a flat number of live
// buffers on any backend (GPU memory included). A tensor that is garbage-collected without
// dispose() releases its storage too (a safety net, not a substitute for tidy).

import type { Backend, DType, Storage } from "./backend.ts";
import { getBackend } from "./registry.ts";

/** A storage shared by tensors that view the same data (reshape), freed at refcount 0. */
class Buf {
  refs = 1;
  constructor(readonly backend: Backend, readonly storage: Storage) {
    liveBuffers++;
  }
  release(): void {
    if (--this.refs === 0) {
      this.backend.free(this.storage);
      liveBuffers--;
    }
  }
}

/** A tensor dropped without dispose() still returns its buffer when garbage-collected. */
const finalizer = new FinalizationRegistry<Buf>((buf) => {
  liveTensors--;
  buf.release();
});

let nextId = 1;
let liveTensors = 0;
let liveBuffers = 0;
const scopes: Set<Tensor>[] = [];
let tidyGuard: (t: Tensor) => boolean = () => false;

/** Tensors for which guard(t) is true survive tidy (the autodiff tape saves them). */
export function setTidyGuard(guard: (t: Tensor) => boolean): void {
  tidyGuard = guard;
}

export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  #buf: Buf | null;

  constructor(buf: Buf, readonly shape: readonly number[], readonly dtype: DType) {
    this.size = numel(shape);
    this.#buf = buf;
    liveTensors++;
    finalizer.register(this, buf, this);
    if (scopes.length) scopes[scopes.length - 1].add(this);
  }

  get backend(): Backend {
    return this.#live().backend;
  }
  get storage(): Storage {
    return this.#live().storage;
  }
  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.#buf === null;
  }

  /** A tensor with the same data and a new shape (shares the storage; no copy). */
  view(shape: readonly number[]): Tensor {
    const b = this.#live();
    if (numel(shape) !== this.size) {
      throw new Error(`reshape: cannot view [${this.shape}] as [${shape}] (sizes differ)`);
    }
    b.refs++;
    return new Tensor(b, [...shape], this.dtype);
  }

  /** Read the values back (async: works on every backend). */
  async data(): Promise<Float32Array | Int32Array> {
    return await this.backend.download(this.storage);
  }
  /**
   * The values in place, without a copy, on host-memory backends ("cpu", "cpu-ref"); null on
   * others (use `await t.data()`). Read-only, and valid only while this tensor is alive: for
   * writing a multi-gigabyte checkpoint without a second copy in memory.
   */
  hostView(): Float32Array | Int32Array | null {
    return this.backend.hostView?.(this.#live().storage) ?? null;
  }
  /** Synchronous readback, host-memory backends only. */
  dataSync(): Float32Array | Int32Array {
    const be = this.backend;
    if (!be.downloadSync) {
      throw new Error(
        `dataSync: backend "${be.name}" has no synchronous readback; use await t.data()`,
      );
    }
    return be.downloadSync(this.storage);
  }
  /** The single value of a 1-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor has ${this.size} elements, expected 1`);
    return (await this.data())[0];
  }

  dispose(): void {
    if (!this.#buf) return;
    finalizer.unregister(this);
    this.#buf.release();
    this.#buf = null;
    liveTensors--;
  }

  /** `using t = ...` disposes t at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `Tensor(${this.dtype}[${this.shape}])`;
  }

  #live(): Buf {
    if (!this.#buf) {
      throw new Error(`${this} was used after dispose (keep it out of tidy or clone it)`);
    }
    return this.#buf;
  }
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

function checkShape(shape: readonly number[]): void {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) {
      throw new Error(`invalid shape [${shape}]: sizes must be integers >= 0`);
    }
  }
}

/** Wrap a freshly allocated storage (kernel output) as a tensor. Used by ops. */
export function fromStorage(backend: Backend, storage: Storage, shape: readonly number[]): Tensor {
  return new Tensor(new Buf(backend, storage), [...shape], storage.dtype);
}

/** Allocate a zero-filled tensor on the active backend. */
export function empty(
  shape: readonly number[],
  dtype: DType = "f32",
  backend: Backend = getBackend(),
): Tensor {
  checkShape(shape);
  return fromStorage(backend, backend.alloc(numel(shape), dtype), shape);
}

/** A tensor from host values (copied). dtype defaults to the array's type, else f32. */
export function tensor(
  data: ArrayLike<number> | Float32Array | Int32Array,
  shape?: readonly number[],
  dtype?: DType,
): Tensor {
  const sh = shape ?? [data.length];
  checkShape(sh);
  const dt: DType = dtype ?? (data instanceof Int32Array ? "i32" : "f32");
  if (numel(sh) !== data.length) {
    throw new Error(`tensor: ${data.length} values do not fit shape [${sh}] (${numel(sh)} needed)`);
  }
  const host = dt === "f32" ? Float32Array.from(data) : Int32Array.from(data);
  if (dt === "f32") {
    for (let i = 0; i < host.length; i++) {
      if (Number.isNaN(host[i])) throw new Error(`tensor: value ${i} is NaN; clean the input data`);
    }
  }
  const be = getBackend();
  const s = be.alloc(host.length, dt);
  be.upload(s, host);
  return fromStorage(be, s, sh);
}

/** Alias of `tensor`. */
export const fromArray = tensor;

export function zeros(shape: readonly number[], dtype: DType = "f32"): Tensor {
  return empty(shape, dtype);
}

export function full(shape: readonly number[], value: number, dtype: DType = "f32"): Tensor {
  const t = empty(shape, dtype);
  t.backend.fill(t.storage, t.size, value);
  return t;
}

export function ones(shape: readonly number[]): Tensor {
  return full(shape, 1);
}

export function scalar(value: number): Tensor {
  return full([], value);
}

// ---- lifetimes ---------------------------------------------------------------------------

/** Every Tensor inside a nested structure (arrays, plain objects). */
export function collectTensors(x: unknown, out: Set<Tensor> = new Set()): Set<Tensor> {
  if (x instanceof Tensor) out.add(x);
  else if (Array.isArray(x)) { for (const e of x) collectTensors(e, out); }
  else if (x && typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype) {
    for (const e of Object.values(x)) collectTensors(e, out);
  }
  return out;
}

/**
 * Run fn and free every tensor it created, except those reachable from its result (which move
 * to the enclosing scope). Async functions are not supported: await outside tidy.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error("tidy: fn returned a Promise; tidy is synchronous (await outside it)");
  }
  const kept = collectTensors(result);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t) || tidyGuard(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Exempt tensors from the enclosing tidy scopes (they must then be disposed by hand). */
export function keep<T>(x: T): T {
  for (const t of collectTensors(x)) for (const s of scopes) s.delete(t);
  return x;
}

/** Dispose every tensor inside a structure. */
export function disposeTree(x: unknown): void {
  for (const t of collectTensors(x)) t.dispose();
}

/** Number of tensors not yet disposed (views count separately). */
export function liveTensorCount(): number {
  return liveTensors;
}

/** Number of backend storages not yet freed. */
export function liveBufferCount(): number {
  return liveBuffers;
}
