// Batch normalisation over the last axis (native/kernels/batchnorm.h): inp viewed as (rows, C),
// rows = N*H*W. Biased batch statistics (as TF.js); moving averages as Keras:
// moving = moving * momentum + batch * (1 - momentum) (the biased variance goes into moving_var).
import { checkInts, checkLen, checkOptLen, f32 } from './check';

let sumA = new Float64Array(16);
let sumB = new Float64Array(16);

function scratch(C: number): void {
  if (sumA.length < C) { sumA = new Float64Array(C); sumB = new Float64Array(C); }
  sumA.fill(0, 0, C);
  sumB.fill(0, 0, C);
}

/**
 * Training mode: out (rows,C); xhat (rows,C) and invstd (C) kept for backward; mean (C) scratch;
 * movingMean / movingVar (C) updated in place; gamma, beta (C).
 */
export function batchnormForwardTrain(out: Float32Array, xhat: Float32Array, mean: Float32Array,
                                      invstd: Float32Array, movingMean: Float32Array, movingVar: Float32Array,
                                      inp: Float32Array, gamma: Float32Array, beta: Float32Array,
                                      rows: number, C: number, momentum: number, eps: number): void {
  const fn = 'batchnormForwardTrain';
  checkInts(fn, { rows, C }, 1);
  for (const [k, a] of [['out', out], ['xhat', xhat], ['inp', inp]] as const) checkLen(fn, k, a, rows * C);
  for (const [k, a] of [['mean', mean], ['invstd', invstd], ['movingMean', movingMean],
    ['movingVar', movingVar], ['gamma', gamma], ['beta', beta]] as const) checkLen(fn, k, a, C);
  batchnormTrainUnchecked(out, xhat, mean, invstd, movingMean, movingVar, inp, gamma, beta, rows, C,
    f32(momentum), f32(eps));
}

export function batchnormTrainUnchecked(out: Float32Array, xhat: Float32Array, mean: Float32Array,
                                        invstd: Float32Array, movingMean: Float32Array, movingVar: Float32Array,
                                        inp: Float32Array, gamma: Float32Array, beta: Float32Array,
                                        rows: number, C: number, momentum: number, eps: number): void {
  scratch(C);
  const s = sumA, v = sumB;
  for (let r = 0, o = 0; r < rows; r++, o += C) for (let c = 0; c < C; c++) s[c] += inp[o + c];
  for (let c = 0; c < C; c++) mean[c] = s[c] / rows;
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    for (let c = 0; c < C; c++) { const d = inp[o + c] - mean[c]; v[c] += d * d; }
  }
  for (let c = 0; c < C; c++) {
    const variance = v[c] / rows;
    invstd[c] = 1 / Math.sqrt(variance + eps);
    movingMean[c] = movingMean[c] * momentum + mean[c] * (1 - momentum);
    movingVar[c] = movingVar[c] * momentum + variance * (1 - momentum);
  }
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    for (let c = 0; c < C; c++) {
      const xh = f32((inp[o + c] - mean[c]) * invstd[c]);
      xhat[o + c] = xh;
      out[o + c] = gamma[c] * xh + beta[c];
    }
  }
}

/** Inference mode: out (rows,C) = gamma (inp - movingMean) / sqrt(movingVar + eps) + beta. */
export function batchnormForwardInfer(out: Float32Array, inp: Float32Array, gamma: Float32Array,
                                      beta: Float32Array, movingMean: Float32Array, movingVar: Float32Array,
                                      rows: number, C: number, eps: number): void {
  const fn = 'batchnormForwardInfer';
  checkInts(fn, { rows, C }, 1);
  checkLen(fn, 'out', out, rows * C);
  checkLen(fn, 'inp', inp, rows * C);
  for (const [k, a] of [['movingMean', movingMean], ['movingVar', movingVar], ['gamma', gamma],
    ['beta', beta]] as const) checkLen(fn, k, a, C);
  batchnormInferUnchecked(out, inp, gamma, beta, movingMean, movingVar, rows, C, f32(eps));
}

export function batchnormInferUnchecked(out: Float32Array, inp: Float32Array, gamma: Float32Array,
                                        beta: Float32Array, movingMean: Float32Array, movingVar: Float32Array,
                                        rows: number, C: number, eps: number): void {
  scratch(C);
  const inv = sumA;
  for (let c = 0; c < C; c++) inv[c] = f32(1 / Math.sqrt(movingVar[c] + eps));
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    for (let c = 0; c < C; c++) out[o + c] = gamma[c] * f32((inp[o + c] - movingMean[c]) * inv[c]) + beta[c];
  }
}

/**
 * Overwrites dinp (rows,C) if non-null, dgamma = Σ dout·xhat, dbeta = Σ dout (C);
 * dinp = gamma invstd / rows * (rows dout - dbeta - xhat dgamma).
 */
export function batchnormBackward(dinp: Float32Array | null, dgamma: Float32Array, dbeta: Float32Array,
                                  dout: Float32Array, xhat: Float32Array, invstd: Float32Array,
                                  gamma: Float32Array, rows: number, C: number): void {
  const fn = 'batchnormBackward';
  checkInts(fn, { rows, C }, 1);
  checkLen(fn, 'dout', dout, rows * C);
  checkLen(fn, 'xhat', xhat, rows * C);
  checkOptLen(fn, 'dinp', dinp, rows * C);
  for (const [k, a] of [['dgamma', dgamma], ['dbeta', dbeta], ['invstd', invstd], ['gamma', gamma]] as const) {
    checkLen(fn, k, a, C);
  }
  batchnormBackwardUnchecked(dinp, dgamma, dbeta, dout, xhat, invstd, gamma, rows, C);
}

export function batchnormBackwardUnchecked(dinp: Float32Array | null, dgamma: Float32Array, dbeta: Float32Array,
                                           dout: Float32Array, xhat: Float32Array, invstd: Float32Array,
                                           gamma: Float32Array, rows: number, C: number): void {
  scratch(C);
  const sb = sumA, sg = sumB;
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    for (let c = 0; c < C; c++) { const g = dout[o + c]; sb[c] += g; sg[c] += g * xhat[o + c]; }
  }
  for (let c = 0; c < C; c++) { dbeta[c] = sb[c]; dgamma[c] = sg[c]; }
  if (dinp === null) return;
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    for (let c = 0; c < C; c++) {
      dinp[o + c] = ((gamma[c] * invstd[c]) / rows) * (rows * dout[o + c] - sb[c] - xhat[o + c] * sg[c]);
    }
  }
}
