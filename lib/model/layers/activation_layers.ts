/**
 * The advanced-activation family: LeakyReLU, ELU, Softmax (last axis) as TF.js layers. They run as
 * the classic Activation kind with the TF.js parameter (alpha); ONNX through the exporter's
 * activation mapping (LeakyRelu, Elu, Softmax on the channel axis).
 */
import { checkNumber } from '../../util';
import { Activation } from './core';
import type { LayerArgs } from './base';
import type { LayerFamily } from './registry';

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
  },
  factories: activationFactories,
};
