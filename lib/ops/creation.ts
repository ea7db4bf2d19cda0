/** Creation ops: range, linspace, eye, zerosLike / onesLike, oneHot (TF.js's), buffer / TensorBuffer. */
import { DType, DTYPES, Shape, Tensor, sizeOf } from '../tensor';
import { stridesOf } from './broadcast';
import { Data, TensorOrLike, convert, make, newData } from './convert';

function checkDtype(dtype: DType, fn: string): void {
  if (!DTYPES.includes(dtype)) throw new Error(`${fn}: dtype must be 'float32', 'int32' or 'bool', got ${JSON.stringify(dtype)}`);
}

/** start, start + step, ... up to (excluding) stop; stop < start with the default step counts down. */
export function range(start: number, stop: number, step = 1, dtype: 'float32' | 'int32' = 'float32'): Tensor {
  if (step === 0) throw new Error('Cannot have a step of zero');
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`range: dtype must be 'float32' or 'int32', got ${JSON.stringify(dtype)}`);
  for (const [n, v] of [['start', start], ['stop', stop], ['step', step]] as const) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`range: ${n} must be a number, got ${String(v)}`);
  }
  if (stop < start && step === 1) step = -1; // TF.js counts down when only the order says so
  const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 0);
  const n = empty ? 0 : Math.ceil(Math.abs((stop - start) / step));
  const out = newData(dtype, n);
  if (n) out[0] = start;
  for (let i = 1; i < n; i++) out[i] = out[i - 1] + step; // accumulated in the output dtype, as TF.js
  return make(out, [n], dtype);
}

/** num evenly spaced float32 values from start to stop (inclusive), accumulated as TF.js does. */
export function linspace(start: number, stop: number, num: number): Tensor {
  if (!(num > 0) || !Number.isInteger(num)) throw new Error('The number of values should be positive.');
  const out = new Float32Array(num);
  out[0] = start;
  const step = (stop - start) / (num - 1);
  for (let i = 1; i < num; i++) out[i] = out[i - 1] + step;
  return make(out, [num], 'float32');
}

/** Identity matrix [numRows, numColumns] (batched under batchShape). */
export function eye(numRows: number, numColumns?: number, batchShape?: number[], dtype: DType = 'float32'): Tensor {
  checkDtype(dtype, 'eye');
  const cols = numColumns ?? numRows;
  for (const [n, v] of [['numRows', numRows], ['numColumns', cols]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`eye: ${n} must be a non-negative integer, got ${String(v)}`);
  }
  const batch = batchShape ?? [];
  const b = sizeOf(batch);
  const out = newData(dtype, b * numRows * cols);
  for (let k = 0; k < b; k++) for (let i = 0; i < Math.min(numRows, cols); i++) out[k * numRows * cols + i * cols + i] = 1;
  return make(out, [...batch, numRows, cols], dtype);
}

export function zerosLike(x: TensorOrLike): Tensor {
  const v = convert(x, 'x', 'zerosLike');
  return make(newData(v.dtype, v.size), v.shape, v.dtype);
}

export function onesLike(x: TensorOrLike): Tensor {
  const v = convert(x, 'x', 'onesLike');
  return make(newData(v.dtype, v.size).fill(1), v.shape, v.dtype);
}

/**
 * oneHot(indices, depth, onValue, offValue, dtype): int32 indices of any shape -> shape + [depth].
 * Two deliberate differences from TF.js, kept from cnn-node's earlier contract: dtype defaults to
 * 'float32' (labels that train and smooth as they are; pass 'int32' for TF.js's dtype), and an
 * index outside [0, depth) is a RangeError naming it (TF.js silently gives a row of offValue).
 */
export function oneHot(indices: TensorOrLike, depth: number, onValue = 1, offValue = 0, dtype: DType = 'float32'): Tensor {
  const v = convert(indices, 'indices', 'oneHot', 'int32');
  if (v.dtype !== 'int32') throw new Error(`Argument 'indices' passed to 'oneHot' must be int32 tensor, but got ${v.dtype} tensor`);
  if (!Number.isInteger(depth) || depth < 2) throw new Error(`Error in oneHot: depth must be >=2, but it is ${depth}`);
  checkDtype(dtype, 'oneHot');
  if (v.size * depth > 2 ** 31 - 1) throw new RangeError(`oneHot: ${v.size} indices of depth ${depth} make more than 2^31-1 values`);
  const out = newData(dtype, v.size * depth);
  if (offValue !== 0) out.fill(offValue);
  for (let i = 0; i < v.size; i++) {
    const c = v.values[i];
    if (c < 0 || c >= depth) throw new RangeError(`oneHot: index ${c} at position ${i} is outside [0, ${depth})`);
    out[i * depth + c] = onValue;
  }
  return make(out, [...v.shape, depth], dtype);
}

/** A mutable buffer of values with get/set by coordinates; toTensor() copies it into a Tensor. */
export class TensorBuffer<D extends DType = DType> {
  readonly shape: Shape;
  readonly dtype: D;
  readonly size: number;
  readonly strides: number[];
  values: Data;

  constructor(shape: Shape, dtype: D, values?: Data | ArrayLike<number>) {
    checkDtype(dtype, 'buffer');
    this.shape = shape.slice();
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.strides = stridesOf(shape).slice(0, -1);
    if (values !== undefined) {
      if (values.length !== this.size) {
        throw new Error(`Length of values '${values.length}' does not match the size inferred by the shape '${this.size}'.`);
      }
      const want = newData(dtype, 0).constructor;
      this.values = values.constructor === want ? (values as Data) : (() => { const d = newData(dtype, this.size); d.set(values as ArrayLike<number>); return d; })();
    } else {
      this.values = newData(dtype, this.size);
    }
  }

  set(value: number | boolean, ...locs: number[]): void {
    if (locs.length === 0) locs = [0];
    this.values[this.locToIndex(locs)] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }

  get(...locs: number[]): number {
    if (locs.length === 0) locs = [0];
    return this.values[this.locToIndex(locs)];
  }

  locToIndex(locs: number[]): number {
    const r = this.shape.length;
    if (locs.length !== Math.max(r, 1) && !(r === 0 && locs.length === 1)) {
      throw new Error(`The number of provided coordinates (${locs.length}) must match the rank (${r})`);
    }
    let index = 0;
    for (let i = 0; i < r; i++) {
      const l = locs[i];
      if (!Number.isInteger(l) || l < 0 || l >= this.shape[i]) {
        throw new Error(`Requested out of range element at ${locs.join(',')}.   Buffer shape=${this.shape.join(',')}`);
      }
      index += l * (i < r - 1 ? this.strides[i] : 1);
    }
    return index;
  }

  indexToLoc(index: number): number[] {
    const r = this.shape.length;
    if (r === 0) return [];
    const locs = new Array<number>(r);
    for (let i = 0; i < r - 1; i++) { locs[i] = Math.floor(index / this.strides[i]); index -= locs[i] * this.strides[i]; }
    locs[r - 1] = index;
    return locs;
  }

  get rank(): number {
    return this.shape.length;
  }

  toTensor(): Tensor<D> {
    return make(this.values.slice(), this.shape, this.dtype) as Tensor<D>;
  }
}

/** A TensorBuffer of shape (zeros, or wrapping `values`). */
export function buffer<D extends DType = 'float32'>(shape: Shape, dtype: D = 'float32' as D, values?: Data | ArrayLike<number>): TensorBuffer<D> {
  return new TensorBuffer(shape, dtype, values);
}
