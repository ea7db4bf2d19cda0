// Pooling over NHWC activations (native/kernels/pool2d.h). Padded pixels never win a max and never
// count in an average. Max pooling keeps an int32 argmax per output: the winner's index inside its
// sample, (h*W + w)*C + c; ties go to the first pixel in row-major window order.
import { Padding, Pool2DDims } from '../types';
import { checkInts, checkLen } from './check';
import { outputAndPad } from './conv2d';

export function pool2dDims(N: number, H: number, W: number, C: number, PH: number, PW: number,
                           SH: number, SW: number, pad: Padding): Pool2DDims {
  const fn = 'pool2dDims';
  checkInts(fn, { N, H, W, C, PH, PW, SH, SW }, 1);
  const [OH, PT] = outputAndPad(fn, 'H', H, PH, SH, 1, pad);
  const [OW, PL] = outputAndPad(fn, 'W', W, PW, SW, 1, pad);
  return { N, H, W, C, PH, PW, SH, SW, PT, PL, OH, OW };
}

function checkPool(fn: string, d: Pool2DDims, inp: Float32Array, out: Float32Array): void {
  const { N, H, W, C, PH, PW, SH, SW, PT, PL, OH, OW } = d;
  checkInts(fn, { N, H, W, C, PH, PW, SH, SW, OH, OW }, 1);
  checkInts(fn, { PT, PL }, 0);
  checkLen(fn, 'inp', inp, N * H * W * C);
  checkLen(fn, 'out', out, N * OH * OW * C);
}

/** out (N,OH,OW,C) = window max; argmax (N,OH,OW,C) the winner's index within its sample. */
export function maxPool2dForward(out: Float32Array, argmax: Int32Array, inp: Float32Array, d: Pool2DDims): void {
  checkPool('maxPool2dForward', d, inp, out);
  const { N, H, W, C, PH, PW, SH, SW, PT, PL, OH, OW } = d;
  checkLen('maxPool2dForward', 'argmax', argmax, N * OH * OW * C);
  const sample = H * W * C;
  for (let n = 0; n < N; n++) {
    const base = n * sample;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = Math.max(oh * SH - PT, 0), h1 = Math.min(oh * SH - PT + PH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = Math.max(ow * SW - PL, 0), w1 = Math.min(ow * SW - PL + PW, W);
        const o = ((n * OH + oh) * OW + ow) * C;
        if (h0 >= h1 || w0 >= w1) { // a window of padding only (cannot happen with TF's rule)
          for (let c = 0; c < C; c++) { out[o + c] = 0; argmax[o + c] = -1; }
          continue;
        }
        // The first real pixel seeds the max; later ones win only when strictly greater.
        const first = (h0 * W + w0) * C;
        for (let c = 0; c < C; c++) { out[o + c] = inp[base + first + c]; argmax[o + c] = first + c; }
        for (let h = h0; h < h1; h++) {
          for (let w = h === h0 ? w0 + 1 : w0; w < w1; w++) {
            const s = (h * W + w) * C;
            for (let c = 0; c < C; c++) {
              const v = inp[base + s + c];
              if (v > out[o + c]) { out[o + c] = v; argmax[o + c] = s + c; }
            }
          }
        }
      }
    }
  }
}

/** dinp (N,H,W,C) overwritten: zero, then each dout scatter-added to its winner. */
export function maxPool2dBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, d: Pool2DDims): void {
  checkPool('maxPool2dBackward', d, dinp, dout);
  const { N, H, W, C, OH, OW } = d;
  checkLen('maxPool2dBackward', 'argmax', argmax, N * OH * OW * C);
  const sample = H * W * C, per = OH * OW * C;
  dinp.fill(0, 0, N * sample);
  for (let n = 0; n < N; n++) {
    const base = n * sample, o = n * per;
    for (let i = 0; i < per; i++) {
      const a = argmax[o + i];
      if (a >= 0 && a < sample) dinp[base + a] += dout[o + i];
    }
  }
}

/** out (N,OH,OW,C) = mean over the real pixels of each window. */
export function avgPool2dForward(out: Float32Array, inp: Float32Array, d: Pool2DDims): void {
  checkPool('avgPool2dForward', d, inp, out);
  const { N, H, W, C, PH, PW, SH, SW, PT, PL, OH, OW } = d;
  for (let n = 0; n < N; n++) {
    const base = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = Math.max(oh * SH - PT, 0), h1 = Math.min(oh * SH - PT + PH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = Math.max(ow * SW - PL, 0), w1 = Math.min(ow * SW - PL + PW, W);
        const o = ((n * OH + oh) * OW + ow) * C;
        const count = Math.max((h1 - h0) * (w1 - w0), 0);
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let h = h0; h < h1; h++) {
            for (let w = w0; w < w1; w++) s += inp[base + (h * W + w) * C + c];
          }
          out[o + c] = count > 0 ? s / count : 0;
        }
      }
    }
  }
}

/** dinp (N,H,W,C) overwritten: each dout spread evenly over its window's real pixels. */
export function avgPool2dBackward(dinp: Float32Array, dout: Float32Array, d: Pool2DDims): void {
  checkPool('avgPool2dBackward', d, dinp, dout);
  const { N, H, W, C, PH, PW, SH, SW, PT, PL, OH, OW } = d;
  dinp.fill(0, 0, N * H * W * C);
  for (let n = 0; n < N; n++) {
    const base = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = Math.max(oh * SH - PT, 0), h1 = Math.min(oh * SH - PT + PH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = Math.max(ow * SW - PL, 0), w1 = Math.min(ow * SW - PL + PW, W);
        const count = (h1 - h0) * (w1 - w0);
        if (count <= 0) continue;
        const o = ((n * OH + oh) * OW + ow) * C;
        for (let h = h0; h < h1; h++) {
          for (let w = w0; w < w1; w++) {
            const s = base + (h * W + w) * C;
            for (let c = 0; c < C; c++) dinp[s + c] += dout[o + c] / count;
          }
        }
      }
    }
  }
}

function checkGlobal(fn: string, N: number, HW: number, C: number, big: Float32Array, small: Float32Array): void {
  checkInts(fn, { N, HW, C }, 1);
  checkLen(fn, 'inp', big, N * HW * C);
  checkLen(fn, 'out', small, N * C);
}

/** out (N,C) = mean over the HW pixels of inp (N,HW,C). */
export function globalAvgPoolForward(out: Float32Array, inp: Float32Array, N: number, HW: number, C: number): void {
  checkGlobal('globalAvgPoolForward', N, HW, C, inp, out);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let p = 0, i = n * HW * C + c; p < HW; p++, i += C) s += inp[i];
      out[n * C + c] = s / HW;
    }
  }
}

/** dinp (N,HW,C) = dout (N,C) / HW, broadcast. */
export function globalAvgPoolBackward(dinp: Float32Array, dout: Float32Array, N: number, HW: number, C: number): void {
  checkGlobal('globalAvgPoolBackward', N, HW, C, dinp, dout);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < HW; p++) {
      const o = (n * HW + p) * C;
      for (let c = 0; c < C; c++) dinp[o + c] = dout[n * C + c] / HW;
    }
  }
}

/** out (N,C) = max over HW; argmax (N,C) = winning pixel in [0,HW), first on ties. */
export function globalMaxPoolForward(out: Float32Array, argmax: Int32Array, inp: Float32Array,
                                     N: number, HW: number, C: number): void {
  checkGlobal('globalMaxPoolForward', N, HW, C, inp, out);
  checkLen('globalMaxPoolForward', 'argmax', argmax, N * C);
  for (let n = 0; n < N; n++) {
    const o = n * C, base = n * HW * C;
    for (let c = 0; c < C; c++) { out[o + c] = inp[base + c]; argmax[o + c] = 0; }
    for (let p = 1; p < HW; p++) {
      const s = base + p * C;
      for (let c = 0; c < C; c++) {
        const v = inp[s + c];
        if (v > out[o + c]) { out[o + c] = v; argmax[o + c] = p; }
      }
    }
  }
}

/** dinp (N,HW,C) overwritten: zero, then dout routed to each winning pixel. */
export function globalMaxPoolBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array,
                                      N: number, HW: number, C: number): void {
  checkGlobal('globalMaxPoolBackward', N, HW, C, dinp, dout);
  checkLen('globalMaxPoolBackward', 'argmax', argmax, N * C);
  dinp.fill(0, 0, N * HW * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const p = argmax[n * C + c];
      if (p >= 0 && p < HW) dinp[(n * HW + p) * C + c] += dout[n * C + c];
    }
  }
}
