/**
 * Optimizers with TF.js names and defaults. They only describe the update; the engine runs it natively
 * over the flat parameter buffer. `learningRate` may be changed between steps (schedulers do).
 */
import { OptimizerKind } from '../backend/types';
import type { OptimizerSpec } from '../backend/types';
import { checkNumber, lookup } from '../util';
import { nameTable } from './names';

export interface ClipArgs {
  /** Clip each gradient tensor to this L2 norm before the update (Keras clipnorm). */
  clipnorm?: number;
  /** Clip each gradient value to [-clipvalue, clipvalue] (Keras clipvalue). */
  clipvalue?: number;
}

export class Optimizer {
  learningRate: number;
  clipnorm = 0;
  clipvalue = 0;
  constructor(
    readonly className: string,
    readonly kind: OptimizerKind,
    learningRate: number,
    readonly params: Omit<OptimizerSpec, 'kind' | 'clipNorm' | 'clipValue'>,
    clip: ClipArgs = {},
  ) {
    this.learningRate = checkNumber(learningRate, className, 'learningRate', 0);
    if (clip.clipnorm !== undefined) this.clipnorm = checkNumber(clip.clipnorm, className, 'clipnorm', 0);
    if (clip.clipvalue !== undefined) this.clipvalue = checkNumber(clip.clipvalue, className, 'clipvalue', 0);
  }

  spec(): OptimizerSpec {
    return { kind: this.kind, ...this.params, clipNorm: this.clipnorm, clipValue: this.clipvalue };
  }

  getConfig(): Record<string, unknown> {
    return { learningRate: this.learningRate, ...this.params, clipnorm: this.clipnorm || undefined, clipvalue: this.clipvalue || undefined };
  }
}

/** The `train` namespace (TF.js): train.adam(0.001) etc. */
export const train = {
  sgd: (learningRate = 0.01, clip?: ClipArgs) => new Optimizer('SGD', OptimizerKind.Sgd, learningRate, {}, clip),
  momentum: (learningRate = 0.01, momentum = 0.9, useNesterov = false, clip?: ClipArgs) =>
    new Optimizer('Momentum', OptimizerKind.Momentum, learningRate,
      { momentum: checkNumber(momentum, 'momentum', 'momentum', 0), nesterov: useNesterov }, clip),
  adam: (learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, clip?: ClipArgs) =>
    new Optimizer('Adam', OptimizerKind.Adam, learningRate, {
      beta1: checkNumber(beta1, 'adam', 'beta1', 0, 1), beta2: checkNumber(beta2, 'adam', 'beta2', 0, 1),
      eps: checkNumber(epsilon, 'adam', 'epsilon', 0),
    }, clip),
  /** Adam with decoupled weight decay (Keras AdamW: weightDecay default 0.004). */
  adamw: (learningRate = 0.001, weightDecay = 0.004, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, clip?: ClipArgs) =>
    new Optimizer('AdamW', OptimizerKind.AdamW, learningRate, {
      beta1: checkNumber(beta1, 'adamw', 'beta1', 0, 1), beta2: checkNumber(beta2, 'adamw', 'beta2', 0, 1),
      eps: checkNumber(epsilon, 'adamw', 'epsilon', 0), weightDecay: checkNumber(weightDecay, 'adamw', 'weightDecay', 0),
    }, clip),
  rmsprop: (learningRate = 0.001, decay = 0.9, momentum = 0, epsilon = 1e-7, centered = false, clip?: ClipArgs) =>
    new Optimizer('RMSProp', OptimizerKind.RMSprop, learningRate, {
      rho: checkNumber(decay, 'rmsprop', 'decay', 0, 1), momentum: checkNumber(momentum, 'rmsprop', 'momentum', 0),
      eps: checkNumber(epsilon, 'rmsprop', 'epsilon', 0), centered,
    }, clip),
  adagrad: (learningRate = 0.01, initialAccumulatorValue = 0.1, clip?: ClipArgs) => {
    const o = new Optimizer('Adagrad', OptimizerKind.Adagrad, learningRate, { eps: 1e-7 }, clip);
    (o as Optimizer & { initialAccumulatorValue: number }).initialAccumulatorValue =
      checkNumber(initialAccumulatorValue, 'adagrad', 'initialAccumulatorValue', 0);
    return o;
  },
};

const byName: Record<string, () => Optimizer> = nameTable({
  sgd: () => train.sgd(),
  momentum: () => train.momentum(),
  adam: () => train.adam(),
  adamw: () => train.adamw(),
  rmsprop: () => train.rmsprop(),
  adagrad: () => train.adagrad(),
});

export type OptimizerIdentifier = 'sgd' | 'momentum' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad' | string;

export function getOptimizer(id: OptimizerIdentifier | Optimizer): Optimizer {
  if (id instanceof Optimizer) return id;
  return lookup(byName, id, 'optimizer', ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop', 'adagrad'])();
}

/** Initial value of each optimizer slot (Adagrad's accumulator starts at initialAccumulatorValue). */
export function slotInitialValue(o: Optimizer, slot: number): number {
  if (o.kind === OptimizerKind.Adagrad && slot === 0) {
    return (o as Optimizer & { initialAccumulatorValue?: number }).initialAccumulatorValue ?? 0.1;
  }
  return 0;
}
