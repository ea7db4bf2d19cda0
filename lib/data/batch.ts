/**
 * Turns a list of dataset elements into one batched element, as TF.js's `dataset.batch()` does:
 * tensors are stacked along a new first axis, numbers and (nested) number arrays become one
 * tensor, plain objects and arrays of tensors are batched key by key / index by index, so
 * elements {xs, ys} become {xs: [b, ...], ys: [b, ...]}.
 *
 * The stacking is local on purpose (a copy of each row into one new buffer); it keeps the
 * element's dtype and works for any dtype Tensor holds.
 */
import { Tensor, tensor, NestedArray, TypedArray } from '../tensor';
import { describe } from '../util';
import { isPlainObject } from './lazy_iterator';

const FN = 'Dataset.batch()';

function where(path: string): string {
  return path ? ` at ${path}` : '';
}

/** Stacks same-shaped, same-dtype tensors along a new axis 0: rows[i] is (...S), the result (n, ...S). */
export function stackRows(rows: unknown[], path = ''): Tensor {
  const first = rows[0] as Tensor;
  const shape = first.shape;
  const size = first.size;
  const Ctor = first.values.constructor as new (n: number) => TypedArray;
  const out = new Ctor(rows.length * size);
  rows.forEach((r, i) => {
    if (!(r instanceof Tensor)) {
      throw new TypeError(`${FN}: element ${i}${where(path)} is ${describe(r)} but element 0 is a Tensor; every element must have the same structure`);
    }
    if (r.dtype !== first.dtype) {
      throw new TypeError(`${FN}: element ${i}${where(path)} has dtype ${r.dtype} but element 0 has ${first.dtype}`);
    }
    if (r.shape.length !== shape.length || r.shape.some((d, k) => d !== shape[k])) {
      throw new Error(`${FN}: element ${i}${where(path)} has shape [${r.shape.join(', ')}] but element 0 has [${shape.join(', ')}]; batched tensors must have matching shapes`);
    }
    out.set(r.values, i * size);
  });
  return new (Tensor as unknown as new (v: TypedArray, s: number[], d: string) => Tensor)(out, [rows.length, ...shape], first.dtype);
}

/** Rows of typed arrays of one length -> (n, len); integer arrays give int32, float arrays float32. */
function stackTypedArrays(rows: unknown[], path: string): Tensor {
  const first = rows[0] as TypedArray;
  const len = first.length;
  const isInt = !(first instanceof Float32Array || first instanceof Float64Array);
  const out = isInt ? new Int32Array(rows.length * len) : new Float32Array(rows.length * len);
  rows.forEach((r, i) => {
    if (!ArrayBuffer.isView(r) || (r as TypedArray).length !== len) {
      throw new Error(`${FN}: element ${i}${where(path)} is ${describe(r)} of length ${(r as TypedArray)?.length}, element 0 is a ${describe(first)} of length ${len}`);
    }
    out.set(r as TypedArray, i * len);
  });
  return isInt ? new Tensor(out as Int32Array, [rows.length, len], 'int32') : new Tensor(out as Float32Array, [rows.length, len], 'float32');
}

function hasTensorLeaf(x: unknown, depth = 0): boolean {
  if (x instanceof Tensor) return true;
  if (depth < 64 && Array.isArray(x)) return x.some((e) => hasTensorLeaf(e, depth + 1));
  return false;
}

/**
 * Batches `rows` (the elements of one batch, all of the same structure). `path` names the
 * position inside the element for error messages (e.g. "xs.pixels").
 */
export function batchRows(rows: unknown[], path = ''): unknown {
  if (rows.length === 0) throw new Error(`${FN}: can't make a batch of zero elements`);
  const ex = rows[0];
  if (ex instanceof Tensor) return stackRows(rows, path);
  if (typeof ex === 'number' || typeof ex === 'boolean') {
    rows.forEach((r, i) => {
      if (typeof r !== typeof ex) throw new TypeError(`${FN}: element ${i}${where(path)} is ${describe(r)} but element 0 is a ${typeof ex}`);
    });
    return tensor(rows as number[]);
  }
  if (typeof ex === 'string') {
    throw new TypeError(`${FN}: cannot batch strings${where(path)} (received ${describe(ex)}): tensors hold numbers only; map strings to numbers first (e.g. csv columnConfigs or dataset.map)`);
  }
  if (ex === null || ex === undefined) {
    throw new TypeError(`${FN}: element 0${where(path)} is ${ex === null ? 'null' : 'undefined'}; cannot batch missing values`);
  }
  if (ArrayBuffer.isView(ex)) return stackTypedArrays(rows, path);
  if (Array.isArray(ex)) {
    if (!hasTensorLeaf(ex)) {
      rows.forEach((r, i) => {
        if (!Array.isArray(r)) throw new TypeError(`${FN}: element ${i}${where(path)} is ${describe(r)} but element 0 is an array`);
      });
      try {
        return tensor(rows as NestedArray[]);
      } catch (e) {
        throw new Error(`${FN}: cannot batch the nested arrays${where(path)}: ${(e as Error).message}`);
      }
    }
    return ex.map((_, k) =>
      batchRows(
        rows.map((r, i) => {
          if (!Array.isArray(r) || r.length !== ex.length) {
            throw new TypeError(`${FN}: element ${i}${where(path)} is ${describe(r)} but element 0 is an array of ${ex.length}`);
          }
          return r[k];
        }),
        `${path}[${k}]`,
      ),
    );
  }
  if (isPlainObject(ex)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(ex)) {
      const sub = path ? `${path}.${key}` : key;
      out[key] = batchRows(
        rows.map((r, i) => {
          if (!isPlainObject(r) || !(key in r)) {
            throw new TypeError(`${FN}: element ${i} has no ${sub} (element 0 has it); every element must have the same structure`);
          }
          return r[key];
        }),
        sub,
      );
    }
    return out;
  }
  throw new TypeError(`${FN}: cannot batch ${describe(ex)}${where(path)}: elements must be tensors, numbers, number arrays, or arrays / plain objects of them`);
}
