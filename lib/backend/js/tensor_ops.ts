/**
 * The tensor-op kernels' contract (native/kernels/tensor_ops.h) and its TypeScript twin: float32
 * elementwise ops with the common broadcasts and row reductions. lib/ops/hot.ts sends large
 * float32 tensors to the native versions; these are the reference the tests hold them to.
 * Codes match the C++ enums.
 */

export const enum TensorBinaryOp { Add = 0, Sub = 1, Mul = 2, Div = 3, Min = 4, Max = 5 }
export const enum TensorUnaryOp { Abs = 0, Neg = 1, Square = 2, Relu = 3, Sqrt = 4, Exp = 5, Log = 6, Sigmoid = 7, Tanh = 8 }
export const enum TensorReduceOp { Sum = 0, Mean = 1, Max = 2, Min = 3 }
/** Same: a, b (n). ScalarA / ScalarB: that side has 1 element. RowA / RowB: that side is a row of `inner` repeated n / inner times. */
export const enum Bcast { Same = 0, ScalarA = 1, ScalarB = 2, RowA = 3, RowB = 4 }

export interface TensorOpKernels {
  tensorBinary(op: TensorBinaryOp, out: Float32Array, a: Float32Array, b: Float32Array, mode: Bcast, n: number, inner: number): void;
  tensorUnary(op: TensorUnaryOp, out: Float32Array, x: Float32Array, n: number): void;
  /** x (outer, inner) -> out (outer). */
  tensorReduce(op: TensorReduceOp, out: Float32Array, x: Float32Array, outer: number, inner: number): void;
  /** dst = src over the thread pool (the bench's memory-bandwidth yardstick). */
  tensorCopy(dst: Float32Array, src: Float32Array, n: number): void;
}

const binaryFns: Array<(x: number, y: number) => number> = [
  (x, y) => x + y, (x, y) => x - y, (x, y) => x * y, (x, y) => x / y,
  (x, y) => (x < y || Number.isNaN(x) ? x : y), (x, y) => (x > y || Number.isNaN(x) ? x : y),
];
const unaryFns: Array<(x: number) => number> = [
  Math.abs, (x) => -x, (x) => x * x, (x) => (x > 0 ? x : 0), Math.sqrt, Math.exp, Math.log,
  (x) => 1 / (1 + Math.exp(-x)), Math.tanh,
];

export const jsTensorOps: TensorOpKernels = {
  tensorBinary(op, out, a, b, mode, n, inner) {
    const f = binaryFns[op];
    for (let i = 0; i < n; i++) {
      const ia = mode === Bcast.ScalarA ? 0 : mode === Bcast.RowA ? i % inner : i;
      const ib = mode === Bcast.ScalarB ? 0 : mode === Bcast.RowB ? i % inner : i;
      out[i] = f(a[ia], b[ib]);
    }
  },
  tensorUnary(op, out, x, n) {
    const f = unaryFns[op];
    for (let i = 0; i < n; i++) out[i] = f(x[i]);
  },
  tensorReduce(op, out, x, outer, inner) {
    for (let o = 0; o < outer; o++) {
      const off = o * inner;
      if (op === TensorReduceOp.Sum || op === TensorReduceOp.Mean) {
        let s = 0;
        for (let i = 0; i < inner; i++) s += x[off + i];
        out[o] = op === TensorReduceOp.Sum ? s : inner ? s / inner : 0;
      } else {
        let m = inner ? x[off] : NaN;
        let nan = Number.isNaN(m);
        for (let i = 1; i < inner; i++) {
          const v = x[off + i];
          if (Number.isNaN(v)) nan = true;
          else if (op === TensorReduceOp.Max ? v > m : v < m) m = v;
        }
        out[o] = nan ? NaN : m;
      }
    }
  },
  tensorCopy(dst, src, n) {
    dst.set(src.subarray(0, n));
  },
};
