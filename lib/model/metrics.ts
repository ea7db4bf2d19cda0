/**
 * Metrics computed from each batch's outputs and labels, accumulated over an epoch as a weighted
 * mean over samples (Keras' behaviour). 'accuracy' / 'acc' picks categorical, sparse or binary
 * accuracy from the loss and output size, as Keras does; History keys follow TF.js ('acc', 'mse').
 */
import { LossKind } from '../backend/types';
import { Tensor, tidy } from '../tensor';
import { TensorOrLike, convert } from '../ops/convert';
import * as op from '../ops/index';
import { sigmoidCrossEntropyWithLogits } from '../ops/losses';
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
  return list.map((given) => {
    const id = typeof given === 'function' ? metricName(given) ?? given : given;
    if (typeof id !== 'string') throw new TypeError(`compile: metrics must be names or the tf.metrics functions binaryAccuracy, categoricalAccuracy, sparseCategoricalAccuracy, meanSquaredError, meanAbsoluteError; received ${describe(id)}`);
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

// ------------------------------------------------------------------ TF.js's tf.metrics on tensors

const EPS = 1e-7;
const T = (x: TensorOrLike, arg: string, fn: string): Tensor => {
  if (x instanceof Tensor) return x;
  const v = convert(x, arg, `metrics.${fn}`);
  return new Tensor(v.values as Float32Array, v.shape, v.dtype);
};
type MetricFn = (yTrue: TensorOrLike, yPred: TensorOrLike) => Tensor;
const m2 = (fn: string, f: (t: Tensor, p: Tensor) => Tensor): MetricFn => (yTrue, yPred) => tidy(() => f(T(yTrue, 'yTrue', fn), T(yPred, 'yPred', fn)));

/** Per sample: the fraction of outputs on the same side of 0.5 as the label. Shape: yPred's without the last axis. */
const binaryAccuracy = m2('binaryAccuracy', (t, p) => op.mean(op.equal(t, op.cast(op.greater(p, 0.5), t.dtype)), -1));
/** Per sample: 1 where argMax of yTrue and yPred agree. */
const categoricalAccuracy = m2('categoricalAccuracy', (t, p) => op.cast(op.equal(op.argMax(t, -1), op.argMax(p, -1)), 'float32'));
const sparseCategoricalAccuracy = m2('sparseCategoricalAccuracy', (t, p) => {
  const labels = t.rank === p.rank ? op.squeeze(t, [t.rank - 1]) : t;
  const pred = op.argMax(p, -1);
  return op.cast(op.equal(labels, labels.dtype === pred.dtype ? pred : op.cast(pred, labels.dtype)), 'float32');
});
const meanSquaredError = m2('meanSquaredError', (t, p) => op.mean(op.square(op.sub(p, t)), -1));
const meanAbsoluteError = m2('meanAbsoluteError', (t, p) => op.mean(op.abs(op.sub(p, t)), -1));
const meanAbsolutePercentageError = m2('meanAbsolutePercentageError', (t, p) =>
  op.mul(100, op.mean(op.abs(op.div(op.sub(t, p), op.clipByValue(op.abs(t), EPS, Number.MAX_VALUE))), -1)));
/** Per sample: Keras' binary cross-entropy of probabilities (clipped to [1e-7, 1 - 1e-7]). */
const binaryCrossentropy = m2('binaryCrossentropy', (t, p) => {
  const y = op.clipByValue(p, EPS, 1 - EPS);
  return op.mean(sigmoidCrossEntropyWithLogits(t, op.log(op.div(y, op.sub(1, y)))), -1);
});
/** Per sample: Keras' categorical cross-entropy of probabilities (renormalised, clipped). */
const categoricalCrossentropy = m2('categoricalCrossentropy', (t, p) => {
  const q = op.clipByValue(op.div(p, op.sum(p, -1, true)), EPS, 1 - EPS);
  return op.neg(op.sum(op.mul(t, op.log(q)), -1));
});
const l2Normalize = (x: Tensor) => op.div(x, op.sqrt(op.maximum(op.sum(op.square(x), -1, true), EPS)));
const cosineProximity = m2('cosineProximity', (t, p) => op.neg(op.sum(op.mul(l2Normalize(t), l2Normalize(p)), -1)));
const count = (t: Tensor, p: Tensor, tv: number, pv: number) => op.cast(op.sum(op.logicalAnd(op.equal(t, tv), op.equal(p, pv))), 'float32');
/** tp / (tp + fp) over the whole batch, counting predictions equal to 1 (as TF.js: threshold first). */
const precision = m2('precision', (t, p) => {
  const tp = count(t, p, 1, 1), d = op.add(tp, count(t, p, 0, 1));
  return op.cast(op.where(op.greater(d, 0), op.div(tp, d), 0), 'float32');
});
const recall = m2('recall', (t, p) => {
  const tp = count(t, p, 1, 1), d = op.add(tp, count(t, p, 1, 0));
  return op.cast(op.where(op.greater(d, 0), op.div(tp, d), 0), 'float32');
});
const r2Score = m2('r2Score', (t, p) => {
  const ssr = op.sum(op.square(op.sub(t, p)));
  const sst = op.sum(op.square(op.sub(t, op.mean(t))));
  return op.sub(1, op.div(ssr, sst));
});

/** TF.js's tf.metrics: functions of (yTrue, yPred) returning per-sample tensors (precision, recall, r2Score: scalars). */
export const metrics = {
  binaryAccuracy, binaryCrossentropy, categoricalAccuracy, categoricalCrossentropy, cosineProximity,
  meanAbsoluteError, meanAbsolutePercentageError, meanSquaredError, precision, r2Score, recall,
  sparseCategoricalAccuracy, MSE: meanSquaredError, mse: meanSquaredError, MAPE: meanAbsolutePercentageError,
  mape: meanAbsolutePercentageError, MAE: meanAbsoluteError, mae: meanAbsoluteError,
};

/** compile({metrics: [tf.metrics.categoricalAccuracy]}) resolves the function to its name. */
export function metricName(f: unknown): string | undefined {
  const trainable: Record<string, string> = {
    binaryAccuracy: 'binaryAccuracy', categoricalAccuracy: 'categoricalAccuracy', sparseCategoricalAccuracy: 'sparseCategoricalAccuracy',
    meanSquaredError: 'mse', meanAbsoluteError: 'mae',
  };
  for (const [k, g] of Object.entries(metrics)) if (g === f && Object.hasOwn(trainable, k)) return trainable[k];
  return undefined;
}
