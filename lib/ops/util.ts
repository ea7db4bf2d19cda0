/**
 * tf.util: TF.js's array and shape helpers (shuffle, shuffleCombo, sizeFromShape, assert, flatten,
 * ...). shuffle draws from the library generator, so tf.setSeed makes it reproducible.
 */
import { DType, Shape, sizeOf } from '../tensor';
import { random } from '../random';
import { stridesOf } from './broadcast';
import { newData } from './convert';
import { parseAxes } from './layout';

type Indexable = { length: number; [i: number]: unknown };

/** Shuffles an array or TypedArray in place (Fisher-Yates, as TF.js). */
export function shuffle<T extends Indexable>(array: T): void {
  const r = random();
  for (let counter = array.length; counter > 0;) {
    const index = r.int(counter);
    counter--;
    swap(array, counter, index);
  }
}

/** Shuffles two arrays in place with the same permutation. */
export function shuffleCombo<T extends Indexable, U extends Indexable>(array: T, array2: U): void {
  if (array.length !== array2.length) {
    throw new Error(`Array sizes must match to be shuffled together First array length was ${array.length}Second array length was ${array2.length}`);
  }
  const r = random();
  for (let counter = array.length; counter > 0;) {
    const index = r.int(counter);
    counter--;
    swap(array, counter, index);
    swap(array2, counter, index);
  }
}

function swap(a: Indexable, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** Product of the dimensions (1 for a scalar shape). */
export function sizeFromShape(shape: Shape): number {
  if (!Array.isArray(shape)) throw new TypeError(`sizeFromShape: shape must be an array, got ${typeof shape}`);
  return shape.length === 0 ? 1 : sizeOf(shape);
}

/** Throws Error(msg()) unless expr. */
export function assert(expr: boolean, msg: () => string): asserts expr {
  if (!expr) throw new Error(typeof msg === 'string' ? msg : msg());
}

export function assertShapesMatch(shapeA: number[], shapeB: number[], errorMessagePrefix = ''): void {
  assert(arraysEqual(shapeA, shapeB), () => `${errorMessagePrefix} Shapes ${shapeA} and ${shapeB} must match`);
}

export function arraysEqual(a: ArrayLike<unknown>, b: ArrayLike<unknown>): boolean {
  if (a === b) return true;
  if (a == null || b == null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Flattens nested arrays (and TypedArrays inside them, skipTypedArray false) into one array. */
export function flatten<T>(arr: unknown, result: T[] = [], skipTypedArray = false): T[] {
  if (Array.isArray(arr) || (ArrayBuffer.isView(arr) && !skipTypedArray && !(arr instanceof DataView))) {
    for (let i = 0; i < (arr as ArrayLike<unknown>).length; ++i) flatten((arr as ArrayLike<unknown>)[i], result, skipTypedArray);
  } else {
    result.push(arr as T);
  }
  return result;
}

/** Row-major strides without the last (TF.js's computeStrides). */
export function computeStrides(shape: number[]): number[] {
  return shape.length < 2 ? [] : stridesOf(shape).slice(0, -1);
}

export function isTypedArray(a: unknown): boolean {
  return a instanceof Float32Array || a instanceof Int32Array || a instanceof Uint8Array || a instanceof Uint8ClampedArray;
}

export const isInt = (a: number): boolean => a % 1 === 0;
export const isNumber = (v: unknown): boolean => typeof v === 'number' || v instanceof Number;
export const isBoolean = (v: unknown): boolean => typeof v === 'boolean';
export const isString = (v: unknown): boolean => typeof v === 'string' || v instanceof String;
export const isFunction = (f: unknown): boolean => typeof f === 'function';
export const clamp = (min: number, x: number, max: number): number => Math.max(min, Math.min(x, max));
export const now = (): number => performance.now();

/** A zeroed TypedArray of dtype's storage. */
export function makeZerosTypedArray(size: number, dtype: DType): Float32Array | Int32Array | Uint8Array {
  return newData(dtype, size);
}

/** Indices 0..n-1 in a shuffled Uint32Array. */
export function createShuffledIndices(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  shuffle(a);
  return a;
}

/** Axes (negative ones normalised), as TF.js's parseAxisParam. */
export function parseAxisParam(axis: number | number[] | null | undefined, shape: number[]): number[] {
  return parseAxes(axis, shape.length);
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'bool' ? 1 : 4;
}
