// xoshiro128** seeded by splitmix32: the bit-exact twin of native/kernels/rng.cc, so both backends
// draw the same dropout masks from the same seed. The state is a Uint32Array(4), advanced in place.
import { checkLen } from './check';

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Fills state (4 words) from a 32-bit seed by splitmix32; an all-zero result becomes s[0] = 1. */
export function rngSeed(state: Uint32Array, seed: number): void {
  checkLen('rngSeed', 'state', state, 4);
  if (!Number.isInteger(seed)) throw new RangeError(`rngSeed: seed must be an integer, received ${seed}`);
  let z = seed >>> 0;
  for (let i = 0; i < 4; i++) {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
    state[i] = t ^ (t >>> 16);
  }
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
}

/** The next 32-bit output (as an unsigned number), advancing state. */
export function rngNext(s: Uint32Array): number {
  const s1 = s[1];
  const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
  const t = (s1 << 9) >>> 0;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}

/** Uniform in [0,1) with 24 random bits: (next >>> 8) * 2^-24, exact in float32. */
export function rngUniform(s: Uint32Array): number {
  return (rngNext(s) >>> 8) * 5.9604644775390625e-8;
}
