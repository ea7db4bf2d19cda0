/** The padding family's node kinds (twin of native/engine/nodes/padding.cc): ZeroPadding2D. */
import { LayerKind } from '../../types';
import { pad2dBackward, pad2dForward } from '../padding';
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
