/** PReLU (LayerKind 25), twin of native/engine/nodes/prelu.cc: `kernel` = alpha's offset, `shared` = shared axes. */
import { LayerKind } from '../../types';
import type { LayerInfo } from '../network_spec';
import { preluBackward, preluForward } from '../prelu';
import { NodeCall, NodeKind, NodeShape } from './node_kind';

const dims = (s: LayerInfo): [number, number, number] =>
  [s.shared[0] ? 1 : s.in[0], s.shared[1] ? 1 : s.in[1], s.shared[2] ? 1 : s.in[2]];

export const preluNode: NodeKind = {
  kind: LayerKind.PReLU,
  name: 'PReLU',
  inputs: 1,
  shape(s): NodeShape {
    const a = dims(s);
    return { out: [s.in[0], s.in[1], s.in[2]], params: [{ offset: s.kernel, size: a[0] * a[1] * a[2], field: 'kernel', optional: false }] };
  },
  backReadsInputs: true,
  backReadsOutput: false,
  forward(c: NodeCall): void {
    const s = c.s, a = dims(s);
    preluForward(c.out, c.in[0], c.params[0] as Float32Array, c.n, s.in[0], s.in[1], s.in[2], a[0], a[1], a[2]);
  },
  backward(c: NodeCall): void {
    const s = c.s, a = dims(s);
    preluBackward(c.din[0], c.dparams[0] ?? null, c.dout as Float32Array, c.in[0], c.params[0] as Float32Array, c.n,
      s.in[0], s.in[1], s.in[2], a[0], a[1], a[2]);
  },
};
