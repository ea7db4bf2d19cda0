/** tf.input({shape, batchShape, name, dtype}): a model input of the Functional API, as TF.js. */
import { describe } from '../util';
import { InputLayer } from './layers/core';
import { SymbolicTensor } from './symbolic';

export interface InputConfig {
  /** Per-sample shape, e.g. [32, 32, 3]. */
  shape?: number[];
  /** Shape with the batch dimension first (null or a size). */
  batchShape?: (number | null)[];
  name?: string;
  /** Only float32 is supported. */
  dtype?: 'float32';
}

export function input(config: InputConfig): SymbolicTensor {
  if (!config || typeof config !== 'object') throw new TypeError(`input: expected {shape} or {batchShape}, received ${describe(config)}`);
  if (config.shape === undefined && config.batchShape === undefined) {
    throw new Error('input: please provide to Input either a `shape` or a `batchShape` argument');
  }
  if (config.shape !== undefined && config.batchShape !== undefined) {
    throw new Error('input: please provide either a `shape` or `batchShape` argument to Input, but not both');
  }
  if (config.dtype !== undefined && config.dtype !== 'float32') throw new Error(`input: dtype must be float32, received ${describe(config.dtype)}`);
  const layer = new InputLayer({ name: config.name, inputShape: config.shape, batchShape: config.batchShape });
  const shape = [layer.declaredBatchSize ?? null, ...layer.declaredInputShape!];
  layer.build(layer.declaredInputShape!);
  const t = new SymbolicTensor(shape, layer, 0, [], layer.name);
  layer.inboundNodes.push({ inputs: [], output: t });
  return t;
}
