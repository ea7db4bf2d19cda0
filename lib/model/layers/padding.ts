/**
 * The padding family: ZeroPadding2D, Cropping2D, UpSampling2D (registry kinds; engine:
 * native/engine/nodes/padding.cc, lib/backend/js/nodes/padding.ts). Classes, Keras configs, ONNX.
 */
import { LayerKind } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { shapeStr } from '../../util';
import { hwc, Layer, LayerArgs } from './base';
import { attr } from '../../onnx/graph';
import type { LayerFamily, OnnxEmitter } from './registry';

type Pads4 = [number, number, number, number];

/** int | [h, w] | [[top, bottom], [left, right]] -> [top, bottom, left, right], checked. */
export function readPads(v: unknown, fn: string, option: string): Pads4 {
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  const bad = (): never => {
    throw new Error(`${fn}: ${option} must be a non-negative integer, [height, width] or [[top, bottom], [left, right]], received ${JSON.stringify(v)}`);
  };
  if (ok(v)) return [v, v, v, v];
  if (!Array.isArray(v) || v.length !== 2) return bad();
  if (ok(v[0]) && ok(v[1])) return [v[0], v[0], v[1], v[1]];
  const [a, b] = v as unknown[];
  if (Array.isArray(a) && Array.isArray(b) && a.length === 2 && b.length === 2 && ok(a[0]) && ok(a[1]) && ok(b[0]) && ok(b[1])) {
    return [a[0], a[1], b[0], b[1]];
  }
  return bad();
}

export interface ZeroPadding2DArgs extends LayerArgs {
  /** int (all sides), [h, w] (symmetric), or [[top, bottom], [left, right]]. Default 1. */
  padding?: number | [number, number] | [[number, number], [number, number]];
  /** Only 'channelsLast'. */
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

/** Adds rows and columns of zeros around each image (NHWC). */
export class ZeroPadding2D extends Layer {
  readonly className = 'ZeroPadding2D';
  /** [top, bottom, left, right]. */
  readonly pads: Pads4;
  constructor(args: ZeroPadding2DArgs = {}) {
    super(args, 'ZeroPadding2D');
    const fn = `zeroPadding2d(${this.name})`;
    if (args.dataFormat !== undefined && args.dataFormat !== 'channelsLast') {
      throw new Error(`${fn}: dataFormat '${String(args.dataFormat)}' is not supported (only 'channelsLast')`);
    }
    this.pads = readPads(args.padding ?? 1, fn, 'padding');
  }
  computeOutputShape(s: number[]): number[] {
    if (s.length !== 3) throw new Error(`ZeroPadding2D(${this.name}): expects [height, width, channels] per sample, received ${shapeStr(s)}`);
    const p = this.pads;
    return [s[0] + p[0] + p[1], s[1] + p[2] + p[3], s[2]];
  }
  toSpec(): LayerSpec {
    return { kind: LayerKind.ZeroPadding2D, in: hwc(this.inputShape!), out: hwc(this.outputShape!), pad: [...this.pads] };
  }
  override getConfig(): Record<string, unknown> {
    const p = this.pads;
    return { ...super.getConfig(), padding: [[p[0], p[1]], [p[2], p[3]]], dataFormat: 'channelsLast' };
  }
  /** ONNX Pad (constant 0) on H and W of the running tensor, in whichever layout it is. */
  toOnnx(ex: OnnxEmitter): void {
    const [t, b, l, r] = this.pads;
    const pads = ex.cur.layout === 'nchw' ? [0, 0, t, l, 0, 0, b, r] : [0, t, l, 0, 0, b, r, 0];
    const y = ex.g.node('Pad', [ex.cur.name, ex.g.int64s(`${this.name}/pads`, pads)], [], this.name);
    ex.cur = { ...ex.cur, name: y, shape: this.outputShape! };
  }
}

function checkChannelsLast(fn: string, f: unknown): void {
  if (f !== undefined && f !== 'channelsLast') throw new Error(`${fn}: dataFormat '${String(f)}' is not supported (only 'channelsLast')`);
}

export interface Cropping2DArgs extends LayerArgs {
  /** int (all sides), [h, w] (symmetric), or [[top, bottom], [left, right]]. Default 0. */
  cropping?: number | [number, number] | [[number, number], [number, number]];
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

/** Removes rows and columns at the edges of each image (NHWC). */
export class Cropping2D extends Layer {
  readonly className = 'Cropping2D';
  /** [top, bottom, left, right]. */
  readonly crops: Pads4;
  constructor(args: Cropping2DArgs = {}) {
    super(args, 'Cropping2D');
    const fn = `cropping2D(${this.name})`;
    checkChannelsLast(fn, args.dataFormat);
    this.crops = readPads(args.cropping ?? 0, fn, 'cropping');
  }
  computeOutputShape(s: number[]): number[] {
    if (s.length !== 3) throw new Error(`Cropping2D(${this.name}): expects [height, width, channels] per sample, received ${shapeStr(s)}`);
    const p = this.crops;
    const oh = s[0] - p[0] - p[1], ow = s[1] - p[2] - p[3];
    if (oh < 1 || ow < 1) throw new Error(`Cropping2D(${this.name}): cropping ${JSON.stringify([[p[0], p[1]], [p[2], p[3]]])} removes the whole input ${s[0]}x${s[1]}`);
    return [oh, ow, s[2]];
  }
  toSpec(): LayerSpec {
    return { kind: LayerKind.Cropping2D, in: hwc(this.inputShape!), out: hwc(this.outputShape!), crop: [...this.crops] };
  }
  override getConfig(): Record<string, unknown> {
    const p = this.crops;
    return { ...super.getConfig(), cropping: [[p[0], p[1]], [p[2], p[3]]], dataFormat: 'channelsLast' };
  }
  /** ONNX Slice on H and W of the running tensor. */
  toOnnx(ex: OnnxEmitter): void {
    const [t, b, l, r] = this.crops;
    const [h, w] = this.inputShape!;
    const axes = ex.cur.layout === 'nchw' ? [2, 3] : [1, 2];
    const g = ex.g;
    const y = g.node('Slice', [ex.cur.name, g.int64s(`${this.name}/starts`, [t, l]), g.int64s(`${this.name}/ends`, [h - b, w - r]),
      g.int64s(`${this.name}/axes`, axes)], [], this.name);
    ex.cur = { ...ex.cur, name: y, shape: this.outputShape! };
  }
}

export interface UpSampling2DArgs extends LayerArgs {
  /** Row and column factors: n or [h, w]. Default [2, 2]. */
  size?: number | [number, number];
  /** 'nearest' (default) or 'bilinear' (as TF.js: no half-pixel offset, edges clamped). */
  interpolation?: 'nearest' | 'bilinear';
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

/** Repeats (nearest) or interpolates (bilinear) rows and columns by integer factors (NHWC). */
export class UpSampling2D extends Layer {
  readonly className = 'UpSampling2D';
  readonly size: [number, number];
  readonly interpolation: 'nearest' | 'bilinear';
  constructor(args: UpSampling2DArgs = {}) {
    super(args, 'UpSampling2D');
    const fn = `upSampling2d(${this.name})`;
    checkChannelsLast(fn, args.dataFormat);
    const v = args.size ?? [2, 2];
    const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1;
    if (ok(v)) this.size = [v, v];
    else if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) this.size = [v[0], v[1]];
    else throw new Error(`${fn}: size must be a positive integer or [height, width] of positive integers, received ${JSON.stringify(v)}`);
    const i = args.interpolation ?? 'nearest';
    if (i !== 'nearest' && i !== 'bilinear') throw new Error(`${fn}: interpolation must be 'nearest' or 'bilinear', received ${JSON.stringify(i)}`);
    this.interpolation = i;
  }
  computeOutputShape(s: number[]): number[] {
    if (s.length !== 3) throw new Error(`UpSampling2D(${this.name}): expects [height, width, channels] per sample, received ${shapeStr(s)}`);
    return [s[0] * this.size[0], s[1] * this.size[1], s[2]];
  }
  toSpec(): LayerSpec {
    return {
      kind: LayerKind.UpSampling2D, in: hwc(this.inputShape!), out: hwc(this.outputShape!), size: [...this.size],
      interpolation: this.interpolation === 'bilinear' ? 1 : 0,
    };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), size: [...this.size], dataFormat: 'channelsLast', interpolation: this.interpolation };
  }
  /** ONNX Resize (asymmetric coordinates: src = dst / factor; nearest floors) in NCHW. */
  toOnnx(ex: OnnxEmitter): void {
    ex.toNchw(this.name);
    const g = ex.g;
    const scales = g.floats(`${this.name}/scales`, [4], new Float32Array([1, 1, this.size[0], this.size[1]]));
    const roi = g.floats(`${this.name}/roi`, [0], new Float32Array(0));
    const attrs = [
      attr.string('mode', this.interpolation === 'bilinear' ? 'linear' : 'nearest'),
      attr.string('coordinate_transformation_mode', 'asymmetric'),
      attr.string('nearest_mode', 'floor'),
    ];
    const y = g.node('Resize', [ex.cur.name, roi, scales], attrs, this.name);
    ex.cur = { ...ex.cur, name: y, shape: this.outputShape! };
  }
}

/** The family's TF.js factories (spread into the `layers` namespace). */
export const paddingFactories = {
  zeroPadding2d: (args: ZeroPadding2DArgs = {}) => new ZeroPadding2D(args),
  cropping2D: (args: Cropping2DArgs = {}) => new Cropping2D(args),
  upSampling2d: (args: UpSampling2DArgs = {}) => new UpSampling2D(args),
};

export const paddingFamily: LayerFamily = {
  readers: {
    ZeroPadding2D: (c, ctx, h) => {
      h.channelsLast(c, ctx);
      const [pt, pb, pl, pr] = readPads(c.padding ?? 1, ctx.where, 'padding');
      return new ZeroPadding2D({ ...h.baseArgs(c, ctx), padding: [[pt, pb], [pl, pr]] });
    },
    Cropping2D: (c, ctx, h) => {
      h.channelsLast(c, ctx);
      const [pt, pb, pl, pr] = readPads(c.cropping ?? 0, ctx.where, 'cropping');
      return new Cropping2D({ ...h.baseArgs(c, ctx), cropping: [[pt, pb], [pl, pr]] });
    },
    UpSampling2D: (c, ctx, h) => {
      h.channelsLast(c, ctx);
      const i = c.interpolation ?? 'nearest';
      if (i !== 'nearest' && i !== 'bilinear') h.fail(ctx, `interpolation ${h.shown(i)} is not supported (nearest or bilinear)`);
      return new UpSampling2D({ ...h.baseArgs(c, ctx), size: c.size as [number, number], interpolation: i as 'nearest' | 'bilinear' });
    },
  },
  factories: paddingFactories,
};
