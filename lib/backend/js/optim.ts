// Optimizer updates over flat parameter buffers (native/kernels/optim.h), TF.js formulas.
// Every scalar hyper-parameter is rounded to float32 first, as the C++ kernels receive floats.
import { OptimizerKind } from '../types';
import { checkInts, checkLen, f32 } from './check';

function check(fn: string, n: number, bufs: Record<string, Float32Array | null>): void {
  checkInts(fn, { n }, 0);
  for (const k of Object.keys(bufs)) checkLen(fn, k, bufs[k], n);
}

/** The updates read and write element by element: arrays sharing memory are refused (as natively). */
function disjoint(fn: string, n: number, bufs: Record<string, Float32Array | null>): void {
  if (n <= 0) return;
  const names = Object.keys(bufs);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = bufs[names[i]], b = bufs[names[j]];
      if (!a || !b || a.buffer !== b.buffer) continue;
      if (a.byteOffset < b.byteOffset + n * 4 && b.byteOffset < a.byteOffset + n * 4) {
        throw new Error(`${fn}: ${names[i]} and ${names[j]} share memory; the arrays must not overlap`);
      }
    }
  }
}

function checkUpdate(fn: string, n: number, bufs: Record<string, Float32Array | null>): void {
  check(fn, n, bufs);
  disjoint(fn, n, bufs);
}

/** Keras clipvalue: g = clamp(g, -clip, clip). */
export function clipByValue(g: Float32Array, n: number, clip: number): void {
  check('clipByValue', n, { g });
  const c = f32(clip);
  for (let i = 0; i < n; i++) { const v = g[i]; g[i] = v > c ? c : v < -c ? -c : v; }
}

/** Keras clipnorm: g *= maxNorm / ||g|| when ||g|| > maxNorm. */
export function clipByNorm(g: Float32Array, n: number, maxNorm: number): void {
  check('clipByNorm', n, { g });
  const m = f32(maxNorm);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += g[i] * g[i];
  const norm = Math.sqrt(ss);
  if (norm > m) {
    const s = f32(m / norm);
    for (let i = 0; i < n; i++) g[i] *= s;
  }
}

// The updates below round after every operation, as the C++ kernels evaluate them in float32
// (no FMA contraction there), so both backends take bit-identical steps from identical gradients.

/** w -= lr g */
export function sgdUpdate(w: Float32Array, g: Float32Array, n: number, lr: number): void {
  checkUpdate('sgdUpdate', n, { w, g });
  const a = f32(lr);
  for (let i = 0; i < n; i++) w[i] -= f32(a * g[i]);
}

/** v = momentum v + g; w -= lr v, or with nesterov w -= lr (g + momentum v). */
export function momentumUpdate(w: Float32Array, v: Float32Array, g: Float32Array, n: number, lr: number,
                               momentum: number, nesterov: boolean): void {
  checkUpdate('momentumUpdate', n, { w, v, g });
  const a = f32(lr), mu = f32(momentum);
  for (let i = 0; i < n; i++) {
    const vi = f32(f32(mu * v[i]) + g[i]);
    v[i] = vi;
    w[i] -= nesterov ? f32(a * f32(g[i] + f32(mu * vi))) : f32(a * vi);
  }
}

function adamCore(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, n: number, lr: number,
                  beta1: number, beta2: number, eps: number, t: number): void {
  const b1 = f32(beta1), b2 = f32(beta2), e = f32(eps), a = f32(lr);
  const c1 = f32(1 - Math.pow(b1, t)), c2 = f32(1 - Math.pow(b2, t)); // in double, then float
  const b1c = f32(1 - b1), b2c = f32(1 - b2);
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const mi = f32(f32(b1 * m[i]) + f32(b1c * gi));
    const vi = f32(f32(b2 * v[i]) + f32(f32(b2c * gi) * gi));
    m[i] = mi;
    v[i] = vi;
    w[i] -= f32(f32(a * f32(mi / c1)) / f32(f32(Math.sqrt(f32(vi / c2))) + e));
  }
}

function checkStep(fn: string, t: number): void {
  if (!Number.isInteger(t) || t < 1) throw new RangeError(`${fn}: t must be an integer >= 1, received ${t}`);
}

/** TF.js Adam, t = 1-based step: m, v moments; w -= lr m̂ / (sqrt(v̂) + eps). */
export function adamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, n: number,
                           lr: number, beta1: number, beta2: number, eps: number, t: number): void {
  checkUpdate('adamUpdate', n, { w, m, v, g });
  checkStep('adamUpdate', t);
  adamCore(w, m, v, g, n, lr, beta1, beta2, eps, t);
}

/** Decoupled weight decay (Keras AdamW): w -= lr wd w, then the Adam step. */
export function adamwUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, n: number,
                            lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
                            t: number): void {
  checkUpdate('adamwUpdate', n, { w, m, v, g });
  checkStep('adamwUpdate', t);
  const d = f32(f32(lr) * f32(weightDecay));
  for (let i = 0; i < n; i++) w[i] -= f32(d * w[i]);
  adamCore(w, m, v, g, n, lr, beta1, beta2, eps, t);
}

/**
 * TF.js RMSprop: ms = rho ms + (1-rho) g²; centered: mg = rho mg + (1-rho) g, denom = ms - mg²;
 * mom = momentum mom + lr g / sqrt(denom + eps); w -= mom. mg may be null when not centered.
 */
export function rmspropUpdate(w: Float32Array, ms: Float32Array, mom: Float32Array, mg: Float32Array | null,
                              g: Float32Array, n: number, lr: number, rho: number, momentum: number,
                              eps: number, centered: boolean): void {
  checkUpdate('rmspropUpdate', n, centered ? { w, ms, mom, mg, g } : { w, ms, mom, g });
  const a = f32(lr), r = f32(rho), mu = f32(momentum), e = f32(eps), rc = f32(1 - r);
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const msi = f32(f32(r * ms[i]) + f32(f32(rc * gi) * gi));
    ms[i] = msi;
    let denom = msi;
    if (centered) {
      const mgArr = mg as Float32Array;
      const mgi = f32(f32(r * mgArr[i]) + f32(rc * gi));
      mgArr[i] = mgi;
      denom = f32(msi - f32(mgi * mgi));
    }
    const mi = f32(f32(mu * mom[i]) + f32(f32(a * gi) / f32(Math.sqrt(f32(denom + e)))));
    mom[i] = mi;
    w[i] -= mi;
  }
}

/** TF.js Adagrad: acc += g²; w -= lr g / sqrt(acc + eps). */
export function adagradUpdate(w: Float32Array, acc: Float32Array, g: Float32Array, n: number, lr: number,
                              eps: number): void {
  checkUpdate('adagradUpdate', n, { w, acc, g });
  const a = f32(lr), e = f32(eps);
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const ai = f32(acc[i] + f32(gi * gi));
    acc[i] = ai;
    w[i] -= f32(f32(a * gi) / f32(Math.sqrt(f32(ai + e))));
  }
}

/** Slots per trainable variable: Sgd 0, Momentum 1 (v), Adam/AdamW 2 (m, v), RMSprop 3 (ms, mom, mg), Adagrad 1. */
export function optimizerSlotCount(kind: OptimizerKind): number {
  switch (kind) {
    case OptimizerKind.Sgd: return 0;
    case OptimizerKind.Momentum: return 1;
    case OptimizerKind.Adam: case OptimizerKind.AdamW: return 2;
    case OptimizerKind.RMSprop: return 3;
    case OptimizerKind.Adagrad: return 1;
    default: throw new RangeError(`optimizerSlotCount: unknown optimizer kind ${kind}`);
  }
}
