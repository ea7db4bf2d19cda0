/**
 * Weight initialisers with TF.js names and Keras serialisation. Each fills a Float32Array in place
 * from the library's seeded generator (see setSeed).
 */
import { Random, random } from '../random';
import { lookup, describe } from '../util';
import { nameTable } from './names';

export interface InitializerConfig { className: string; config: Record<string, unknown> }

export abstract class Initializer {
  abstract readonly className: string;
  /** fanIn / fanOut follow Keras: for a conv kernel [kh,kw,in,out], fanIn = kh*kw*in, fanOut = kh*kw*out. */
  abstract fill(v: Float32Array, shape: number[], rng: Random): void;
  getConfig(): Record<string, unknown> {
    return {};
  }
}

export function fans(shape: number[]): [number, number] {
  if (shape.length === 1) return [shape[0], shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [receptive * shape[shape.length - 2], receptive * shape[shape.length - 1]];
}

export class Zeros extends Initializer {
  readonly className = 'Zeros';
  fill(v: Float32Array): void { v.fill(0); }
}
export class Ones extends Initializer {
  readonly className = 'Ones';
  fill(v: Float32Array): void { v.fill(1); }
}
export class Constant extends Initializer {
  readonly className = 'Constant';
  constructor(readonly value = 0) { super(); }
  fill(v: Float32Array): void { v.fill(this.value); }
  override getConfig() { return { value: this.value }; }
}
export class RandomUniform extends Initializer {
  readonly className = 'RandomUniform';
  constructor(readonly minval = -0.05, readonly maxval = 0.05, readonly seed?: number) { super(); }
  fill(v: Float32Array, _s: number[], rng: Random): void {
    const r = this.seed === undefined ? rng : new Random(this.seed);
    for (let i = 0; i < v.length; i++) v[i] = this.minval + (this.maxval - this.minval) * r.uniform();
  }
  override getConfig() { return { minval: this.minval, maxval: this.maxval, seed: this.seed ?? null }; }
}
export class RandomNormal extends Initializer {
  readonly className: string = 'RandomNormal';
  constructor(readonly mean = 0, readonly stddev = 0.05, readonly seed?: number) { super(); }
  fill(v: Float32Array, _s: number[], rng: Random): void {
    const r = this.seed === undefined ? rng : new Random(this.seed);
    for (let i = 0; i < v.length; i++) v[i] = this.mean + this.stddev * r.normal();
  }
  override getConfig() { return { mean: this.mean, stddev: this.stddev, seed: this.seed ?? null }; }
}
export class TruncatedNormal extends RandomNormal {
  override readonly className = 'TruncatedNormal';
  override fill(v: Float32Array, _s: number[], rng: Random): void {
    const r = this.seed === undefined ? rng : new Random(this.seed);
    for (let i = 0; i < v.length; i++) v[i] = this.mean + this.stddev * r.truncatedNormal();
  }
}

export type FanMode = 'fanIn' | 'fanOut' | 'fanAvg';
export type Distribution = 'normal' | 'uniform' | 'truncatedNormal';

/** Keras VarianceScaling: the family behind glorot*, he*, leCun*. */
export class VarianceScaling extends Initializer {
  readonly className = 'VarianceScaling';
  constructor(
    readonly scale = 1,
    readonly mode: FanMode = 'fanIn',
    readonly distribution: Distribution = 'normal',
    readonly seed?: number,
  ) {
    super();
    if (!(scale > 0)) throw new RangeError(`VarianceScaling: scale must be positive, received ${scale}`);
  }
  fill(v: Float32Array, shape: number[], rng: Random): void {
    const r = this.seed === undefined ? rng : new Random(this.seed);
    const [fanIn, fanOut] = fans(shape);
    const n = this.mode === 'fanIn' ? fanIn : this.mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2;
    const variance = this.scale / Math.max(1, n);
    if (this.distribution === 'uniform') {
      const limit = Math.sqrt(3 * variance);
      for (let i = 0; i < v.length; i++) v[i] = (2 * r.uniform() - 1) * limit;
    } else if (this.distribution === 'truncatedNormal') {
      // Keras: stddev of a [-2, 2] truncated standard normal is 0.8796...
      const sd = Math.sqrt(variance) / 0.87962566103423978;
      for (let i = 0; i < v.length; i++) v[i] = sd * r.truncatedNormal();
    } else {
      // TF.js 'normal' means truncated normal, as Keras 2.
      const sd = Math.sqrt(variance) / 0.87962566103423978;
      for (let i = 0; i < v.length; i++) v[i] = sd * r.truncatedNormal();
    }
  }
  override getConfig() {
    const mode = this.mode === 'fanIn' ? 'fan_in' : this.mode === 'fanOut' ? 'fan_out' : 'fan_avg';
    const distribution = this.distribution === 'truncatedNormal' ? 'truncated_normal' : this.distribution;
    return { scale: this.scale, mode, distribution, seed: this.seed ?? null };
  }
}

const factories: Record<string, (seed?: number) => Initializer> = nameTable({
  zeros: () => new Zeros(),
  ones: () => new Ones(),
  glorotuniform: (s) => new VarianceScaling(1, 'fanAvg', 'uniform', s),
  glorotnormal: (s) => new VarianceScaling(1, 'fanAvg', 'normal', s),
  heuniform: (s) => new VarianceScaling(2, 'fanIn', 'uniform', s),
  henormal: (s) => new VarianceScaling(2, 'fanIn', 'normal', s),
  lecununiform: (s) => new VarianceScaling(1, 'fanIn', 'uniform', s),
  lecunnormal: (s) => new VarianceScaling(1, 'fanIn', 'normal', s),
  randomuniform: (s) => new RandomUniform(-0.05, 0.05, s),
  randomnormal: (s) => new RandomNormal(0, 0.05, s),
  truncatednormal: (s) => new TruncatedNormal(0, 0.05, s),
  varianceScaling: (s) => new VarianceScaling(1, 'fanIn', 'normal', s),
});
factories.variancescaling = factories.varianceScaling;
const validNames = ['zeros', 'ones', 'glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'leCunUniform',
  'leCunNormal', 'randomUniform', 'randomNormal', 'truncatedNormal', 'varianceScaling'];

export type InitializerIdentifier =
  | 'zeros' | 'ones' | 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'leCunUniform'
  | 'leCunNormal' | 'randomUniform' | 'randomNormal' | 'truncatedNormal' | 'varianceScaling' | string;

export function getInitializer(id: InitializerIdentifier | Initializer | undefined, dflt: string, what: string): Initializer {
  if (id instanceof Initializer) return id;
  if (id === undefined || id === null) return factories[dflt]();
  if (typeof id !== 'string') throw new TypeError(`${what} must be a name or an Initializer, received ${describe(id)}`);
  return lookup(factories, id, what, validNames)();
}

/** TF.js-style factories: initializers.glorotUniform({seed}) etc. */
export const initializers = {
  zeros: () => new Zeros(),
  ones: () => new Ones(),
  constant: (a: { value: number }) => new Constant(a.value),
  randomUniform: (a: { minval?: number; maxval?: number; seed?: number } = {}) => new RandomUniform(a.minval, a.maxval, a.seed),
  randomNormal: (a: { mean?: number; stddev?: number; seed?: number } = {}) => new RandomNormal(a.mean, a.stddev, a.seed),
  truncatedNormal: (a: { mean?: number; stddev?: number; seed?: number } = {}) => new TruncatedNormal(a.mean, a.stddev, a.seed),
  varianceScaling: (a: { scale?: number; mode?: FanMode; distribution?: Distribution; seed?: number } = {}) =>
    new VarianceScaling(a.scale, a.mode, a.distribution, a.seed),
  glorotUniform: (a: { seed?: number } = {}) => new VarianceScaling(1, 'fanAvg', 'uniform', a.seed),
  glorotNormal: (a: { seed?: number } = {}) => new VarianceScaling(1, 'fanAvg', 'normal', a.seed),
  heUniform: (a: { seed?: number } = {}) => new VarianceScaling(2, 'fanIn', 'uniform', a.seed),
  heNormal: (a: { seed?: number } = {}) => new VarianceScaling(2, 'fanIn', 'normal', a.seed),
  leCunUniform: (a: { seed?: number } = {}) => new VarianceScaling(1, 'fanIn', 'uniform', a.seed),
  leCunNormal: (a: { seed?: number } = {}) => new VarianceScaling(1, 'fanIn', 'normal', a.seed),
};

export { random };
