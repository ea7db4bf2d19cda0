/**
 * Metrics computed from each batch's outputs and labels, accumulated over an epoch as a weighted
 * mean over samples (Keras' behaviour). 'accuracy' / 'acc' picks categorical, sparse or binary
 * accuracy from the loss and output size, as Keras does; History keys follow TF.js ('acc', 'mse').
 */
import { LossKind } from '../backend/types';
import { Tensor } from '../tensor';
import { describe, lookup } from '../util';
import type { LossConfig } from './losses';
import { nameTable } from './names';

/** Per-sample metric value: pred is one row of D outputs, label one row of D (or a class index). */
export type MetricKind = 'categoricalAccuracy' | 'sparseCategoricalAccuracy' | 'binaryAccuracy' | 'mse' | 'mae';

export interface Metric {
  /** History / log key: 'acc', 'mse', 'mae' ... */
  key: string;
  kind: MetricKind;
}

const named: Record<string, MetricKind | 'accuracy'> = nameTable({
  accuracy: 'accuracy', acc: 'accuracy',
  categoricalaccuracy: 'categoricalAccuracy', sparsecategoricalaccuracy: 'sparseCategoricalAccuracy',
  binaryaccuracy: 'binaryAccuracy', mse: 'mse', meansquarederror: 'mse', mae: 'mae', meanabsoluteerror: 'mae',
});
const validNames = ['accuracy', 'acc', 'categoricalAccuracy', 'sparseCategoricalAccuracy', 'binaryAccuracy', 'mse', 'mae'];

const keyOf: Record<MetricKind, string> = {
  categoricalAccuracy: 'categoricalAccuracy', sparseCategoricalAccuracy: 'sparseCategoricalAccuracy',
  binaryAccuracy: 'binaryAccuracy', mse: 'mse', mae: 'mae',
};

export function resolveMetrics(ids: unknown, loss: LossConfig, outSize: number): Metric[] {
  if (ids === undefined || ids === null) return [];
  const list = Array.isArray(ids) ? ids : [ids];
  return list.map((id) => {
    if (typeof id !== 'string') throw new TypeError(`compile: metrics must be names, received ${describe(id)}`);
    const m = lookup(named, id, 'metric', validNames);
    if (m === 'accuracy') {
      const kind: MetricKind = loss.kind === LossKind.SparseCategoricalCrossentropy ? 'sparseCategoricalAccuracy'
        : loss.kind === LossKind.BinaryCrossentropy || outSize === 1 ? 'binaryAccuracy' : 'categoricalAccuracy';
      return { key: 'acc', kind };
    }
    return { key: keyOf[m], kind: m };
  });
}

/**
 * Sums the metric over n samples of a batch. pred (n, D); labels (n, D) floats or (n) ints.
 * logits: the output is logits (fromLogits), so binary accuracy thresholds at 0 instead of 0.5.
 */
export function metricSum(kind: MetricKind, pred: Float32Array, labels: Float32Array | Int32Array, n: number, d: number, logits: boolean): number {
  let s = 0;
  switch (kind) {
    case 'categoricalAccuracy':
      for (let i = 0; i < n; i++) if (argmaxRow(pred, i * d, d) === argmaxRow(labels, i * d, d)) s++;
      return s;
    case 'sparseCategoricalAccuracy':
      for (let i = 0; i < n; i++) if (argmaxRow(pred, i * d, d) === labels[i]) s++;
      return s;
    case 'binaryAccuracy': {
      const th = logits ? 0 : 0.5;
      for (let i = 0; i < n; i++) {
        let c = 0;
        for (let j = 0; j < d; j++) if ((pred[i * d + j] > th ? 1 : 0) === (labels[i * d + j] > 0.5 ? 1 : 0)) c++;
        s += c / d;
      }
      return s;
    }
    case 'mse':
      for (let i = 0; i < n; i++) {
        let c = 0;
        for (let j = 0; j < d; j++) { const e = pred[i * d + j] - labels[i * d + j]; c += e * e; }
        s += c / d;
      }
      return s;
    default:
      for (let i = 0; i < n; i++) {
        let c = 0;
        for (let j = 0; j < d; j++) c += Math.abs(pred[i * d + j] - labels[i * d + j]);
        s += c / d;
      }
      return s;
  }
}

function argmaxRow(v: ArrayLike<number>, off: number, d: number): number {
  let best = 0;
  for (let j = 1; j < d; j++) if (v[off + j] > v[off + best]) best = j;
  return best;
}

/** TF.js-style metric functions on tensors: metrics.categoricalAccuracy(yTrue, yPred) -> per-sample tensor mean. */
function onTensors(kind: MetricKind) {
  return (yTrue: Tensor, yPred: Tensor): Tensor => {
    const n = yPred.shape[0];
    const d = yPred.size / n;
    const v = metricSum(kind, yPred.values as Float32Array, yTrue.values as Float32Array, n, d, false) / n;
    return new Tensor(new Float32Array([v]), [], 'float32');
  };
}

export const metrics = {
  categoricalAccuracy: onTensors('categoricalAccuracy'),
  sparseCategoricalAccuracy: onTensors('sparseCategoricalAccuracy'),
  binaryAccuracy: onTensors('binaryAccuracy'),
  meanSquaredError: onTensors('mse'),
  meanAbsoluteError: onTensors('mae'),
};
