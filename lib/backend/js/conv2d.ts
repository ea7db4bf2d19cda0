// 2-D convolution, NHWC activations, HWIO kernels, by im2col + GEMM (native/kernels/conv2d.h):
//   forward:  out[P, OC] = col[P, K] · W[K, OC] + b      (P = N*OH*OW, K = KH*KW*C)
//   backward: dW = colᵀ · dY,  db = column sums of dY,  dcol = dY · Wᵀ then col2im -> dX
// A 1x1 / stride 1 / unpadded convolution is pointwise: the input already is the col matrix.
import { Act, Conv2DDims, Padding } from '../types';
import { activationApply } from './activations';
import { checkInts, checkLen, checkOptLen, f32 } from './check';
import { gemmBlocked } from './gemm';

/** TF's output size and leading pad for one axis (same: out = ceil(in/s), extra pixel at the end). */
export function outputAndPad(fn: string, axis: string, size: number, k: number, s: number, d: number,
                             pad: Padding): [number, number] {
  const eff = (k - 1) * d + 1;
  if (pad === Padding.Same) {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + eff - size, 0);
    return [out, Math.floor(total / 2)];
  }
  if (pad !== Padding.Valid) throw new RangeError(`${fn}: padding must be 0 (valid) or 1 (same), received ${pad}`);
  if (size < eff) {
    throw new RangeError(`${fn}: ${axis} = ${size} is smaller than the (dilated) window ${eff} with valid padding`);
  }
  return [Math.floor((size - eff) / s) + 1, 0];
}

export function conv2dDims(N: number, H: number, W: number, C: number, KH: number, KW: number, OC: number,
                           SH: number, SW: number, DH: number, DW: number, pad: Padding): Conv2DDims {
  const fn = 'conv2dDims';
  checkInts(fn, { N, H, W, C, KH, KW, OC, SH, SW, DH, DW }, 1);
  const [OH, PT] = outputAndPad(fn, 'H', H, KH, SH, DH, pad);
  const [OW, PL] = outputAndPad(fn, 'W', W, KW, SW, DW, pad);
  return { N, H, W, C, KH, KW, OC, SH, SW, DH, DW, PT, PL, OH, OW };
}

/** True for 1x1, stride 1, no padding: im2col would copy the input unchanged. */
export function conv2dIsPointwise(d: Conv2DDims): boolean {
  return d.KH === 1 && d.KW === 1 && d.SH === 1 && d.SW === 1 && d.PT === 0 && d.PL === 0 &&
    d.OH === d.H && d.OW === d.W;
}

/** Floats needed for col (and for dcol in backward); 0 when pointwise. */
export function conv2dColSize(d: Conv2DDims): number {
  return conv2dIsPointwise(d) ? 0 : d.N * d.OH * d.OW * d.KH * d.KW * d.C;
}

function checkDims(fn: string, d: Conv2DDims): void {
  const { N, H, W, C, KH, KW, OC, SH, SW, DH, DW, PT, PL, OH, OW } = d;
  checkInts(fn, { N, H, W, C, KH, KW, OC, SH, SW, DH, DW, OH, OW }, 1);
  checkInts(fn, { PT, PL }, 0);
}

/** col (N*OH*OW, KH*KW*C), rows (n,oh,ow), columns (kh,kw,c); inp (N,H,W,C). */
export function im2col(col: Float32Array, inp: Float32Array, d: Conv2DDims): void {
  const { N, H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW } = d;
  let o = 0;
  for (let n = 0; n < N; n++) {
    const nBase = n * H;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - PT;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * SW - PL;
        for (let kh = 0; kh < KH; kh++) {
          const ih = ih0 + kh * DH;
          const rowIn = ih >= 0 && ih < H;
          for (let kw = 0; kw < KW; kw++) {
            const iw = iw0 + kw * DW;
            if (rowIn && iw >= 0 && iw < W) {
              const s = ((nBase + ih) * W + iw) * C;
              for (let c = 0; c < C; c++) col[o + c] = inp[s + c];
            } else {
              for (let c = 0; c < C; c++) col[o + c] = 0;
            }
            o += C;
          }
        }
      }
    }
  }
}

/** dinp (N,H,W,C) overwritten with the sum of the col entries that read each pixel. */
export function col2im(dinp: Float32Array, col: Float32Array, d: Conv2DDims): void {
  const { N, H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW } = d;
  dinp.fill(0, 0, N * H * W * C);
  let o = 0;
  for (let n = 0; n < N; n++) {
    const nBase = n * H;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - PT;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * SW - PL;
        for (let kh = 0; kh < KH; kh++) {
          const ih = ih0 + kh * DH;
          const rowIn = ih >= 0 && ih < H;
          for (let kw = 0; kw < KW; kw++) {
            const iw = iw0 + kw * DW;
            if (rowIn && iw >= 0 && iw < W) {
              const s = ((nBase + ih) * W + iw) * C;
              for (let c = 0; c < C; c++) dinp[s + c] += col[o + c];
            }
            o += C;
          }
        }
      }
    }
  }
}

/** out (P, OC) += bias per row, then the activation in place. */
export function biasAct(out: Float32Array, bias: Float32Array | null, rows: number, cols: number,
                        act: Act, alpha: number): void {
  if (bias !== null) {
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      for (let j = 0; j < cols; j++) out[o + j] += bias[j];
    }
  }
  if (act !== Act.Linear) activationApply(out, out, rows, cols, act, alpha);
}

let colSums = new Float64Array(64);

/** db (cols) = column sums of dY (rows, cols), accumulated in double. */
export function columnSums(db: Float32Array, dY: Float32Array, rows: number, cols: number): void {
  if (colSums.length < cols) colSums = new Float64Array(cols);
  const s = colSums;
  s.fill(0, 0, cols);
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    for (let j = 0; j < cols; j++) s[j] += dY[o + j];
  }
  for (let j = 0; j < cols; j++) db[j] = s[j];
}

function checkForward(fn: string, out: Float32Array, inp: Float32Array, weight: Float32Array,
                      bias: Float32Array | null, d: Conv2DDims, act: Act): void {
  checkDims(fn, d);
  checkLen(fn, 'inp', inp, d.N * d.H * d.W * d.C);
  checkLen(fn, 'weight', weight, d.KH * d.KW * d.C * d.OC);
  checkOptLen(fn, 'bias', bias, d.OC);
  checkLen(fn, 'out', out, d.N * d.OH * d.OW * d.OC);
  if (!Number.isInteger(act) || act < Act.Linear || act > Act.Relu6) {
    throw new RangeError(`${fn}: unknown activation ${act}`);
  }
}

/**
 * out (N,OH,OW,OC) = act(conv(inp, weight) + bias). col: conv2dColSize(d) floats, kept for
 * backward (null allowed when pointwise); inp (N,H,W,C); weight (KH,KW,C,OC); bias (OC) or null.
 */
export function conv2dForward(out: Float32Array, col: Float32Array | null, inp: Float32Array,
                              weight: Float32Array, bias: Float32Array | null, d: Conv2DDims,
                              act: Act, alpha: number): void {
  const fn = 'conv2dForward';
  checkForward(fn, out, inp, weight, bias, d, act);
  const colSize = conv2dColSize(d);
  if (colSize > 0) checkLen(fn, 'col', col, colSize);
  conv2dForwardUnchecked(out, col, inp, weight, bias, d, act, f32(alpha));
}

export function conv2dForwardUnchecked(out: Float32Array, col: Float32Array | null, inp: Float32Array,
                                       weight: Float32Array, bias: Float32Array | null, d: Conv2DDims,
                                       act: Act, alpha: number): void {
  const P = d.N * d.OH * d.OW, K = d.KH * d.KW * d.C;
  let A = inp;
  if (!conv2dIsPointwise(d)) {
    im2col(col as Float32Array, inp, d);
    A = col as Float32Array;
  }
  gemmBlocked(false, false, P, d.OC, K, 1, A, K, weight, d.OC, 0, out, d.OC);
  biasAct(out, bias, P, d.OC, act, alpha);
}

/**
 * dout (N,OH,OW,OC): gradient w.r.t. the pre-activation output. Overwrites dweight (KH,KW,C,OC),
 * dbias (OC) if non-null, dinp (N,H,W,C) if non-null. col: what forward left in it; dcol: scratch
 * of conv2dColSize floats (both may be null when pointwise; dcol may be null when dinp is).
 */
export function conv2dBackward(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
                               dcol: Float32Array | null, dout: Float32Array, col: Float32Array | null,
                               inp: Float32Array, weight: Float32Array, d: Conv2DDims): void {
  const fn = 'conv2dBackward';
  checkDims(fn, d);
  checkLen(fn, 'dout', dout, d.N * d.OH * d.OW * d.OC);
  checkLen(fn, 'inp', inp, d.N * d.H * d.W * d.C);
  checkLen(fn, 'weight', weight, d.KH * d.KW * d.C * d.OC);
  checkLen(fn, 'dweight', dweight, d.KH * d.KW * d.C * d.OC);
  checkOptLen(fn, 'dbias', dbias, d.OC);
  checkOptLen(fn, 'dinp', dinp, d.N * d.H * d.W * d.C);
  const colSize = conv2dColSize(d);
  if (colSize > 0) {
    checkLen(fn, 'col', col, colSize);
    if (dinp !== null) checkLen(fn, 'dcol', dcol, colSize);
  }
  conv2dBackwardUnchecked(dinp, dweight, dbias, dcol, dout, col, inp, weight, d);
}

export function conv2dBackwardUnchecked(dinp: Float32Array | null, dweight: Float32Array,
                                        dbias: Float32Array | null, dcol: Float32Array | null,
                                        dout: Float32Array, col: Float32Array | null, inp: Float32Array,
                                        weight: Float32Array, d: Conv2DDims): void {
  const P = d.N * d.OH * d.OW, K = d.KH * d.KW * d.C, OC = d.OC;
  const pointwise = conv2dIsPointwise(d);
  const A = pointwise ? inp : (col as Float32Array);
  gemmBlocked(true, false, K, OC, P, 1, A, K, dout, OC, 0, dweight, OC);
  if (dbias !== null) columnSums(dbias, dout, P, OC);
  if (dinp === null) return;
  if (pointwise) {
    gemmBlocked(false, true, P, d.C, OC, 1, dout, OC, weight, OC, 0, dinp, d.C);
  } else {
    const dc = dcol as Float32Array;
    gemmBlocked(false, true, P, K, OC, 1, dout, OC, weight, OC, 0, dc, K);
    col2im(dinp, dc, d);
  }
}

/** Direct loops, no im2col: the reference for conv2dForward. */
export function conv2dForwardNaive(out: Float32Array, inp: Float32Array, weight: Float32Array,
                                   bias: Float32Array | null, d: Conv2DDims, act: Act, alpha: number): void {
  checkForward('conv2dForwardNaive', out, inp, weight, bias, d, act);
  const { N, H, W, C, KH, KW, OC, SH, SW, DH, DW, PT, PL, OH, OW } = d;
  const acc = new Float64Array(OC);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        acc.fill(0);
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PL + kw * DW;
            if (iw < 0 || iw >= W) continue;
            for (let c = 0; c < C; c++) {
              const v = inp[((n * H + ih) * W + iw) * C + c];
              const wo = ((kh * KW + kw) * C + c) * OC;
              for (let oc = 0; oc < OC; oc++) acc[oc] += v * weight[wo + oc];
            }
          }
        }
        const o = ((n * OH + oh) * OW + ow) * OC;
        for (let oc = 0; oc < OC; oc++) out[o + oc] = acc[oc];
      }
    }
  }
  biasAct(out, bias, N * OH * OW, OC, act, f32(alpha));
}

/** Direct loops: the reference for conv2dBackward (same overwrite contract). */
export function conv2dBackwardNaive(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
                                    dout: Float32Array, inp: Float32Array, weight: Float32Array,
                                    d: Conv2DDims): void {
  const fn = 'conv2dBackwardNaive';
  checkDims(fn, d);
  const { N, H, W, C, KH, KW, OC, SH, SW, DH, DW, PT, PL, OH, OW } = d;
  checkLen(fn, 'dout', dout, N * OH * OW * OC);
  checkLen(fn, 'inp', inp, N * H * W * C);
  checkLen(fn, 'weight', weight, KH * KW * C * OC);
  checkLen(fn, 'dweight', dweight, KH * KW * C * OC);
  checkOptLen(fn, 'dbias', dbias, OC);
  checkOptLen(fn, 'dinp', dinp, N * H * W * C);
  const dw = new Float64Array(KH * KW * C * OC);
  const dx = dinp !== null ? new Float64Array(N * H * W * C) : null;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const go = ((n * OH + oh) * OW + ow) * OC;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PL + kw * DW;
            if (iw < 0 || iw >= W) continue;
            for (let c = 0; c < C; c++) {
              const xi = ((n * H + ih) * W + iw) * C + c;
              const v = inp[xi];
              const wo = ((kh * KW + kw) * C + c) * OC;
              let sx = 0;
              for (let oc = 0; oc < OC; oc++) {
                const g = dout[go + oc];
                dw[wo + oc] += v * g;
                sx += weight[wo + oc] * g;
              }
              if (dx !== null) dx[xi] += sx;
            }
          }
        }
      }
    }
  }
  dweight.set(dw);
  if (dinp !== null && dx !== null) dinp.set(dx);
  if (dbias !== null) columnSums(dbias, dout, N * OH * OW, OC);
}
