/**
 * Arguments of ops: Tensors or TensorLike values (numbers, booleans, nested arrays, TypedArrays),
 * read as TF.js's convertToTensor does, into a plain view that is not a registered tensor (so a
 * `x.add(2)` does not leave a live scalar behind). Also TF.js's dtype rules (upcast, makeTypesMatch).
 */
import { DType, Tensor, TensorLike, newData, pooledTensor, takePooled, tensor, sizeOf } from '../tensor';
import { describe } from '../util';

export type Data = Float32Array | Int32Array | Uint8Array;
/** What an op argument can be. */
export type TensorOrLike = Tensor | TensorLike;

/** A tensor's values, shape and dtype, without registration. */
export interface View {
  values: Data;
  shape: number[];
  dtype: DType;
  size: number;
}

/** Which dtypes an argument may have ('numeric' = float32, int32 or bool, as TF.js). */
export type Want = DType | 'numeric';

export function view(t: Tensor): View {
  return { values: t.values as Data, shape: t.shape, dtype: t.dtype, size: t.size };
}

/**
 * Reads an op argument. A TensorLike gets `parseAs` as its dtype when that is a dtype (TF.js's
 * parseAsDtype); a number alone is float32, booleans are bool.
 */
export function convert(x: unknown, arg: string, fn: string, parseAs: Want = 'numeric'): View {
  if (x instanceof Tensor) {
    if (x.isDisposed) throw new Error(`Argument '${arg}' passed to '${fn}' is a disposed Tensor`);
    return view(x);
  }
  const ok = typeof x === 'number' || typeof x === 'boolean' || Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
  if (!ok) {
    const kind = x === null ? 'null' : typeof x === 'string' ? 'String' : typeof x === 'object' ? describe(x) : typeof x;
    throw new TypeError(`Argument '${arg}' passed to '${fn}' must be a Tensor or TensorLike, but got '${kind}'`);
  }
  let t: Tensor;
  try {
    t = tensor(x as TensorLike, undefined, parseAs === 'numeric' ? undefined : parseAs);
  } catch (e) {
    throw new Error(`Argument '${arg}' passed to '${fn}': ${(e as Error).message}`);
  }
  const v = view(t);
  t.dispose(); // keeps v.values; only the registration goes
  return v;
}

/** As convert(), then requires the dtype (TF.js: "must be float32 tensor, but got int32 tensor"). */
export function convertAs(x: unknown, arg: string, fn: string, dtype: DType): View {
  const v = convert(x, arg, fn, dtype);
  requireDtype(v, arg, fn, dtype);
  return v;
}

export function requireDtype(v: View, arg: string, fn: string, dtype: DType): void {
  if (v.dtype !== dtype) {
    throw new Error(`Argument '${arg}' passed to '${fn}' must be ${dtype} tensor, but got ${v.dtype} tensor`);
  }
}

/** A list of tensors / TensorLikes (concat, stack, ...). */
export function convertList(xs: unknown, arg: string, fn: string): View[] {
  if (!Array.isArray(xs)) throw new TypeError(`Argument '${arg}' passed to '${fn}' must be a \`Tensor[]\` or \`TensorLike[]\`, but got ${describe(xs)}`);
  return xs.map((x, i) => convert(x, `${arg}[${i}]`, fn));
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2 };

/** TF.js's upcastType: bool < int32 < float32. */
export function upcast(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Both arguments in their common dtype (copies only the one that changes). */
export function makeTypesMatch(a: View, b: View): [View, View] {
  const d = upcast(a.dtype, b.dtype);
  return [castView(a, d), castView(b, d)];
}

/** A view in another dtype: float -> int32 truncates toward zero, anything -> bool is x != 0. */
export function castView(v: View, dtype: DType): View {
  if (v.dtype === dtype) return v;
  const out = newData(dtype, v.size);
  const src = v.values;
  if (dtype === 'bool') for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
  else for (let i = 0; i < src.length; i++) out[i] = src[i];
  return { values: out, shape: v.shape, dtype, size: v.size };
}

/** A new registered tensor owning `values`. */
export function make(values: Data, shape: number[], dtype: DType): Tensor {
  return new Tensor(values as never, shape, dtype);
}

/**
 * An output array the op will write completely: float32 ones come from the buffer pool (see
 * takePooled), others are new. Wrap it with makeOutput().
 */
export function outputData(dtype: DType, n: number): Data {
  return dtype === 'float32' ? takePooled(n) : newData(dtype, n);
}

/** The tensor of an outputData() array (a float32 one recycles its buffer on dispose). */
export function makeOutput(values: Data, shape: number[], dtype: DType): Tensor {
  return dtype === 'float32' ? pooledTensor(values as Float32Array, shape) : new Tensor(values as never, shape, dtype);
}

export { newData, sizeOf };

/** "[2,3]" as TF.js prints shapes in messages: "2,3". */
export const shapeList = (s: readonly number[]): string => s.join(',');
