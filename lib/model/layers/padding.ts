/**
 * The padding family: ZeroPadding2D (registry kind LayerKind.ZeroPadding2D; engine:
 * native/engine/nodes/padding.cc, lib/backend/js/nodes/padding.ts). Class, Keras config and ONNX.
 */
import { LayerKind } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { shapeStr } from '../../util';
import { hwc, Layer, LayerArgs } from './base';
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

/** The family's TF.js factories (spread into the `layers` namespace). */
export const paddingFactories = {
  zeroPadding2d: (args: ZeroPadding2DArgs = {}) => new ZeroPadding2D(args),
};

export const paddingFamily: LayerFamily = {
  readers: {
    ZeroPadding2D: (c, ctx, h) => {
      h.channelsLast(c, ctx);
      const [pt, pb, pl, pr] = readPads(c.padding ?? 1, ctx.where, 'padding');
      return new ZeroPadding2D({ ...h.baseArgs(c, ctx), padding: [[pt, pb], [pl, pr]] });
    },
  },
  factories: paddingFactories,
};
