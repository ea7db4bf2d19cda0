/** The registration list of node kinds (node_kind.ts): one line per kind. */
import { LayerKind } from '../../types';
import { NodeKind } from './node_kind';
import { cropping2dNode, upsampling2dNode, zeroPadding2dNode } from './padding';
import { preluNode } from './prelu';

const ALL: NodeKind[] = [
  zeroPadding2dNode,
  cropping2dNode,
  upsampling2dNode,
  preluNode,
];

const BY_KIND = new Map<LayerKind, NodeKind>(ALL.map((k) => [k.kind, k]));

/** The descriptor of a registry kind; undefined for the classic kinds 0..18 and unknown numbers. */
export function nodeKind(k: LayerKind): NodeKind | undefined {
  return BY_KIND.get(k);
}
