/**
 * NumPy / TF.js broadcasting: the shape rule, and a strided walk over the output that yields each
 * input's flat offset (stride 0 along broadcast axes).
 */
import { shapeList } from './convert';

/** The broadcast shape of a and b, or TF.js's error naming both. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`Operands could not be broadcast together with shapes ${shapeList(a)} and ${shapeList(b)}.`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Row-major strides of shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** Strides of `shape` read as `outShape` (right-aligned; 0 where shape has 1 or lacks the axis). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const st = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]));
}

/**
 * For each output element (row-major), the flat offset into each input: offsets[k][i].
 * Used by the general (non fast-path) loops; cost O(size * inputs).
 */
export function broadcastOffsets(outShape: readonly number[], inShapes: readonly (readonly number[])[]): Int32Array[] {
  const size = outShape.reduce((p, d) => p * d, 1);
  const rank = outShape.length;
  const strides = inShapes.map((s) => broadcastStrides(s, outShape));
  const out = inShapes.map(() => new Int32Array(size));
  if (size === 0) return out;
  const idx = new Array<number>(rank).fill(0);
  const cur = inShapes.map(() => 0);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < cur.length; k++) out[k][i] = cur[k];
    // odometer increment
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < cur.length; k++) cur[k] += strides[k][d];
      if (idx[d] < outShape[d]) break;
      for (let k = 0; k < cur.length; k++) cur[k] -= strides[k][d] * outShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Elements of the trailing dims of outShape that `small` (leading 1s dropped) equals, else 0: a row broadcast. */
export function rowOf(small: readonly number[], outShape: readonly number[]): number {
  let k = 0;
  while (k < small.length && small[k] === 1) k++;
  const tail = small.length - k;
  if (tail === 0 || tail > outShape.length) return 0;
  let n = 1;
  for (let i = 0; i < tail; i++) {
    if (small[k + i] !== outShape[outShape.length - tail + i]) return 0;
    n *= small[k + i];
  }
  return n;
}
