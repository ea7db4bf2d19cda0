/**
 * Seeded random numbers for the TypeScript layer (initialisers, shuffling, random tensors), drawn
 * from the kernels' generator (xoshiro128** seeded by splitmix32, as native/kernels/rng.cc).
 */
import { rngNext, rngSeed } from './backend/js/rng';

export class Random {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed?: number) {
    this.seed(seed ?? ((Math.random() * 0x100000000) >>> 0));
  }

  seed(seed: number): void {
    rngSeed(this.s, seed >>> 0);
    this.spare = null;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    return rngNext(this.s);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Normal truncated at two standard deviations (resampled), as Keras' truncated normal. */
  truncatedNormal(): number {
    for (;;) {
      const v = this.normal();
      if (v >= -2 && v <= 2) return v;
    }
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

let globalRandom = new Random();

/** Seeds every random choice the library makes after this call (initialisers, shuffling, dropout seeds). */
export function setSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`setSeed: seed must be an integer in [0, 2^32), received ${seed}`);
  }
  globalRandom = new Random(seed);
}

/** The library-wide generator (or a new one from an explicit seed). */
export function random(seed?: number): Random {
  return seed === undefined ? globalRandom : new Random(seed);
}
