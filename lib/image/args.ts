/** Argument checks shared by the tf.image ops, with TF.js's wording ("Error in <op>: ..."). */
import { Tensor } from '../tensor';
import { describe } from '../util';

/** The image as a 4-D view [batch, height, width, channels]; `batched` says whether it came in 4-D. */
export interface Images {
  values: Float32Array | Int32Array;
  dtype: 'float32' | 'int32';
  batch: number;
  height: number;
  width: number;
  channels: number;
  batched: boolean;
}

export function imagesOf(x: unknown, fn: string, name: string, ranks: number[]): Images {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`Error in ${fn}: ${name} must be a Tensor (e.g. tf.tensor4d(...)), received ${describe(x)}`);
  }
  if (!ranks.includes(x.rank)) {
    throw new Error(`Error in ${fn}: ${name} must be rank ${ranks.join(' or ')}, but got rank ${x.rank}.`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new TypeError(`Error in ${fn}: ${name} must be float32 or int32, but got ${x.dtype}.`);
  }
  const s = x.rank === 3 ? [1, ...x.shape] : x.shape;
  return { values: x.values as Float32Array | Int32Array, dtype: x.dtype, batch: s[0], height: s[1], width: s[2], channels: s[3], batched: x.rank === 4 };
}

/** [newHeight, newWidth] as positive integers. */
export function sizeOf2(size: unknown, fn: string, name: string): [number, number] {
  if (!Array.isArray(size) || size.length !== 2) {
    throw new Error(`Error in ${fn}: ${name} must be [height, width] (length 2), but got ${Array.isArray(size) ? `[${size.join(',')}]` : describe(size)}.`);
  }
  for (const d of size) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
      throw new Error(`Error in ${fn}: ${name} must hold positive integers, but got [${size.join(',')}].`);
    }
  }
  return [size[0], size[1]];
}

export function checkBool(v: unknown, fn: string, name: string): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`Error in ${fn}: ${name} must be a boolean, received ${describe(v)}`);
  return v;
}

/** Shape [b, h, w, c], or [h, w, c] when the input was 3-D. */
export function outShape(batched: boolean, b: number, h: number, w: number, c: number): number[] {
  return batched ? [b, h, w, c] : [h, w, c];
}

/** Most values an op's output may hold (a Float32Array of 2^31 - 1 elements is V8's limit). */
export const MAX_OUTPUT_VALUES = 2 ** 31 - 1;

/** Refuses an output too large to allocate, with its shape in the message. */
export function checkOutputSize(shape: number[], fn: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_OUTPUT_VALUES) throw new RangeError(`Error in ${fn}: the output [${shape.join(',')}] would hold ${n} values, more than the ${MAX_OUTPUT_VALUES} supported.`);
}
