/**
 * Where large float32 elementwise ops and reductions leave TypeScript: when the native backend is
 * active and has the tensor-op kernels (native/kernels/tensor_ops.h), tensors of at least
 * HOT_MIN elements in the common layouts (same shape, a scalar side, a trailing-row broadcast;
 * rows reduced over contiguous axes) run there on the thread pool. Each function returns false
 * when the op stays in TypeScript; results are the same either way (see the kernels' header).
 */
import { kernels } from '../backend';
import { Bcast, TensorBinaryOp, TensorOpKernels, TensorReduceOp, TensorUnaryOp } from '../backend/js/tensor_ops';
import { rowOf } from './broadcast';
import type { Data, View } from './convert';

/** Elements below which the TypeScript loop is as fast as a native call. */
export const HOT_MIN = 1 << 14;

const BINARY: Record<string, TensorBinaryOp> = {
  add: TensorBinaryOp.Add, sub: TensorBinaryOp.Sub, mul: TensorBinaryOp.Mul, div: TensorBinaryOp.Div,
  minimum: TensorBinaryOp.Min, maximum: TensorBinaryOp.Max,
};
const UNARY: Record<string, TensorUnaryOp> = {
  abs: TensorUnaryOp.Abs, neg: TensorUnaryOp.Neg, square: TensorUnaryOp.Square, relu: TensorUnaryOp.Relu, sqrt: TensorUnaryOp.Sqrt,
  exp: TensorUnaryOp.Exp, log: TensorUnaryOp.Log, sigmoid: TensorUnaryOp.Sigmoid, tanh: TensorUnaryOp.Tanh,
};
const REDUCE: Record<string, TensorReduceOp> = { sum: TensorReduceOp.Sum, mean: TensorReduceOp.Mean, max: TensorReduceOp.Max, min: TensorReduceOp.Min };

let enabled = true;

/** Turns the native path off (false) or on again; returns the previous setting. Tests and the bench use it. */
export function setHotOps(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

function native(): TensorOpKernels | null {
  if (!enabled) return null;
  const k = kernels() as unknown as Partial<TensorOpKernels> & { name: string };
  return k.name === 'native' && typeof k.tensorBinary === 'function' ? (k as TensorOpKernels) : null;
}

export function hotBinary(op: string, out: Data, a: View, b: View, size: number, outShape: readonly number[]): boolean {
  if (size < HOT_MIN || !(out instanceof Float32Array) || !(a.values instanceof Float32Array) || !(b.values instanceof Float32Array)) return false;
  const code = BINARY[op];
  if (code === undefined) return false;
  let mode: Bcast, inner = 0;
  if (a.size === size && b.size === size) mode = Bcast.Same;
  else if (a.size === size && b.size === 1) mode = Bcast.ScalarB;
  else if (b.size === size && a.size === 1) mode = Bcast.ScalarA;
  else if (a.size === size && (inner = rowOf(b.shape, outShape)) === b.size) mode = Bcast.RowB;
  else if (b.size === size && (inner = rowOf(a.shape, outShape)) === a.size) mode = Bcast.RowA;
  else return false;
  const k = native();
  if (!k) return false;
  k.tensorBinary(code, out, a.values, b.values, mode, size, inner);
  return true;
}

export function hotUnary(op: string, out: Data, x: View): boolean {
  if (x.size < HOT_MIN || !(out instanceof Float32Array) || !(x.values instanceof Float32Array)) return false;
  const code = UNARY[op];
  if (code === undefined) return false;
  const k = native();
  if (!k) return false;
  k.tensorUnary(code, out, x.values, x.size);
  return true;
}

export function hotReduce(op: string, out: Data, rows: Data, outer: number, inner: number): boolean {
  if (outer * inner < HOT_MIN || !(out instanceof Float32Array) || !(rows instanceof Float32Array)) return false;
  const code = REDUCE[op];
  if (code === undefined) return false;
  const k = native();
  if (!k) return false;
  k.tensorReduce(code, out, rows, outer, inner);
  return true;
}
