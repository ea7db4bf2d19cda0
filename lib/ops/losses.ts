/**
 * TF.js's tf.losses functions on tensors (tfjs-core semantics): each computes an elementwise or
 * per-sample loss and reduces it with computeWeightedLoss (default SUM_BY_NONZERO_WEIGHTS).
 */
import { Tensor, tidy } from '../tensor';
import type { TensorOrLike } from './convert';
import { convert, make, shapeList } from './convert';
import * as c from './compare';
import * as ew from './elementwise';
import * as red from './reduce';

/** How a loss is reduced (TF.js's tf.Reduction). */
export enum Reduction {
  NONE = 0,
  MEAN = 1,
  SUM = 2,
  SUM_BY_NONZERO_WEIGHTS = 3,
}

const asTensor = (x: TensorOrLike, arg: string, fn: string): Tensor => {
  if (x instanceof Tensor) { convert(x, arg, fn); return x; }
  const v = convert(x, arg, fn);
  return make(v.values, v.shape, v.dtype);
};

function checkReduction(r: unknown, fn: string): Reduction {
  if (r !== 0 && r !== 1 && r !== 2 && r !== 3) {
    throw new Error(`Error in ${fn}: reduction must be a tf.Reduction (NONE 0, MEAN 1, SUM 2, SUM_BY_NONZERO_WEIGHTS 3), got ${String(r)}`);
  }
  return r;
}

/** Applies weights (broadcast) to losses and reduces them. */
export function computeWeightedLoss(losses: TensorOrLike, weights?: TensorOrLike | null, reduction: Reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  checkReduction(reduction, 'computeWeightedLoss');
  return tidy(() => {
    const l = asTensor(losses, 'losses', 'computeWeightedLoss');
    const w = weights == null ? null : asTensor(weights, 'weights', 'computeWeightedLoss');
    const weighted = w === null ? l : ew.mul(l, w);
    if (reduction === Reduction.NONE) return weighted;
    if (reduction === Reduction.SUM) return red.sum(weighted);
    if (reduction === Reduction.MEAN) {
      if (w === null) return red.mean(weighted);
      const factor = l.size / w.size;
      const r = ew.div(red.sum(weighted), red.sum(w));
      return factor > 1 ? ew.div(r, factor) : r;
    }
    if (w === null) return ew.div(red.sum(weighted), l.size);
    const nonZero = red.sum(c.notEqual(ew.mul(w, make(new Float32Array(l.size).fill(1), l.shape, 'float32')), 0));
    return ew.div(red.sum(weighted), ew.mul(nonZero, 1));
  });
}

function pairOf(labels: TensorOrLike, predictions: TensorOrLike, fn: string, names: [string, string] = ['labels', 'predictions']): [Tensor, Tensor] {
  const a = asTensor(labels, names[0], fn), b = asTensor(predictions, names[1], fn);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`Error in ${fn}:  Shapes ${shapeList(a.shape)} and ${shapeList(b.shape)} must match`);
  }
  return [a, b];
}

type Weights = TensorOrLike | null | undefined;

export function absoluteDifference(labels: TensorOrLike, predictions: TensorOrLike, weights?: Weights, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  return tidy(() => {
    const [l, p] = pairOf(labels, predictions, 'absoluteDifference');
    return computeWeightedLoss(ew.abs(ew.sub(l, p)), weights, reduction);
  });
}

export function meanSquaredError(labels: TensorOrLike, predictions: TensorOrLike, weights?: Weights, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  return tidy(() => {
    const [l, p] = pairOf(labels, predictions, 'meanSquaredError');
    return computeWeightedLoss(ew.squaredDifference(l, p), weights, reduction);
  });
}

/** 1 - sum(labels * predictions, axis): inputs are expected to be unit vectors along axis. */
export function cosineDistance(labels: TensorOrLike, predictions: TensorOrLike, axis: number, weights?: Weights, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  return tidy(() => {
    const [l, p] = pairOf(labels, predictions, 'cosineDistance');
    return computeWeightedLoss(ew.sub(1, red.sum(ew.mul(l, p), axis, true)), weights, reduction);
  });
}

/** relu(1 - (2 * labels - 1) * predictions), labels in {0, 1}. */
export function hingeLoss(labels: TensorOrLike, predictions: TensorOrLike, weights?: Weights, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  return tidy(() => {
    const [l, p] = pairOf(labels, predictions, 'hingeLoss');
    const signed = ew.sub(ew.mul(2, l), 1);
    return computeWeightedLoss(ew.relu(ew.sub(1, ew.mul(signed, p))), weights, reduction);
  });
}

/** Quadratic up to |error| = delta, linear beyond. */
export function huberLoss(labels: TensorOrLike, predictions: TensorOrLike, weights?: Weights, delta = 1.0, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  return tidy(() => {
    const [l, p] = pairOf(labels, predictions, 'huberLoss');
    const error = ew.abs(ew.sub(p, l));
    const quadratic = ew.minimum(error, delta);
    const linear = ew.sub(error, quadratic);
    return computeWeightedLoss(ew.add(ew.mul(0.5, ew.square(quadratic)), ew.mul(delta, linear)), weights, reduction);
  });
}

/** -labels * log(p + eps) - (1 - labels) * log(1 - p + eps). */
export function logLoss(labels: TensorOrLike, predictions: TensorOrLike, weights?: Weights, epsilon = 1e-7, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  return tidy(() => {
    const [l, p] = pairOf(labels, predictions, 'logLoss');
    const l1 = ew.neg(ew.mul(l, ew.log(ew.add(p, epsilon))));
    const l2 = ew.mul(ew.sub(1, l), ew.log(ew.add(ew.sub(1, p), epsilon)));
    return computeWeightedLoss(ew.sub(l1, l2), weights, reduction);
  });
}

/** Elementwise sigmoid cross-entropy of logits, computed stably. */
export function sigmoidCrossEntropyWithLogits(labels: Tensor, logits: Tensor): Tensor {
  return tidy(() => ew.add(ew.sub(ew.relu(logits), ew.mul(logits, labels)), ew.log1p(ew.exp(ew.neg(ew.abs(logits))))));
}

export function sigmoidCrossEntropy(multiClassLabels: TensorOrLike, logits: TensorOrLike, weights?: Weights, labelSmoothing = 0, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  return tidy(() => {
    let [l, x] = pairOf(multiClassLabels, logits, 'sigmoidCrossEntropy', ['multiClassLabels', 'logits']);
    if (labelSmoothing > 0) l = ew.add(ew.mul(l, 1 - labelSmoothing), 0.5 * labelSmoothing);
    return computeWeightedLoss(sigmoidCrossEntropyWithLogits(l, x), weights, reduction);
  });
}

/** Per-sample -sum(labels * logSoftmax(logits), -1), then reduced. */
export function softmaxCrossEntropy(onehotLabels: TensorOrLike, logits: TensorOrLike, weights?: Weights, labelSmoothing = 0, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  return tidy(() => {
    let [l, x] = pairOf(onehotLabels, logits, 'softmaxCrossEntropy', ['onehotLabels', 'logits']);
    if (labelSmoothing > 0) {
      const k = l.shape[l.shape.length - 1];
      l = ew.add(ew.mul(l, 1 - labelSmoothing), labelSmoothing / k);
    }
    const perSample = ew.neg(red.sum(ew.mul(l, red.logSoftmax(x)), -1));
    return computeWeightedLoss(perSample, weights, reduction);
  });
}
