/** tf.image.rgbToGrayscale: the last axis (size 3) becomes a size-1 luma axis, dtype kept. */
import { Tensor } from '../tensor';
import { describe } from '../util';

/** ITU-R BT.601 luma weights, as TF uses. */
const WEIGHTS = [0.2989, 0.587, 0.114] as const;

export function rgbToGrayscale<T extends Tensor>(image: T): T {
  const fn = 'RGBToGrayscale';
  if (!(image instanceof Tensor)) throw new TypeError(`Error in ${fn}: image must be a Tensor, received ${describe(image)}`);
  if (image.rank < 2) throw new Error(`Error in ${fn}: images must be at least rank 2, but got rank ${image.rank}.`);
  const last = image.shape[image.rank - 1];
  if (last !== 3) throw new Error(`Error in ${fn}: last dimension of an RGB image should be size 3, but got size ${last}.`);
  if (image.dtype !== 'float32' && image.dtype !== 'int32') throw new TypeError(`Error in ${fn}: image must be float32 or int32, but got ${image.dtype}.`);
  const inp = image.values;
  const n = inp.length / 3;
  // Summed in float32 like TF's float path; int32 images are truncated back to int32.
  const gray = new Float32Array(n);
  const w0 = Math.fround(WEIGHTS[0]);
  const w1 = Math.fround(WEIGHTS[1]);
  const w2 = Math.fround(WEIGHTS[2]);
  for (let i = 0; i < n; i++) {
    const r = Math.fround(inp[3 * i]);
    const g = Math.fround(inp[3 * i + 1]);
    const b = Math.fround(inp[3 * i + 2]);
    gray[i] = Math.fround(Math.fround(Math.fround(r * w0) + Math.fround(g * w1)) + Math.fround(b * w2));
  }
  const shape = [...image.shape.slice(0, -1), 1];
  if (image.dtype === 'int32') return new Tensor(Int32Array.from(gray, Math.trunc), shape, 'int32') as T;
  return new Tensor(gray, shape, 'float32') as T;
}
