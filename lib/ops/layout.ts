/** Axis arguments and data movement shared by the shape ops and reductions. */
import type { DType } from '../tensor';
import { stridesOf } from './broadcast';
import { Data, newData } from './convert';

/**
 * Normalises an axis argument (undefined/null = every axis, a number, or a list; negative counts
 * from the end) to sorted unique non-negative axes, with TF.js's messages.
 */
export function parseAxes(axis: number | number[] | null | undefined, rank: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? axis : [axis];
  for (const a of list) {
    if (typeof a !== 'number' || !Number.isInteger(a)) {
      throw new Error(`All values in axis param must be integers but got axis ${list.join(',')}`);
    }
    if (a < -rank || a >= Math.max(rank, 0) && !(rank === 0 && (a === 0 || a === -1))) {
      throw new Error(`All values in axis param must be in range [-${rank}, ${rank}) but got axis ${list.join(',')}`);
    }
  }
  if (rank === 0) return [];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
}

/** One axis in [-rank, rank) as a non-negative index. */
export function parseAxis(axis: number, rank: number, fn: string, name = 'axis'): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`Error in ${fn}: ${name} ${String(axis)} must be an integer in [-${rank}, ${rank})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** values of `shape` re-laid out so that out[perm-order index] = in[index]; perm[i] = input axis of output axis i. */
export function transposeData(values: Data, shape: readonly number[], perm: readonly number[], dtype: DType): { data: Data; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const size = values.length;
  const out = newData(dtype, size);
  if (size === 0) return { data: out, shape: outShape };
  const inStrides = stridesOf(shape);
  const st = perm.map((p) => inStrides[p]); // input stride per output axis
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  const last = rank - 1;
  const n = rank ? outShape[last] : 1;
  const sl = rank ? st[last] : 0;
  for (let o = 0; o < size; o += n) {
    for (let j = 0, s = src; j < n; j++, s += sl) out[o + j] = values[s];
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      src += st[d];
      if (idx[d] < outShape[d]) break;
      src -= st[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}
