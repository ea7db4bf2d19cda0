/** Conv2D: NHWC input, HWIO kernel [kh, kw, inChannels, filters], im2col + GEMM in the engine. */
import { LayerKind, Padding } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { ACT_NAMES, ActivationIdentifier, defaultAlpha, resolveActivation } from '../activations';
import { getInitializer, Initializer, InitializerIdentifier } from '../initializers';
import { checkPositiveInt, pair, shapeStr } from '../../util';
import { Layer, LayerArgs, WeightSpec } from './base';
import { convOutSize, resolvePadding, PaddingMode } from './shapes';

export interface Conv2DArgs extends LayerArgs {
  /** Number of output channels. */
  filters: number;
  /** Window size: n or [kh, kw]. */
  kernelSize: number | [number, number];
  /** Default 1. */
  strides?: number | [number, number];
  /** 'valid' (default) or 'same' (TF's rule: the extra padding pixel goes at the end). */
  padding?: PaddingMode;
  /** Only 'channelsLast' is supported. */
  dataFormat?: 'channelsLast';
  /** Default 1; strides must be 1 when dilation is above 1 (as TF). */
  dilationRate?: number | [number, number];
  /** Fused into the convolution's output loop. Default 'linear'. */
  activation?: ActivationIdentifier;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerIdentifier | Initializer;
  /** Default 'zeros'. */
  biasInitializer?: InitializerIdentifier | Initializer;
}

export class Conv2D extends Layer {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: PaddingMode;
  readonly dilationRate: [number, number];
  readonly activation: ReturnType<typeof resolveActivation>;
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;

  constructor(args: Conv2DArgs) {
    super(args, 'Conv2D');
    const fn = `conv2d(${this.name})`;
    if (!args || typeof args !== 'object') throw new TypeError('conv2d: expected an options object');
    this.filters = checkPositiveInt(args.filters, fn, 'filters');
    this.kernelSize = pair(args.kernelSize, fn, 'kernelSize');
    this.strides = pair(args.strides ?? 1, fn, 'strides');
    this.padding = resolvePadding(args.padding, fn);
    this.dilationRate = pair(args.dilationRate ?? 1, fn, 'dilationRate');
    if ((this.dilationRate[0] > 1 || this.dilationRate[1] > 1) && (this.strides[0] > 1 || this.strides[1] > 1)) {
      throw new Error(`${fn}: strides must be 1 when dilationRate is above 1 (as in TF)`);
    }
    if (args.dataFormat !== undefined && args.dataFormat !== 'channelsLast') {
      throw new Error(`${fn}: only dataFormat 'channelsLast' is supported, received ${JSON.stringify(args.dataFormat)}`);
    }
    this.activation = resolveActivation(args.activation, fn);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = getInitializer(args.kernelInitializer, 'glorotuniform', `${fn}: kernelInitializer`);
    this.biasInitializer = getInitializer(args.biasInitializer, 'zeros', `${fn}: biasInitializer`);
  }

  computeOutputShape(s: number[]): number[] {
    if (s.length !== 3) {
      throw new Error(`conv2d(${this.name}): expects input of shape [height, width, channels] per sample, received ${shapeStr(s)}`);
    }
    const oh = convOutSize(s[0], this.kernelSize[0], this.strides[0], this.dilationRate[0], this.padding);
    const ow = convOutSize(s[1], this.kernelSize[1], this.strides[1], this.dilationRate[1], this.padding);
    if (oh < 1 || ow < 1) {
      throw new Error(
        `conv2d(${this.name}): kernel ${this.kernelSize.join('x')} (dilation ${this.dilationRate.join('x')}) ` +
          `is larger than the input ${s[0]}x${s[1]} with padding '${this.padding}'`,
      );
    }
    return [oh, ow, this.filters];
  }

  protected override declareWeights(s: number[]): WeightSpec[] {
    const w: WeightSpec[] = [
      { name: 'kernel', shape: [this.kernelSize[0], this.kernelSize[1], s[2], this.filters], init: this.kernelInitializer, trainable: this.trainable },
    ];
    if (this.useBias) w.push({ name: 'bias', shape: [this.filters], init: this.biasInitializer, trainable: this.trainable });
    return w;
  }

  toSpec(off: number[]): LayerSpec {
    const s = this.inputShape!;
    const o = this.outputShape!;
    return {
      kind: LayerKind.Conv2D, in: [s[0], s[1], s[2]], out: [o[0], o[1], o[2]],
      kh: this.kernelSize[0], kw: this.kernelSize[1], sh: this.strides[0], sw: this.strides[1],
      dh: this.dilationRate[0], dw: this.dilationRate[1],
      padding: this.padding === 'same' ? Padding.Same : Padding.Valid, filters: this.filters,
      act: this.activation, alpha: defaultAlpha(this.activation),
      kernel: off[0], bias: this.useBias ? off[1] : -1,
      ...this.dtypeSpec(),
    };
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, strides: this.strides,
      padding: this.padding, dataFormat: 'channelsLast', dilationRate: this.dilationRate,
      activation: ACT_NAMES[this.activation], useBias: this.useBias,
      kernelInitializer: { className: this.kernelInitializer.className, config: this.kernelInitializer.getConfig() },
      biasInitializer: { className: this.biasInitializer.className, config: this.biasInitializer.getConfig() },
      kernelRegularizer: null, biasRegularizer: null, activityRegularizer: null, kernelConstraint: null, biasConstraint: null,
      ...this.unapplied,
    };
  }
}
