/**
 * A light tensor: a row-major Float32Array, Int32Array or (dtype 'bool') Uint8Array and a shape.
 * Live tensors are counted as TF.js does (`memory()`), and `tidy(fn)` disposes the tensors made
 * inside fn that it does not return: the registry is two counters and the open tidy scopes' lists.
 * The garbage collector still frees a tensor nobody disposed; it then stays counted, as in TF.js.
 * `dispose()` drops the values early and makes later use throw.
 */
import { random } from './random';

export type DType = 'float32' | 'int32' | 'bool';
export type TypedArray =
  | Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array
  | Uint8Array | Uint8ClampedArray;
export type Shape = number[];
/** Nested arrays of numbers (any depth), as accepted by `tensor()`. */
export type NestedArray = number | boolean | NestedArray[];
export type TensorLike = NestedArray | TypedArray;
export type DataFor<D extends DType> = D extends 'int32' ? Int32Array : D extends 'bool' ? Uint8Array : Float32Array;

/** The live-tensor registry: counts, bytes and the open tidy scopes (innermost last). */
const engine = { nextId: 0, numTensors: 0, numBytes: 0, scopes: [] as Tensor[][] };

export class Tensor<D extends DType = DType> {
  readonly shape: Shape;
  readonly dtype: D;
  readonly size: number;
  /** Unique per tensor, increasing (as TF.js). */
  readonly id: number;
  /** Set by keep(): no tidy scope disposes this tensor. */
  kept = false;
  private _values: DataFor<D> | null;
  /** The values came from takePooled() and belong to this tensor alone: dispose() recycles them. */
  private _pooled = false;
  /**
   * How many library calls (an async fit / evaluate / predict) read the values right now. A pooled
   * buffer is never recycled while pinned: a tensor disposed mid-fit keeps its memory for the run
   * instead of handing it to the next op (the GC frees it afterwards).
   */
  private _pins = 0;

  /** Wraps `values` without copying (library use; users call `tensor()`). */
  constructor(values: DataFor<D>, shape: Shape, dtype: D) {
    checkShape(shape, 'Tensor');
    const size = sizeOf(shape);
    if (values.length !== size) {
      throw new Error(
        `Tensor: data has ${values.length} values but shape [${shape.join(', ')}] needs ${size}`,
      );
    }
    this.shape = shape.slice();
    this.dtype = dtype;
    this.size = size;
    this._values = values;
    this.id = engine.nextId++;
    engine.numTensors++;
    engine.numBytes += values.byteLength;
    const scopes = engine.scopes;
    if (scopes.length) scopes[scopes.length - 1].push(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this._values === null;
  }

  /** The backing array, without a copy (library internal: do not mutate). */
  get values(): DataFor<D> {
    if (this._values === null) throw new Error('Tensor is disposed');
    return this._values;
  }

  /** A copy of the values. */
  dataSync(): DataFor<D> {
    return this.values.slice() as DataFor<D>;
  }

  async data(): Promise<DataFor<D>> {
    return this.dataSync();
  }

  /** The values as nested arrays (a number for a scalar). */
  arraySync(): NestedArray {
    const v = this.values;
    if (this.shape.length === 0) return v[0];
    const build = (dim: number, offset: number): NestedArray[] => {
      const n = this.shape[dim];
      const out: NestedArray[] = new Array(n);
      if (dim === this.shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = v[offset + i];
      } else {
        const stride = sizeOf(this.shape.slice(dim + 1));
        for (let i = 0; i < n; i++) out[i] = build(dim + 1, offset + i * stride);
      }
      return out;
    };
    return build(0, 0);
  }

  async array(): Promise<NestedArray> {
    return this.arraySync();
  }

  /** The same values under another shape (one dimension may be -1). Shares no memory. */
  reshape(shape: Shape): Tensor<D> {
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < -1) || shape.filter((d) => d === -1).length > 1) {
      throw new TypeError(`reshape: shape must be an array of non-negative integers with at most one -1, received ${Array.isArray(shape) ? `[${shape.join(', ')}]` : String(shape)}`);
    }
    const s = shape.slice();
    const neg = s.indexOf(-1);
    if (neg >= 0) {
      const rest = sizeOf(s.filter((_, i) => i !== neg));
      if (rest === 0 || this.size % rest !== 0) {
        throw new Error(`reshape: cannot reshape [${this.shape.join(', ')}] into [${shape.join(', ')}]: Size(${this.size}) must match the product of shape ${shape.join(',')}`);
      }
      s[neg] = this.size / rest;
    }
    if (sizeOf(s) !== this.size) {
      throw new Error(
        `reshape: Size(${this.size}) must match the product of shape ${shape.join(',')} (tensor shape [${this.shape.join(', ')}])`,
      );
    }
    return new Tensor(this.values.slice() as DataFor<D>, s, this.dtype);
  }

  /** Rows [begin, begin + count) along the first axis (a copy). */
  sliceRows(begin: number, count: number): Tensor<D> {
    const rows = this.shape.length ? this.shape[0] : 1;
    if (!Number.isInteger(begin) || !Number.isInteger(count) || begin < 0 || count < 0 || begin + count > rows) {
      throw new RangeError(`sliceRows: rows [${begin}, ${begin + count}) are outside [0, ${rows})`);
    }
    const row = this.shape.length ? this.size / this.shape[0] : 1;
    const v = this.values.slice(begin * row, (begin + count) * row) as DataFor<D>;
    return new Tensor(v, [count, ...this.shape.slice(1)], this.dtype);
  }

  clone(): Tensor<D> {
    return new Tensor(this.dataSync(), this.shape, this.dtype);
  }

  /** Drops the values; any later use throws. Calling it twice is harmless. */
  dispose(): void {
    const v = this._values;
    if (v === null) return;
    engine.numTensors--;
    engine.numBytes -= v.byteLength;
    this._values = null;
    if (this._pooled && this._pins === 0) recycle(v as Float32Array);
  }

  /** Library internal: marks the values as read by a running call (see _pins); pair with unpin(). */
  pin(): void {
    this._pins++;
  }

  /** Library internal: ends a pin(). A pooled buffer disposed while pinned is left to the GC. */
  unpin(): void {
    if (this._pins > 0) this._pins--;
  }

  toString(): string {
    if (this.isDisposed) return `Tensor(disposed)`;
    const body = this.size <= 64 ? JSON.stringify(this.arraySync()) : `<${this.size} values>`;
    return `Tensor ${this.dtype} [${this.shape.join(', ')}] ${body}`;
  }

}

/** Deepest nesting tensor() accepts. */
const MAX_RANK = 32;

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: unknown, fn: string): asserts shape is Shape {
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: shape must be an array of integers`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${fn}: shape [${shape.join(', ')}] must hold non-negative integers`);
    }
  }
  if (sizeOf(shape) > 2 ** 31 - 1) {
    throw new RangeError(`${fn}: shape [${shape.join(', ')}] has more than 2^31-1 values`);
  }
}

function isTypedArray(v: unknown): v is TypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** Shape of a nested array, checking that it is rectangular. */
function inferShape(v: NestedArray): Shape {
  const shape: Shape = [];
  let cur: NestedArray = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flatten(v: NestedArray, shape: Shape, out: number[], dim: number, fn: string): void {
  if (dim === shape.length) {
    if (Array.isArray(v)) throw new Error(`${fn}: ragged nested array (too deep at depth ${dim})`);
    if (typeof v !== 'number' && typeof v !== 'boolean') {
      throw new TypeError(`${fn}: values must be numbers or booleans, received ${v === null ? 'null' : typeof v} at flat index ${out.length}`);
    }
    out.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[dim]) {
    throw new Error(
      `${fn}: ragged nested array: expected ${shape[dim]} elements at depth ${dim}, ` +
        `received ${Array.isArray(v) ? v.length : typeof v}`,
    );
  }
  for (const e of v) flatten(e, shape, out, dim + 1, fn);
}

/** A new zeroed array of dtype's storage type. */
export function newData(dtype: DType, n: number): Float32Array | Int32Array | Uint8Array {
  return dtype === 'int32' ? new Int32Array(n) : dtype === 'bool' ? new Uint8Array(n) : new Float32Array(n);
}

/** Copies values into dtype's storage (int32 truncates toward zero, bool is value != 0). */
export function toTyped(values: ArrayLike<number>, dtype: DType): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32') return values instanceof Float32Array ? values.slice() : Float32Array.from(values);
  const out = newData(dtype, values.length);
  if (dtype === 'bool') for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
  else for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

/** The dtype TF.js infers for data: bool for booleans, int32 for an Int32Array, else float32. */
function inferDtype(values: TensorLike): DType {
  if (values instanceof Int32Array) return 'int32';
  let cur: unknown = values;
  while (Array.isArray(cur) && cur.length) cur = cur[0];
  return typeof cur === 'boolean' ? 'bool' : 'float32';
}

export const DTYPES: readonly DType[] = ['float32', 'int32', 'bool'];

/**
 * Creates a tensor from nested arrays, a flat array or any TypedArray (copied).
 * `shape` defaults to the nested array's shape (or [length] for flat data); a data length that
 * does not match the shape throws an Error naming both. dtype: 'float32', 'int32' or 'bool'
 * (default: as TF.js infers it: 'int32' for an Int32Array, 'bool' for booleans, else 'float32').
 */
export function tensor(values: TensorLike, shape?: Shape, dtype?: DType): Tensor {
  const fn = 'tensor';
  const dt: DType = dtype ?? inferDtype(values);
  if (!DTYPES.includes(dt)) {
    throw new Error(`${fn}: dtype must be 'float32', 'int32' or 'bool', received ${JSON.stringify(dtype)}`);
  }
  let flat: ArrayLike<number>;
  let inferred: Shape;
  if (isTypedArray(values)) {
    flat = values as ArrayLike<number>;
    inferred = [values.length];
  } else if (typeof values === 'number' || typeof values === 'boolean') {
    flat = [typeof values === 'boolean' ? (values ? 1 : 0) : values];
    inferred = [];
  } else if (Array.isArray(values)) {
    inferred = inferShape(values);
    if (inferred.length > MAX_RANK) throw new RangeError(`${fn}: nested arrays of depth ${inferred.length}, more than the ${MAX_RANK} supported`);
    const out: number[] = [];
    flatten(values, inferred, out, 0, fn);
    flat = out;
  } else {
    throw new TypeError(`${fn}: values must be a number, a nested array or a TypedArray, received ${typeof values}`);
  }
  const finalShape = shape ?? inferred;
  checkShape(finalShape, fn);
  const size = sizeOf(finalShape);
  if (flat.length !== size) {
    throw new Error(
      `${fn}: data has ${flat.length} values but shape [${finalShape.join(', ')}] needs ${size}`,
    );
  }
  return new Tensor(toTyped(flat, dt), finalShape, dt);
}

function tensorOfRank(rank: number, name: string) {
  return (values: TensorLike, shape?: Shape, dtype?: DType): Tensor => {
    if (shape && shape.length !== rank) {
      throw new Error(`${name}: shape must have ${rank} dimensions, received [${shape.join(', ')}]`);
    }
    const t = tensor(values, shape, dtype);
    if (t.rank !== rank) {
      throw new Error(`${name}: values must have rank ${rank}, received shape [${t.shape.join(', ')}]`);
    }
    return t;
  };
}

export const scalar = (value: number | boolean, dtype?: DType): Tensor => tensor(value, [], dtype);
/** TF.js signature: tensor1d(values, dtype?). */
export const tensor1d = (values: TensorLike, dtype?: DType): Tensor => tensorOfRank(1, 'tensor1d')(values, undefined, dtype);
export const tensor2d = tensorOfRank(2, 'tensor2d');
export const tensor3d = tensorOfRank(3, 'tensor3d');
export const tensor4d = tensorOfRank(4, 'tensor4d');

function filled(shape: Shape, value: number, dtype: DType, fn: string): Tensor {
  checkShape(shape, fn);
  if (!DTYPES.includes(dtype)) throw new Error(`${fn}: dtype must be 'float32', 'int32' or 'bool', received ${JSON.stringify(dtype)}`);
  const v = newData(dtype, sizeOf(shape));
  if (value !== 0) v.fill(dtype === 'bool' ? 1 : value);
  return new Tensor(v, shape, dtype);
}

export const zeros = (shape: Shape, dtype: DType = 'float32'): Tensor => filled(shape, 0, dtype, 'zeros');
export const ones = (shape: Shape, dtype: DType = 'float32'): Tensor => filled(shape, 1, dtype, 'ones');
export const fill = (shape: Shape, value: number, dtype: DType = 'float32'): Tensor =>
  filled(shape, value, dtype, 'fill');

/** Normal samples; `seed` makes them reproducible (else the library generator, see setSeed). */
export function randomNormal(shape: Shape, mean = 0, stdDev = 1, dtype: DType = 'float32', seed?: number): Tensor {
  checkShape(shape, 'randomNormal');
  const r = random(checkSeed(seed, 'randomNormal'));
  const t = filled(shape, 0, dtype, 'randomNormal');
  const v = t.values;
  for (let i = 0; i < v.length; i++) v[i] = mean + stdDev * r.normal();
  return t;
}

export function truncatedNormal(shape: Shape, mean = 0, stdDev = 1, dtype: DType = 'float32', seed?: number): Tensor {
  checkShape(shape, 'truncatedNormal');
  const r = random(checkSeed(seed, 'truncatedNormal'));
  const t = filled(shape, 0, dtype, 'truncatedNormal');
  const v = t.values;
  for (let i = 0; i < v.length; i++) v[i] = mean + stdDev * r.truncatedNormal();
  return t;
}

function checkSeed(seed: number | undefined, fn: string): number | undefined {
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) {
    throw new RangeError(`${fn}: seed must be an integer in [0, 2^32), received ${seed}`);
  }
  return seed;
}

/** Uniform samples in [minval, maxval). */
export function randomUniform(shape: Shape, minval = 0, maxval = 1, dtype: DType = 'float32', seed?: number): Tensor {
  checkShape(shape, 'randomUniform');
  const r = random(checkSeed(seed, 'randomUniform'));
  const t = filled(shape, 0, dtype, 'randomUniform');
  const v = t.values;
  for (let i = 0; i < v.length; i++) v[i] = minval + (maxval - minval) * r.uniform();
  return t;
}

/** One-hot encodes integer class indices (a rank-1 tensor or array) into [n, depth] floats. */
export function oneHot(indices: Tensor | TensorLike, depth: number, onValue = 1, offValue = 0): Tensor {
  if (!Number.isInteger(depth) || depth < 1) {
    throw new RangeError(`oneHot: depth must be a positive integer, received ${depth}`);
  }
  const t = indices instanceof Tensor ? indices : tensor(indices, undefined, 'int32');
  if (t.rank !== 1) throw new Error(`oneHot: indices must be rank 1, received shape [${t.shape.join(', ')}]`);
  const v = t.values;
  if (v.length * depth > 2 ** 31 - 1) {
    throw new RangeError(`oneHot: ${v.length} indices of depth ${depth} make more than 2^31-1 values`);
  }
  const out = new Float32Array(v.length * depth);
  if (offValue !== 0) out.fill(offValue);
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (!Number.isInteger(c) || c < 0 || c >= depth) {
      throw new RangeError(`oneHot: index ${c} at position ${i} is outside [0, ${depth})`);
    }
    out[i * depth + c] = onValue;
  }
  return new Tensor(out, [v.length, depth], 'float32');
}

/** Index of the largest value along the last axis: [..., D] -> [...] int32 (library use; tf.argMax is TF.js's). */
export function argMaxLastAxis(x: Tensor): Tensor {
  const rank = x.rank;
  if (rank === 0) throw new Error('argMax: x must have at least one axis, received a scalar');
  const d = x.shape[rank - 1];
  if (d === 0 && x.size === 0 && x.shape.slice(0, -1).some((s) => s > 0)) {
    throw new Error(`argMax: the last axis of shape [${x.shape.join(', ')}] is empty`);
  }
  const rows = d === 0 ? 0 : x.size / d;
  const out = new Int32Array(rows);
  const v = x.values;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < d; j++) if (v[r * d + j] > v[r * d + best]) best = j;
    out[r] = best;
  }
  return new Tensor(out, x.shape.slice(0, rank - 1), 'int32');
}

// ------------------------------------------------------------------ memory: buffer pool

/**
 * Large float32 op results reuse the buffers of disposed op results of the same length, so a
 * loop of tidy'd ops does not page in fresh memory for every result. Only buffers the pool
 * handed out return to it (never user or model arrays), up to POOL_MAX_BYTES in all.
 */
const POOL_MIN_LENGTH = 1 << 16;
const POOL_MAX_BYTES = 256 * 2 ** 20;
const pool = new Map<number, Float32Array[]>();
let poolBytes = 0;

/** A Float32Array of n elements with unspecified contents (recycled when possible): the caller writes all of it. */
export function takePooled(n: number): Float32Array {
  if (n >= POOL_MIN_LENGTH) {
    const list = pool.get(n);
    const a = list?.pop();
    if (a) { poolBytes -= a.byteLength; return a; }
  }
  return new Float32Array(n);
}

function recycle(a: Float32Array): void {
  if (a.length < POOL_MIN_LENGTH || poolBytes + a.byteLength > POOL_MAX_BYTES) return;
  let list = pool.get(a.length);
  if (!list) pool.set(a.length, (list = []));
  list.push(a);
  poolBytes += a.byteLength;
}

/** A tensor owning a buffer from takePooled() (nothing else may reference it): dispose() recycles it. */
export function pooledTensor(values: Float32Array, shape: Shape): Tensor<'float32'> {
  const t = new Tensor(values, shape, 'float32');
  (t as unknown as { _pooled: boolean })._pooled = true;
  return t;
}

/**
 * Runs an async library call that reads the tensors inside `values` (its inputs, labels, sample
 * weights, validation data) with them pinned: a pooled buffer the user disposes while the call
 * still reads it goes to the GC instead of back to the pool, so no later op can overwrite it
 * mid-run. A synchronous throw from run() unpins and rethrows as it is.
 */
export function whilePinned<T>(values: unknown, run: () => Promise<T>): Promise<T> {
  const ts = tensorsIn(values);
  for (const t of ts) t.pin();
  const unpin = () => { for (const t of ts) t.unpin(); };
  let p: Promise<T>;
  try {
    p = run();
  } catch (e) {
    unpin();
    throw e;
  }
  return p.finally(unpin);
}

// ------------------------------------------------------------------ memory: tidy, keep, dispose

/** Every tensor in a value: itself, or inside arrays, Maps and plain objects (any depth). */
export function tensorsIn(x: unknown, out: Tensor[] = [], seen: Set<unknown> = new Set()): Tensor[] {
  if (x instanceof Tensor) { out.push(x); return out; }
  if (x === null || typeof x !== 'object' || seen.has(x)) return out;
  seen.add(x);
  if (Array.isArray(x)) for (const e of x) tensorsIn(e, out, seen);
  else if (x instanceof Map) for (const e of x.values()) tensorsIn(e, out, seen);
  else if (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null) {
    for (const e of Object.values(x)) tensorsIn(e, out, seen);
  }
  return out;
}

/**
 * Runs fn and disposes every tensor created while it runs, except those it returns (alone or
 * inside arrays / objects / Maps) and those passed to keep(). Returned tensors belong to the
 * enclosing tidy, if any. fn must be synchronous: a returned Promise is refused (as in TF.js).
 * `tidy(name, fn)` is accepted; the name is only informative.
 */
export function tidy<T>(nameOrFn: string | (() => T), fn?: () => T): T {
  let f: unknown = fn;
  if (fn === undefined) {
    if (typeof nameOrFn !== 'function') throw new Error('Please provide a function to tidy()');
    f = nameOrFn;
  } else if (typeof nameOrFn !== 'string' && typeof nameOrFn !== 'function') {
    throw new Error('When calling with two arguments, the first argument to tidy() must be a string');
  }
  if (typeof f !== 'function') throw new Error('The last argument to tidy() must be a function');
  const scope: Tensor[] = [];
  engine.scopes.push(scope);
  let result: T | undefined;
  try {
    result = (f as () => T)();
    if (result instanceof Promise) throw new Error('Cannot return a Promise inside of tidy.');
  } finally {
    engine.scopes.pop();
    const returned = new Set(result instanceof Promise ? [] : tensorsIn(result));
    const parent = engine.scopes.length ? engine.scopes[engine.scopes.length - 1] : null;
    for (const t of scope) {
      if (returned.has(t)) { if (parent) parent.push(t); } else if (!t.kept) t.dispose();
    }
  }
  return result as T;
}

/** Marks a tensor so that no tidy disposes it (dispose() it yourself). Returns it. */
export function keep<T extends Tensor>(result: T): T {
  if (!(result instanceof Tensor)) throw new TypeError(`keep: expected a Tensor, received ${result === null ? 'null' : typeof result}`);
  result.kept = true;
  return result;
}

/** Disposes a tensor, or every tensor inside arrays, Maps and plain objects (any depth). */
export function dispose(x: unknown): void {
  for (const t of tensorsIn(x)) t.dispose();
}

export interface MemoryInfo {
  numTensors: number;
  numDataBuffers: number;
  numBytes: number;
  /** False: the counts are exact for tensors that were disposed (GC-freed ones stay counted until then). */
  unreliable: boolean;
  reasons?: string[];
}

/** Live tensors and their bytes (every tensor owns its buffer, so numDataBuffers = numTensors). */
export function memory(): MemoryInfo {
  return { numTensors: engine.numTensors, numDataBuffers: engine.numTensors, numBytes: engine.numBytes, unreliable: false };
}
