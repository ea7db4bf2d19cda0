/**
 * Reductions over axes (negative axes count from the end; keepDims keeps them as 1) with TF.js's
 * dtypes: sum/prod of int32 or bool give int32, mean gives float32, max/min keep the dtype,
 * argMax/argMin give int32, all/any need bool.
 */
import { DType, Tensor, tidy } from '../tensor';
import { Data, TensorOrLike, View, convert, make, newData, requireDtype } from './convert';
import * as ew from './elementwise';
import { hotReduce } from './hot';
import { parseAxes, parseAxis, transposeData } from './layout';

/** x laid out as [outer, inner] rows with the reduced axes innermost. */
interface Rows { data: Data; outer: number; inner: number; outShape: number[]; keptShape: number[] }

export function toRows(x: View, axes: number[]): Rows {
  const rank = x.shape.length;
  const kept = [...Array(rank).keys()].filter((a) => !axes.includes(a));
  const outShape = kept.map((a) => x.shape[a]);
  const keptShape = x.shape.map((d, a) => (axes.includes(a) ? 1 : d));
  const inner = axes.reduce((p, a) => p * x.shape[a], 1);
  const outer = outShape.reduce((p, d) => p * d, 1);
  const trailing = axes.every((a, i) => a === rank - axes.length + i);
  const data = trailing ? x.values : transposeData(x.values, x.shape, [...kept, ...axes], x.dtype).data;
  return { data, outer, inner, outShape, keptShape };
}

type RowFn = (v: Data, off: number, n: number) => number;

function reducer(fn: string, row: RowFn, outType: (d: DType) => DType, need?: DType, hotName?: string) {
  return (x: TensorOrLike, axis?: number | number[] | null, keepDims = false): Tensor => {
    const v = convert(x, 'x', fn);
    if (need) requireDtype(v, 'x', fn, need);
    const axes = parseAxes(axis, v.shape.length);
    const r = toRows(v, axes);
    const dt = outType(v.dtype);
    const out = newData(dt, r.outer);
    if (!(hotName && v.dtype === 'float32' && hotReduce(hotName, out, r.data, r.outer, r.inner))) {
      for (let o = 0; o < r.outer; o++) out[o] = row(r.data, o * r.inner, r.inner);
    }
    return make(out, keepDims ? r.keptShape : r.outShape, dt);
  };
}

const sumRow: RowFn = (v, off, n) => { let s = 0; for (let i = 0; i < n; i++) s += v[off + i]; return s; };
const prodRow: RowFn = (v, off, n) => { let s = 1; for (let i = 0; i < n; i++) s *= v[off + i]; return s; };
const maxRow: RowFn = (v, off, n) => {
  let m = n ? v[off] : NaN;
  for (let i = 1; i < n; i++) { const e = v[off + i]; if (e > m || Number.isNaN(e)) m = e; }
  return m;
};
const minRow: RowFn = (v, off, n) => {
  let m = n ? v[off] : NaN;
  for (let i = 1; i < n; i++) { const e = v[off + i]; if (e < m || Number.isNaN(e)) m = e; }
  return m;
};
const intOrFloat = (d: DType): DType => (d === 'float32' ? 'float32' : 'int32');

export const sum = reducer('sum', sumRow, intOrFloat, undefined, 'sum');
export const prod = reducer('prod', prodRow, intOrFloat);
export const max = reducer('max', maxRow, (d) => d, undefined, 'max');
export const min = reducer('min', minRow, (d) => d, undefined, 'min');
export const mean = reducer('mean', (v, off, n) => (n ? sumRow(v, off, n) / n : 0), () => 'float32', undefined, 'mean');
export const all = reducer('all', (v, off, n) => { for (let i = 0; i < n; i++) if (!v[off + i]) return 0; return 1; }, () => 'bool', 'bool');
export const any = reducer('any', (v, off, n) => { for (let i = 0; i < n; i++) if (v[off + i]) return 1; return 0; }, () => 'bool', 'bool');
export const logSumExp = reducer('logSumExp', (v, off, n) => {
  // An empty row: max is NaN in float32 (and 0 once stored in int32), so TF.js gives NaN / -Infinity.
  if (n === 0) return v instanceof Float32Array ? NaN : -Infinity;
  const m = maxRow(v, off, n);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(v[off + i] - m);
  return m + Math.log(s);
}, () => 'float32');

function argReducer(fn: string, better: (a: number, b: number) => boolean) {
  return (x: TensorOrLike, axis = 0): Tensor => {
    const v = convert(x, 'x', fn);
    const ax = parseAxes(axis, v.shape.length);
    const r = toRows(v, ax);
    const out = new Int32Array(r.outer);
    for (let o = 0; o < r.outer; o++) {
      const off = o * r.inner;
      let best = 0;
      for (let i = 1; i < r.inner; i++) if (better(r.data[off + i], r.data[off + best])) best = i;
      out[o] = best;
    }
    return make(out, r.outShape, 'int32');
  };
}

/** Index of the largest value along `axis` (default 0, as TF.js), int32. */
export const argMax = argReducer('argMax', (a, b) => a > b);
export const argMin = argReducer('argMin', (a, b) => a < b);

/** Mean and variance over axes (variance: mean squared deviation). */
export function moments(x: TensorOrLike, axis?: number | number[] | null, keepDims = false): { mean: Tensor; variance: Tensor } {
  const v = convert(x, 'x', 'moments');
  const axes = parseAxes(axis, v.shape.length);
  const r = toRows(v, axes);
  const m = new Float32Array(r.outer), va = new Float32Array(r.outer);
  for (let o = 0; o < r.outer; o++) {
    const off = o * r.inner;
    const mu = sumRow(r.data, off, r.inner) / r.inner;
    let s = 0;
    for (let i = 0; i < r.inner; i++) { const d = r.data[off + i] - mu; s += d * d; }
    m[o] = mu;
    va[o] = s / r.inner;
  }
  const shape = keepDims ? r.keptShape : r.outShape;
  return { mean: make(m, shape, 'float32'), variance: make(va, shape, 'float32') };
}

/**
 * Vector and matrix norms as TF.js's norm: over all values (axis null) or one axis, ord
 * 'euclidean' (default), 2, 1, Infinity or -Infinity; over two axes 'euclidean' / 'fro', 1,
 * Infinity or -Infinity.
 */
export function norm(x: TensorOrLike, ord: number | 'euclidean' | 'fro' = 'euclidean', axis: number | number[] | null = null, keepDims = false): Tensor {
  const v = convert(x, 'x', 'norm');
  const rank = v.shape.length;
  const axes = axis === null ? null : parseAxes(axis, rank);
  if (axes !== null && axes.length > 2) throw new Error(`Error in norm: invalid axis: ${String(axis)}`);
  return tidy(() => {
    const t = make(v.values, v.shape, v.dtype); // int32 stays int32 (sqrt then refuses it, as TF.js)
    let r: Tensor;
    if (rank === 0) r = ew.abs(t);
    else if (axes === null || axes.length === 1) {
      const ax = axes ?? null;
      if (ord === 1) r = sum(ew.abs(t), ax);
      else if (ord === Infinity) r = max(ew.abs(t), ax);
      else if (ord === -Infinity) r = min(ew.abs(t), ax);
      else if (ord === 'euclidean' || ord === 2) r = ew.sqrt(sum(ew.square(ew.abs(t)), ax));
      else throw new Error(`Error in norm: invalid ord value: ${String(ord)}`);
    } else {
      if (ord === 1) r = max(sum(ew.abs(t), axes[0]), axes[1] - 1);
      else if (ord === Infinity) r = max(sum(ew.abs(t), axes[1]), axes[0]);
      else if (ord === -Infinity) r = min(sum(ew.abs(t), axes[1]), axes[0]);
      else if (ord === 'fro' || ord === 'euclidean') r = ew.sqrt(sum(ew.square(t), axes));
      else throw new Error(`Error in norm: invalid ord value: ${String(ord)}`);
    }
    return reshapeKeep(r, v.shape, axes ?? [...Array(rank).keys()], keepDims);
  });
}

function reshapeKeep(r: Tensor, shape: number[], axes: number[], keepDims: boolean): Tensor {
  if (!keepDims) return r;
  return make((r.values as Data).slice(), shape.map((d, a) => (axes.includes(a) ? 1 : d)), r.dtype);
}

/** The Euclidean norm over axes (TF.js's euclideanNorm). */
export function euclideanNorm(x: TensorOrLike, axis: number | number[] | null = null, keepDims = false): Tensor {
  return norm(x, 'euclidean', axis, keepDims);
}

/** Softmax along `dim` (default -1), float32 input. */
export function softmax(logits: TensorOrLike, dim = -1): Tensor {
  return softmaxImpl(logits, dim, 'softmax', false);
}

/** log(softmax(x)) along `axis` (default -1), computed stably. */
export function logSoftmax(logits: TensorOrLike, axis = -1): Tensor {
  return softmaxImpl(logits, axis, 'logSoftmax', true);
}

function softmaxImpl(logits: TensorOrLike, dim: number, fn: string, asLog: boolean): Tensor {
  const v = convert(logits, 'logits', fn);
  if (!asLog) requireDtype(v, 'logits', fn, 'float32');
  const rank = v.shape.length;
  if (rank === 0) throw new Error(`Error in ${fn}: logits must be at least rank 1, but got a scalar`);
  const d = parseAxis(dim, rank, fn, 'dim');
  if (d !== rank - 1) {
    throw new Error(`Softmax along a dimension other than ${rank - 1} is not yet supported. Got dim ${dim}`);
  }
  const n = v.shape[rank - 1];
  const out = new Float32Array(v.size);
  const x = v.values;
  for (let off = 0; off < v.size; off += n) {
    const m = maxRow(x, off, n);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[off + i] - m);
    if (asLog) { const ls = Math.log(s); for (let i = 0; i < n; i++) out[off + i] = x[off + i] - m - ls; }
    else for (let i = 0; i < n; i++) out[off + i] = Math.exp(x[off + i] - m) / s;
  }
  return make(out, v.shape, 'float32');
}
