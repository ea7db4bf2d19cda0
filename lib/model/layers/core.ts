/** Dense, Flatten, Dropout, Activation, ReLU and InputLayer. */
import { Act, LayerKind } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { ACT_NAMES, ActivationIdentifier, defaultAlpha, resolveActivation } from '../activations';
import { getInitializer, Initializer, InitializerIdentifier } from '../initializers';
import { checkNumber, checkPositiveInt, shapeStr } from '../../util';
import { hwc, Layer, LayerArgs, WeightSpec } from './base';

export interface DenseArgs extends LayerArgs {
  units: number;
  /** Fused into the GEMM's output loop. Default 'linear'. */
  activation?: ActivationIdentifier;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier | Initializer;
  biasInitializer?: InitializerIdentifier | Initializer;
  /** Shorthand for inputShape: [inputDim]. */
  inputDim?: number;
}

/** out = act(x · W + b) on the last axis; W is [in, units] as in TF.js. */
export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: Act;
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;

  constructor(args: DenseArgs) {
    super(args && args.inputDim !== undefined && !args.inputShape ? { ...args, inputShape: [args.inputDim] } : args ?? {}, 'Dense');
    if (!args || typeof args !== 'object') throw new TypeError('dense: expected an options object');
    const fn = `dense(${this.name})`;
    this.units = checkPositiveInt(args.units, fn, 'units');
    this.activation = resolveActivation(args.activation, fn);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = getInitializer(args.kernelInitializer, 'glorotuniform', `${fn}: kernelInitializer`);
    this.biasInitializer = getInitializer(args.biasInitializer, 'zeros', `${fn}: biasInitializer`);
  }

  computeOutputShape(s: number[]): number[] {
    return [...s.slice(0, -1), this.units];
  }

  protected override declareWeights(s: number[]): WeightSpec[] {
    const w: WeightSpec[] = [{ name: 'kernel', shape: [s[s.length - 1], this.units], init: this.kernelInitializer, trainable: this.trainable }];
    if (this.useBias) w.push({ name: 'bias', shape: [this.units], init: this.biasInitializer, trainable: this.trainable });
    return w;
  }

  toSpec(off: number[]): LayerSpec {
    return {
      kind: LayerKind.Dense, in: hwc(this.inputShape!), out: hwc(this.outputShape!), units: this.units,
      act: this.activation, alpha: defaultAlpha(this.activation), kernel: off[0], bias: this.useBias ? off[1] : -1,
      ...this.dtypeSpec(),
    };
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), units: this.units, activation: ACT_NAMES[this.activation], useBias: this.useBias,
      kernelInitializer: { className: this.kernelInitializer.className, config: this.kernelInitializer.getConfig() },
      biasInitializer: { className: this.biasInitializer.className, config: this.biasInitializer.getConfig() },
      kernelRegularizer: null, biasRegularizer: null, activityRegularizer: null, kernelConstraint: null, biasConstraint: null,
      ...this.unapplied,
    };
  }
}

/** Flattens each sample in (h, w, c) order; a view in the engine, no copy. */
export class Flatten extends Layer {
  readonly className = 'Flatten';
  constructor(args: LayerArgs = {}) { super(args, 'Flatten'); }
  computeOutputShape(s: number[]): number[] {
    return [s.reduce((a, b) => a * b, 1)];
  }
  toSpec(): LayerSpec {
    return { kind: LayerKind.Flatten, in: hwc(this.inputShape!), out: hwc(this.outputShape!) };
  }
}

export interface DropoutArgs extends LayerArgs {
  /** Fraction of inputs to drop while training, in [0, 1). */
  rate: number;
  seed?: number;
}

/** Inverted dropout while training (kept inputs scaled by 1/(1-rate)); identity at inference. */
export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  constructor(args: DropoutArgs) {
    super(args ?? {}, 'Dropout');
    if (!args || typeof args !== 'object') throw new TypeError('dropout: expected an options object with a rate');
    this.rate = checkNumber(args.rate, `dropout(${this.name})`, 'rate', 0, 0.999999);
  }
  computeOutputShape(s: number[]): number[] { return s.slice(); }
  toSpec(): LayerSpec {
    return { kind: LayerKind.Dropout, in: hwc(this.inputShape!), out: hwc(this.outputShape!), rate: this.rate };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate, noiseShape: null, seed: null };
  }
}

export interface ActivationArgs extends LayerArgs {
  activation: ActivationIdentifier;
}

export class Activation extends Layer {
  readonly className: string = 'Activation';
  readonly activation: Act;
  readonly alpha: number;
  constructor(args: ActivationArgs, className = 'Activation', alpha?: number) {
    super(args ?? {}, className);
    if (!args || typeof args !== 'object') throw new TypeError('activation: expected an options object');
    this.activation = resolveActivation(args.activation, `activation(${this.name})`);
    this.alpha = alpha ?? defaultAlpha(this.activation);
  }
  computeOutputShape(s: number[]): number[] { return s.slice(); }
  toSpec(): LayerSpec {
    return { kind: LayerKind.Activation, in: hwc(this.inputShape!), out: hwc(this.outputShape!), act: this.activation, alpha: this.alpha };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: ACT_NAMES[this.activation] };
  }
}

export interface ReLUArgs extends LayerArgs {
  /** Only undefined / null, or 6 (relu6), are supported. */
  maxValue?: number | null;
}

export class ReLU extends Activation {
  override readonly className = 'ReLU';
  readonly maxValue: number | null;
  constructor(args: ReLUArgs = {}) {
    const mv = args.maxValue ?? null;
    if (mv !== null && mv !== 6) throw new Error(`reLU: maxValue must be undefined or 6, received ${mv}`);
    super({ ...args, activation: mv === 6 ? 'relu6' : 'relu' }, 'ReLU');
    this.maxValue = mv;
  }
  override getConfig(): Record<string, unknown> {
    const c = super.getConfig();
    delete c.activation;
    return { ...c, maxValue: this.maxValue };
  }
}

export interface InputLayerArgs {
  inputShape?: number[];
  batchShape?: (number | null)[];
  batchInputShape?: (number | null)[];
  batchSize?: number;
  name?: string;
  dtype?: 'float32';
}

/** Declares the model's per-sample input shape; does nothing at run time. */
export class InputLayer extends Layer {
  readonly className = 'InputLayer';
  constructor(args: InputLayerArgs) {
    if (!args || (!args.inputShape && !args.batchShape && !args.batchInputShape)) {
      throw new Error('inputLayer: inputShape (or batchInputShape) is required');
    }
    super({ name: args.name, inputShape: args.inputShape, batchInputShape: args.batchInputShape ?? args.batchShape, batchSize: args.batchSize }, 'InputLayer');
  }
  computeOutputShape(s: number[]): number[] {
    if (this.declaredInputShape && shapeStr(s) !== shapeStr(this.declaredInputShape)) {
      throw new Error(`inputLayer(${this.name}): input shape ${shapeStr(s)} differs from declared ${shapeStr(this.declaredInputShape)}`);
    }
    return s.slice();
  }
  toSpec(): null { return null; }
  override getConfig(): Record<string, unknown> {
    return { batchInputShape: [this.declaredBatchSize ?? null, ...this.declaredInputShape!], dtype: 'float32', sparse: false, name: this.name };
  }
}
