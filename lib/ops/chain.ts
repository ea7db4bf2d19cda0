/**
 * Chained methods on Tensor with TF.js 4 names: `x.sub(mean).div(std)`, `x.mean(-1, true)`, ...
 * Each method is the op with `this` as its first argument (as TF.js's public chained ops).
 */
import { DType, Tensor } from '../tensor';
import type { TensorOrLike } from './convert';
import * as c from './compare';
import * as cr from './creation';
import * as ew from './elementwise';
import * as misc from './misc';
import * as red from './reduce';
import * as sh from './shape';
import { matMul } from '../ops';

type Axis = number | number[] | null;

declare module '../tensor' {
  interface Tensor<D extends DType = DType> {
    add(b: TensorOrLike): Tensor; sub(b: TensorOrLike): Tensor; mul(b: TensorOrLike): Tensor; div(b: TensorOrLike): Tensor;
    divNoNan(b: TensorOrLike): Tensor; floorDiv(b: TensorOrLike): Tensor; pow(exp: TensorOrLike): Tensor; mod(b: TensorOrLike): Tensor;
    minimum(b: TensorOrLike): Tensor; maximum(b: TensorOrLike): Tensor; squaredDifference(b: TensorOrLike): Tensor; atan2(b: TensorOrLike): Tensor;
    abs(): Tensor<D>; neg(): Tensor<D>; square(): Tensor<D>; sign(): Tensor<D>; round(): Tensor<D>; relu(): Tensor<D>; relu6(): Tensor<D>;
    reciprocal(): Tensor<D>; softplus(): Tensor<D>; selu(): Tensor<D>; step(): Tensor<D>; log1p(): Tensor<D>; expm1(): Tensor<D>;
    exp(): Tensor; sqrt(): Tensor; rsqrt(): Tensor; log(): Tensor; floor(): Tensor; ceil(): Tensor; sigmoid(): Tensor; tanh(): Tensor;
    sin(): Tensor; cos(): Tensor; tan(): Tensor; asin(): Tensor; acos(): Tensor; atan(): Tensor; sinh(): Tensor; cosh(): Tensor;
    asinh(): Tensor; acosh(): Tensor; atanh(): Tensor; logSigmoid(): Tensor; elu(): Tensor; leakyRelu(alpha?: number): Tensor; clipByValue(min: number, max: number): Tensor<D>;
    equal(b: TensorOrLike): Tensor; notEqual(b: TensorOrLike): Tensor; less(b: TensorOrLike): Tensor; lessEqual(b: TensorOrLike): Tensor;
    greater(b: TensorOrLike): Tensor; greaterEqual(b: TensorOrLike): Tensor; logicalAnd(b: TensorOrLike): Tensor; logicalOr(b: TensorOrLike): Tensor;
    logicalXor(b: TensorOrLike): Tensor; logicalNot(): Tensor; isNaN(): Tensor; isInf(): Tensor; isFinite(): Tensor;
    sum(axis?: Axis, keepDims?: boolean): Tensor; mean(axis?: Axis, keepDims?: boolean): Tensor; max(axis?: Axis, keepDims?: boolean): Tensor;
    min(axis?: Axis, keepDims?: boolean): Tensor; prod(axis?: Axis, keepDims?: boolean): Tensor; all(axis?: Axis, keepDims?: boolean): Tensor;
    any(axis?: Axis, keepDims?: boolean): Tensor; logSumExp(axis?: Axis, keepDims?: boolean): Tensor;
    argMax(axis?: number): Tensor; argMin(axis?: number): Tensor;
    norm(ord?: number | 'euclidean' | 'fro', axis?: Axis, keepDims?: boolean): Tensor;
    softmax(dim?: number): Tensor; logSoftmax(axis?: number): Tensor;
    expandDims(axis?: number): Tensor<D>; squeeze(axis?: number | number[]): Tensor<D>; transpose(perm?: number[]): Tensor<D>;
    flatten(): Tensor<D>; as1D(): Tensor<D>; as2D(rows: number, columns: number): Tensor<D>; as3D(r: number, c: number, d: number): Tensor<D>;
    as4D(r: number, c: number, d: number, d2: number): Tensor<D>; asScalar(): Tensor<D>; reshapeAs(x: Tensor): Tensor<D>;
    concat(x: TensorOrLike | TensorOrLike[], axis?: number): Tensor; stack(x: TensorOrLike, axis?: number): Tensor;
    unstack(axis?: number): Tensor<D>[]; split(numOrSizeSplits: number | number[], axis?: number): Tensor<D>[];
    slice(begin: number | number[], size?: number | number[]): Tensor<D>;
    stridedSlice(begin: number[], end: number[], strides?: number[], beginMask?: number, endMask?: number, ellipsisMask?: number, newAxisMask?: number, shrinkAxisMask?: number): Tensor<D>;
    gather(indices: TensorOrLike, axis?: number): Tensor<D>; tile(reps: number[]): Tensor<D>;
    pad(paddings: Array<[number, number]>, constantValue?: number): Tensor<D>; reverse(axis?: number | number[]): Tensor<D>;
    broadcastTo(shape: number[]): Tensor<D>; cast<T extends DType>(dtype: T): Tensor<T>; asType<T extends DType>(dtype: T): Tensor<T>;
    oneHot(depth: number, onValue?: number, offValue?: number): Tensor; topk(k?: number, sorted?: boolean): { values: Tensor; indices: Tensor };
    cumsum(axis?: number, exclusive?: boolean, reverse?: boolean): Tensor; cumprod(axis?: number, exclusive?: boolean, reverse?: boolean): Tensor;
    euclideanNorm(axis?: Axis, keepDims?: boolean): Tensor; toFloat(): Tensor<'float32'>; toInt(): Tensor<'int32'>; toBool(): Tensor<'bool'>;
    as5D(a: number, b: number, c: number, d: number, e: number): Tensor<D>; throwIfDisposed(): void; zerosLike(): Tensor<D>; onesLike(): Tensor<D>;
    where(condition: TensorOrLike, b: TensorOrLike): Tensor; matMul(b: Tensor, transposeA?: boolean, transposeB?: boolean): Tensor;
    print(verbose?: boolean): void; bufferSync(): cr.TensorBuffer<D>; buffer(): Promise<cr.TensorBuffer<D>>;
  }
}

type Op = (x: Tensor, ...args: never[]) => unknown;
const direct: Record<string, Op> = {
  ...pick(ew, ['add', 'sub', 'mul', 'div', 'divNoNan', 'floorDiv', 'pow', 'mod', 'minimum', 'maximum', 'squaredDifference', 'atan2',
    'abs', 'neg', 'square', 'sign', 'round', 'relu', 'relu6', 'reciprocal', 'softplus', 'selu', 'step', 'log1p', 'expm1', 'exp', 'sqrt',
    'rsqrt', 'log', 'floor', 'ceil', 'sigmoid', 'tanh', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'asinh', 'acosh',
    'atanh', 'logSigmoid', 'elu', 'leakyRelu', 'clipByValue']),
  ...pick(c, ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr', 'logicalXor', 'logicalNot', 'isNaN', 'isInf', 'isFinite']),
  ...pick(red, ['sum', 'mean', 'max', 'min', 'prod', 'all', 'any', 'logSumExp', 'argMax', 'argMin', 'norm', 'euclideanNorm', 'softmax', 'logSoftmax']),
  ...pick(sh, ['expandDims', 'squeeze', 'transpose', 'unstack', 'split', 'slice', 'stridedSlice', 'gather', 'tile', 'pad', 'reverse', 'broadcastTo', 'cast']),
  ...pick(cr, ['oneHot', 'zerosLike', 'onesLike']),
  ...pick(misc, ['topk', 'cumsum', 'cumprod', 'print']),
};

function pick(mod: object, names: string[]): Record<string, Op> {
  const out: Record<string, Op> = {};
  for (const n of names) {
    const f = (mod as Record<string, unknown>)[n];
    if (typeof f !== 'function') throw new Error(`chain: ${n} is not an op`);
    out[n] = f as Op;
  }
  return out;
}

const proto = Tensor.prototype as unknown as Record<string, unknown>;
for (const [name, f] of Object.entries(direct)) {
  proto[name] = function (this: Tensor, ...args: never[]) { return f(this, ...args); };
}

const extra: Record<string, (this: Tensor, ...args: never[]) => unknown> = {
  flatten(this: Tensor) { return this.reshape([this.size]); },
  as1D(this: Tensor) { return this.reshape([this.size]); },
  as2D(this: Tensor, r: number, k: number) { return this.reshape([r, k]); },
  as3D(this: Tensor, r: number, k: number, d: number) { return this.reshape([r, k, d]); },
  as4D(this: Tensor, r: number, k: number, d: number, d2: number) { return this.reshape([r, k, d, d2]); },
  asScalar(this: Tensor) {
    if (this.size !== 1) throw new Error('The array must have only 1 element.');
    return this.reshape([]);
  },
  reshapeAs(this: Tensor, x: Tensor) { return this.reshape(x.shape); },
  asType(this: Tensor, dtype: DType) { return sh.cast(this, dtype); },
  toFloat(this: Tensor) { return sh.cast(this, 'float32'); },
  toInt(this: Tensor) { return sh.cast(this, 'int32'); },
  toBool(this: Tensor) { return sh.cast(this, 'bool'); },
  as5D(this: Tensor, a: number, b: number, c: number, d: number, e: number) { return this.reshape([a, b, c, d, e]); },
  throwIfDisposed(this: Tensor) { if (this.isDisposed) throw new Error('Tensor is disposed.'); },
  concat(this: Tensor, x: TensorOrLike | TensorOrLike[], axis?: number) {
    return sh.concat(x instanceof Tensor ? [this, x] : [this, ...(x as TensorOrLike[])], axis);
  },
  stack(this: Tensor, x: TensorOrLike, axis?: number) { return sh.stack([this, x], axis); },
  where(this: Tensor, condition: TensorOrLike, b: TensorOrLike) { return c.where(condition, this, b); },
  matMul(this: Tensor, b: Tensor, transposeA?: boolean, transposeB?: boolean) { return matMul(this, b, transposeA, transposeB); },
  bufferSync(this: Tensor) { return new cr.TensorBuffer(this.shape, this.dtype, this.dataSync()); },
  async buffer(this: Tensor) { return new cr.TensorBuffer(this.shape, this.dtype, this.dataSync()); },
};
for (const [name, f] of Object.entries(extra)) proto[name] = f;
