/** BatchNormalization over the last axis, training and inference modes, moving statistics. */
import { LayerKind } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { getInitializer, Initializer, InitializerIdentifier } from '../initializers';
import { checkNumber } from '../../util';
import { hwc, Layer, LayerArgs, WeightSpec } from './base';

export interface BatchNormalizationArgs extends LayerArgs {
  /** Only -1 (the channels of NHWC) is supported. */
  axis?: number;
  /** Moving-average momentum, default 0.99. */
  momentum?: number;
  /** Default 1e-3. */
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerIdentifier | Initializer;
  gammaInitializer?: InitializerIdentifier | Initializer;
  movingMeanInitializer?: InitializerIdentifier | Initializer;
  movingVarianceInitializer?: InitializerIdentifier | Initializer;
}

export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly inits: Initializer[];

  constructor(args: BatchNormalizationArgs = {}) {
    super(args, 'BatchNormalization');
    const fn = `batchNormalization(${this.name})`;
    if (args.axis !== undefined && args.axis !== -1) throw new Error(`${fn}: only axis -1 is supported, received ${args.axis}`);
    this.momentum = checkNumber(args.momentum ?? 0.99, fn, 'momentum', 0, 1);
    this.epsilon = checkNumber(args.epsilon ?? 1e-3, fn, 'epsilon', 0);
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.inits = [
      getInitializer(args.gammaInitializer, 'ones', `${fn}: gammaInitializer`),
      getInitializer(args.betaInitializer, 'zeros', `${fn}: betaInitializer`),
      getInitializer(args.movingMeanInitializer, 'zeros', `${fn}: movingMeanInitializer`),
      getInitializer(args.movingVarianceInitializer, 'ones', `${fn}: movingVarianceInitializer`),
    ];
  }

  computeOutputShape(s: number[]): number[] { return s.slice(); }

  /** gamma and beta are always stored (fixed at 1 / 0 and not trained when scale / center is false). */
  protected override declareWeights(s: number[]): WeightSpec[] {
    const c = s[s.length - 1];
    return [
      { name: 'gamma', shape: [c], init: this.inits[0], trainable: this.trainable && this.scale },
      { name: 'beta', shape: [c], init: this.inits[1], trainable: this.trainable && this.center },
      { name: 'moving_mean', shape: [c], init: this.inits[2], trainable: false },
      { name: 'moving_variance', shape: [c], init: this.inits[3], trainable: false },
    ];
  }

  toSpec(off: number[]): LayerSpec {
    return {
      kind: LayerKind.BatchNorm, in: hwc(this.inputShape!), out: hwc(this.outputShape!), momentum: this.momentum,
      eps: this.epsilon, gamma: off[0], beta: off[1], movingMean: off[2], movingVar: off[3],
    };
  }

  override getConfig(): Record<string, unknown> {
    const ic = (i: Initializer) => ({ className: i.className, config: i.getConfig() });
    return {
      ...super.getConfig(), axis: -1, momentum: this.momentum, epsilon: this.epsilon, center: this.center, scale: this.scale,
      gammaInitializer: ic(this.inits[0]), betaInitializer: ic(this.inits[1]),
      movingMeanInitializer: ic(this.inits[2]), movingVarianceInitializer: ic(this.inits[3]),
      betaRegularizer: null, gammaRegularizer: null, betaConstraint: null, gammaConstraint: null,
      ...this.unapplied,
    };
  }
}
