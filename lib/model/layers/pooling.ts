/** MaxPooling2D / AveragePooling2D (NHWC) and the global pools. */
import { LayerKind, Padding } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { pair, shapeStr } from '../../util';
import { Layer, LayerArgs } from './base';
import { convOutSize, PaddingMode, resolvePadding } from './shapes';

export interface Pooling2DArgs extends LayerArgs {
  /** Window: n or [ph, pw]. Default 2. */
  poolSize?: number | [number, number];
  /** Default: the pool size. */
  strides?: number | [number, number];
  /** 'valid' (default) or 'same'. Padded pixels never win a max and never count in an average. */
  padding?: PaddingMode;
  dataFormat?: 'channelsLast';
}

abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: PaddingMode;
  protected abstract readonly kind: LayerKind;

  constructor(args: Pooling2DArgs = {}, className: string, fnName: string) {
    super(args, className);
    const fn = `${fnName}(${this.name})`;
    this.poolSize = pair(args.poolSize ?? 2, fn, 'poolSize');
    this.strides = pair(args.strides ?? this.poolSize, fn, 'strides');
    this.padding = resolvePadding(args.padding, fn);
    if (args.dataFormat !== undefined && args.dataFormat !== 'channelsLast') {
      throw new Error(`${fn}: only dataFormat 'channelsLast' is supported`);
    }
  }

  computeOutputShape(s: number[]): number[] {
    if (s.length !== 3) throw new Error(`${this.className}(${this.name}): expects [height, width, channels] per sample, received ${shapeStr(s)}`);
    const oh = convOutSize(s[0], this.poolSize[0], this.strides[0], 1, this.padding);
    const ow = convOutSize(s[1], this.poolSize[1], this.strides[1], 1, this.padding);
    if (oh < 1 || ow < 1) {
      throw new Error(`${this.className}(${this.name}): pool ${this.poolSize.join('x')} is larger than the input ${s[0]}x${s[1]}`);
    }
    return [oh, ow, s[2]];
  }

  toSpec(): LayerSpec {
    const s = this.inputShape!;
    const o = this.outputShape!;
    return {
      kind: this.kind, in: [s[0], s[1], s[2]], out: [o[0], o[1], o[2]],
      kh: this.poolSize[0], kw: this.poolSize[1], sh: this.strides[0], sw: this.strides[1],
      padding: this.padding === 'same' ? Padding.Same : Padding.Valid,
    };
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), poolSize: this.poolSize, padding: this.padding, strides: this.strides, dataFormat: 'channelsLast' };
  }
}

export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';
  protected readonly kind = LayerKind.MaxPool2D;
  constructor(args: Pooling2DArgs = {}) { super(args, 'MaxPooling2D', 'maxPooling2d'); }
}

export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';
  protected readonly kind = LayerKind.AvgPool2D;
  constructor(args: Pooling2DArgs = {}) { super(args, 'AveragePooling2D', 'averagePooling2d'); }
}

abstract class GlobalPooling2D extends Layer {
  protected abstract readonly kind: LayerKind;
  computeOutputShape(s: number[]): number[] {
    if (s.length !== 3) throw new Error(`${this.className}(${this.name}): expects [height, width, channels] per sample, received ${shapeStr(s)}`);
    return [s[2]];
  }
  toSpec(): LayerSpec {
    const s = this.inputShape!;
    return { kind: this.kind, in: [s[0], s[1], s[2]], out: [1, 1, s[2]] };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dataFormat: 'channelsLast' };
  }
}

export class GlobalAveragePooling2D extends GlobalPooling2D {
  readonly className = 'GlobalAveragePooling2D';
  protected readonly kind = LayerKind.GlobalAvgPool2D;
  constructor(args: LayerArgs = {}) { super(args, 'GlobalAveragePooling2D'); }
}

export class GlobalMaxPooling2D extends GlobalPooling2D {
  readonly className = 'GlobalMaxPooling2D';
  protected readonly kind = LayerKind.GlobalMaxPool2D;
  constructor(args: LayerArgs = {}) { super(args, 'GlobalMaxPooling2D'); }
}
