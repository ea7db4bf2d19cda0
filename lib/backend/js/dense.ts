// Fully connected layer (native/kernels/dense.h): out[N,UNITS] = act(inp[N,IN] · W[IN,UNITS] + b).
import { Act } from '../types';
import { checkInts, checkLen, checkOptLen, f32 } from './check';
import { biasAct, columnSums } from './conv2d';
import { gemmBlocked } from './gemm';

/** out (N,UNITS) = act(inp (N,IN) · weight (IN,UNITS) + bias (UNITS) or null). */
export function denseForward(out: Float32Array, inp: Float32Array, weight: Float32Array,
                             bias: Float32Array | null, N: number, IN: number, UNITS: number,
                             act: Act, alpha: number): void {
  const fn = 'denseForward';
  checkInts(fn, { N, IN, UNITS }, 1);
  checkLen(fn, 'inp', inp, N * IN);
  checkLen(fn, 'weight', weight, IN * UNITS);
  checkOptLen(fn, 'bias', bias, UNITS);
  checkLen(fn, 'out', out, N * UNITS);
  if (!Number.isInteger(act) || act < Act.Linear || act > Act.Relu6) {
    throw new RangeError(`${fn}: unknown activation ${act}`);
  }
  denseForwardUnchecked(out, inp, weight, bias, N, IN, UNITS, act, f32(alpha));
}

export function denseForwardUnchecked(out: Float32Array, inp: Float32Array, weight: Float32Array,
                                      bias: Float32Array | null, N: number, IN: number, UNITS: number,
                                      act: Act, alpha: number): void {
  gemmBlocked(false, false, N, UNITS, IN, 1, inp, IN, weight, UNITS, 0, out, UNITS);
  biasAct(out, bias, N, UNITS, act, alpha);
}

/**
 * dout (N,UNITS): gradient w.r.t. the pre-activation output. Overwrites dweight (IN,UNITS) =
 * inpᵀ·dout, dbias (UNITS) = column sums (if non-null), dinp (N,IN) = dout·Wᵀ (if non-null).
 */
export function denseBackward(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
                              dout: Float32Array, inp: Float32Array, weight: Float32Array,
                              N: number, IN: number, UNITS: number): void {
  const fn = 'denseBackward';
  checkInts(fn, { N, IN, UNITS }, 1);
  checkLen(fn, 'dout', dout, N * UNITS);
  checkLen(fn, 'inp', inp, N * IN);
  checkLen(fn, 'weight', weight, IN * UNITS);
  checkLen(fn, 'dweight', dweight, IN * UNITS);
  checkOptLen(fn, 'dbias', dbias, UNITS);
  checkOptLen(fn, 'dinp', dinp, N * IN);
  denseBackwardUnchecked(dinp, dweight, dbias, dout, inp, weight, N, IN, UNITS);
}

export function denseBackwardUnchecked(dinp: Float32Array | null, dweight: Float32Array,
                                       dbias: Float32Array | null, dout: Float32Array, inp: Float32Array,
                                       weight: Float32Array, N: number, IN: number, UNITS: number): void {
  gemmBlocked(true, false, IN, UNITS, N, 1, inp, IN, dout, UNITS, 0, dweight, UNITS);
  if (dbias !== null) columnSums(dbias, dout, N, UNITS);
  if (dinp !== null) gemmBlocked(false, true, N, IN, UNITS, 1, dout, UNITS, weight, UNITS, 0, dinp, IN);
}
