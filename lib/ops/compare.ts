/** Comparisons (-> bool, after TF.js's upcast), logical ops on bool tensors, where, isNaN & co. */
import type { Tensor } from '../tensor';
import { broadcastOffsets, broadcastShape } from './broadcast';
import { TensorOrLike, convert, convertAs, make, makeTypesMatch, newData, requireDtype, sizeOf } from './convert';
import { BinaryFn, binaryKernel, unaryKernel } from './elementwise';

function comparison(fn: string, f: BinaryFn) {
  return (a: TensorOrLike, b: TensorOrLike): Tensor => {
    const [x, y] = makeTypesMatch(convert(a, 'a', fn), convert(b, 'b', fn));
    return binaryKernel(x, y, 'bool', f);
  };
}

export const equal = comparison('equal', (x, y) => (x === y ? 1 : 0));
export const notEqual = comparison('notEqual', (x, y) => (x !== y ? 1 : 0));
export const less = comparison('less', (x, y) => (x < y ? 1 : 0));
export const lessEqual = comparison('lessEqual', (x, y) => (x <= y ? 1 : 0));
export const greater = comparison('greater', (x, y) => (x > y ? 1 : 0));
export const greaterEqual = comparison('greaterEqual', (x, y) => (x >= y ? 1 : 0));

function logical(fn: string, f: BinaryFn) {
  return (a: TensorOrLike, b: TensorOrLike): Tensor =>
    binaryKernel(convertAs(a, 'a', fn, 'bool'), convertAs(b, 'b', fn, 'bool'), 'bool', f);
}

export const logicalAnd = logical('logicalAnd', (x, y) => x & y);
export const logicalOr = logical('logicalOr', (x, y) => x | y);
export const logicalXor = logical('logicalXor', (x, y) => x ^ y);
export function logicalNot(x: TensorOrLike): Tensor {
  return unaryKernel(convertAs(x, 'x', 'logicalNot', 'bool'), 'bool', (e) => (e ? 0 : 1));
}

export const isNaN = (x: TensorOrLike): Tensor => unaryKernel(convert(x, 'x', 'isNaN'), 'bool', (e) => (Number.isNaN(e) ? 1 : 0));
export const isInf = (x: TensorOrLike): Tensor => unaryKernel(convert(x, 'x', 'isInf'), 'bool', (e) => (e === Infinity || e === -Infinity ? 1 : 0));
export const isFinite = (x: TensorOrLike): Tensor => unaryKernel(convert(x, 'x', 'isFinite'), 'bool', (e) => (Number.isFinite(e) ? 1 : 0));

/** condition ? a : b elementwise; all three broadcast; a and b upcast to a common dtype. */
export function where(condition: TensorOrLike, a: TensorOrLike, b: TensorOrLike): Tensor {
  const c = convert(condition, 'condition', 'where', 'bool');
  requireDtype(c, 'condition', 'where', 'bool');
  const [x, y] = makeTypesMatch(convert(a, 'a', 'where'), convert(b, 'b', 'where'));
  const shape = broadcastShape(broadcastShape(c.shape, x.shape), y.shape);
  const size = sizeOf(shape);
  const out = newData(x.dtype, size);
  const [oc, ox, oy] = broadcastOffsets(shape, [c.shape, x.shape, y.shape]);
  const cv = c.values, xv = x.values, yv = y.values;
  for (let i = 0; i < size; i++) out[i] = cv[oc[i]] ? xv[ox[i]] : yv[oy[i]];
  return make(out, shape, x.dtype);
}
