/**
 * tf.image.cropAndResize: crops boxes out of a batch of images and resizes each crop to cropSize.
 * Boxes are [y1, x1, y2, x2] in normalised coordinates (0..1 spans the image; y1 > y2 flips);
 * sample points outside the image get extrapolationValue.
 */
import { Tensor } from '../tensor';
import { describe } from '../util';
import { checkOutputSize, imagesOf, sizeOf2 } from './args';

export type CropMethod = 'bilinear' | 'nearest';

/** out is (numBoxes, ch, cw, c), inp is (b, h, w, c), boxes is (numBoxes, 4), boxInd is (numBoxes). */
export function cropAndResize(
  image: Tensor, boxes: Tensor, boxInd: Tensor, cropSize: [number, number],
  method: CropMethod = 'bilinear', extrapolationValue = 0,
): Tensor<'float32'> {
  const fn = 'cropAndResize';
  const im = imagesOf(image, fn, 'image', [4]);
  if (!(boxes instanceof Tensor)) throw new TypeError(`Error in ${fn}: boxes must be a Tensor of shape [numBoxes, 4], received ${describe(boxes)}`);
  if (!(boxInd instanceof Tensor)) throw new TypeError(`Error in ${fn}: boxInd must be an int32 Tensor of shape [numBoxes], received ${describe(boxInd)}`);
  const nb = boxes.rank === 2 ? boxes.shape[0] : 0;
  if (boxes.rank !== 2 || boxes.shape[1] !== 4) {
    throw new Error(`Error in ${fn}: boxes must be have size [${nb},4] but had shape [${boxes.shape.join(',')}].`);
  }
  if (boxInd.rank !== 1 || boxInd.shape[0] !== nb) {
    throw new Error(`Error in ${fn}: boxInd must be have size [${nb}] but had shape [${boxInd.shape.join(',')}].`);
  }
  const [ch, cw] = sizeOf2(cropSize, fn, 'cropSize');
  if (method !== 'bilinear' && method !== 'nearest') throw new Error(`Error in ${fn}: method must be bilinear or nearest, but was ${describe(method)}`);
  if (typeof extrapolationValue !== 'number' || Number.isNaN(extrapolationValue)) {
    throw new TypeError(`Error in ${fn}: extrapolationValue must be a number, received ${describe(extrapolationValue)}`);
  }
  const { batch, height: h, width: w, channels: c, values: inp } = im;
  const bv = boxes.values;
  const iv = boxInd.values;
  for (let i = 0; i < nb; i++) {
    const k = iv[i];
    if (!Number.isInteger(k) || k < 0 || k >= batch) {
      throw new RangeError(`Error in ${fn}: boxInd[${i}] is ${k}, outside the image batch [0, ${batch})`);
    }
  }
  checkOutputSize([nb, ch, cw, c], fn);
  const out = new Float32Array(nb * ch * cw * c);
  const px = cw * c;
  for (let i = 0; i < nb; i++) {
    const [y1, x1, y2, x2] = [bv[4 * i], bv[4 * i + 1], bv[4 * i + 2], bv[4 * i + 3]];
    const base = iv[i] * h * w * c;
    const sy = ch > 1 ? ((y2 - y1) * (h - 1)) / (ch - 1) : 0;
    const sx = cw > 1 ? ((x2 - x1) * (w - 1)) / (cw - 1) : 0;
    for (let y = 0; y < ch; y++) {
      const fy = ch > 1 ? y1 * (h - 1) + y * sy : 0.5 * (y1 + y2) * (h - 1);
      const rowOut = (i * ch + y) * px;
      if (fy < 0 || fy > h - 1) {
        out.fill(extrapolationValue, rowOut, rowOut + px);
        continue;
      }
      const top = Math.floor(fy);
      const bot = Math.ceil(fy);
      const yl = fy - top;
      for (let x = 0; x < cw; x++) {
        const fx = cw > 1 ? x1 * (w - 1) + x * sx : 0.5 * (x1 + x2) * (w - 1);
        const o = rowOut + x * c;
        if (fx < 0 || fx > w - 1) {
          out.fill(extrapolationValue, o, o + c);
          continue;
        }
        if (method === 'nearest') {
          const src = base + (Math.round(fy) * w + Math.round(fx)) * c;
          for (let k = 0; k < c; k++) out[o + k] = inp[src + k];
          continue;
        }
        const l = Math.floor(fx);
        const r = Math.ceil(fx);
        const xl = fx - l;
        const tl = base + (top * w + l) * c;
        const tr = base + (top * w + r) * c;
        const bl = base + (bot * w + l) * c;
        const br = base + (bot * w + r) * c;
        for (let k = 0; k < c; k++) {
          const upper = inp[tl + k] + (inp[tr + k] - inp[tl + k]) * xl;
          const lower = inp[bl + k] + (inp[br + k] - inp[bl + k]) * xl;
          out[o + k] = upper + (lower - upper) * yl;
        }
      }
    }
  }
  return new Tensor(out, [nb, ch, cw, c], 'float32');
}
