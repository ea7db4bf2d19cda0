// Element-wise activations (softmax: per row of `cols`) and their derivatives; the twin of
// native/kernels/activations.h. Derivatives use the forward output y wherever it determines them,
// so only gelu and swish need the forward input x:
//   relu      y > 0 ? 1 : 0            (relu'(0) = 0)
//   leakyRelu y > 0 ? 1 : alpha
//   elu       y > 0 ? 1 : y + alpha    (= alpha e^x)
//   selu      y > 0 ? scale : y + scale*alpha
//   sigmoid   y (1 - y);  tanh 1 - y²;  softplus 1 - e^{-y} (= sigmoid(x));  relu6 0 < y < 6 ? 1 : 0
//   gelu      Φ(x) + x φ(x);  swish s + x s (1 - s), s = sigmoid(x)
//   softmax   dx = y (dy - Σ dy·y) per row
import { Act } from '../types';
import { checkInts, checkLen, checkOptLen, f32 } from './check';
import { erfc } from './erf';

export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;
const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

/** True when activationBackward needs the forward input x (gelu, swish). */
export function activationNeedsInput(act: Act): boolean {
  return act === Act.Gelu || act === Act.Swish;
}

/** Numerically stable logistic function. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Exact GELU, x Φ(x) = x/2 erfc(-x/√2). */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x * SQRT1_2);
}

function checkAct(fn: string, act: Act): void {
  if (!Number.isInteger(act) || act < Act.Linear || act > Act.Relu6) {
    throw new RangeError(`${fn}: unknown activation ${act}`);
  }
}

/** y (rows, cols) = act(x); y may alias x. alpha: leakyRelu slope / elu alpha. */
export function activationForward(y: Float32Array, x: Float32Array, rows: number, cols: number,
                                  act: Act, alpha: number): void {
  checkInts('activationForward', { rows, cols }, 0);
  checkAct('activationForward', act);
  const n = rows * cols;
  checkLen('activationForward', 'x', x, n);
  checkLen('activationForward', 'y', y, n);
  activationApply(y, x, rows, cols, act, f32(alpha));
}

/** Unchecked forward, used by the fused conv2d / dense output loops. */
export function activationApply(y: Float32Array, x: Float32Array, rows: number, cols: number,
                                act: Act, alpha: number): void {
  const n = rows * cols;
  switch (act) {
    case Act.Linear:
      if (y !== x) y.set(x.subarray(0, n));
      break;
    case Act.Relu:
      for (let i = 0; i < n; i++) { const v = x[i]; y[i] = v > 0 ? v : 0; }
      break;
    case Act.LeakyRelu:
      for (let i = 0; i < n; i++) { const v = x[i]; y[i] = v > 0 ? v : alpha * v; }
      break;
    case Act.Elu:
      for (let i = 0; i < n; i++) { const v = x[i]; y[i] = v > 0 ? v : alpha * Math.expm1(v); }
      break;
    case Act.Selu:
      for (let i = 0; i < n; i++) {
        const v = x[i];
        y[i] = v > 0 ? SELU_SCALE * v : SELU_SCALE * SELU_ALPHA * Math.expm1(v);
      }
      break;
    case Act.Sigmoid:
      for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]);
      break;
    case Act.Tanh:
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
      break;
    case Act.Softplus:
      for (let i = 0; i < n; i++) y[i] = softplus(x[i]);
      break;
    case Act.Gelu:
      for (let i = 0; i < n; i++) y[i] = gelu(x[i]);
      break;
    case Act.Swish:
      for (let i = 0; i < n; i++) { const v = x[i]; y[i] = v * sigmoid(v); }
      break;
    case Act.Softmax:
      softmaxRowsInto(y, x, rows, cols);
      break;
    case Act.Relu6:
      for (let i = 0; i < n; i++) { const v = x[i]; y[i] = v > 0 ? (v < 6 ? v : 6) : 0; }
      break;
    default:
      throw new RangeError(`activation: unknown activation ${act}`);
  }
}

/** Row-wise softmax, max-subtracted; probs may alias logits. */
export function softmaxRowsInto(probs: Float32Array, logits: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (logits[o + j] > m) m = logits[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = f32(Math.exp(logits[o + j] - m));
      probs[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) probs[o + j] *= inv;
  }
}

/**
 * dx = dy * act'(x). y is the forward output; x the forward input, needed only when
 * activationNeedsInput(act), otherwise it may be null. dx may alias dy.
 */
export function activationBackward(dx: Float32Array, dy: Float32Array, x: Float32Array | null,
                                   y: Float32Array, rows: number, cols: number, act: Act,
                                   alpha: number): void {
  const fn = 'activationBackward';
  checkInts(fn, { rows, cols }, 0);
  checkAct(fn, act);
  const n = rows * cols;
  checkLen(fn, 'dx', dx, n);
  checkLen(fn, 'dy', dy, n);
  checkLen(fn, 'y', y, n);
  if (activationNeedsInput(act)) checkLen(fn, 'x', x, n);
  else checkOptLen(fn, 'x', x, n);
  activationGrad(dx, dy, x, y, rows, cols, act, f32(alpha));
}

/** Unchecked backward, used by the network. */
export function activationGrad(dx: Float32Array, dy: Float32Array, x: Float32Array | null,
                               y: Float32Array, rows: number, cols: number, act: Act,
                               alpha: number): void {
  const n = rows * cols;
  switch (act) {
    case Act.Linear:
      if (dx !== dy) dx.set(dy.subarray(0, n));
      break;
    case Act.Relu:
      for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
      break;
    case Act.LeakyRelu:
      for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : alpha * dy[i];
      break;
    case Act.Elu:
      for (let i = 0; i < n; i++) { const v = y[i]; dx[i] = v > 0 ? dy[i] : dy[i] * (v + alpha); }
      break;
    case Act.Selu: {
      const sa = SELU_SCALE * SELU_ALPHA;
      for (let i = 0; i < n; i++) {
        const v = y[i];
        dx[i] = v > 0 ? dy[i] * SELU_SCALE : dy[i] * (v + sa);
      }
      break;
    }
    case Act.Sigmoid:
      for (let i = 0; i < n; i++) { const v = y[i]; dx[i] = dy[i] * v * (1 - v); }
      break;
    case Act.Tanh:
      for (let i = 0; i < n; i++) { const v = y[i]; dx[i] = dy[i] * (1 - v * v); }
      break;
    case Act.Softplus:
      for (let i = 0; i < n; i++) dx[i] = dy[i] * -Math.expm1(-y[i]);
      break;
    case Act.Gelu: {
      const xi = x as Float32Array;
      for (let i = 0; i < n; i++) {
        const v = xi[i];
        dx[i] = dy[i] * (0.5 * erfc(-v * SQRT1_2) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
      }
      break;
    }
    case Act.Swish: {
      const xi = x as Float32Array;
      for (let i = 0; i < n; i++) {
        const v = xi[i];
        const s = sigmoid(v);
        dx[i] = dy[i] * (s + v * s * (1 - s));
      }
      break;
    }
    case Act.Softmax:
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += dy[o + j] * y[o + j];
        for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
      }
      break;
    case Act.Relu6:
      for (let i = 0; i < n; i++) { const v = y[i]; dx[i] = v > 0 && v < 6 ? dy[i] : 0; }
      break;
    default:
      throw new RangeError(`activation: unknown activation ${act}`);
  }
}
