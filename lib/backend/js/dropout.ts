// Inverted dropout (native/kernels/dropout.h): out = inp * mask, mask = (u >= rate) / (1 - rate).
import { checkInts, checkLen, f32 } from './check';
import { rngUniform } from './rng';

/** mask (n) gets 0 or 1/(1-rate); rate in [0,1). Draws exactly n numbers from rng, in order. */
export function dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, n: number,
                               rate: number, rng: Uint32Array): void {
  const fn = 'dropoutForward';
  checkInts(fn, { n }, 0);
  checkLen(fn, 'inp', inp, n);
  checkLen(fn, 'out', out, n);
  checkLen(fn, 'mask', mask, n);
  checkLen(fn, 'rng', rng, 4);
  const r = f32(rate);
  if (!(r >= 0 && r < 1)) throw new RangeError(`${fn}: rate must be in [0, 1), received ${rate}`);
  dropoutForwardUnchecked(out, mask, inp, n, r, rng);
}

export function dropoutForwardUnchecked(out: Float32Array, mask: Float32Array, inp: Float32Array, n: number,
                                        rate: number, rng: Uint32Array): void {
  const keep = f32(1 / f32(1 - rate)); // as C++: 1.f / (1.f - rate) in float
  for (let i = 0; i < n; i++) {
    const m = rngUniform(rng) >= rate ? keep : 0;
    mask[i] = m;
    out[i] = inp[i] * m;
  }
}

/** dinp (n) = dout * mask. */
export function dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, n: number): void {
  const fn = 'dropoutBackward';
  checkInts(fn, { n }, 0);
  checkLen(fn, 'dout', dout, n);
  checkLen(fn, 'mask', mask, n);
  checkLen(fn, 'dinp', dinp, n);
  for (let i = 0; i < n; i++) dinp[i] = dout[i] * mask[i];
}
