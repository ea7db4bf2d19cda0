/**
 * The hook through which large float32 elementwise ops and reductions run in native code on the
 * thread pool. Returns false when the op stays in TypeScript (small tensor, unsupported case, or
 * no native tensor-op kernels loaded).
 */
import type { Data, View } from './convert';

export function hotBinary(_op: string, _out: Data, _a: View, _b: View, _size: number): boolean {
  return false;
}

export function hotUnary(_op: string, _out: Data, _x: View): boolean {
  return false;
}

export function hotReduce(_op: string, _out: Data, _rows: Data, _outer: number, _inner: number): boolean {
  return false;
}
