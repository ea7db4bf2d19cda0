'use strict';
// The pure TypeScript backend against independent formulas, direct loops and central differences.
const t = require('tap');
const { jsKernels: K } = require('../dist/backend/js');
const { Act, Padding, LossKind, LayerKind, OptimizerKind, GemmKernel } = require('../dist/backend/types');
const { erf, erfc } = require('../dist/backend/js/erf');
const { rngNext } = require('../dist/backend/js/rng');

// ---- helpers ---------------------------------------------------------------------------------

/** Small deterministic generator for test data (not the backend's RNG). */
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
const rand = lcg(12345);
const randArr = (n, scale = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
const maxDiff = (a, b) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const dot = (a, r) => {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += a[i] * r[i];
  return s;
};
/** Some indices of an array of length n: all when small, else a fixed random sample. */
function sampleIdx(n, k = 12) {
  if (n <= k) return [...Array(n).keys()];
  const out = new Set([0, n - 1]);
  while (out.size < k) out.add(Math.floor(rand() * n));
  return [...out];
}
/**
 * Central-difference check of d(Σ r·f())/d arr against `analytic`, on a sample of indices.
 * The step is measured after float32 rounding. Tolerance relative to max(|a|, |n|, 1).
 */
function gradCheck(tt, name, f, r, arr, analytic, { h = 1e-2, tol = 2e-3, k = 12 } = {}) {
  let worst = 0, worstAt = -1;
  for (const i of sampleIdx(arr.length, k)) {
    const s = arr[i];
    arr[i] = s + h;
    const up = arr[i];
    const lp = dot(f(), r);
    arr[i] = s - h;
    const dn = arr[i];
    const lm = dot(f(), r);
    arr[i] = s;
    const num = (lp - lm) / (up - dn);
    const err = Math.abs(num - analytic[i]) / Math.max(1, Math.abs(num), Math.abs(analytic[i]));
    if (err > worst) { worst = err; worstAt = i; }
  }
  tt.ok(worst < tol, `${name}: gradient matches central differences (worst rel err ${worst.toExponential(2)} at ${worstAt})`);
}

/** Independent GEMM in double: C = alpha op(A) op(B) + beta C. */
function gemmRef(tA, tB, M, N, Kd, alpha, A, lda, B, ldb, beta, C, ldc) {
  const out = Float64Array.from(C);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < Kd; p++) s += (tA ? A[p * lda + i] : A[i * lda + p]) * (tB ? B[j * ldb + p] : B[p * ldb + j]);
      out[i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * C[i * ldc + j]);
    }
  }
  return out;
}

// ---- GEMM ------------------------------------------------------------------------------------

t.test('sgemm: four transpose cases, edges, alpha/beta, strides', (tt) => {
  const shapes = [[1, 1, 1], [3, 5, 7], [17, 9, 33], [130, 21, 300], [5, 260, 513]];
  for (const [M, N, Kd] of shapes) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const lda = (tA ? M : Kd) + 2, ldb = (tB ? Kd : N) + 1, ldc = N + 3;
        const A = randArr((tA ? Kd : M) * lda), B = randArr((tB ? N : Kd) * ldb), C0 = randArr(M * ldc);
        const ref = gemmRef(tA, tB, M, N, Kd, 0.75, A, lda, B, ldb, 0.5, C0, ldc);
        const C1 = C0.slice(), C2 = C0.slice();
        K.sgemm(tA, tB, M, N, Kd, 0.75, A, lda, B, ldb, 0.5, C1, ldc);
        K.sgemmNaive(tA, tB, M, N, Kd, 0.75, A, lda, B, ldb, 0.5, C2, ldc);
        const tol = 1e-6 * Math.sqrt(Kd) * 4;
        tt.ok(maxDiff(C1, ref) < tol && maxDiff(C2, ref) < tol, `M${M} N${N} K${Kd} tA=${tA} tB=${tB}`);
      }
    }
  }
  // beta = 0 never reads C (NaN stays out); K = 0 gives beta * C.
  const A = randArr(6 * 4), B = randArr(4 * 5), C = new Float32Array(30).fill(NaN);
  K.sgemm(false, false, 6, 5, 4, 1, A, 4, B, 5, 0, C, 5);
  tt.ok(C.every(Number.isFinite), 'beta = 0 ignores NaN in C');
  const C3 = new Float32Array(4).fill(2);
  K.sgemm(false, false, 2, 2, 0, 1, A, 1, B, 2, 0.5, C3, 2);
  tt.same(Array.from(C3), [1, 1, 1, 1], 'K = 0 scales C by beta');
  tt.throws(() => K.sgemm(false, false, 4, 4, 4, 1, new Float32Array(15), 4, B, 4, 0, C, 4), /A has 15/);
  tt.throws(() => K.sgemm(false, false, 2, 2, 3, 1, A, 2, B, 2, 0, C, 2), /lda/);
  // kernel selection: Auto and Naive only
  tt.equal(K.setGemmKernel(GemmKernel.Avx2Fma), false);
  tt.equal(K.setGemmKernel(GemmKernel.Portable), false);
  tt.equal(K.setGemmKernel(GemmKernel.Naive), true);
  tt.equal(K.gemmKernel(), GemmKernel.Naive);
  const Cn = new Float32Array(30);
  K.sgemm(false, false, 6, 5, 4, 1, A, 4, B, 5, 0, Cn, 5);
  tt.ok(maxDiff(Cn, gemmRef(false, false, 6, 5, 4, 1, A, 4, B, 5, 0, Cn, 5)) < 1e-6, 'naive kernel selected');
  tt.equal(K.setGemmKernel(GemmKernel.Auto), true);
  tt.equal(K.gemmKernel(), GemmKernel.Auto);
  K.setNumThreads(4);
  tt.equal(K.getNumThreads(), 1, 'single-threaded');
  tt.end();
});

// ---- conv2d ----------------------------------------------------------------------------------

t.test('conv2dDims: TF same/valid rule with strides and dilation', (tt) => {
  const d1 = K.conv2dDims(2, 5, 6, 3, 3, 3, 4, 2, 2, 1, 1, Padding.Same);
  tt.match(d1, { OH: 3, OW: 3, PT: 1, PL: 0 }, 'same, stride 2: pad total 2 / 1, extra at the end');
  const d2 = K.conv2dDims(1, 7, 7, 1, 3, 3, 1, 1, 1, 2, 2, Padding.Valid);
  tt.match(d2, { OH: 3, OW: 3, PT: 0, PL: 0 }, 'valid, dilation 2');
  const d3 = K.conv2dDims(1, 7, 8, 1, 3, 2, 1, 1, 1, 2, 3, Padding.Same);
  tt.match(d3, { OH: 7, OW: 8, PT: 2, PL: 1 }, 'same, dilation: effective window 5 / 4');
  const pw = K.conv2dDims(3, 4, 4, 5, 1, 1, 6, 1, 1, 1, 1, Padding.Same);
  tt.equal(K.conv2dColSize(pw), 0, 'pointwise needs no col');
  tt.equal(K.conv2dColSize(d1), 2 * 3 * 3 * 3 * 3 * 3);
  tt.throws(() => K.conv2dDims(1, 2, 2, 1, 3, 3, 1, 1, 1, 1, 1, Padding.Valid), /smaller than/);
  tt.end();
});

/** Direct convolution in double with its own padding arithmetic. */
function convRef(inp, w, b, N, H, W, C, KH, KW, OC, SH, SW, DH, DW, same) {
  const eff = (k, d) => (k - 1) * d + 1;
  const OH = same ? Math.ceil(H / SH) : Math.floor((H - eff(KH, DH)) / SH) + 1;
  const OW = same ? Math.ceil(W / SW) : Math.floor((W - eff(KW, DW)) / SW) + 1;
  const PT = same ? Math.floor(Math.max((OH - 1) * SH + eff(KH, DH) - H, 0) / 2) : 0;
  const PL = same ? Math.floor(Math.max((OW - 1) * SW + eff(KW, DW) - W, 0) / 2) : 0;
  const out = new Float64Array(N * OH * OW * OC);
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let o = 0; o < OC; o++) {
    let s = b ? b[o] : 0;
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let c = 0; c < C; c++) {
      const ih = oh * SH - PT + kh * DH, iw = ow * SW - PL + kw * DW;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      s += inp[((n * H + ih) * W + iw) * C + c] * w[((kh * KW + kw) * C + c) * OC + o];
    }
    out[((n * OH + oh) * OW + ow) * OC + o] = s;
  }
  return { out, OH, OW };
}

const convCases = [
  // N H  W  C KH KW OC SH SW DH DW same
  [2, 5, 6, 3, 3, 3, 4, 1, 1, 1, 1, true],
  [2, 7, 6, 2, 3, 2, 3, 2, 2, 1, 1, true],
  [1, 8, 7, 2, 3, 3, 2, 2, 1, 1, 1, false],
  [2, 9, 9, 2, 3, 3, 3, 1, 1, 2, 2, false],
  [1, 8, 8, 3, 3, 3, 2, 1, 1, 2, 1, true],
  [2, 4, 5, 3, 1, 1, 4, 1, 1, 1, 1, true], // pointwise
  [1, 6, 6, 2, 1, 1, 3, 2, 2, 1, 1, false], // 1x1 strided: not pointwise
];

t.test('conv2d forward: im2col+GEMM and naive match a direct loop', (tt) => {
  for (const cs of convCases) {
    const [N, H, W, C, KH, KW, OC, SH, SW, DH, DW, same] = cs;
    const d = K.conv2dDims(N, H, W, C, KH, KW, OC, SH, SW, DH, DW, same ? Padding.Same : Padding.Valid);
    const inp = randArr(N * H * W * C), w = randArr(KH * KW * C * OC), b = randArr(OC);
    const ref = convRef(inp, w, b, N, H, W, C, KH, KW, OC, SH, SW, DH, DW, same);
    tt.match(d, { OH: ref.OH, OW: ref.OW });
    const cols = K.conv2dColSize(d);
    const col = cols > 0 ? new Float32Array(cols) : null;
    const out = new Float32Array(ref.out.length), outN = new Float32Array(ref.out.length);
    K.conv2dForward(out, col, inp, w, b, d, Act.Linear, 0);
    K.conv2dForwardNaive(outN, inp, w, b, d, Act.Linear, 0);
    tt.ok(maxDiff(out, ref.out) < 1e-5 && maxDiff(outN, ref.out) < 1e-5, `case ${cs.join(',')}`);
    // fused activation and no bias
    K.conv2dForward(out, col, inp, w, null, d, Act.Relu, 0);
    const refNb = convRef(inp, w, null, N, H, W, C, KH, KW, OC, SH, SW, DH, DW, same).out.map((v) => Math.max(v, 0));
    tt.ok(maxDiff(out, refNb) < 1e-5, 'fused relu, no bias');
  }
  tt.throws(() => K.conv2dForward(new Float32Array(9), null, new Float32Array(100), new Float32Array(100), null,
    K.conv2dDims(1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, Padding.Valid), Act.Linear, 0), /col is required/);
  tt.end();
});

t.test('conv2d backward: matches naive and central differences', (tt) => {
  for (const cs of convCases) {
    const [N, H, W, C, KH, KW, OC, SH, SW, DH, DW, same] = cs;
    const d = K.conv2dDims(N, H, W, C, KH, KW, OC, SH, SW, DH, DW, same ? Padding.Same : Padding.Valid);
    const inp = randArr(N * H * W * C), w = randArr(KH * KW * C * OC), b = randArr(OC);
    const P = N * d.OH * d.OW * OC;
    const r = randArr(P);
    const cols = K.conv2dColSize(d);
    const col = cols > 0 ? new Float32Array(cols) : null, dcol = cols > 0 ? new Float32Array(cols) : null;
    const out = new Float32Array(P);
    K.conv2dForward(out, col, inp, w, b, d, Act.Linear, 0);
    const dinp = new Float32Array(inp.length).fill(7), dw = new Float32Array(w.length).fill(7), db = new Float32Array(OC);
    K.conv2dBackward(dinp, dw, db, dcol, r, col, inp, w, d);
    const dinpN = new Float32Array(inp.length), dwN = new Float32Array(w.length), dbN = new Float32Array(OC);
    K.conv2dBackwardNaive(dinpN, dwN, dbN, r, inp, w, d);
    tt.ok(maxDiff(dinp, dinpN) < 1e-5 && maxDiff(dw, dwN) < 1e-4 && maxDiff(db, dbN) < 1e-5,
      `im2col backward = naive backward, case ${cs.join(',')}`);
    const f = () => {
      K.conv2dForwardNaive(out, inp, w, b, d, Act.Linear, 0);
      return out;
    };
    gradCheck(tt, 'dinp', f, r, inp, dinp);
    gradCheck(tt, 'dweight', f, r, w, dw);
    gradCheck(tt, 'dbias', f, r, b, db);
    // dinp null skips the input gradient
    const dw2 = new Float32Array(w.length);
    K.conv2dBackward(null, dw2, null, null, r, col, inp, w, d);
    tt.ok(maxDiff(dw2, dw) === 0, 'dinp = null still gives dweight');
  }
  tt.end();
});

// ---- pooling ---------------------------------------------------------------------------------

t.test('max pooling: window max, argmax layout, ties, padding never wins', (tt) => {
  const N = 2, H = 5, W = 5, C = 3;
  for (const [PH, SH, same] of [[2, 2, false], [3, 2, true], [2, 1, true], [3, 3, false]]) {
    const d = K.pool2dDims(N, H, W, C, PH, PH, SH, SH, same ? Padding.Same : Padding.Valid);
    const inp = randArr(N * H * W * C).map((v) => v - 2); // all negative: padding (0) must not win
    const out = new Float32Array(N * d.OH * d.OW * C), am = new Int32Array(out.length);
    K.maxPool2dForward(out, am, inp, d);
    let ok = true;
    for (let n = 0; n < N; n++) for (let oh = 0; oh < d.OH; oh++) for (let ow = 0; ow < d.OW; ow++) for (let c = 0; c < C; c++) {
      let best = -Infinity, bi = -1;
      for (let h = oh * SH - d.PT; h < oh * SH - d.PT + PH; h++) for (let w = ow * SH - d.PL; w < ow * SH - d.PL + PH; w++) {
        if (h < 0 || h >= H || w < 0 || w >= W) continue;
        const v = inp[((n * H + h) * W + w) * C + c];
        if (v > best) { best = v; bi = (h * W + w) * C + c; }
      }
      const o = ((n * d.OH + oh) * d.OW + ow) * C + c;
      if (out[o] !== best || am[o] !== bi) ok = false;
    }
    tt.ok(ok, `pool ${PH} stride ${SH} same=${same}: values and argmax`);
    const r = randArr(out.length), dinp = new Float32Array(inp.length).fill(3);
    K.maxPool2dBackward(dinp, r, am, d);
    const f = () => { K.maxPool2dForward(out, am, inp, d); return out; };
    gradCheck(tt, 'maxpool dinp', f, r, inp, dinp, { h: 1e-4 });
  }
  // ties: first in row-major window order
  const d = K.pool2dDims(1, 2, 2, 1, 2, 2, 2, 2, Padding.Valid);
  const out = new Float32Array(1), am = new Int32Array(1);
  K.maxPool2dForward(out, am, Float32Array.from([1, 5, 5, 5]), d);
  tt.equal(am[0], 1, 'tie goes to the first winner');
  tt.end();
});

t.test('avg pooling counts real pixels only; global pools', (tt) => {
  const N = 2, H = 5, W = 4, C = 2;
  const d = K.pool2dDims(N, H, W, C, 3, 3, 2, 2, Padding.Same);
  tt.match(d, { OH: 3, OW: 2, PT: 1, PL: 0 });
  const inp = randArr(N * H * W * C), out = new Float32Array(N * d.OH * d.OW * C);
  K.avgPool2dForward(out, inp, d);
  // corner window (0,0): rows -1..1 -> 0..1, cols 0..2 -> 6 real pixels
  let s = 0;
  for (let h = 0; h < 2; h++) for (let w = 0; w < 3; w++) s += inp[(h * W + w) * C];
  tt.ok(Math.abs(out[0] - s / 6) < 1e-6, 'padded pixels not counted');
  const r = randArr(out.length), dinp = new Float32Array(inp.length);
  K.avgPool2dBackward(dinp, r, d);
  gradCheck(tt, 'avgpool dinp', () => { K.avgPool2dForward(out, inp, d); return out; }, r, inp, dinp);

  const HW = 6, gin = randArr(N * HW * C), gout = new Float32Array(N * C), gam = new Int32Array(N * C);
  K.globalAvgPoolForward(gout, gin, N, HW, C);
  let m = 0;
  for (let p = 0; p < HW; p++) m += gin[p * C + 1];
  tt.ok(Math.abs(gout[1] - m / HW) < 1e-6, 'global average');
  const gr = randArr(N * C), gd = new Float32Array(gin.length);
  K.globalAvgPoolBackward(gd, gr, N, HW, C);
  gradCheck(tt, 'global avg dinp', () => { K.globalAvgPoolForward(gout, gin, N, HW, C); return gout; }, gr, gin, gd);
  K.globalMaxPoolForward(gout, gam, gin, N, HW, C);
  let best = -Infinity, bi = -1;
  for (let p = 0; p < HW; p++) if (gin[(HW + p) * C] > best) { best = gin[(HW + p) * C]; bi = p; }
  tt.ok(gout[C] === best && gam[C] === bi, 'global max and its pixel index');
  K.globalMaxPoolBackward(gd, gr, gam, N, HW, C);
  gradCheck(tt, 'global max dinp', () => { K.globalMaxPoolForward(gout, gam, gin, N, HW, C); return gout; }, gr, gin, gd, { h: 1e-4 });
  tt.end();
});

// ---- dense -----------------------------------------------------------------------------------

t.test('dense: forward formula, backward central differences', (tt) => {
  const N = 5, IN = 7, U = 4;
  const x = randArr(N * IN), w = randArr(IN * U), b = randArr(U), out = new Float32Array(N * U);
  K.denseForward(out, x, w, b, N, IN, U, Act.Tanh, 0);
  const ref = new Float64Array(N * U);
  for (let i = 0; i < N; i++) for (let j = 0; j < U; j++) {
    let s = b[j];
    for (let k = 0; k < IN; k++) s += x[i * IN + k] * w[k * U + j];
    ref[i * U + j] = Math.tanh(s);
  }
  tt.ok(maxDiff(out, ref) < 1e-6, 'forward with fused tanh');
  const r = randArr(N * U), dx = new Float32Array(x.length), dw = new Float32Array(w.length), db = new Float32Array(U);
  K.denseBackward(dx, dw, db, r, x, w, N, IN, U);
  const f = () => { K.denseForward(out, x, w, b, N, IN, U, Act.Linear, 0); return out; };
  gradCheck(tt, 'dense dinp', f, r, x, dx);
  gradCheck(tt, 'dense dweight', f, r, w, dw);
  gradCheck(tt, 'dense dbias', f, r, b, db);
  tt.end();
});

// ---- activations -----------------------------------------------------------------------------

t.test('erf / erfc / gelu against high-precision values', (tt) => {
  // mpmath, 30 digits
  const erfs = [[-3, -0.9999779095030014], [-0.5, -0.5204998778130465], [1, 0.8427007929497149],
    [2, 0.9953222650189527], [4, 0.9999999845827421]];
  for (const [x, v] of erfs) tt.ok(Math.abs(erf(x) - v) < 2e-14, `erf(${x})`);
  tt.ok(Math.abs(erfc(5) / 1.537459794428035e-12 - 1) < 1e-13, 'erfc(5), relative');
  tt.ok(Math.abs(erfc(10) / 2.088487583762545e-45 - 1) < 1e-13, 'erfc(10), relative');
  const gelus = [[-6, -5.9195258702261885e-09], [-3, -0.0040496940948902835], [-1, -0.15865525393145705],
    [0.5, 0.34573123063700656], [1, 0.8413447460685429], [2, 1.9544997361036416]];
  const x = Float32Array.from(gelus.map((g) => g[0])), y = new Float32Array(x.length);
  K.activationForward(y, x, 1, x.length, Act.Gelu, 0);
  gelus.forEach(([xv, v], i) => tt.ok(Math.abs(y[i] - v) <= Math.abs(v) * 1e-7, `gelu(${xv}) = ${v}`));
  tt.end();
});

const SELU_A = 1.6732632423543772, SELU_S = 1.0507009873554805;
const actRef = {
  [Act.Linear]: (x) => x,
  [Act.Relu]: (x) => Math.max(x, 0),
  [Act.LeakyRelu]: (x, a) => (x > 0 ? x : a * x),
  [Act.Elu]: (x, a) => (x > 0 ? x : a * (Math.exp(x) - 1)),
  [Act.Selu]: (x) => SELU_S * (x > 0 ? x : SELU_A * (Math.exp(x) - 1)),
  [Act.Sigmoid]: (x) => 1 / (1 + Math.exp(-x)),
  [Act.Tanh]: (x) => Math.tanh(x),
  [Act.Softplus]: (x) => Math.log(1 + Math.exp(x)),
  [Act.Gelu]: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  [Act.Swish]: (x) => x / (1 + Math.exp(-x)),
  [Act.Relu6]: (x) => Math.min(Math.max(x, 0), 6),
};

t.test('activations: forward formulas and derivatives', (tt) => {
  const rows = 3, cols = 8;
  // values away from the kinks at 0 and 6
  const x = randArr(rows * cols, 4).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : Math.abs(v - 6) < 0.05 ? 5.5 : v));
  x[3] = 6.5;
  for (const act of Object.keys(actRef).map(Number)) {
    const alpha = act === Act.LeakyRelu ? 0.2 : act === Act.Elu ? 0.7 : 0;
    const y = new Float32Array(x.length);
    K.activationForward(y, x, rows, cols, act, alpha);
    const ref = Array.from(x, (v) => actRef[act](v, Math.fround(alpha)));
    tt.ok(maxDiff(y, ref) < 2e-6, `${Act[act]} forward`);
    const dy = randArr(x.length), dx = new Float32Array(x.length);
    K.activationBackward(dx, dy, act === Act.Gelu || act === Act.Swish ? x : null, y, rows, cols, act, alpha);
    const h = 1e-4;
    const num = Array.from(x, (v, i) => dy[i] * (actRef[act](v + h, Math.fround(alpha)) - actRef[act](v - h, Math.fround(alpha))) / (2 * h));
    tt.ok(maxDiff(dx, num) < 1e-4, `${Act[act]} backward`);
  }
  // softmax: rows sum to 1; backward against central differences; in place
  const s = new Float32Array(x.length);
  K.activationForward(s, x, rows, cols, Act.Softmax, 0);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += s[r * cols + j];
    tt.ok(Math.abs(sum - 1) < 1e-6, `softmax row ${r} sums to 1`);
  }
  const dy = randArr(x.length), dx = dy.slice();
  K.activationBackward(dx, dx, null, s, rows, cols, Act.Softmax, 0); // dx aliases dy
  const tmp = new Float32Array(x.length);
  gradCheck(tt, 'softmax', () => { K.activationForward(tmp, x, rows, cols, Act.Softmax, 0); return tmp; }, dy, x, dx,
    { h: 1e-3, k: 24 });
  // relu'(0) = 0, relu6'(6) = 0, stable softplus / sigmoid at extremes
  const z = Float32Array.from([0, 6, 100, -100]), zy = new Float32Array(4), zd = new Float32Array(4);
  K.activationForward(zy, z, 1, 4, Act.Relu, 0);
  K.activationBackward(zd, new Float32Array(4).fill(1), null, zy, 1, 4, Act.Relu, 0);
  tt.equal(zd[0], 0, "relu'(0) = 0");
  K.activationForward(zy, z, 1, 4, Act.Relu6, 0);
  K.activationBackward(zd, new Float32Array(4).fill(1), null, zy, 1, 4, Act.Relu6, 0);
  tt.same(Array.from(zd), [0, 0, 0, 0], "relu6' is 0 at 0, 6 and outside");
  K.activationForward(zy, z, 1, 4, Act.Softplus, 0);
  tt.ok(zy[2] === 100 && zy[3] > 0 && zy[3] < 1e-40, 'softplus stable at +-100');
  K.activationForward(zy, z, 1, 4, Act.Sigmoid, 0);
  tt.ok(zy[2] === 1 && zy[3] >= 0 && zy[3] < 1e-40, 'sigmoid stable at +-100');
  tt.throws(() => K.activationBackward(dx, dy, null, s, rows, cols, Act.Gelu, 0), /x is required/);
  tt.end();
});

// ---- losses ----------------------------------------------------------------------------------

t.test('losses: values against formulas, gradients against central differences', (tt) => {
  const N = 4, D = 5, EPS = 1e-7;
  const clip = (p) => Math.min(Math.max(p, EPS), 1 - EPS);
  const logits = randArr(N * D, 2), probs = new Float32Array(N * D);
  K.softmaxRows(probs, logits, N, D);
  const labels = new Float32Array(N * D), sparse = Int32Array.from([0, 3, 4, 1]);
  sparse.forEach((k, i) => { labels[i * D + k] = 1; });
  const sw = Float32Array.from([1, 0.5, 2, 0]);
  const smooth = 0.1;
  const ys = (i, j) => labels[i * D + j] * (1 - smooth) + smooth / D;
  // reference CE with weights and smoothing
  let ref = 0;
  for (let i = 0; i < N; i++) {
    let l = 0;
    for (let j = 0; j < D; j++) l -= ys(i, j) * Math.log(clip(probs[i * D + j]));
    ref += sw[i] * l;
  }
  ref /= N;
  const dl = new Float32Array(N * D), dl2 = new Float32Array(N * D);
  const loss = K.softmaxCrossentropy(dl, probs, labels, sw, N, D, smooth);
  tt.ok(Math.abs(loss - ref) < 1e-6, 'fused softmax CE value');
  tt.ok(Math.abs(K.sparseSoftmaxCrossentropy(dl2, probs, sparse, sw, N, D, smooth) - ref) < 1e-6, 'sparse = dense');
  tt.ok(maxDiff(dl, dl2) < 1e-7, 'sparse gradient = dense gradient');
  const one = new Float32Array(N).fill(1);
  const lossFromLogits = () => {
    K.softmaxRows(probs, logits, N, D);
    return [K.softmaxCrossentropy(null, probs, labels, sw, N, D, smooth)];
  };
  gradCheck(tt, 'fused softmax CE w.r.t. logits', lossFromLogits, [1], logits, dl, { h: 1e-3, k: 20 });
  tt.equal(K.softmaxCrossentropy(null, probs, labels, null, N, D, 0),
    K.softmaxCrossentropy(null, probs, labels, one, N, D, 0), 'sw null = all ones');

  // categorical CE on unnormalised probabilities (rows normalised, then clipped)
  const pred = Float32Array.from(randArr(N * D), (v) => 0.05 + Math.abs(v));
  let cref = 0;
  for (let i = 0; i < N; i++) {
    let s = 0, l = 0;
    for (let j = 0; j < D; j++) s += pred[i * D + j];
    for (let j = 0; j < D; j++) l -= ys(i, j) * Math.log(clip(pred[i * D + j] / s));
    cref += sw[i] * l;
  }
  cref /= N;
  const dp = new Float32Array(N * D), dp2 = new Float32Array(N * D);
  tt.ok(Math.abs(K.categoricalCrossentropy(dp, pred, labels, sw, N, D, smooth) - cref) < 1e-6, 'CCE value');
  tt.ok(Math.abs(K.sparseCategoricalCrossentropy(dp2, pred, sparse, sw, N, D, smooth) - cref) < 1e-6, 'SCCE value');
  tt.ok(maxDiff(dp, dp2) < 1e-6, 'SCCE gradient = CCE gradient');
  gradCheck(tt, 'CCE', () => [K.categoricalCrossentropy(null, pred, labels, sw, N, D, smooth)], [1], pred, dp, { h: 1e-3, k: 20 });
  // clipping: a zero probability gives a finite loss -log(1e-7), and no gradient through the clip
  const p0 = Float32Array.from([0, 1]), d0 = new Float32Array(2);
  const l0 = K.categoricalCrossentropy(d0, p0, Float32Array.from([1, 0]), null, 1, 2, 0);
  tt.ok(Math.abs(l0 + Math.log(Math.fround(1e-7))) < 1e-5, 'clipped at eps = 1e-7');
  tt.same(Array.from(d0), [0, 0], 'no gradient through the active clip');

  // binary CE, probabilities and logits
  const bl = Float32Array.from(randArr(N * D), (v) => (v > 0 ? 1 : 0));
  const bp = Float32Array.from(randArr(N * D), (v) => 0.5 + 0.45 * v);
  const bys = (i, j) => bl[i * D + j] * (1 - smooth) + 0.5 * smooth;
  let bref = 0, bref2 = 0;
  for (let i = 0; i < N; i++) {
    let l = 0, l2 = 0;
    for (let j = 0; j < D; j++) {
      const y = bys(i, j), p = bp[i * D + j], x = logits[i * D + j];
      l -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
      const s = 1 / (1 + Math.exp(-x));
      l2 -= y * Math.log(s) + (1 - y) * Math.log(1 - s);
    }
    bref += (sw[i] * l) / D;
    bref2 += (sw[i] * l2) / D;
  }
  const db = new Float32Array(N * D), db2 = new Float32Array(N * D);
  tt.ok(Math.abs(K.binaryCrossentropy(db, bp, bl, sw, N, D, false, smooth) - bref / N) < 1e-6, 'BCE value');
  tt.ok(Math.abs(K.binaryCrossentropy(db2, logits, bl, sw, N, D, true, smooth) - bref2 / N) < 1e-6, 'BCE from logits value');
  gradCheck(tt, 'BCE', () => [K.binaryCrossentropy(null, bp, bl, sw, N, D, false, smooth)], [1], bp, db, { h: 1e-3, k: 20 });
  gradCheck(tt, 'BCE logits', () => [K.binaryCrossentropy(null, logits, bl, sw, N, D, true, smooth)], [1], logits, db2, { h: 1e-3, k: 20 });

  // MSE / MAE
  const target = randArr(N * D);
  let mse = 0, mae = 0;
  for (let i = 0; i < N; i++) {
    let a = 0, b = 0;
    for (let j = 0; j < D; j++) { const e = pred[i * D + j] - target[i * D + j]; a += e * e; b += Math.abs(e); }
    mse += (sw[i] * a) / D;
    mae += (sw[i] * b) / D;
  }
  const dm = new Float32Array(N * D), da = new Float32Array(N * D);
  tt.ok(Math.abs(K.meanSquaredError(dm, pred, target, sw, N, D) - mse / N) < 1e-6, 'MSE value');
  tt.ok(Math.abs(K.meanAbsoluteError(da, pred, target, sw, N, D) - mae / N) < 1e-6, 'MAE value');
  gradCheck(tt, 'MSE', () => [K.meanSquaredError(null, pred, target, sw, N, D)], [1], pred, dm, { h: 1e-3, k: 20 });
  gradCheck(tt, 'MAE', () => [K.meanAbsoluteError(null, pred, target, sw, N, D)], [1], pred, da, { h: 1e-4, k: 20 });
  tt.throws(() => K.sparseSoftmaxCrossentropy(null, probs, Int32Array.from([0, 5, 0, 0]), null, N, D, 0), /label 5/);
  tt.end();
});

// ---- batchnorm -------------------------------------------------------------------------------

t.test('batchnorm: batch statistics, moving averages, inference, gradients', (tt) => {
  const rows = 12, C = 3, mom = 0.9, eps = 1e-3;
  const x = randArr(rows * C, 2), gamma = Float32Array.from([1.5, 0.5, -1]), beta = Float32Array.from([0.1, -0.2, 0.3]);
  const out = new Float32Array(x.length), xhat = new Float32Array(x.length), mean = new Float32Array(C), invstd = new Float32Array(C);
  const mm = Float32Array.from([0.5, 0, -0.5]), mv = Float32Array.from([1, 2, 3]);
  const mm0 = mm.slice(), mv0 = mv.slice();
  K.batchnormForwardTrain(out, xhat, mean, invstd, mm, mv, x, gamma, beta, rows, C, mom, eps);
  let ok = true;
  for (let c = 0; c < C; c++) {
    let m = 0, v = 0;
    for (let r = 0; r < rows; r++) m += x[r * C + c];
    m /= rows;
    for (let r = 0; r < rows; r++) v += (x[r * C + c] - m) ** 2;
    v /= rows; // biased
    if (Math.abs(mm[c] - (mm0[c] * mom + m * (1 - mom))) > 1e-6) ok = false;
    if (Math.abs(mv[c] - (mv0[c] * mom + v * (1 - mom))) > 1e-6) ok = false;
    for (let r = 0; r < rows; r++) {
      if (Math.abs(out[r * C + c] - (gamma[c] * (x[r * C + c] - m) / Math.sqrt(v + eps) + beta[c])) > 1e-5) ok = false;
    }
  }
  tt.ok(ok, 'training forward and moving statistics');
  const r = randArr(x.length), dx = new Float32Array(x.length), dg = new Float32Array(C), dbt = new Float32Array(C);
  K.batchnormBackward(dx, dg, dbt, r, xhat, invstd, gamma, rows, C);
  const scratchM = new Float32Array(C), scratchV = new Float32Array(C);
  const f = () => {
    K.batchnormForwardTrain(out, xhat, mean, invstd, scratchM, scratchV, x, gamma, beta, rows, C, mom, eps);
    return out;
  };
  gradCheck(tt, 'bn dinp', f, r, x, dx, { h: 1e-3, k: 20 });
  gradCheck(tt, 'bn dgamma', f, r, gamma, dg, { h: 1e-3 });
  gradCheck(tt, 'bn dbeta', f, r, beta, dbt, { h: 1e-3 });
  K.batchnormForwardInfer(out, x, gamma, beta, mm, mv, rows, C, eps);
  tt.ok(Math.abs(out[4] - (gamma[1] * (x[4] - mm[1]) / Math.sqrt(mv[1] + eps) + beta[1])) < 1e-5, 'inference uses moving stats');
  tt.end();
});

// ---- optimizers ------------------------------------------------------------------------------

t.test('optimizers: one and two steps against the TF.js formulas', (tt) => {
  const n = 6, w0 = randArr(n), g = randArr(n), lr = 0.1;
  const close = (a, b, msg) => tt.ok(maxDiff(a, b) < 1e-6, msg);
  let w = w0.slice();
  K.sgdUpdate(w, g, n, lr);
  close(w, Array.from(w0, (v, i) => v - lr * g[i]), 'sgd');
  for (const nesterov of [false, true]) {
    w = w0.slice();
    const v = new Float32Array(n);
    K.momentumUpdate(w, v, g, n, lr, 0.9, nesterov);
    K.momentumUpdate(w, v, g, n, lr, 0.9, nesterov);
    const ref = Array.from(w0, (x, i) => {
      let vv = 0, ww = x;
      for (let s = 0; s < 2; s++) { vv = 0.9 * vv + g[i]; ww -= nesterov ? lr * (g[i] + 0.9 * vv) : lr * vv; }
      return ww;
    });
    close(w, ref, `momentum nesterov=${nesterov}`);
  }
  for (const wd of [0, 0.01]) {
    w = w0.slice();
    const m = new Float32Array(n), v = new Float32Array(n);
    for (let s = 1; s <= 2; s++) {
      if (wd) K.adamwUpdate(w, m, v, g, n, lr, 0.9, 0.999, 1e-7, wd, s);
      else K.adamUpdate(w, m, v, g, n, lr, 0.9, 0.999, 1e-7, s);
    }
    const ref = Array.from(w0, (x, i) => {
      let mm = 0, vv = 0, ww = x;
      for (let s = 1; s <= 2; s++) {
        ww -= lr * wd * ww;
        mm = 0.9 * mm + 0.1 * g[i];
        vv = 0.999 * vv + 0.001 * g[i] * g[i];
        ww -= lr * (mm / (1 - 0.9 ** s)) / (Math.sqrt(vv / (1 - 0.999 ** s)) + 1e-7);
      }
      return ww;
    });
    close(w, ref, wd ? 'adamw' : 'adam');
  }
  for (const centered of [false, true]) {
    w = w0.slice();
    const ms = new Float32Array(n), mom = new Float32Array(n), mg = new Float32Array(n);
    for (let s = 0; s < 2; s++) K.rmspropUpdate(w, ms, mom, centered ? mg : null, g, n, lr, 0.9, 0.5, 1e-7, centered);
    const ref = Array.from(w0, (x, i) => {
      let a = 0, mo = 0, b = 0, ww = x;
      for (let s = 0; s < 2; s++) {
        a = 0.9 * a + 0.1 * g[i] ** 2;
        b = 0.9 * b + 0.1 * g[i];
        mo = 0.5 * mo + lr * g[i] / Math.sqrt((centered ? a - b * b : a) + 1e-7);
        ww -= mo;
      }
      return ww;
    });
    close(w, ref, `rmsprop centered=${centered}`);
  }
  w = w0.slice();
  const acc = new Float32Array(n).fill(0.1);
  K.adagradUpdate(w, acc, g, n, lr, 1e-7);
  close(w, Array.from(w0, (x, i) => x - lr * g[i] / Math.sqrt(0.1 + g[i] ** 2 + 1e-7)), 'adagrad');
  const gc = Float32Array.from([3, -4, 0.5]);
  K.clipByValue(gc, 3, 1);
  tt.same(Array.from(gc), [1, -1, 0.5], 'clip by value');
  const gn = Float32Array.from([3, 4]);
  K.clipByNorm(gn, 2, 1);
  close(gn, [0.6, 0.8], 'clip by norm');
  K.clipByNorm(gn, 2, 5);
  close(gn, [0.6, 0.8], 'clip by norm leaves small gradients');
  tt.same([0, 1, 2, 2, 3, 1].map((v, i) => K.optimizerSlotCount(i)), [0, 1, 2, 2, 3, 1], 'slot counts');
  tt.end();
});

// ---- rng / dropout ---------------------------------------------------------------------------

t.test('rng: xoshiro128** seeded by splitmix32 matches native/kernels/rng.cc', (tt) => {
  // printed by a small C++ program linking native/kernels/rng.cc (g++ 12)
  const s = new Uint32Array(4);
  K.rngSeed(s, 42);
  tt.same(Array.from(s), [939911724, 3948730756, 321366731, 3317318717], 'state after seeding 42');
  const first = Array.from({ length: 6 }, () => rngNext(s));
  tt.same(first, [2837322924, 544945897, 479756282, 3500138142, 339756180, 113173290], 'first outputs');
  K.rngSeed(s, 0xffffffff);
  tt.equal(rngNext(s), 835879718, 'seed 2^32-1');
  // dropout: exactly n draws, u = (next >>> 8) 2^-24, mask 0 or 1/(1-rate)
  const n = 1000, rate = 0.3;
  const a = new Uint32Array(4), b = new Uint32Array(4);
  K.rngSeed(a, 7);
  K.rngSeed(b, 7);
  const x = randArr(n), out = new Float32Array(n), mask = new Float32Array(n);
  K.dropoutForward(out, mask, x, n, rate, a);
  const keep = Math.fround(1 / Math.fround(1 - Math.fround(rate)));
  let ok = true, kept = 0;
  for (let i = 0; i < n; i++) {
    const u = (rngNext(b) >>> 8) * 2 ** -24;
    const m = u >= Math.fround(rate) ? keep : 0;
    if (mask[i] !== m || out[i] !== Math.fround(x[i] * m)) ok = false;
    if (m) kept++;
  }
  tt.ok(ok, 'mask from u >= rate, scaled by 1/(1-rate)');
  tt.same(Array.from(a), Array.from(b), 'exactly n numbers drawn');
  tt.ok(kept > 620 && kept < 780, `about 70% kept (${kept})`);
  const dinp = new Float32Array(n);
  K.dropoutBackward(dinp, x, mask, n);
  tt.ok(dinp.every((v, i) => v === Math.fround(x[i] * mask[i])), 'backward multiplies by the mask');
  tt.end();
});

// ---- network ---------------------------------------------------------------------------------

/** Lays out the parameters of a list of layer descriptions; returns spec pieces and sizes. */
function buildSpec(layerDefs, { trainableBN = true } = {}) {
  const vars = [];
  let off = 0;
  const alloc = (size, trainable = true) => {
    vars.push({ offset: off, size, trainable });
    off += size;
    return off - size;
  };
  const layers = layerDefs.map((l) => {
    const L = { ...l };
    const C = l.in[2];
    if (l.kind === LayerKind.Conv2D) { L.kernel = alloc(l.kh * l.kw * C * l.filters); if (!l.noBias) L.bias = alloc(l.filters); }
    if (l.kind === LayerKind.Dense) { L.kernel = alloc(C * l.units); if (!l.noBias) L.bias = alloc(l.units); }
    if (l.kind === LayerKind.BatchNorm) {
      L.gamma = alloc(C, trainableBN); L.beta = alloc(C, trainableBN);
      L.movingMean = alloc(C, false); L.movingVar = alloc(C, false);
    }
    delete L.noBias;
    return L;
  });
  return { layers, vars, paramCount: off };
}

function initParams(spec, scale = 0.5) {
  const p = randArr(spec.paramCount, scale);
  for (const l of spec.layers) {
    if (l.kind !== LayerKind.BatchNorm) continue;
    const C = l.in[2];
    for (let c = 0; c < C; c++) { p[l.gamma + c] = 1 + 0.2 * p[l.gamma + c]; p[l.movingMean + c] = 0; p[l.movingVar + c] = 1; }
  }
  return p;
}

function slotsFor(spec, kind) {
  const per = K.optimizerSlotCount(kind);
  return new Float32Array(spec.vars.reduce((s, v) => s + (v.trainable ? v.size * per : 0), 0));
}

// conv(stride 2, same, gelu) -> BN -> avgpool(same) -> flatten -> dense(swish) -> dense softmax
const gradNetLayers = [
  { kind: LayerKind.Conv2D, in: [7, 6, 2], out: [4, 3, 4], kh: 3, kw: 3, sh: 2, sw: 2, padding: Padding.Same, filters: 4, act: Act.Gelu },
  { kind: LayerKind.BatchNorm, in: [4, 3, 4], out: [4, 3, 4], momentum: 0.9, eps: 1e-3 },
  { kind: LayerKind.AvgPool2D, in: [4, 3, 4], out: [2, 2, 4], kh: 2, kw: 2, sh: 2, sw: 2, padding: Padding.Same },
  { kind: LayerKind.Flatten, in: [2, 2, 4], out: [1, 1, 16] },
  { kind: LayerKind.Dense, in: [1, 1, 16], out: [1, 1, 5], units: 5, act: Act.Swish },
  { kind: LayerKind.Dense, in: [1, 1, 5], out: [1, 1, 3], units: 3, act: Act.Softmax },
];
// pointwise conv (elu) -> dilated conv (leaky relu) -> maxpool -> global max -> dense linear (BCE from logits)
const gradNet2Layers = [
  { kind: LayerKind.Conv2D, in: [6, 6, 3], out: [6, 6, 4], kh: 1, kw: 1, filters: 4, act: Act.Elu, alpha: 1 },
  { kind: LayerKind.Conv2D, in: [6, 6, 4], out: [4, 4, 3], kh: 2, kw: 2, dh: 2, dw: 2, filters: 3, act: Act.LeakyRelu, alpha: 0.2, noBias: true },
  { kind: LayerKind.MaxPool2D, in: [4, 4, 3], out: [2, 2, 3], kh: 2, kw: 2, sh: 2, sw: 2 },
  { kind: LayerKind.GlobalMaxPool2D, in: [2, 2, 3], out: [1, 1, 3] },
  { kind: LayerKind.Dense, in: [1, 1, 3], out: [1, 1, 2], units: 2 },
];

function checkNetGrads(tt, name, layers, loss, labelsFor, extra = {}) {
  const s = buildSpec(layers);
  const spec = { layers: s.layers, vars: s.vars, loss, opt: { kind: OptimizerKind.Sgd }, seed: 1, ...extra };
  const params = initParams(s);
  const net = K.createNetwork(spec, params, new Float32Array(0));
  const n = 4;
  const x = randArr(n * net.inSize), y = labelsFor(n, net.outSize), sw = Float32Array.from([1, 0.5, 2, 1]);
  net.forwardBackward(x, y, sw, n);
  const g = new Float32Array(net.paramCount);
  net.getGrads(g);
  gradCheck(tt, name, () => [net.forwardBackward(x, y, sw, n)], [1], params, g, { h: 1e-2, tol: 5e-3, k: 40 });
  for (const v of s.vars.filter((q) => !q.trainable)) {
    tt.ok(g.subarray(v.offset, v.offset + v.size).every((q) => q === 0), 'non-trainable ranges get no gradient');
  }
}

t.test('network: forwardBackward gradients match central differences', (tt) => {
  const sparse = (n, D) => Int32Array.from({ length: n }, (_, i) => i % D);
  const bin = (n, D) => Float32Array.from({ length: n * D }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
  checkNetGrads(tt, 'conv/BN/avgpool/dense, fused softmax + sparse CE', gradNetLayers,
    LossKind.SparseCategoricalCrossentropy, sparse, { labelSmoothing: 0.1 });
  checkNetGrads(tt, 'pointwise + dilated conv, maxpools, BCE from logits', gradNet2Layers,
    LossKind.BinaryCrossentropy, bin, { fromLogits: true });
  // softmax output with MSE: no fusion, the softmax backward runs
  checkNetGrads(tt, 'softmax + MSE (not fused)', gradNetLayers, LossKind.MeanSquaredError,
    (n, D) => randArr(n * D));
  tt.end();
});

t.test('network: fused softmax CE equals linear output + fromLogits', (tt) => {
  const s = buildSpec(gradNetLayers);
  const lin = s.layers.map((l, i) => (i === s.layers.length - 1 ? { ...l, act: Act.Linear } : l));
  const params = initParams(s);
  const mk = (layers, fromLogits, loss) => K.createNetwork({ layers, vars: s.vars, loss, fromLogits,
    opt: { kind: OptimizerKind.Sgd } }, params.slice(), new Float32Array(0));
  const n = 5, x = randArr(n * 84);
  const y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) y[i * 3 + (i % 3)] = 1;
  const a = mk(s.layers, false, LossKind.CategoricalCrossentropy);
  const b = mk(lin, true, LossKind.CategoricalCrossentropy);
  const la = a.forwardBackward(x, y, null, n), lb = b.forwardBackward(x, y, null, n);
  const ga = new Float32Array(s.paramCount), gb = new Float32Array(s.paramCount);
  a.getGrads(ga);
  b.getGrads(gb);
  tt.ok(Math.abs(la - lb) < 1e-5, `same loss (${la} vs ${lb})`);
  tt.ok(maxDiff(ga, gb) < 1e-5, 'same gradients');
  const out = new Float32Array(n * 3);
  a.getOutput(out);
  tt.ok(Math.abs(out[0] + out[1] + out[2] - 1) < 1e-6, 'output of the fused net is probabilities');
  tt.end();
});

/** Toy problem: horizontal (class 0) or vertical (class 1) bar in noisy 8x8 images. */
function barData(n, r) {
  const x = new Float32Array(n * 64), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 2, pos = 1 + Math.floor(r() * 6);
    y[i] = cls;
    for (let p = 0; p < 64; p++) x[i * 64 + p] = 0.3 * (r() - 0.5);
    for (let k = 0; k < 8; k++) x[i * 64 + (cls === 0 ? pos * 8 + k : k * 8 + pos)] += 1;
  }
  return { x, y };
}

const toyLayers = [
  { kind: LayerKind.Conv2D, in: [8, 8, 1], out: [8, 8, 4], kh: 3, kw: 3, padding: Padding.Same, filters: 4, act: Act.Relu },
  { kind: LayerKind.MaxPool2D, in: [8, 8, 4], out: [4, 4, 4], kh: 2, kw: 2, sh: 2, sw: 2 },
  { kind: LayerKind.Flatten, in: [4, 4, 4], out: [1, 1, 64] },
  { kind: LayerKind.Dropout, in: [1, 1, 64], out: [1, 1, 64], rate: 0.1 },
  { kind: LayerKind.Dense, in: [1, 1, 64], out: [1, 1, 2], units: 2, act: Act.Softmax },
];

t.test('network: a tiny CNN learns a toy problem with adam', (tt) => {
  const s = buildSpec(toyLayers);
  const spec = { layers: s.layers, vars: s.vars, loss: LossKind.SparseCategoricalCrossentropy,
    opt: { kind: OptimizerKind.Adam }, seed: 3 };
  const params = initParams(s, 0.3), slots = slotsFor(s, OptimizerKind.Adam);
  const net = K.createNetwork(spec, params, slots);
  tt.equal(net.slotCount, slots.length);
  tt.equal(net.paramCount, s.paramCount);
  const r = lcg(99);
  const test = barData(64, r);
  const out = new Float32Array(64 * 2);
  const first = net.evaluate(out, test.x, test.y, null, 64);
  let last = 0;
  for (let step = 1; step <= 60; step++) {
    const b = barData(16, r);
    last = net.trainStep(b.x, b.y, null, 16, 0.02, step);
  }
  const after = net.evaluate(out, test.x, test.y, null, 64);
  let correct = 0;
  for (let i = 0; i < 64; i++) if ((out[i * 2 + 1] > out[i * 2]) === (test.y[i] === 1)) correct++;
  tt.ok(after < first * 0.3, `evaluation loss falls: ${first.toFixed(3)} -> ${after.toFixed(3)} (last batch ${last.toFixed(3)})`);
  tt.ok(correct >= 60, `accuracy ${correct}/64`);
  const p1 = new Float32Array(64 * 2), p2 = new Float32Array(64 * 2);
  net.predict(p1, test.x, 64);
  net.predict(p2, test.x, 64);
  tt.same(p1, p2, 'predict is deterministic (dropout off)');
  tt.same(p1, out, 'evaluate writes the same output as predict');
  tt.end();
});

t.test('network: trainStep = forwardBackward + per-variable clip + update, for every optimizer', (tt) => {
  const s = buildSpec(gradNetLayers);
  const n = 3, x = randArr(n * 84), y = Int32Array.from([0, 2, 1]);
  const opts = [
    { kind: OptimizerKind.Sgd, clipValue: 0.05 },
    { kind: OptimizerKind.Momentum, momentum: 0.9, nesterov: true },
    { kind: OptimizerKind.Adam, clipNorm: 0.1 },
    { kind: OptimizerKind.AdamW, weightDecay: 0.01 },
    { kind: OptimizerKind.RMSprop, momentum: 0.5, centered: true, clipNorm: 0.2, clipValue: 0.01 },
    { kind: OptimizerKind.Adagrad },
  ];
  const p0 = initParams(s);
  for (const opt of opts) {
    const o = { beta1: 0.9, beta2: 0.999, eps: 1e-7, momentum: 0, nesterov: false, rho: 0.9, centered: false,
      weightDecay: 0, clipNorm: 0, clipValue: 0, ...opt };
    const mk = () => {
      const params = p0.slice(), slots = slotsFor(s, opt.kind);
      if (opt.kind === OptimizerKind.Adagrad) slots.fill(0.1);
      return { params, slots, net: K.createNetwork({ layers: s.layers, vars: s.vars,
        loss: LossKind.SparseCategoricalCrossentropy, opt }, params, slots) };
    };
    const A = mk(), B = mk();
    const g = new Float32Array(s.paramCount);
    let ok = true;
    for (let step = 1; step <= 2; step++) {
      const la = A.net.trainStep(x, y, null, n, 0.05, step);
      const lb = B.net.forwardBackward(x, y, null, n);
      B.net.getGrads(g);
      if (la !== lb) ok = false;
      let base = 0;
      const per = K.optimizerSlotCount(opt.kind);
      for (const v of s.vars) {
        if (!v.trainable) continue;
        const w = B.params.subarray(v.offset, v.offset + v.size), gv = g.subarray(v.offset, v.offset + v.size);
        const b0 = base;
        const sl = (k) => B.slots.subarray(b0 + k * v.size, b0 + (k + 1) * v.size);
        base += v.size * per;
        if (o.clipNorm) K.clipByNorm(gv, v.size, o.clipNorm);
        if (o.clipValue) K.clipByValue(gv, v.size, o.clipValue);
        switch (opt.kind) {
          case OptimizerKind.Sgd: K.sgdUpdate(w, gv, v.size, 0.05); break;
          case OptimizerKind.Momentum: K.momentumUpdate(w, sl(0), gv, v.size, 0.05, o.momentum, o.nesterov); break;
          case OptimizerKind.Adam: K.adamUpdate(w, sl(0), sl(1), gv, v.size, 0.05, o.beta1, o.beta2, o.eps, step); break;
          case OptimizerKind.AdamW:
            K.adamwUpdate(w, sl(0), sl(1), gv, v.size, 0.05, o.beta1, o.beta2, o.eps, o.weightDecay, step); break;
          case OptimizerKind.RMSprop:
            K.rmspropUpdate(w, sl(0), sl(1), o.centered ? sl(2) : null, gv, v.size, 0.05, o.rho, o.momentum, o.eps, o.centered);
            break;
          case OptimizerKind.Adagrad: K.adagradUpdate(w, sl(0), gv, v.size, 0.05, o.eps); break;
        }
      }
    }
    tt.ok(ok && maxDiff(A.params, B.params) === 0 && maxDiff(A.slots, B.slots) === 0,
      `${OptimizerKind[opt.kind]}: params and slots identical after two steps`);
  }
  tt.end();
});

t.test('network: dropout stream, batch-size changes, BN modes', (tt) => {
  const s = buildSpec(toyLayers);
  const params = initParams(s);
  const mk = (seed) => K.createNetwork({ layers: s.layers, vars: s.vars, loss: LossKind.SparseCategoricalCrossentropy,
    opt: { kind: OptimizerKind.Sgd }, seed }, params, new Float32Array(0));
  const { x, y } = barData(6, lcg(5));
  const a = mk(11), b = mk(11), c = mk(12);
  const la1 = a.forwardBackward(x, y, null, 6), lb1 = b.forwardBackward(x, y, null, 6);
  const la2 = a.forwardBackward(x, y, null, 6);
  tt.equal(la1, lb1, 'same seed, same dropout masks');
  tt.not(la1, la2, 'the stream advances between steps');
  tt.not(la1, c.forwardBackward(x, y, null, 6), 'another seed, other masks');
  // two dropout layers draw n * size numbers each, in layer order, every training step
  const ds = buildSpec([
    { kind: LayerKind.Dropout, in: [1, 1, 5], out: [1, 1, 5], rate: 0.5 },
    { kind: LayerKind.Dropout, in: [1, 1, 5], out: [1, 1, 5], rate: 0.25 },
  ]);
  const dn = K.createNetwork({ layers: ds.layers, vars: ds.vars, loss: LossKind.MeanSquaredError,
    opt: { kind: OptimizerKind.Sgd }, seed: 11 }, new Float32Array(0), new Float32Array(0));
  const dx = randArr(15), st = new Uint32Array(4), m1 = new Float32Array(15), m2 = new Float32Array(15);
  const e1 = new Float32Array(15), e2 = new Float32Array(15), got = new Float32Array(15);
  K.rngSeed(st, 11);
  let same = true;
  for (let step = 0; step < 2; step++) {
    dn.forwardBackward(dx, new Float32Array(15), null, 3);
    dn.getOutput(got);
    K.dropoutForward(e1, m1, dx, 15, 0.5, st);
    K.dropoutForward(e2, m2, e1, 15, 0.25, st);
    if (maxDiff(got, e2) !== 0) same = false;
  }
  tt.ok(same, 'masks replay from one stream seeded with spec.seed');
  const inf = new Float32Array(15);
  dn.predict(inf, dx, 3);
  tt.same(inf, dx, 'no dropout in inference');
  // batch size changes keep results consistent
  const fresh = mk(1), out3 = new Float32Array(6), out5 = new Float32Array(10), outA = new Float32Array(6);
  fresh.predict(out3, x, 3);
  fresh.predict(out5, x, 5);
  fresh.predict(outA, x, 3);
  tt.same(outA, out3, 'predict after a batch-size change');
  tt.same(out5.subarray(0, 6), out3, 'rows do not depend on the batch size');
  const big = barData(300, lcg(6)), outBig = new Float32Array(600), outOne = new Float32Array(2);
  fresh.predict(outBig, big.x, 300); // more than one inference chunk (at most 256 samples)
  fresh.predict(outOne, big.x.subarray(299 * 64), 1);
  tt.same(outBig.subarray(598), outOne, 'chunked inference');

  // BN: training forward updates moving stats, inference uses them
  const bs = buildSpec([
    { kind: LayerKind.BatchNorm, in: [1, 1, 3], out: [1, 1, 3], momentum: 0.5, eps: 1e-3 },
  ]);
  const bp = initParams(bs);
  const bn = K.createNetwork({ layers: bs.layers, vars: bs.vars, loss: LossKind.MeanSquaredError,
    opt: { kind: OptimizerKind.Sgd } }, bp, new Float32Array(0));
  const bx = Float32Array.from([1, 2, 3, 3, 2, 1]);
  bn.forwardBackward(bx, new Float32Array(6), null, 2);
  const mmOff = bs.layers[0].movingMean, mvOff = bs.layers[0].movingVar;
  // channel 0 sees (1, 3): mean 2, biased var 1; channel 1 sees (2, 2): mean 2, var 0
  tt.ok(Math.abs(bp[mmOff] - 1) < 1e-6 && Math.abs(bp[mvOff] - 1) < 1e-6 && Math.abs(bp[mvOff + 1] - 0.5) < 1e-6,
    'moving mean / var updated (momentum 0.5, biased var)');
  const bo = new Float32Array(6);
  bn.predict(bo, bx, 2);
  const g0 = bp[bs.layers[0].gamma], b0 = bp[bs.layers[0].beta];
  tt.ok(Math.abs(bo[3] - (g0 * (3 - 1) / Math.sqrt(1 + 1e-3) + b0)) < 1e-5, 'inference normalises with the moving stats');
  tt.end();
});

t.test('network: spec validation, busy and disposed', async (tt) => {
  const s = buildSpec(toyLayers);
  const params = initParams(s);
  const base = { layers: s.layers, vars: s.vars, loss: LossKind.SparseCategoricalCrossentropy, opt: { kind: OptimizerKind.Adam } };
  const slots = slotsFor(s, OptimizerKind.Adam);
  const bad = (mut, re, msg) => {
    const spec = JSON.parse(JSON.stringify(base));
    mut(spec);
    tt.throws(() => K.createNetwork(spec, params, slots), re, msg);
  };
  bad((sp) => { sp.layers[1].in = [8, 8, 5]; }, /layers\[1\] \(MaxPool2D\): in \[8, 8, 5\] does not match the previous layer's out/, 'shape chaining');
  bad((sp) => { sp.layers[1].out = [3, 3, 4]; }, /layers\[1\] \(MaxPool2D\): out must be \[4, 4, 4\]/, 'output shape');
  bad((sp) => { sp.layers[4].bias = s.paramCount; }, /bias \[\d+, \d+\) is not inside one of the vars/, 'offset in range');
  bad((sp) => { delete sp.layers[0].kernel; }, /kernel offset is required/, 'kernel required');
  bad((sp) => { sp.layers[4].bias = sp.layers[4].kernel; }, /overlaps/, 'layers do not share parameters');
  bad((sp) => { sp.layers[3].rate = 1; }, { name: 'TypeError', message: /layers\[3\]\.rate must be a number in \[0, 1\)/ }, 'dropout rate');
  bad((sp) => { sp.layers[0].kh = 1.5; }, { name: 'TypeError', message: /layers\[0\]\.kh must be a positive integer/ }, 'integer fields');
  bad((sp) => { sp.vars[1].offset = 1; }, /variables overlap/, 'vars do not overlap');
  bad((sp) => { sp.layers = sp.layers.slice(0, 2); }, /categorical losses need a \[1, 1, classes\] output/, 'categorical output shape');
  bad((sp) => { delete sp.opt; }, { name: 'TypeError', message: /spec\.opt must be an object/ }, 'opt required');
  tt.throws(() => K.createNetwork(base, params.subarray(0, 10), slots), /params has 10 elements, the vars need/);
  tt.throws(() => K.createNetwork(base, params, slots.subarray(0, 3)), /slots has 3 elements, the optimizer needs/);

  const net = K.createNetwork(base, params, slots);
  const { x, y } = barData(4, lcg(1));
  tt.throws(() => net.getOutput(new Float32Array(8)), /no forwardBackward or trainStep has run yet/);
  tt.throws(() => net.trainStep(x, Int32Array.from([0, 1, 2, 0]), null, 4, 0.01, 1),
    { name: 'RangeError', message: /labels\[2\] = 2 is not a class index in \[0, 2\)/ });
  tt.throws(() => net.trainStep(x, new Float32Array(4), null, 4, 0.01, 1), { name: 'TypeError', message: /y must be an Int32Array/ });
  tt.throws(() => net.trainStep(x.subarray(0, 10), y, null, 4, 0.01, 1), /x has 10 elements, needs at least 256/);
  tt.throws(() => net.trainStep(x, y, null, 4, 0.01, 0), { name: 'RangeError', message: /t must be an integer/ });
  await tt.rejects(net.trainStepAsync(x, y, null, 0, 0.01, 1), { name: 'RangeError', message: /n must be an integer/ },
    'argument errors reject');

  const twin = K.createNetwork(base, params.slice(), slots.slice());
  const expected = twin.trainStep(x, y, null, 4, 0.01, 1);
  const p = net.trainStepAsync(x, y, null, 4, 0.01, 1);
  tt.throws(() => net.predict(new Float32Array(8), x, 4), /network is busy/, 'sync call while async runs');
  tt.throws(() => net.dispose(), /network is busy/, 'no dispose while async runs');
  await tt.rejects(net.trainStepAsync(x, y, null, 4, 0.01, 2), /network is busy/, 'async call while busy rejects');
  tt.equal(await p, expected, 'async step gives the sync result');
  const out = new Float32Array(8);
  await net.predictAsync(out, x, 4);
  tt.ok(out.every(Number.isFinite), 'predictAsync fills out');
  net.dispose();
  tt.throws(() => net.trainStep(x, y, null, 4, 0.01, 2), /network was disposed/);
  tt.throws(() => net.getGrads(new Float32Array(s.paramCount)), /network was disposed/);
  tt.throws(() => net.dispose(), /network was disposed/);
  await tt.rejects(net.predictAsync(out, x, 4), /network was disposed/);
  tt.end();
});
