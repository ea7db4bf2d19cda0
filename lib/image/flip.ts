/** tf.image.flipLeftRight: mirrors each image of a 4-D batch [b, h, w, c] along its width. */
import { Tensor } from '../tensor';
import { imagesOf } from './args';

export function flipLeftRight<T extends Tensor>(image: T): T {
  const im = imagesOf(image, 'flipLeftRight', 'image', [4]);
  const { batch: b, height: h, width: w, channels: c, values: inp } = im;
  const out = im.dtype === 'int32' ? new Int32Array(inp.length) : new Float32Array(inp.length);
  for (let row = 0; row < b * h; row++) {
    const base = row * w * c;
    for (let x = 0; x < w; x++) {
      const src = base + (w - 1 - x) * c;
      const dst = base + x * c;
      for (let k = 0; k < c; k++) out[dst + k] = inp[src + k];
    }
  }
  return new Tensor(out, image.shape, im.dtype) as T;
}
