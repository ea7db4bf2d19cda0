/**
 * tf.image.resizeBilinear and tf.image.resizeNearestNeighbor on 3-D [h, w, c] or 4-D
 * [b, h, w, c] images, with TF's alignCorners / halfPixelCenters coordinate conventions.
 */
import { Tensor } from '../tensor';
import { checkBool, checkOutputSize, imagesOf, outShape, sizeOf2 } from './args';

/** Input size / output size along one axis, as TF computes it (alignCorners maps corner to corner). */
function scaleOf(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
}

function checkModes(fn: string, alignCorners: unknown, halfPixelCenters: unknown): void {
  checkBool(alignCorners, fn, 'alignCorners');
  checkBool(halfPixelCenters, fn, 'halfPixelCenters');
  if (alignCorners && halfPixelCenters) {
    throw new Error(`Error in ${fn}: If halfPixelCenters is true, alignCorners must be false.`);
  }
}

/**
 * Bilinear resize to size [newHeight, newWidth]; float32 out (int32 images are read as numbers).
 * out is (b, nh, nw, c), inp is (b, h, w, c).
 */
export function resizeBilinear(images: Tensor, size: [number, number], alignCorners = false, halfPixelCenters = false): Tensor<'float32'> {
  const fn = 'resizeBilinear';
  const im = imagesOf(images, fn, 'images', [3, 4]);
  const [nh, nw] = sizeOf2(size, fn, 'size');
  checkModes(fn, alignCorners, halfPixelCenters);
  const { batch: b, height: h, width: w, channels: c, values: inp } = im;
  checkOutputSize([b, nh, nw, c], fn);
  const out = new Float32Array(b * nh * nw * c);
  const sy = scaleOf(h, nh, alignCorners);
  const sx = scaleOf(w, nw, alignCorners);
  // Per output column: the two source columns and the weight of the right one.
  const x0 = new Int32Array(nw);
  const x1 = new Int32Array(nw);
  const xl = new Float64Array(nw);
  for (let x = 0; x < nw; x++) {
    const fx = halfPixelCenters ? sx * (x + 0.5) - 0.5 : sx * x;
    x0[x] = Math.max(0, Math.floor(fx));
    x1[x] = Math.min(w - 1, Math.ceil(fx));
    xl[x] = fx - Math.floor(fx);
  }
  let o = 0;
  for (let n = 0; n < b; n++) {
    const base = n * h * w * c;
    for (let y = 0; y < nh; y++) {
      const fy = halfPixelCenters ? sy * (y + 0.5) - 0.5 : sy * y;
      const y0 = Math.max(0, Math.floor(fy));
      const y1 = Math.min(h - 1, Math.ceil(fy));
      const yl = fy - Math.floor(fy);
      const top = base + y0 * w * c;
      const bot = base + y1 * w * c;
      for (let x = 0; x < nw; x++) {
        const l = x0[x] * c;
        const r = x1[x] * c;
        const t = xl[x];
        for (let k = 0; k < c; k++) {
          const tl = inp[top + l + k];
          const bl = inp[bot + l + k];
          const upper = tl + (inp[top + r + k] - tl) * t;
          const lower = bl + (inp[bot + r + k] - bl) * t;
          out[o++] = upper + (lower - upper) * yl;
        }
      }
    }
  }
  return new Tensor(out, outShape(im.batched, b, nh, nw, c), 'float32');
}

/** Nearest-neighbour resize to size [newHeight, newWidth]; keeps the dtype. */
export function resizeNearestNeighbor<T extends Tensor>(images: T, size: [number, number], alignCorners = false, halfPixelCenters = false): T {
  const fn = 'resizeNearestNeighbor';
  const im = imagesOf(images, fn, 'images', [3, 4]);
  const [nh, nw] = sizeOf2(size, fn, 'size');
  checkModes(fn, alignCorners, halfPixelCenters);
  const { batch: b, height: h, width: w, channels: c, values: inp } = im;
  checkOutputSize([b, nh, nw, c], fn);
  const out = im.dtype === 'int32' ? new Int32Array(b * nh * nw * c) : new Float32Array(b * nh * nw * c);
  const nearest = (i: number, scale: number, size: number): number => {
    const f = halfPixelCenters ? scale * (i + 0.5) : scale * i;
    const j = Math.min(size - 1, alignCorners ? Math.round(f) : Math.floor(f));
    return halfPixelCenters ? Math.max(0, j) : j;
  };
  const sy = scaleOf(h, nh, alignCorners);
  const sx = scaleOf(w, nw, alignCorners);
  const xs = new Int32Array(nw);
  for (let x = 0; x < nw; x++) xs[x] = nearest(x, sx, w) * c;
  let o = 0;
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < nh; y++) {
      const row = (n * h + nearest(y, sy, h)) * w * c;
      for (let x = 0; x < nw; x++) {
        for (let k = 0; k < c; k++) out[o++] = inp[row + xs[x] + k];
      }
    }
  }
  return new Tensor(out, outShape(im.batched, b, nh, nw, c), im.dtype) as T;
}
