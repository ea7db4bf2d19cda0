/**
 * The node-kind registry, TS twin of native/engine/nodes/node_kind.h (read its header for the
 * design, the reserved LayerKind numbers and "how to add a layer kind"). Every kind from LayerKind
 * 19 on is one NodeKind descriptor here and one in C++, with the same shape rule, messages and
 * semantics; network_spec.ts (validation) and network_graph.ts (the graph engine) consult
 * nodeKind(kind) in their default branches, and a spec holding any registry kind runs on the graph
 * engine. Descriptors live in lib/backend/js/nodes/<family>.ts, calling kernels in
 * lib/backend/js/<family>.ts, and are listed in lib/backend/js/nodes/registry.ts.
 */
import { LayerKind } from '../../types';
import type { LayerInfo, Shape } from '../network_spec';

/** One parameter range a node reads (offset -1: absent, allowed only when optional). */
export interface NodeParam {
  offset: number;
  size: number;
  /** The LayerSpec field name, for messages. */
  field: string;
  optional: boolean;
  /** A non-trainable statistic (never gets a gradient). */
  stat?: boolean;
}

/** What the validator learns from a node's shape rule. */
export interface NodeShape {
  out: Shape;
  params: NodeParam[];
  /** Set: the spec is refused with "layers[i] (Name): <error>". */
  error?: string;
}

/** One forward or backward call over n samples. Arrays are flat (n, per-sample size). */
export interface NodeCall {
  s: LayerInfo;
  n: number;
  in: Float32Array[];
  /** forward: written; backward: the forward output. */
  out: Float32Array;
  /** (n, savedFloats) kept from forward(training) for backward. */
  saved: Float32Array | null;
  /** Per NodeParam: a view of its range (null where absent). */
  params: (Float32Array | null)[];
  /** backward: per NodeParam its gradient, overwritten (null: not wanted). */
  dparams: (Float32Array | null)[];
  /** backward: the output gradient. */
  dout: Float32Array | null;
  /** backward: per input its gradient, overwritten (null: not wanted). */
  din: (Float32Array | null)[];
  /** The network's RNG state (xoshiro128**, lib/backend/js/rng.ts). */
  rng: Uint32Array;
  training: boolean;
}

export interface NodeKind {
  kind: LayerKind;
  name: string;
  inputs: number;
  shape(s: LayerInfo): NodeShape;
  savedFloats?(s: LayerInfo): number;
  backReadsInputs: boolean;
  backReadsOutput: boolean;
  forward(c: NodeCall): void;
  backward(c: NodeCall): void;
}

/** The highest LayerKind number the spec readers accept (reserved ones fail until registered). */
export const MAX_LAYER_KIND = 38;
