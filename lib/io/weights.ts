/**
 * Weight data: one ArrayBuffer holding every weight back to back in manifest order, little-endian,
 * row-major (tfjs-core io/io_utils.ts encodeWeights / decodeWeights). Every size is checked
 * against the manifest before anything is allocated, so a hostile or damaged manifest gives an
 * Error, never a huge allocation or a read past the data.
 */
import type { WeightsManifestEntry } from './types';
import { isPlainObject, shown } from './json';

/** Largest tensor accepted from a file: 2^28 elements (1 GiB of float32). */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;
/** Largest rank accepted from a file. */
export const MAX_RANK = 8;
/** Largest total weight data accepted: 4 GiB. */
export const MAX_WEIGHT_BYTES = 2 ** 32;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface NamedWeight {
  name: string;
  shape: number[];
  values: Float32Array | Int32Array;
  group?: 'model' | 'optimizer';
}

export interface DecodedWeight {
  spec: WeightsManifestEntry;
  /** float32 weights as Float32Array (dequantized when stored quantized), int32 as Int32Array. */
  values: Float32Array | Int32Array;
}

/** Bytes one element takes in the data, given dtype and quantization. */
function bytesPerElement(spec: WeightsManifestEntry, where: string): number {
  if (spec.quantization !== undefined) {
    const q = spec.quantization;
    if (!isPlainObject(q)) throw new Error(`${where}: weight ${shown(spec.name)} has a malformed quantization entry`);
    if (q.dtype === 'uint8') return 1;
    if (q.dtype === 'uint16' || q.dtype === 'float16') return 2;
    throw new Error(`${where}: weight ${shown(spec.name)} uses unsupported quantization dtype ${shown(q.dtype)} (supported: uint8, uint16, float16)`);
  }
  if (spec.dtype === 'float32' || spec.dtype === 'int32') return 4;
  throw new Error(`${where}: weight ${shown(spec.name)} has unsupported dtype ${shown(spec.dtype)} (supported: float32, int32)`);
}

/** Validates a shape from a file and returns its element count; refuses overflow and absurd sizes. */
export function checkedSize(shape: unknown, what: string): number {
  if (!Array.isArray(shape)) throw new Error(`${what}: shape must be an array, received ${shown(shape)}`);
  if (shape.length > MAX_RANK) throw new Error(`${what}: shape ${shown(shape)} has rank ${shape.length}, more than ${MAX_RANK}`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new Error(`${what}: shape ${shown(shape)} must hold non-negative integers`);
    }
    n *= d;
    // Checked at each step, so the product never leaves the exactly representable range.
    if (n > MAX_TENSOR_ELEMENTS) {
      throw new Error(`${what}: shape ${shown(shape)} holds more than ${MAX_TENSOR_ELEMENTS} elements; refusing to allocate it`);
    }
  }
  return n;
}

/** Validates one manifest entry's fields and returns its byte length in the data. */
export function specByteLength(spec: unknown, where: string): number {
  if (!isPlainObject(spec) || typeof spec.name !== 'string') {
    throw new Error(`${where}: each weight entry must be an object with a string name, received ${shown(spec)}`);
  }
  const s = spec as unknown as WeightsManifestEntry;
  const n = checkedSize(s.shape, `${where}: weight ${shown(s.name)}`);
  return n * bytesPerElement(s, where);
}

/** Total bytes a list of weight entries takes. */
export function specsByteLength(specs: unknown[], where: string): number {
  let total = 0;
  for (const s of specs) {
    total += specByteLength(s, where);
    if (total > MAX_WEIGHT_BYTES) throw new Error(`${where}: the weights add up to more than ${MAX_WEIGHT_BYTES} bytes; refusing to load them`);
  }
  return total;
}

/** IEEE 754 half -> float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * Splits data into named weights. The data must be exactly as long as the specs say.
 * where: names the source in messages (a file or 'weightData').
 */
export function decodeWeights(specs: WeightsManifestEntry[], data: ArrayBuffer, where: string): DecodedWeight[] {
  const total = specsByteLength(specs, where);
  if (data.byteLength !== total) {
    const kind = data.byteLength < total ? 'truncated' : 'too long';
    throw new Error(`${where}: weight data is ${kind}: the manifest describes ${total} bytes, the data has ${data.byteLength}`);
  }
  const view = new DataView(data);
  const out: DecodedWeight[] = [];
  let off = 0;
  for (const spec of specs) {
    const n = checkedSize(spec.shape, where);
    const q = spec.quantization;
    let values: Float32Array | Int32Array;
    if (q) {
      values = new Float32Array(n);
      if (q.dtype === 'float16') {
        for (let i = 0; i < n; i++) values[i] = halfToFloat(view.getUint16(off + 2 * i, true));
        off += 2 * n;
      } else {
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        if (typeof scale !== 'number' || typeof min !== 'number') throw new Error(`${where}: weight ${spec.name}: quantization scale and min must be numbers`);
        const w = q.dtype === 'uint8' ? 1 : 2;
        for (let i = 0; i < n; i++) values[i] = (w === 1 ? view.getUint8(off + i) : view.getUint16(off + 2 * i, true)) * scale + min;
        off += w * n;
      }
    } else if (spec.dtype === 'int32') {
      if (LITTLE_ENDIAN) values = new Int32Array(data.slice(off, off + 4 * n));
      else {
        values = new Int32Array(n);
        for (let i = 0; i < n; i++) values[i] = view.getInt32(off + 4 * i, true);
      }
      off += 4 * n;
    } else {
      if (LITTLE_ENDIAN) values = new Float32Array(data.slice(off, off + 4 * n));
      else {
        values = new Float32Array(n);
        for (let i = 0; i < n; i++) values[i] = view.getFloat32(off + 4 * i, true);
      }
      off += 4 * n;
    }
    out.push({ spec, values });
  }
  return out;
}

/** Named tensors -> manifest entries and one little-endian buffer (tfjs io.encodeWeights). */
export function encodeWeights(weights: NamedWeight[]): { specs: WeightsManifestEntry[]; data: ArrayBuffer } {
  let total = 0;
  for (const w of weights) total += w.values.length * 4;
  const data = new ArrayBuffer(total);
  const view = new DataView(data);
  const specs: WeightsManifestEntry[] = [];
  let off = 0;
  for (const w of weights) {
    const int = w.values instanceof Int32Array;
    const spec: WeightsManifestEntry = { name: w.name, shape: w.shape.slice(), dtype: int ? 'int32' : 'float32' };
    if (w.group !== undefined) spec.group = w.group;
    specs.push(spec);
    const v = w.values;
    if (LITTLE_ENDIAN) {
      new Uint8Array(data, off, v.byteLength).set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      off += v.byteLength;
    } else if (int) for (let i = 0; i < v.length; i++, off += 4) view.setInt32(off, v[i], true);
    else for (let i = 0; i < v.length; i++, off += 4) view.setFloat32(off, v[i], true);
  }
  return { specs, data };
}

/** One ArrayBuffer from an ArrayBuffer, a list of them, or a typed array / Buffer view. */
export function concatBuffers(data: ArrayBuffer | ArrayBuffer[] | ArrayBufferView, where: string): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) {
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  }
  if (Array.isArray(data)) {
    let total = 0;
    for (const b of data) {
      if (!(b instanceof ArrayBuffer)) throw new TypeError(`${where}: weightData must be an ArrayBuffer or an array of them`);
      total += b.byteLength;
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const b of data) {
      out.set(new Uint8Array(b), off);
      off += b.byteLength;
    }
    return out.buffer;
  }
  throw new TypeError(`${where}: weightData must be an ArrayBuffer, received ${typeof data}`);
}
