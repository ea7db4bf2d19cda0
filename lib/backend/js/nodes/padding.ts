/** The padding family's node kinds (twin of native/engine/nodes/padding.cc): ZeroPadding2D, Cropping2D, UpSampling2D. */
import { LayerKind } from '../../types';
import { pad2dBackward, pad2dForward } from '../padding';
import { Interp, upsample2dBackward, upsample2dForward } from '../upsampling';
import { NodeCall, NodeKind, NodeShape } from './node_kind';

const INT_MAX = 2147483647;

export const zeroPadding2dNode: NodeKind = {
  kind: LayerKind.ZeroPadding2D,
  name: 'ZeroPadding2D',
  inputs: 1,
  shape(s): NodeShape {
    const p = s.pad;
    if (p.some((v) => v < 0)) return { out: [0, 0, 0], params: [], error: 'pad must be 4 non-negative sizes (top, bottom, left, right)' };
    const oh = s.in[0] + p[0] + p[1], ow = s.in[1] + p[2] + p[3];
    if (oh * ow * s.in[2] > INT_MAX) return { out: [0, 0, 0], params: [], error: 'per-sample size too large' };
    return { out: [oh, ow, s.in[2]], params: [] };
  },
  backReadsInputs: false,
  backReadsOutput: false,
  forward(c: NodeCall): void {
    const s = c.s, p = s.pad;
    pad2dForward(c.out, c.in[0], c.n, s.in[0], s.in[1], s.in[2], p[0], p[1], p[2], p[3]);
  },
  backward(c: NodeCall): void {
    const s = c.s, p = s.pad;
    const dx = c.din[0];
    if (dx && c.dout) pad2dBackward(dx, c.dout, c.n, s.in[0], s.in[1], s.in[2], p[0], p[1], p[2], p[3]);
  },
};

export const cropping2dNode: NodeKind = {
  kind: LayerKind.Cropping2D,
  name: 'Cropping2D',
  inputs: 1,
  shape(s): NodeShape {
    const p = s.crop;
    if (p.some((v) => v < 0)) return { out: [0, 0, 0], params: [], error: 'crop must be 4 non-negative sizes (top, bottom, left, right)' };
    const oh = s.in[0] - p[0] - p[1], ow = s.in[1] - p[2] - p[3];
    if (oh < 1 || ow < 1) return { out: [0, 0, 0], params: [], error: `crop removes the whole input ${s.in[0]}x${s.in[1]}` };
    return { out: [oh, ow, s.in[2]], params: [] };
  },
  backReadsInputs: false,
  backReadsOutput: false,
  forward(c: NodeCall): void {
    const s = c.s, p = s.crop;
    pad2dBackward(c.out, c.in[0], c.n, s.out[0], s.out[1], s.in[2], p[0], p[1], p[2], p[3]);
  },
  backward(c: NodeCall): void {
    const s = c.s, p = s.crop, dx = c.din[0];
    if (dx && c.dout) pad2dForward(dx, c.dout, c.n, s.out[0], s.out[1], s.in[2], p[0], p[1], p[2], p[3]);
  },
};

export const upsampling2dNode: NodeKind = {
  kind: LayerKind.UpSampling2D,
  name: 'UpSampling2D',
  inputs: 1,
  shape(s): NodeShape {
    if (s.size[0] < 1 || s.size[1] < 1) return { out: [0, 0, 0], params: [], error: 'size must be 2 positive factors' };
    const oh = s.in[0] * s.size[0], ow = s.in[1] * s.size[1];
    if (oh * ow * s.in[2] > INT_MAX) return { out: [0, 0, 0], params: [], error: 'per-sample size too large' };
    return { out: [oh, ow, s.in[2]], params: [] };
  },
  backReadsInputs: false,
  backReadsOutput: false,
  forward(c: NodeCall): void {
    const s = c.s;
    upsample2dForward(c.out, c.in[0], c.n, s.in[0], s.in[1], s.in[2], s.size[0], s.size[1], s.interpolation as Interp);
  },
  backward(c: NodeCall): void {
    const s = c.s, dx = c.din[0];
    if (dx && c.dout) upsample2dBackward(dx, c.dout, c.n, s.in[0], s.in[1], s.in[2], s.size[0], s.size[1], s.interpolation as Interp);
  },
};
