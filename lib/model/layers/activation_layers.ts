/**
 * The advanced-activation family: LeakyReLU, ELU, Softmax (last axis) as TF.js layers. They run as
 * the classic Activation kind with the TF.js parameter (alpha); ONNX through the exporter's
 * activation mapping (LeakyRelu, Elu, Softmax on the channel axis).
 */
import { LayerKind } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { checkNumber, shapeStr } from '../../util';
import { getInitializer, Initializer, InitializerIdentifier } from '../initializers';
import { Activation } from './core';
import { hwc, Layer } from './base';
import type { LayerArgs, WeightSpec } from './base';
import type { LayerFamily, OnnxEmitter } from './registry';

export interface LeakyReLUArgs extends LayerArgs {
  /** Slope for x < 0. Default 0.3 (TF.js). */
  alpha?: number;
}

export class LeakyReLU extends Activation {
  override readonly className = 'LeakyReLU';
  constructor(args: LeakyReLUArgs = {}) {
    const a = args.alpha ?? 0.3;
    super({ ...args, activation: 'leakyRelu' as never }, 'LeakyReLU', checkNumber(a, `leakyReLU(${args.name ?? 'leaky_re_lu'})`, 'alpha', -1e30, 1e30));
  }
  override getConfig(): Record<string, unknown> {
    const c = super.getConfig();
    delete c.activation;
    return { ...c, alpha: this.alpha };
  }
}

export interface ELUArgs extends LayerArgs {
  /** Scale of the negative part. Default 1. */
  alpha?: number;
}

export class ELU extends Activation {
  override readonly className = 'ELU';
  constructor(args: ELUArgs = {}) {
    const a = args.alpha ?? 1;
    super({ ...args, activation: 'elu' }, 'ELU', checkNumber(a, `elu(${args.name ?? 'elu'})`, 'alpha', -1e30, 1e30));
  }
  override getConfig(): Record<string, unknown> {
    const c = super.getConfig();
    delete c.activation;
    return { ...c, alpha: this.alpha };
  }
}

export interface SoftmaxArgs extends LayerArgs {
  /** Only the last axis (-1, or the per-sample rank) is supported. Default -1. */
  axis?: number;
}

export class Softmax extends Activation {
  override readonly className = 'Softmax';
  readonly axis: number;
  constructor(args: SoftmaxArgs = {}) {
    super({ ...args, activation: 'softmax' }, 'Softmax');
    this.axis = args.axis ?? -1;
    if (!Number.isInteger(this.axis)) throw new Error(`softmax(${this.name}): axis must be an integer, received ${String(args.axis)}`);
  }
  override computeOutputShape(s: number[]): number[] {
    if (this.axis !== -1 && this.axis !== s.length) {
      throw new Error(`softmax(${this.name}): axis ${this.axis} is not supported (only the last axis, -1)`);
    }
    return s.slice();
  }
  override getConfig(): Record<string, unknown> {
    const c = super.getConfig();
    delete c.activation;
    return { ...c, axis: this.axis };
  }
}

export const activationFactories = {
  leakyReLU: (args: LeakyReLUArgs = {}) => new LeakyReLU(args),
  elu: (args: ELUArgs = {}) => new ELU(args),
  softmax: (args: SoftmaxArgs = {}) => new Softmax(args),
  prelu: (args: PReLUArgs = {}) => new PReLU(args),
};

const numOr = (c: Record<string, unknown>, keys: string[]): number | undefined => {
  for (const k of keys) if (typeof c[k] === 'number') return c[k] as number;
  return undefined;
};

export const activationFamily: LayerFamily = {
  readers: {
    // Keras 3 writes LeakyReLU's slope as negative_slope
    LeakyReLU: (c, ctx, h) => new LeakyReLU({ ...h.baseArgs(c, ctx), alpha: numOr(c, ['alpha', 'negativeSlope']) }),
    ELU: (c, ctx, h) => new ELU({ ...h.baseArgs(c, ctx), alpha: numOr(c, ['alpha']) }),
    Softmax: (c, ctx, h) => {
      let axis = c.axis;
      if (Array.isArray(axis) && axis.length === 1) axis = axis[0];
      if (axis !== undefined && axis !== null && !Number.isInteger(axis)) h.fail(ctx, `axis ${h.shown(c.axis)} must be an integer`);
      return new Softmax({ ...h.baseArgs(c, ctx), axis: (axis ?? -1) as number });
    },
    PReLU: (c, ctx, h) => {
      const sa = c.sharedAxes;
      if (sa !== undefined && sa !== null && !(Number.isInteger(sa) || (Array.isArray(sa) && sa.every((a) => Number.isInteger(a))))) {
        h.fail(ctx, `shared_axes ${h.shown(sa)} must be a list of axes`);
      }
      return new PReLU({ ...h.baseArgs(c, ctx), alphaInitializer: h.initializer(c.alphaInitializer, 'zeros'), sharedAxes: sa as number[] | null });
    },
  },
  factories: activationFactories,
};

export interface PReLUArgs extends LayerArgs {
  /** Default 'zeros'. */
  alphaInitializer?: InitializerIdentifier | Initializer;
  /** 1-based per-sample axes alpha is shared over (e.g. [1, 2]: one alpha per channel). */
  sharedAxes?: number | number[] | null;
}

/** y = x > 0 ? x : alpha * x with a learned alpha (registry kind LayerKind.PReLU). */
export class PReLU extends Layer {
  readonly className = 'PReLU';
  readonly alphaInitializer: Initializer;
  readonly sharedAxes: number[];
  constructor(args: PReLUArgs = {}) {
    super(args, 'PReLU');
    const fn = `prelu(${this.name})`;
    this.alphaInitializer = getInitializer(args.alphaInitializer, 'zeros', `${fn}: alphaInitializer`);
    const sa = args.sharedAxes ?? [];
    const list = typeof sa === 'number' ? [sa] : sa;
    if (!Array.isArray(list) || !list.every((a) => Number.isInteger(a) && a >= 1)) {
      throw new Error(`${fn}: sharedAxes must be positive per-sample axes (1-based), received ${JSON.stringify(args.sharedAxes)}`);
    }
    this.sharedAxes = list.slice();
  }
  computeOutputShape(s: number[]): number[] {
    for (const a of this.sharedAxes) {
      if (a > s.length) throw new Error(`prelu(${this.name}): sharedAxes ${JSON.stringify(this.sharedAxes)} name an axis beyond the input ${shapeStr(s)}`);
    }
    if (s.length > 3) throw new Error(`prelu(${this.name}): expects at most 3 per-sample axes, received ${shapeStr(s)}`);
    return s.slice();
  }
  protected override declareWeights(s: number[]): WeightSpec[] {
    const shape = s.map((d, i) => (this.sharedAxes.includes(i + 1) ? 1 : d));
    return [{ name: 'alpha', shape, init: this.alphaInitializer, trainable: this.trainable }];
  }
  toSpec(off: number[]): LayerSpec {
    const s = this.inputShape!;
    const lead = 3 - s.length;
    const shared: [number, number, number] = [1, 1, 1];
    for (let i = 0; i < s.length; i++) shared[lead + i] = this.sharedAxes.includes(i + 1) ? 1 : 0;
    return { kind: LayerKind.PReLU, in: hwc(s), out: hwc(this.outputShape!), kernel: off[0], shared };
  }
  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      alphaInitializer: { className: this.alphaInitializer.className, config: this.alphaInitializer.getConfig() },
      alphaRegularizer: null, alphaConstraint: null, sharedAxes: this.sharedAxes.length ? this.sharedAxes : null,
    };
  }
  /** ONNX PRelu with alpha broadcast over [N, ...] in the running layout (channels-last here). */
  toOnnx(ex: OnnxEmitter): void {
    ex.toNhwc(this.name);
    const shape = this.weightSpecs[0].shape;
    const a = ex.g.floats(`${this.name}/alpha`, shape, this.weightViews[0]);
    ex.cur = { ...ex.cur, name: ex.g.node('PRelu', [ex.cur.name, a], [], this.name) };
  }
}
