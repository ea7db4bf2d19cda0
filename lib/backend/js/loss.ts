// Losses (native/kernels/loss.h). Each returns the batch loss, sum(w_i * l_i) / N (Keras'
// SUM_OVER_BATCH_SIZE), and writes its gradient w.r.t. pred into dpred unless dpred is null.
// sw: per-sample weights (N) or null (all 1). pred / labels (N, D); sparse labels (N) int32.
// Probabilities are clipped to [eps, 1 - eps] with Keras' eps = 1e-7 (as float32); where the clip
// is active the gradient through it is zero, as TF's clipByValue gradient.
import { checkInts, checkLen, checkOptLen, f32 } from './check';
import { sigmoid, softmaxRowsInto } from './activations';

export const LOSS_EPS = f32(1e-7);
const HI = f32(1 - LOSS_EPS);

function clip(p: number): number {
  return p < LOSS_EPS ? LOSS_EPS : p > HI ? HI : p;
}

function checkCommon(fn: string, dpred: Float32Array | null, pred: Float32Array,
                     labels: ArrayLike<number>, sw: Float32Array | null, N: number, D: number,
                     sparse: boolean): void {
  checkInts(fn, { N, D }, 1);
  checkLen(fn, 'pred', pred, N * D);
  checkOptLen(fn, 'dpred', dpred, N * D);
  checkLen(fn, 'labels', labels, sparse ? N : N * D);
  checkOptLen(fn, 'sw', sw, N);
  if (sparse) {
    for (let i = 0; i < N; i++) {
      const k = labels[i];
      if (!(k >= 0 && k < D)) throw new RangeError(`${fn}: label ${k} of sample ${i} is outside [0, ${D})`);
    }
  }
}

/** Softmax of logits (N,D) into probs, row by row, max-subtracted (probs may alias logits). */
export function softmaxRows(probs: Float32Array, logits: Float32Array, N: number, D: number): void {
  checkInts('softmaxRows', { N, D }, 1);
  checkLen('softmaxRows', 'logits', logits, N * D);
  checkLen('softmaxRows', 'probs', probs, N * D);
  softmaxRowsInto(probs, logits, N, D);
}

// Shared body of the fused softmax + CE: `target(i, j)` is the smoothed label.
// Dense labels: y*(1-s) + s/D; sparse: (j == k)*(1-s) + s/D.
function fusedCE(dlogits: Float32Array | null, probs: Float32Array, dense: Float32Array | null,
                 sparse: Int32Array | null, sw: Float32Array | null, N: number, D: number,
                 s: number): number {
  const keep = 1 - s, add = s / D;
  let total = 0;
  for (let i = 0; i < N; i++) {
    const o = i * D;
    const w = sw !== null ? sw[i] : 1;
    const k = sparse !== null ? sparse[i] : -1;
    let li = 0;
    for (let j = 0; j < D; j++) {
      const y = (dense !== null ? dense[o + j] : j === k ? 1 : 0) * keep + add;
      const p = probs[o + j];
      li -= y * Math.log(clip(p));
      if (dlogits !== null) dlogits[o + j] = (w * (p - y)) / N;
    }
    total += w * li;
  }
  return f32(total / N);
}

/**
 * Fused softmax + cross-entropy. probs (N,D) is the softmax output; dlogits = w_i (probs - y_s) / N
 * is the gradient w.r.t. the logits; loss_i = -Σ y_s log(clip(p)).
 */
export function softmaxCrossentropy(dlogits: Float32Array | null, probs: Float32Array, labels: Float32Array,
                                    sw: Float32Array | null, N: number, D: number, smoothing: number): number {
  checkCommon('softmaxCrossentropy', dlogits, probs, labels, sw, N, D, false);
  return fusedCE(dlogits, probs, labels, null, sw, N, D, f32(smoothing));
}

export function sparseSoftmaxCrossentropy(dlogits: Float32Array | null, probs: Float32Array, labels: Int32Array,
                                          sw: Float32Array | null, N: number, D: number, smoothing: number): number {
  checkCommon('sparseSoftmaxCrossentropy', dlogits, probs, labels, sw, N, D, true);
  return fusedCE(dlogits, probs, null, labels, sw, N, D, f32(smoothing));
}

// Keras categorical CE on probabilities: q = p / Σp, c = clip(q), loss = -Σ y log c. Gradient:
// g_j = -y_j / c_j where the clip is inactive (else 0); dL/dp_k = (g_k - Σ_j g_j q_j) / Σp.
function probCE(dpred: Float32Array | null, pred: Float32Array, dense: Float32Array | null,
                sparse: Int32Array | null, sw: Float32Array | null, N: number, D: number, s: number): number {
  const keep = 1 - s, add = s / D;
  let total = 0;
  for (let i = 0; i < N; i++) {
    const o = i * D;
    const w = sw !== null ? sw[i] : 1;
    const k = sparse !== null ? sparse[i] : -1;
    let sum = 0;
    for (let j = 0; j < D; j++) sum += pred[o + j];
    let li = 0, gq = 0;
    for (let j = 0; j < D; j++) {
      const y = (dense !== null ? dense[o + j] : j === k ? 1 : 0) * keep + add;
      const q = pred[o + j] / sum;
      const c = clip(q);
      li -= y * Math.log(c);
      if (q >= LOSS_EPS && q <= HI) gq += (-y / c) * q;
    }
    total += w * li;
    if (dpred === null) continue;
    const scale = w / (N * sum);
    for (let j = 0; j < D; j++) {
      const y = (dense !== null ? dense[o + j] : j === k ? 1 : 0) * keep + add;
      const q = pred[o + j] / sum;
      const g = q >= LOSS_EPS && q <= HI ? -y / clip(q) : 0;
      dpred[o + j] = scale * (g - gq);
    }
  }
  return f32(total / N);
}

/** Cross-entropy on probabilities not produced by a fused softmax (rows normalised, then clipped). */
export function categoricalCrossentropy(dpred: Float32Array | null, pred: Float32Array, labels: Float32Array,
                                        sw: Float32Array | null, N: number, D: number, smoothing: number): number {
  checkCommon('categoricalCrossentropy', dpred, pred, labels, sw, N, D, false);
  return probCE(dpred, pred, labels, null, sw, N, D, f32(smoothing));
}

export function sparseCategoricalCrossentropy(dpred: Float32Array | null, pred: Float32Array, labels: Int32Array,
                                              sw: Float32Array | null, N: number, D: number, smoothing: number): number {
  checkCommon('sparseCategoricalCrossentropy', dpred, pred, labels, sw, N, D, true);
  return probCE(dpred, pred, null, labels, sw, N, D, f32(smoothing));
}

/**
 * Binary CE, mean over D per sample; labels smoothed to y (1 - s) + s/2. fromLogits: stable
 * max(x,0) - x y + log1p(e^{-|x|}), gradient sigmoid(x) - y. Otherwise p = clip(pred),
 * -(y log p + (1-y) log(1-p)), gradient (p - y) / (p (1 - p)) where the clip is inactive.
 */
export function binaryCrossentropy(dpred: Float32Array | null, pred: Float32Array, labels: Float32Array,
                                   sw: Float32Array | null, N: number, D: number, fromLogits: boolean,
                                   smoothing: number): number {
  checkCommon('binaryCrossentropy', dpred, pred, labels, sw, N, D, false);
  const s = f32(smoothing);
  const keep = 1 - s, add = 0.5 * s;
  let total = 0;
  for (let i = 0; i < N; i++) {
    const o = i * D;
    const w = sw !== null ? sw[i] : 1;
    const scale = w / (N * D);
    let li = 0;
    for (let j = 0; j < D; j++) {
      const y = labels[o + j] * keep + add;
      const x = pred[o + j];
      let g: number;
      if (fromLogits) {
        li += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
        g = sigmoid(x) - y;
      } else {
        const p = clip(x);
        li -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
        g = x >= LOSS_EPS && x <= HI ? (p - y) / (p * (1 - p)) : 0;
      }
      if (dpred !== null) dpred[o + j] = scale * g;
    }
    total += (w * li) / D;
  }
  return f32(total / N);
}

/** Mean over D of (p - y)²; gradient 2 (p - y) w / (N D). */
export function meanSquaredError(dpred: Float32Array | null, pred: Float32Array, labels: Float32Array,
                                 sw: Float32Array | null, N: number, D: number): number {
  checkCommon('meanSquaredError', dpred, pred, labels, sw, N, D, false);
  let total = 0;
  for (let i = 0; i < N; i++) {
    const o = i * D;
    const w = sw !== null ? sw[i] : 1;
    const scale = (2 * w) / (N * D);
    let li = 0;
    for (let j = 0; j < D; j++) {
      const e = pred[o + j] - labels[o + j];
      li += e * e;
      if (dpred !== null) dpred[o + j] = scale * e;
    }
    total += (w * li) / D;
  }
  return f32(total / N);
}

/** Mean over D of |p - y|; gradient sign(p - y) w / (N D), sign(0) = 0. */
export function meanAbsoluteError(dpred: Float32Array | null, pred: Float32Array, labels: Float32Array,
                                  sw: Float32Array | null, N: number, D: number): number {
  checkCommon('meanAbsoluteError', dpred, pred, labels, sw, N, D, false);
  let total = 0;
  for (let i = 0; i < N; i++) {
    const o = i * D;
    const w = sw !== null ? sw[i] : 1;
    const scale = w / (N * D);
    let li = 0;
    for (let j = 0; j < D; j++) {
      const e = pred[o + j] - labels[o + j];
      li += Math.abs(e);
      if (dpred !== null) dpred[o + j] = e > 0 ? scale : e < 0 ? -scale : 0;
    }
    total += (w * li) / D;
  }
  return f32(total / N);
}
