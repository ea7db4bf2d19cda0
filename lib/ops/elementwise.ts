/**
 * Elementwise math with TF.js names, broadcasting and dtype rules: binary ops upcast their
 * operands (bool < int32 < float32; a plain number is float32), div of two int32 tensors is
 * floorDiv, transcendental unary ops require float32 as TF.js does, the others keep the dtype.
 */
import type { DType, Tensor } from '../tensor';
import { broadcastOffsets, broadcastShape, rowOf } from './broadcast';
import { Data, TensorOrLike, View, castView, convert, makeOutput, makeTypesMatch, outputData, requireDtype, sizeOf } from './convert';
import { hotBinary, hotUnary } from './hot';

export type BinaryFn = (x: number, y: number) => number;
export type UnaryFn = (x: number) => number;

/** out[i] = f(a[ia], b[ib]) over the broadcast shape; fast paths for same size, a scalar side and a trailing row. */
export function binaryKernel(a: View, b: View, outDtype: DType, f: BinaryFn, hotName?: string): Tensor {
  const shape = broadcastShape(a.shape, b.shape);
  const size = sizeOf(shape);
  const out = outputData(outDtype, size); // every element is written below
  const av = a.values, bv = b.values;
  if (hotName && hotBinary(hotName, out, a, b, size, shape)) return makeOutput(out, shape, outDtype);
  if (a.size === size && b.size === size) {
    for (let i = 0; i < size; i++) out[i] = f(av[i], bv[i]);
  } else if (a.size === size && b.size === 1) {
    const y = bv[0];
    for (let i = 0; i < size; i++) out[i] = f(av[i], y);
  } else if (b.size === size && a.size === 1) {
    const x = av[0];
    for (let i = 0; i < size; i++) out[i] = f(x, bv[i]);
  } else if (a.size === size && b.size > 0 && rowOf(b.shape, shape) === b.size) {
    const w = b.size;
    for (let r = 0; r < size; r += w) for (let j = 0; j < w; j++) out[r + j] = f(av[r + j], bv[j]);
  } else if (b.size === size && a.size > 0 && rowOf(a.shape, shape) === a.size) {
    const w = a.size;
    for (let r = 0; r < size; r += w) for (let j = 0; j < w; j++) out[r + j] = f(av[j], bv[r + j]);
  } else {
    const [oa, ob] = broadcastOffsets(shape, [a.shape, b.shape]);
    for (let i = 0; i < size; i++) out[i] = f(av[oa[i]], bv[ob[i]]);
  }
  return makeOutput(out, shape, outDtype);
}

function arith(fn: string, f: BinaryFn, opts: { minmax?: boolean; intDivIsFloor?: boolean; hot?: boolean } = {}) {
  return (a: TensorOrLike, b: TensorOrLike): Tensor => {
    let [x, y] = makeTypesMatch(convert(a, 'a', fn), convert(b, 'b', fn));
    if (opts.intDivIsFloor && x.dtype === 'int32') return binaryKernel(x, y, 'int32', floorDivF);
    if (opts.minmax && x.dtype === 'bool') { x = castView(x, 'int32'); y = castView(y, 'int32'); }
    return binaryKernel(x, y, x.dtype, f, opts.hot && x.dtype === 'float32' ? fn : undefined);
  };
}

const floorDivF: BinaryFn = (x, y) => Math.floor(x / y);
const modF: BinaryFn = (x, y) => {
  const r = x % y;
  return (x < 0 && y < 0) || (x >= 0 && y >= 0) ? r : (r + y) % y;
};

export const add = arith('add', (x, y) => x + y, { hot: true });
export const sub = arith('sub', (x, y) => x - y, { hot: true });
export const mul = arith('mul', (x, y) => x * y, { hot: true });
/** a / b; two int32 tensors divide as floorDiv (TF.js). */
export const div = arith('div', (x, y) => x / y, { intDivIsFloor: true, hot: true });
/** a / b, 0 where b is 0 (int32 operands divide as floorDiv, as TF.js). */
export function divNoNan(a: TensorOrLike, b: TensorOrLike): Tensor {
  const [x, y] = makeTypesMatch(convert(a, 'a', 'divNoNan'), convert(b, 'b', 'divNoNan'));
  const f: BinaryFn = x.dtype === 'int32' ? (p, q) => (q === 0 ? 0 : Math.floor(p / q)) : (p, q) => (q === 0 ? 0 : p / q);
  return binaryKernel(x, y, x.dtype, f);
}
export const pow = arith('pow', Math.pow);
export const minimum = arith('minimum', (x, y) => (x < y || Number.isNaN(x) ? x : y), { minmax: true, hot: true });
export const maximum = arith('maximum', (x, y) => (x > y || Number.isNaN(x) ? x : y), { minmax: true, hot: true });
export const mod = arith('mod', modF);
export const squaredDifference = arith('squaredDifference', (x, y) => (x - y) * (x - y));
export const atan2 = arith('atan2', Math.atan2);

/** floor(a / b), always int32 (TF.js). */
export function floorDiv(a: TensorOrLike, b: TensorOrLike): Tensor {
  const [x, y] = makeTypesMatch(convert(a, 'a', 'floorDiv'), convert(b, 'b', 'floorDiv'));
  return binaryKernel(x, y, 'int32', floorDivF);
}

// ------------------------------------------------------------------ unary

/** How a unary op treats dtypes: 'float' requires float32; 'toFloat' returns float32; 'same' keeps it. */
type Mode = 'float' | 'toFloat' | 'same';

export function unaryKernel(x: View, outDtype: DType, f: UnaryFn, hotName?: string): Tensor {
  const out: Data = outputData(outDtype, x.size); // every element is written below
  const v = x.values;
  if (hotName && hotUnary(hotName, out, x)) return makeOutput(out, x.shape, outDtype);
  if (outDtype === 'bool') for (let i = 0; i < v.length; i++) out[i] = f(v[i]) ? 1 : 0;
  else for (let i = 0; i < v.length; i++) out[i] = f(v[i]);
  return makeOutput(out, x.shape, outDtype);
}

function unary(fn: string, f: UnaryFn, mode: Mode, hot = false) {
  return (x: TensorOrLike): Tensor => {
    const v = convert(x, 'x', fn);
    if (mode === 'float') requireDtype(v, 'x', fn, 'float32');
    const dt = mode === 'same' ? v.dtype : 'float32';
    return unaryKernel(v, dt, f, hot && v.dtype === 'float32' ? fn : undefined);
  };
}

/** Round half to even (TF.js's round). */
function roundHalfEven(x: number): number {
  const base = Math.floor(x);
  const d = x - base;
  if (d < 0.5) return base;
  if (d > 0.5) return base + 1;
  return base % 2 === 0 ? base : base + 1;
}

const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

export const abs = unary('abs', Math.abs, 'same', true);
export const neg = unary('neg', (x) => -x, 'same', true);
export const square = unary('square', (x) => x * x, 'same', true);
export const sign = unary('sign', (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), 'same');
export const round = unary('round', roundHalfEven, 'same');
export const relu = unary('relu', (x) => (x > 0 ? x : 0), 'same', true);
export const relu6 = unary('relu6', (x) => (x > 0 ? (x < 6 ? x : 6) : 0), 'same');
export const reciprocal = unary('reciprocal', (x) => 1 / x, 'same');
export const softplus = unary('softplus', (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))), 'same');
export const selu = unary('selu', (x) => (x >= 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * (Math.exp(x) - 1)), 'same');
export const step = unary('step', (x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : 0), 'same');
export const log1p = unary('log1p', Math.log1p, 'same');
export const expm1 = unary('expm1', Math.expm1, 'same');
export const exp = unary('exp', Math.exp, 'toFloat', true);
export const sqrt = unary('sqrt', Math.sqrt, 'float', true);
export const rsqrt = unary('rsqrt', (x) => 1 / Math.sqrt(x), 'float');
export const log = unary('log', Math.log, 'float', true);
export const floor = unary('floor', Math.floor, 'float');
export const ceil = unary('ceil', Math.ceil, 'float');
export const sigmoid = unary('sigmoid', (x) => 1 / (1 + Math.exp(-x)), 'float', true);
export const tanh = unary('tanh', Math.tanh, 'float', true);
export const sin = unary('sin', Math.sin, 'float');
export const cos = unary('cos', Math.cos, 'float');
export const elu = unary('elu', (x) => (x >= 0 ? x : Math.exp(x) - 1), 'float');
// TF.js 4.22 requires float32 for tan and cosh but not for the other inverse / hyperbolic functions
export const tan = unary('tan', Math.tan, 'float');
export const asin = unary('asin', Math.asin, 'same');
export const acos = unary('acos', Math.acos, 'same');
export const atan = unary('atan', Math.atan, 'same');
export const sinh = unary('sinh', Math.sinh, 'same');
export const cosh = unary('cosh', Math.cosh, 'float');
export const asinh = unary('asinh', Math.asinh, 'same');
export const acosh = unary('acosh', Math.acosh, 'same');
export const atanh = unary('atanh', Math.atanh, 'same');
/** log(sigmoid(x)) = -softplus(-x), computed stably. */
export const logSigmoid = unary('logSigmoid', (x) => -(x < 0 ? -x + Math.log1p(Math.exp(x)) : Math.log1p(Math.exp(-x))), 'same');

/** max(alpha * x, x). */
export function leakyRelu(x: TensorOrLike, alpha = 0.2): Tensor {
  const v = convert(x, 'x', 'leakyRelu');
  return unaryKernel(v, v.dtype, (e) => (e < 0 ? alpha * e : e));
}

/** Clamps to [clipValueMin, clipValueMax], keeping the dtype. */
export function clipByValue(x: TensorOrLike, clipValueMin: number, clipValueMax: number): Tensor {
  const v = convert(x, 'x', 'clipByValue');
  if (typeof clipValueMin !== 'number' || typeof clipValueMax !== 'number') {
    throw new TypeError(`Error in clip: min and max must be numbers, but got ${typeof clipValueMin} and ${typeof clipValueMax}`);
  }
  if (!(clipValueMin <= clipValueMax)) {
    throw new Error(`Error in clip: min (${clipValueMin}) must be less than or equal to max (${clipValueMax}).`);
  }
  return unaryKernel(v, v.dtype, (e) => (e < clipValueMin ? clipValueMin : e > clipValueMax ? clipValueMax : e));
}
