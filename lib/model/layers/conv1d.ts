/**
 * The 1-D family: Conv1D, MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D,
 * GlobalMaxPooling1D as TF.js (per-sample input [steps, channels]). They run on the classic 2-D
 * kinds with H = 1 (per sample (1, steps, C)); a Conv1D kernel [k, in, out] has the memory layout
 * of the HWIO kernel [1, k, in, out], so weights load and save unchanged. Classes, configs, ONNX.
 */
import { LayerKind, Padding } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { ACT_NAMES, ActivationIdentifier, defaultAlpha, resolveActivation } from '../activations';
import { getInitializer, Initializer, InitializerIdentifier } from '../initializers';
import { checkPositiveInt, shapeStr } from '../../util';
import { attr } from '../../onnx/graph';
import { hwc, Layer, LayerArgs, WeightSpec } from './base';
import type { LayerFamily, OnnxEmitter } from './registry';
import { convOutSize, PaddingMode, resolvePadding } from './shapes';

/** n or [n] -> n, a positive integer. */
function single(v: unknown, fn: string, option: string): number {
  const x = Array.isArray(v) && v.length === 1 ? v[0] : v;
  return checkPositiveInt(x, fn, option);
}

function checkChannelsLast(fn: string, f: unknown): void {
  if (f !== undefined && f !== 'channelsLast') throw new Error(`${fn}: dataFormat '${String(f)}' is not supported (only 'channelsLast')`);
}

function steps(name: string, cls: string, s: number[]): void {
  if (s.length !== 2) throw new Error(`${cls}(${name}): expects [steps, channels] per sample, received ${shapeStr(s)}`);
}

/** [N, steps, C] <-> [N, C, steps] around a 1-D ONNX op. */
function ncl(ex: OnnxEmitter, base: string, op: (x: string) => string, shape: number[]): void {
  const g = ex.g;
  const x = g.node('Transpose', [ex.cur.name], [attr.ints('perm', [0, 2, 1])], `${base}/to_ncl`);
  const y = g.node('Transpose', [op(x)], [attr.ints('perm', [0, 2, 1])], base);
  ex.cur = { name: y, layout: 'nhwc', shape };
}

/** TF 'same' pads of one axis: the extra pixel at the end. */
function samePads(inSize: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(inSize / s);
  const total = Math.max(0, (out - 1) * s + (k - 1) * d + 1 - inSize);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export interface Conv1DArgs extends LayerArgs {
  filters: number;
  /** n or [n]. */
  kernelSize: number | [number];
  strides?: number | [number];
  padding?: PaddingMode;
  dataFormat?: 'channelsLast';
  dilationRate?: number | [number];
  activation?: ActivationIdentifier;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier | Initializer;
  biasInitializer?: InitializerIdentifier | Initializer;
}

export class Conv1D extends Layer {
  readonly className = 'Conv1D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: PaddingMode;
  readonly dilationRate: number;
  readonly activation: ReturnType<typeof resolveActivation>;
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;

  constructor(args: Conv1DArgs) {
    super(args ?? {}, 'Conv1D');
    const fn = `conv1d(${this.name})`;
    if (!args || typeof args !== 'object') throw new TypeError('conv1d: expected an options object');
    this.filters = checkPositiveInt(args.filters, fn, 'filters');
    this.kernelSize = single(args.kernelSize, fn, 'kernelSize');
    this.strides = single(args.strides ?? 1, fn, 'strides');
    this.padding = resolvePadding(args.padding, fn);
    if ((args.padding as string) === 'causal') throw new Error(`${fn}: padding 'causal' is not supported`);
    this.dilationRate = single(args.dilationRate ?? 1, fn, 'dilationRate');
    if (this.dilationRate > 1 && this.strides > 1) throw new Error(`${fn}: strides must be 1 when dilationRate is above 1 (as in TF)`);
    checkChannelsLast(fn, args.dataFormat);
    this.activation = resolveActivation(args.activation, fn);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = getInitializer(args.kernelInitializer, 'glorotuniform', `${fn}: kernelInitializer`);
    this.biasInitializer = getInitializer(args.biasInitializer, 'zeros', `${fn}: biasInitializer`);
  }

  computeOutputShape(s: number[]): number[] {
    steps(this.name, 'conv1d', s);
    const o = convOutSize(s[0], this.kernelSize, this.strides, this.dilationRate, this.padding);
    if (o < 1) throw new Error(`conv1d(${this.name}): kernel ${this.kernelSize} (dilation ${this.dilationRate}) is larger than the input ${s[0]} with padding '${this.padding}'`);
    return [o, this.filters];
  }

  protected override declareWeights(s: number[]): WeightSpec[] {
    const w: WeightSpec[] = [
      { name: 'kernel', shape: [this.kernelSize, s[1], this.filters], init: this.kernelInitializer, trainable: this.trainable },
    ];
    if (this.useBias) w.push({ name: 'bias', shape: [this.filters], init: this.biasInitializer, trainable: this.trainable });
    return w;
  }

  toSpec(off: number[]): LayerSpec {
    return {
      kind: LayerKind.Conv2D, in: hwc(this.inputShape!), out: hwc(this.outputShape!),
      kh: 1, kw: this.kernelSize, sh: 1, sw: this.strides, dh: 1, dw: this.dilationRate,
      padding: this.padding === 'same' ? Padding.Same : Padding.Valid, filters: this.filters,
      act: this.activation, alpha: defaultAlpha(this.activation),
      kernel: off[0], bias: this.useBias ? off[1] : -1,
      ...this.dtypeSpec(),
    };
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), filters: this.filters, kernelSize: [this.kernelSize], strides: [this.strides],
      padding: this.padding, dataFormat: 'channelsLast', dilationRate: [this.dilationRate],
      activation: ACT_NAMES[this.activation], useBias: this.useBias,
      kernelInitializer: { className: this.kernelInitializer.className, config: this.kernelInitializer.getConfig() },
      biasInitializer: { className: this.biasInitializer.className, config: this.biasInitializer.getConfig() },
      kernelRegularizer: null, biasRegularizer: null, activityRegularizer: null, kernelConstraint: null, biasConstraint: null,
    };
  }

  /** Conv (1-D, NCL; kernel [k, in, out] -> [out, in, k]) between two Transposes, then the activation. */
  toOnnx(ex: OnnxEmitter): void {
    ex.toNhwc(this.name);
    const k = this.kernelSize, ci = this.inputShape![1], co = this.filters;
    const w = this.weightViews[0], oik = new Float32Array(w.length);
    for (let t = 0; t < k; t++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) oik[(o * ci + i) * k + t] = w[(t * ci + i) * co + o];
    const g = ex.g;
    const wName = g.floats(`${this.name}/kernel`, [co, ci, k], oik);
    const bName = this.useBias ? g.floats(`${this.name}/bias`, [co], this.weightViews[1]) : undefined;
    const pads = this.padding === 'same' ? samePads(this.inputShape![0], k, this.strides, this.dilationRate) : [0, 0];
    ncl(ex, this.name, (x) => g.node('Conv', bName ? [x, wName, bName] : [x, wName], [
      attr.ints('kernel_shape', [k]), attr.ints('strides', [this.strides]), attr.ints('dilations', [this.dilationRate]),
      attr.ints('pads', pads), attr.int('group', 1),
    ], `${this.name}/conv`), this.outputShape!);
    if (this.activation !== 0) (ex as unknown as { activation(a: number, alpha: number, base: string): void })
      .activation(this.activation, defaultAlpha(this.activation), `${this.name}/${ACT_NAMES[this.activation]}`);
  }
}

export interface Pooling1DArgs extends LayerArgs {
  /** n or [n]. Default 2. */
  poolSize?: number | [number];
  /** Default: the pool size. */
  strides?: number | [number];
  padding?: PaddingMode;
  dataFormat?: 'channelsLast';
}

abstract class Pooling1D extends Layer {
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: PaddingMode;
  protected abstract readonly kind: LayerKind;
  protected abstract readonly onnxOp: string;

  constructor(args: Pooling1DArgs, className: string, fnName: string) {
    super(args, className);
    const fn = `${fnName}(${this.name})`;
    this.poolSize = single(args.poolSize ?? 2, fn, 'poolSize');
    this.strides = single(args.strides ?? this.poolSize, fn, 'strides');
    this.padding = resolvePadding(args.padding, fn);
    checkChannelsLast(fn, args.dataFormat);
  }
  computeOutputShape(s: number[]): number[] {
    steps(this.name, this.className, s);
    const o = convOutSize(s[0], this.poolSize, this.strides, 1, this.padding);
    if (o < 1) throw new Error(`${this.className}(${this.name}): pool ${this.poolSize} is larger than the input ${s[0]}`);
    return [o, s[1]];
  }
  toSpec(): LayerSpec {
    return {
      kind: this.kind, in: hwc(this.inputShape!), out: hwc(this.outputShape!), kh: 1, kw: this.poolSize, sh: 1, sw: this.strides,
      padding: this.padding === 'same' ? Padding.Same : Padding.Valid,
    };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), poolSize: [this.poolSize], padding: this.padding, strides: [this.strides], dataFormat: 'channelsLast' };
  }
  toOnnx(ex: OnnxEmitter): void {
    ex.toNhwc(this.name);
    const pads = this.padding === 'same' ? samePads(this.inputShape![0], this.poolSize, this.strides, 1) : [0, 0];
    const attrs = [attr.ints('kernel_shape', [this.poolSize]), attr.ints('strides', [this.strides]), attr.ints('pads', pads)];
    if (this.onnxOp === 'AveragePool') attrs.push(attr.int('count_include_pad', 0));
    ncl(ex, this.name, (x) => ex.g.node(this.onnxOp, [x], attrs, `${this.name}/pool`), this.outputShape!);
  }
}

export class MaxPooling1D extends Pooling1D {
  readonly className = 'MaxPooling1D';
  protected readonly kind = LayerKind.MaxPool2D;
  protected readonly onnxOp = 'MaxPool';
  constructor(args: Pooling1DArgs = {}) { super(args, 'MaxPooling1D', 'maxPooling1d'); }
}

export class AveragePooling1D extends Pooling1D {
  readonly className = 'AveragePooling1D';
  protected readonly kind = LayerKind.AvgPool2D;
  protected readonly onnxOp = 'AveragePool';
  constructor(args: Pooling1DArgs = {}) { super(args, 'AveragePooling1D', 'averagePooling1d'); }
}

abstract class GlobalPooling1D extends Layer {
  protected abstract readonly kind: LayerKind;
  protected abstract readonly onnxOp: string;
  computeOutputShape(s: number[]): number[] {
    steps(this.name, this.className, s);
    return [s[1]];
  }
  toSpec(): LayerSpec {
    return { kind: this.kind, in: hwc(this.inputShape!), out: [1, 1, this.inputShape![1]] };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dataFormat: 'channelsLast' };
  }
  toOnnx(ex: OnnxEmitter): void {
    ex.toNhwc(this.name);
    const op = this.onnxOp === 'GlobalAveragePool' ? 'ReduceMean' : 'ReduceMax';
    const y = ex.g.node(op, [ex.cur.name], [attr.ints('axes', [1]), attr.int('keepdims', 0)], this.name);
    ex.cur = { name: y, layout: 'nhwc', shape: this.outputShape! };
  }
}

export class GlobalAveragePooling1D extends GlobalPooling1D {
  readonly className = 'GlobalAveragePooling1D';
  protected readonly kind = LayerKind.GlobalAvgPool2D;
  protected readonly onnxOp = 'GlobalAveragePool';
  constructor(args: LayerArgs = {}) { super(args, 'GlobalAveragePooling1D'); }
}

export class GlobalMaxPooling1D extends GlobalPooling1D {
  readonly className = 'GlobalMaxPooling1D';
  protected readonly kind = LayerKind.GlobalMaxPool2D;
  protected readonly onnxOp = 'GlobalMaxPool';
  constructor(args: LayerArgs = {}) { super(args, 'GlobalMaxPooling1D'); }
}

/** The family's TF.js factories (spread into the `layers` namespace). */
export const oneDFactories = {
  conv1d: (args: Conv1DArgs) => new Conv1D(args),
  maxPooling1d: (args: Pooling1DArgs = {}) => new MaxPooling1D(args),
  maxPool1d: (args: Pooling1DArgs = {}) => new MaxPooling1D(args),
  averagePooling1d: (args: Pooling1DArgs = {}) => new AveragePooling1D(args),
  avgPool1d: (args: Pooling1DArgs = {}) => new AveragePooling1D(args),
  globalAveragePooling1d: (args: LayerArgs = {}) => new GlobalAveragePooling1D(args),
  globalMaxPooling1d: (args: LayerArgs = {}) => new GlobalMaxPooling1D(args),
};

type Cfg = Record<string, unknown>;

export const oneDFamily: LayerFamily = {
  readers: {
    Conv1D: (c: Cfg, ctx, h) => {
      h.channelsLast(c, ctx);
      if (c.groups !== undefined && c.groups !== null && c.groups !== 1) h.fail(ctx, `groups ${h.shown(c.groups)} is not supported (only 1)`);
      if (c.padding === 'causal') h.fail(ctx, "padding 'causal' is not supported");
      const act = c.activation;
      const actName = isObj(act) ? (act.className ?? act.class_name) : act;
      return new Conv1D({
        ...h.baseArgs(c, ctx), filters: c.filters as number, kernelSize: c.kernelSize as number, strides: c.strides as number,
        padding: c.padding as PaddingMode, dilationRate: c.dilationRate as number, activation: actName as never,
        useBias: c.useBias as boolean, kernelInitializer: h.initializer(c.kernelInitializer, 'glorotuniform'),
        biasInitializer: h.initializer(c.biasInitializer, 'zeros'),
      });
    },
    MaxPooling1D: (c, ctx, h) => { h.channelsLast(c, ctx); return new MaxPooling1D({ ...h.baseArgs(c, ctx), ...pool(c) }); },
    AveragePooling1D: (c, ctx, h) => { h.channelsLast(c, ctx); return new AveragePooling1D({ ...h.baseArgs(c, ctx), ...pool(c) }); },
    GlobalAveragePooling1D: (c, ctx, h) => {
      h.channelsLast(c, ctx);
      if (c.keepdims === true) h.fail(ctx, 'keepdims is not supported');
      return new GlobalAveragePooling1D(h.baseArgs(c, ctx));
    },
    GlobalMaxPooling1D: (c, ctx, h) => {
      h.channelsLast(c, ctx);
      if (c.keepdims === true) h.fail(ctx, 'keepdims is not supported');
      return new GlobalMaxPooling1D(h.baseArgs(c, ctx));
    },
  },
  aliases: {
    Convolution1D: 'Conv1D', MaxPool1D: 'MaxPooling1D', AvgPool1D: 'AveragePooling1D',
    GlobalAvgPool1D: 'GlobalAveragePooling1D', GlobalMaxPool1D: 'GlobalMaxPooling1D',
  },
  factories: oneDFactories,
};

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pool(c: Cfg): Pooling1DArgs {
  return {
    poolSize: (c.poolSize ?? c.poolLength ?? undefined) as number, strides: (c.strides ?? undefined) as number,
    padding: (c.padding ?? undefined) as PaddingMode,
  };
}
