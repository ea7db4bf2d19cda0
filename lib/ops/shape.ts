/**
 * Shape ops with TF.js names and messages: reshape, expandDims, squeeze, transpose, concat, stack,
 * unstack, split, slice, stridedSlice, gather, tile, pad, reverse, broadcastTo, cast, clone.
 * Every result owns a copy of its values.
 */
import { DType, DTYPES, Tensor, tidy, toTyped } from '../tensor';
import { broadcastOffsets, broadcastShape, stridesOf } from './broadcast';
import { Data, TensorOrLike, View, castView, convert, convertList, make, newData, shapeList, sizeOf } from './convert';
import { parseAxes, parseAxis, transposeData } from './layout';

/** Same values, another shape (one dimension may be -1). */
export function reshape(x: TensorOrLike, shape: number[]): Tensor {
  const v = convert(x, 'x', 'reshape');
  const t = make(v.values, v.shape, v.dtype);
  try { return t.reshape(shape); } finally { t.dispose(); } // t shared v.values; reshape copied them
}

/** Inserts a dimension of 1 at `axis` (in [-(rank+1), rank]). */
export function expandDims(x: TensorOrLike, axis = 0): Tensor {
  const v = convert(x, 'x', 'expandDims');
  const r = v.shape.length;
  if (!Number.isInteger(axis) || axis > r) throw new Error('Axis must be <= rank of the tensor');
  if (axis < -(r + 1)) throw new Error(`Axis must be >= -(rank + 1) of the tensor (${-(r + 1)}), got ${axis}`);
  const a = axis < 0 ? axis + r + 1 : axis;
  const s = v.shape.slice();
  s.splice(a, 0, 1);
  return make(v.values.slice(), s, v.dtype);
}

/** Drops dimensions of 1 (all of them, or the listed axes, which must be 1). */
export function squeeze(x: TensorOrLike, axis?: number | number[]): Tensor {
  const v = convert(x, 'x', 'squeeze');
  const axes = axis === undefined ? null : parseAxes(axis, v.shape.length);
  const s: number[] = [];
  v.shape.forEach((d, i) => {
    if (axes === null ? d === 1 : axes.includes(i)) {
      if (d !== 1) throw new Error(`Can't squeeze axis ${i} since its dim '${d}' is not 1`);
    } else s.push(d);
  });
  return make(v.values.slice(), s, v.dtype);
}

/** Permutes the axes (default: reversed). */
export function transpose(x: TensorOrLike, perm?: number[]): Tensor {
  const v = convert(x, 'x', 'transpose');
  const r = v.shape.length;
  const p = perm ?? [...Array(r).keys()].reverse();
  if (!Array.isArray(p) || p.length !== r) {
    throw new Error(`Error in transpose: rank of input ${r} must match length of perm ${Array.isArray(p) ? shapeList(p) : String(p)}.`);
  }
  const seen = new Set<number>();
  for (const a of p) {
    if (!Number.isInteger(a) || a < 0 || a >= r || seen.has(a)) {
      throw new Error(`All entries in 'perm' must be between 0 and ${r - 1} and unique, but got ${shapeList(p)}`);
    }
    seen.add(a);
  }
  const t = transposeData(v.values, v.shape, p, v.dtype);
  return make(t.data, t.shape, v.dtype);
}

/** Joins tensors along `axis`; the result has the first tensor's dtype (as TF.js's cpu backend). */
export function concat(tensors: TensorOrLike[], axis = 0): Tensor {
  let vs = convertList(tensors, 'tensors', 'concat');
  if (vs.length < 1) throw new Error('Pass at least one tensor to concat');
  const dt = vs[0].dtype;
  vs = vs.map((v) => castView(v, dt));
  const rank = vs[0].shape.length;
  if (rank === 0) throw new Error('Error in concat: scalars cannot be concatenated (rank 0); use stack');
  const ax = parseAxes(axis, rank)[0];
  vs.forEach((v, i) => {
    if (v.shape.length !== rank) {
      throw new Error(`Error in concat${rank}D: rank of tensors[${i}] must be the same as the rank of the rest (${rank})`);
    }
    for (let d = 0; d < rank; d++) {
      if (d !== ax && v.shape[d] !== vs[0].shape[d]) {
        throw new Error(`Error in concat${rank}D: Shape of tensors[${i}] (${shapeList(v.shape)}) does not match the shape of the rest (${shapeList(vs[0].shape)}) along the non-concatenated axis ${d}.`);
      }
    }
  });
  const shape = vs[0].shape.slice();
  shape[ax] = vs.reduce((s, v) => s + v.shape[ax], 0);
  const outer = sizeOf(shape.slice(0, ax));
  const innerOut = sizeOf(shape.slice(ax));
  const out = newData(dt, sizeOf(shape));
  let col = 0;
  for (const v of vs) {
    const w = v.size / Math.max(outer, 1);
    if (v.size === 0) continue;
    for (let o = 0; o < outer; o++) out.set(v.values.subarray(o * w, (o + 1) * w), o * innerOut + col);
    col += w;
  }
  return make(out, shape, dt);
}

/** Stacks same-shaped tensors along a new axis. */
export function stack(tensors: TensorOrLike[], axis = 0): Tensor {
  const vs = convertList(tensors, 'tensors', 'stack');
  if (vs.length < 1) throw new Error('Pass at least one tensor to tf.stack');
  for (const v of vs) {
    if (v.shape.length !== vs[0].shape.length || v.shape.some((d, i) => d !== vs[0].shape[i])) {
      throw new Error(`All tensors passed to stack must have matching shapes Shapes ${shapeList(vs[0].shape)} and ${shapeList(v.shape)} must match`);
    }
    if (v.dtype !== vs[0].dtype) throw new Error('All tensors passed to stack must have matching dtypes');
  }
  const r = vs[0].shape.length;
  if (!Number.isInteger(axis) || axis < -(r + 1) || axis > r) throw new Error(`Axis must be in [${-(r + 1)}, ${r}] for stack, got ${axis}`);
  const a = axis < 0 ? axis + r + 1 : axis;
  const expanded = vs.map((v) => {
    const s = v.shape.slice();
    s.splice(a, 0, 1);
    return { ...v, shape: s };
  });
  return concatViews(expanded, a);
}

function concatViews(vs: View[], axis: number): Tensor {
  return tidy(() => concat(vs.map((v) => make(v.values, v.shape, v.dtype)), axis));
}

/** Splits along `axis` into tensors of one less rank. */
export function unstack(x: TensorOrLike, axis = 0): Tensor[] {
  const v = convert(x, 'x', 'unstack');
  const r = v.shape.length;
  if (!Number.isInteger(axis) || axis < -r || axis >= r) throw new Error(`Axis = ${axis} is not in [-${r}, ${r})`);
  const a = axis < 0 ? axis + r : axis;
  const n = v.shape[a];
  const s = v.shape.filter((_, i) => i !== a);
  return splitView(v, new Array(n).fill(1), a).map((p) => make(p.values, s, p.dtype));
}

/** Splits along `axis` into n equal parts, or parts of the given sizes (one may be -1). */
export function split(x: TensorOrLike, numOrSizeSplits: number | number[], axis = 0): Tensor[] {
  const v = convert(x, 'x', 'split');
  const a = parseAxes(axis, v.shape.length)[0];
  const dim = v.shape[a];
  let sizes: number[];
  if (typeof numOrSizeSplits === 'number') {
    if (!Number.isInteger(numOrSizeSplits) || numOrSizeSplits < 1 || dim % numOrSizeSplits !== 0) {
      throw new Error('Number of splits must evenly divide the axis.');
    }
    sizes = new Array(numOrSizeSplits).fill(dim / numOrSizeSplits);
  } else {
    if (!Array.isArray(numOrSizeSplits)) throw new TypeError(`split: numOrSizeSplits must be a number or an array of sizes, got ${typeof numOrSizeSplits}`);
    sizes = numOrSizeSplits.slice();
    const negs = sizes.filter((s) => s === -1).length;
    if (negs > 1) throw new Error('There should be only one negative value in split array.');
    const total = sizes.reduce((p, s) => (s === -1 ? p : p + s), 0);
    if (negs) sizes[sizes.indexOf(-1)] = dim - total;
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((p, s) => p + s, 0) !== dim) {
      throw new Error(`The sum of sizes must match the size of the axis dimension (${dim}), got sizes ${shapeList(numOrSizeSplits)}.`);
    }
  }
  return splitView(v, sizes, a).map((p) => make(p.values, p.shape, p.dtype));
}

function splitView(v: View, sizes: number[], a: number): View[] {
  const outer = sizeOf(v.shape.slice(0, a));
  const inner = sizeOf(v.shape.slice(a + 1));
  const row = v.shape[a] * inner;
  let start = 0;
  return sizes.map((n) => {
    const out = newData(v.dtype, outer * n * inner);
    for (let o = 0; o < outer; o++) out.set(v.values.subarray(o * row + start * inner, o * row + (start + n) * inner), o * n * inner);
    start += n;
    const shape = v.shape.slice();
    shape[a] = n;
    return { values: out, shape, dtype: v.dtype, size: out.length };
  });
}

/** A box begin..begin+size per axis (size -1 = to the end; missing axes taken whole). */
export function slice(x: TensorOrLike, begin: number | number[], size?: number | number[]): Tensor {
  const v = convert(x, 'x', 'slice');
  const r = v.shape.length;
  if (r === 0) throw new Error('Slicing scalar is not possible');
  const b = typeof begin === 'number' ? [begin, ...new Array(r - 1).fill(0)] : begin.slice();
  const s = size === undefined ? [] : typeof size === 'number' ? [size, ...new Array(r - 1).fill(-1)] : size.slice();
  if (b.length > r || s.length > r) throw new Error(`Error in slice${r}D: Length of begin ${shapeList(b)} and size ${shapeList(s)} must not exceed the rank of the input ${r}.`);
  while (b.length < r) b.push(0);
  while (s.length < r) s.push(-1);
  for (let i = 0; i < r; i++) {
    if (!Number.isInteger(b[i]) || b[i] < 0 || b[i] > v.shape[i]) {
      throw new Error(`Error in slice${r}D: begin[${i}] (${b[i]}) must be an integer in [0, ${v.shape[i]}] (input.shape[${i}])`);
    }
    if (s[i] === -1) s[i] = v.shape[i] - b[i];
    if (!Number.isInteger(s[i]) || s[i] < 0) throw new Error(`Error in slice${r}D: size[${i}] (${s[i]}) must be -1 or a non-negative integer`);
    if (b[i] + s[i] > v.shape[i]) {
      throw new Error(`Error in slice${r}D: begin[${i}] + size[${i}] (${b[i] + s[i]}) would overflow input.shape[${i}] (${v.shape[i]})`);
    }
  }
  return gatherBox(v, b, s, s.map(() => 1), s);
}

/** Values at begin + i * step per axis, for the output shape `count`. */
function gatherBox(v: View, begin: number[], count: number[], step: number[], outShape: number[]): Tensor {
  const n = sizeOf(count);
  const out = newData(v.dtype, n);
  const r = count.length;
  if (n > 0) {
    const st = stridesOf(v.shape);
    const idx = new Array<number>(r).fill(0);
    let src = begin.reduce((p, bi, i) => p + bi * st[i], 0);
    for (let o = 0; o < n; o++) {
      out[o] = v.values[src];
      for (let d = r - 1; d >= 0; d--) {
        idx[d]++;
        src += step[d] * st[d];
        if (idx[d] < count[d]) break;
        src -= step[d] * st[d] * count[d];
        idx[d] = 0;
      }
    }
  }
  return make(out, outShape, v.dtype);
}

/**
 * TF.js's stridedSlice: begin/end/strides per axis with beginMask, endMask (bit i: ignore begin/end
 * of axis i) and shrinkAxisMask (drop axis i, taking begin[i]). ellipsisMask and newAxisMask must be 0.
 */
export function stridedSlice(x: TensorOrLike, begin: number[], end: number[], strides?: number[], beginMask = 0, endMask = 0, ellipsisMask = 0, newAxisMask = 0, shrinkAxisMask = 0): Tensor {
  const v = convert(x, 'x', 'stridedSlice');
  if (ellipsisMask !== 0 || newAxisMask !== 0) throw new Error('stridedSlice: ellipsisMask and newAxisMask are not supported (use expandDims / reshape)');
  const r = v.shape.length;
  const st = strides ?? new Array(begin.length).fill(1);
  const b: number[] = [], c: number[] = [], s: number[] = [], outShape: number[] = [];
  for (let i = 0; i < r; i++) {
    const dim = v.shape[i];
    const stride = i < st.length ? st[i] : 1;
    if (!Number.isInteger(stride) || stride === 0) throw new Error(`stridedSlice: strides[${i}] must be a non-zero integer, got ${stride}`);
    const norm = (e: number, lo: number, hi: number) => Math.min(Math.max(e < 0 ? e + dim : e, lo), hi);
    if (shrinkAxisMask & (1 << i)) {
      if (stride <= 0) throw new Error('only stride 1 allowed on non-range indexing.');
      let bi = begin[i] ?? 0;
      if (bi < 0) bi += dim;
      if (bi < 0 || bi >= dim) throw new Error(`slice index ${begin[i]} of dimension ${i} out of bounds.`);
      b.push(bi); c.push(1); s.push(1);
      continue;
    }
    let bi: number, ei: number;
    if (stride > 0) {
      bi = i >= begin.length || beginMask & (1 << i) ? 0 : norm(begin[i], 0, dim);
      ei = i >= end.length || endMask & (1 << i) ? dim : norm(end[i], 0, dim);
    } else {
      bi = i >= begin.length || beginMask & (1 << i) ? dim - 1 : norm(begin[i], -1, dim - 1);
      ei = i >= end.length || endMask & (1 << i) ? -1 : norm(end[i], -1, dim - 1);
    }
    const n = Math.max(0, Math.ceil((ei - bi) / stride));
    b.push(n ? bi : 0); c.push(n); s.push(stride); outShape.push(n);
  }
  return gatherBox(v, b, c, s, outShape);
}

/** Slices of x along `axis` at the int32 `indices` (any shape): shape x[:axis] + indices + x[axis+1:]. */
export function gather(x: TensorOrLike, indices: TensorOrLike, axis = 0, batchDims = 0): Tensor {
  const v = convert(x, 'x', 'gather');
  const ind = convert(indices, 'indices', 'gather', 'int32');
  if (ind.dtype !== 'int32') throw new Error(`Argument 'indices' passed to 'gather' must be int32 tensor, but got ${ind.dtype} tensor`);
  if (batchDims !== 0) throw new Error('gather: batchDims other than 0 is not supported');
  const a = parseAxis(axis, v.shape.length, 'gather');
  const dim = v.shape[a];
  const outer = sizeOf(v.shape.slice(0, a));
  const inner = sizeOf(v.shape.slice(a + 1));
  const out = newData(v.dtype, outer * ind.size * inner);
  for (let k = 0; k < ind.size; k++) {
    const j = ind.values[k];
    if (j < 0 || j >= dim) throw new Error(`GatherV2: the index value ${j} is not in [0, ${dim - 1}]`);
  }
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < ind.size; k++) {
      const src = (o * dim + ind.values[k]) * inner;
      out.set(v.values.subarray(src, src + inner), (o * ind.size + k) * inner);
    }
  }
  return make(out, [...v.shape.slice(0, a), ...ind.shape, ...v.shape.slice(a + 1)], v.dtype);
}

/** Repeats x reps[i] times along axis i. */
export function tile(x: TensorOrLike, reps: number[]): Tensor {
  const v = convert(x, 'x', 'tile');
  const r = v.shape.length;
  if (!Array.isArray(reps) || reps.length !== r) {
    throw new Error(`Error in tile: rank of input ${r} must match length of reps ${Array.isArray(reps) ? reps.length : String(reps)}.`);
  }
  if (reps.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`Error in tile: reps must be non-negative integers, got ${shapeList(reps)}`);
  const shape = v.shape.map((d, i) => d * reps[i]);
  const n = sizeOf(shape);
  const out = newData(v.dtype, n);
  const st = stridesOf(v.shape);
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let d = 0; d < r; d++) src += (idx[d] % v.shape[d]) * st[d];
    out[o] = v.values[src];
    for (let d = r - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
  }
  return make(out, shape, v.dtype);
}

/** Pads with constantValue: paddings[i] = [before, after] for axis i. */
export function pad(x: TensorOrLike, paddings: Array<[number, number]>, constantValue = 0): Tensor {
  const v = convert(x, 'x', 'pad');
  const r = v.shape.length;
  if (r === 0) throw new Error('pad(scalar) is not defined. Pass non-scalar to pad');
  if (!Array.isArray(paddings) || paddings.length !== r) {
    throw new Error(`Error in pad: paddings must have one [before, after] pair per axis (${r}), got ${Array.isArray(paddings) ? paddings.length : String(paddings)}`);
  }
  paddings.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((e) => Number.isInteger(e) && e >= 0)) {
      throw new Error(`Error in pad: paddings[${i}] must be [before, after] non-negative integers, got ${JSON.stringify(p)}`);
    }
  });
  const shape = v.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
  const out = newData(v.dtype, sizeOf(shape));
  if (constantValue !== 0) out.fill(constantValue);
  const ost = stridesOf(shape);
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < v.size; i++) {
    let dst = 0;
    for (let d = 0; d < r; d++) dst += (idx[d] + paddings[d][0]) * ost[d];
    out[dst] = v.values[i];
    for (let d = r - 1; d >= 0; d--) { if (++idx[d] < v.shape[d]) break; idx[d] = 0; }
  }
  return make(out, shape, v.dtype);
}

/** Reverses along the given axes (default: all). */
export function reverse(x: TensorOrLike, axis?: number | number[]): Tensor {
  const v = convert(x, 'x', 'reverse');
  const axes = parseAxes(axis, v.shape.length);
  const begin = v.shape.map((d, i) => (axes.includes(i) ? d - 1 : 0));
  const step = v.shape.map((_, i) => (axes.includes(i) ? -1 : 1));
  if (v.size === 0) return make(v.values.slice(), v.shape, v.dtype);
  return gatherBox(v, begin, v.shape, step, v.shape.slice());
}

/** Broadcasts x to `shape`. */
export function broadcastTo(x: TensorOrLike, shape: number[]): Tensor {
  const v = convert(x, 'x', 'broadcastTo');
  if (shape.length < v.shape.length) throw new Error(`broadcastTo(): shape.length=${shape.length} < input.rank=${v.shape.length}.`);
  const out = broadcastShape(v.shape, shape);
  if (out.some((d, i) => d !== shape[i])) throw new Error(`broadcastTo(): [${shapeList(v.shape)}] cannot be broadcast to [${shapeList(shape)}].`);
  const [off] = broadcastOffsets(shape, [v.shape]);
  const data = newData(v.dtype, off.length);
  for (let i = 0; i < off.length; i++) data[i] = v.values[off[i]];
  return make(data, shape, v.dtype);
}

/** x in another dtype (float -> int32 truncates toward zero; -> bool is x != 0). */
export function cast(x: TensorOrLike, dtype: DType): Tensor {
  const v = convert(x, 'x', 'cast');
  if (!DTYPES.includes(dtype)) throw new Error(`Failed to cast to unknown dtype ${String(dtype)}`);
  const c = v.dtype === dtype ? { ...v, values: v.values.slice() } : castView(v, dtype);
  return make(c.values as Data, v.shape, dtype);
}

/** A copy. */
export function clone(x: TensorOrLike): Tensor {
  const v = convert(x, 'x', 'clone');
  return make(v.values.slice(), v.shape, v.dtype);
}

export { toTyped };
