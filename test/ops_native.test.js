'use strict';
// CNN kernels of the native backend (conv2d.h, pool2d.h, dense.h, activations.h): the fast paths
// against the naive C++ references and against direct JS loops in double, gradients against
// central differences, and the binding's argument checks.
const t = require('tap');
const { backendKernels } = require('../dist/backend');

const k = backendKernels('native');
const VALID = 0, SAME = 1;
const A = {
  linear: 0, relu: 1, leakyRelu: 2, elu: 3, selu: 4, sigmoid: 5, tanh: 6, softplus: 7, gelu: 8,
  swish: 9, softmax: 10, relu6: 11,
};

// ---- helpers ------------------------------------------------------------------------------------

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
function randArr(n, seed, lo = -1, hi = 1) {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}
function randInts(n, seed, hi) {  // small integers: many exact ties
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => Math.floor(r() * (hi + 1)));
}
function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
// Passes when |a - b| <= atol + rtol |b| everywhere, with atol relative to the scale of b.
function close(t, a, b, msg, { rtol = 1e-4, atolFrac = 1e-5, atol = 0 } = {}) {
  if (a.length !== b.length) return t.fail(`${msg}: length ${a.length} != ${b.length}`);
  const tolAbs = atol + atolFrac * maxAbs(b);
  let worst = 0, bad = -1;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    worst = Math.max(worst, d);
    if (!(d <= tolAbs + rtol * Math.abs(b[i])) && bad < 0) bad = i;
  }
  if (bad >= 0) t.fail(`${msg}: [${bad}] ${a[bad]} vs ${b[bad]} (maxdiff ${worst.toExponential(2)})`);
  else t.pass(`${msg} (maxdiff ${worst.toExponential(2)})`);
}
function same(t, a, b, msg) {
  let bad = -1;
  for (let i = 0; i < b.length; i++) if (!Object.is(a[i], b[i])) { bad = i; break; }
  if (bad >= 0) t.fail(`${msg}: [${bad}] ${a[bad]} vs ${b[bad]}`);
  else t.pass(msg);
}
const f32 = (n, v = NaN) => new Float32Array(n).fill(v);  // NaN: catches unwritten outputs

// ---- JS references (double) ---------------------------------------------------------------------

const SELU_A = 1.6732632423543772, SELU_S = 1.0507009873554805;
// erfc in double (series below 2.5, Lentz's continued fraction above): a reference to ~1e-13.
function erfc(z) {
  if (z < 0) return 2 - erfc(-z);
  if (z < 2.5) {
    let sum = z, term = z;
    for (let n = 1; n < 80; n++) {
      term *= -z * z / n;
      sum += term / (2 * n + 1);
    }
    return 1 - 2 / Math.sqrt(Math.PI) * sum;
  }
  let f = z, C = z, D = 0;
  for (let n = 1; n < 300; n++) {
    D = 1 / (z + (n / 2) * D);
    C = z + (n / 2) / C;
    f *= C * D;
  }
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}
const Phi = (x) => 0.5 * erfc(-x / Math.SQRT2);
const sig = (x) => 1 / (1 + Math.exp(-x));
const actFn = {
  [A.linear]: (x) => x,
  [A.relu]: (x) => Math.max(x, 0),
  [A.leakyRelu]: (x, a) => (x > 0 ? x : a * x),
  [A.elu]: (x, a) => (x > 0 ? x : a * Math.expm1(x)),
  [A.selu]: (x) => SELU_S * (x > 0 ? x : SELU_A * Math.expm1(x)),
  [A.sigmoid]: sig,
  [A.tanh]: Math.tanh,
  [A.softplus]: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  [A.gelu]: (x) => x * Phi(x),
  [A.swish]: (x) => x * sig(x),
  [A.relu6]: (x) => Math.min(Math.max(x, 0), 6),
};
const actGrad = {  // d act / dx at x (right derivative 0 at the relu kinks, as TF)
  [A.linear]: () => 1,
  [A.relu]: (x) => (x > 0 ? 1 : 0),
  [A.leakyRelu]: (x, a) => (x > 0 ? 1 : a),
  [A.elu]: (x, a) => (x >= 0 ? 1 : a * Math.exp(x)),  // TF: 1 at 0 (from y: y < 0)
  [A.selu]: (x) => (x >= 0 ? SELU_S : SELU_S * SELU_A * Math.exp(x)),
  [A.sigmoid]: (x) => sig(x) * (1 - sig(x)),
  [A.tanh]: (x) => 1 - Math.tanh(x) ** 2,
  [A.softplus]: sig,
  [A.gelu]: (x) => Phi(x) + x * Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI),
  [A.swish]: (x) => sig(x) * (1 + x * (1 - sig(x))),
  [A.relu6]: (x) => (x > 0 && x < 6 ? 1 : 0),
};
// In place on rows of `cols` (Float64Array).
function actRows(y, cols, act, alpha) {
  alpha = Math.fround(alpha);
  if (act === A.softmax) {
    for (let r = 0; r < y.length / cols; r++) {
      const row = y.subarray(r * cols, (r + 1) * cols);
      const m = Math.max(...row);
      let s = 0;
      for (let j = 0; j < cols; j++) s += (row[j] = Math.exp(row[j] - m));
      for (let j = 0; j < cols; j++) row[j] /= s;
    }
    return y;
  }
  for (let i = 0; i < y.length; i++) y[i] = actFn[act](y[i], alpha);
  return y;
}

function convDimsRef(N, H, W, C, KH, KW, OC, SH, SW, DH, DW, pad) {
  const axis = (n, kk, s, dd) => {
    const ek = (kk - 1) * dd + 1;
    if (pad === VALID) return [Math.floor((n - ek) / s) + 1, 0];
    const out = Math.ceil(n / s);
    return [out, Math.floor(Math.max((out - 1) * s + ek - n, 0) / 2)];
  };
  const [OH, PT] = axis(H, KH, SH, DH), [OW, PL] = axis(W, KW, SW, DW);
  return { N, H, W, C, KH, KW, OC, SH, SW, DH, DW, PT, PL, OH, OW };
}

// Visits every (n, oh, ow, kh, kw) tap that reads a real pixel: fn(outPixel, inPixel, tap).
function convTaps(d, fn) {
  for (let n = 0; n < d.N; n++)
    for (let oh = 0; oh < d.OH; oh++)
      for (let ow = 0; ow < d.OW; ow++)
        for (let kh = 0; kh < d.KH; kh++) {
          const ih = oh * d.SH - d.PT + kh * d.DH;
          if (ih < 0 || ih >= d.H) continue;
          for (let kw = 0; kw < d.KW; kw++) {
            const iw = ow * d.SW - d.PL + kw * d.DW;
            if (iw < 0 || iw >= d.W) continue;
            fn((n * d.OH + oh) * d.OW + ow, (n * d.H + ih) * d.W + iw, kh * d.KW + kw);
          }
        }
}
function convForwardRef(inp, w, b, d, act = A.linear, alpha = 0) {
  const { C, OC } = d;
  const out = new Float64Array(d.N * d.OH * d.OW * OC);
  if (b) for (let p = 0; p < out.length / OC; p++) for (let o = 0; o < OC; o++) out[p * OC + o] = b[o];
  convTaps(d, (po, pi, tap) => {
    for (let c = 0; c < C; c++) {
      const x = inp[pi * C + c];
      for (let o = 0; o < OC; o++) out[po * OC + o] += x * w[(tap * C + c) * OC + o];
    }
  });
  return actRows(out, OC, act, alpha);
}
function convBackwardRef(dout, inp, w, d) {
  const { C, OC } = d;
  const dinp = new Float64Array(d.N * d.H * d.W * C);
  const dw = new Float64Array(d.KH * d.KW * C * OC);
  const db = new Float64Array(OC);
  for (let p = 0; p < dout.length / OC; p++) for (let o = 0; o < OC; o++) db[o] += dout[p * OC + o];
  convTaps(d, (po, pi, tap) => {
    for (let c = 0; c < C; c++)
      for (let o = 0; o < OC; o++) {
        const g = dout[po * OC + o];
        dw[(tap * C + c) * OC + o] += inp[pi * C + c] * g;
        dinp[pi * C + c] += w[(tap * C + c) * OC + o] * g;
      }
  });
  return { dinp, dw, db };
}

// ---- conv2d -------------------------------------------------------------------------------------

// [N, H, W, C, KH, KW, OC, SH, SW, DH, DW, pad]
const CONVS = [
  [1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, VALID],
  [2, 7, 6, 3, 3, 3, 4, 1, 1, 1, 1, SAME],
  [2, 8, 8, 3, 3, 3, 5, 2, 2, 1, 1, SAME],       // even input, stride 2: extra pad at the end
  [3, 9, 7, 2, 3, 2, 3, 2, 3, 1, 1, VALID],      // rectangular kernel, mixed strides
  [2, 10, 9, 4, 5, 5, 3, 3, 3, 1, 1, SAME],      // stride 3
  [2, 9, 11, 3, 3, 3, 4, 1, 1, 2, 2, SAME],      // dilation 2
  [1, 12, 10, 2, 3, 3, 2, 2, 1, 2, 1, VALID],    // dilation on one axis, stride on the other
  [2, 6, 7, 5, 1, 1, 6, 1, 1, 1, 1, VALID],      // pointwise
  [2, 6, 7, 5, 1, 1, 6, 1, 1, 1, 1, SAME],       // pointwise, same
  [2, 7, 7, 3, 1, 1, 4, 2, 2, 1, 1, SAME],       // 1x1 stride 2: not pointwise
  [1, 4, 4, 3, 5, 5, 2, 1, 1, 1, 1, SAME],       // kernel larger than the input
  [2, 5, 13, 3, 1, 4, 3, 1, 2, 1, 2, SAME],      // 1x4 dilated along W
  [1, 3, 3, 2, 2, 2, 3, 3, 3, 1, 1, SAME],       // stride larger than the kernel
  [1, 1, 1, 2, 2, 2, 3, 1, 1, 2, 2, SAME],       // every tap in the padding: bias only
  [3, 11, 13, 1, 7, 5, 2, 2, 2, 1, 1, SAME],     // one input channel (first layer)
  [4, 16, 16, 8, 3, 3, 16, 1, 1, 1, 1, SAME],    // big enough to split over threads
  [2, 15, 15, 16, 3, 3, 8, 2, 2, 1, 1, VALID],
];

t.test('conv2dDims follows the TF rule; conv2dColSize', async (t) => {
  for (const c of CONVS) {
    const d = k.conv2dDims(...c);
    t.same(d, convDimsRef(...c), `dims ${c.join(',')}`);
    const pointwise = d.KH === 1 && d.KW === 1 && d.SH === 1 && d.SW === 1;
    t.equal(k.conv2dColSize(d), pointwise ? 0 : d.N * d.OH * d.OW * d.KH * d.KW * d.C, `col size ${c.join(',')}`);
  }
  // TF examples: same -> ceil(in / s); valid -> floor((in - k) / s) + 1
  const d = k.conv2dDims(1, 224, 224, 3, 7, 7, 64, 2, 2, 1, 1, SAME);
  t.same([d.OH, d.OW, d.PT, d.PL], [112, 112, 2, 2], 'resnet stem: 112x112, pad 2 (3 total, extra at the end)');
  const v = k.conv2dDims(1, 28, 28, 1, 5, 5, 6, 1, 1, 1, 1, VALID);
  t.same([v.OH, v.OW, v.PT, v.PL], [24, 24, 0, 0], 'lenet 5x5 valid');
});

t.test('conv2d forward: im2col + sgemm matches the naive loops and a JS reference', async (t) => {
  CONVS.forEach((c, ci) => {
    const d = k.conv2dDims(...c);
    const inp = randArr(d.N * d.H * d.W * d.C, 10 + ci);
    const w = randArr(d.KH * d.KW * d.C * d.OC, 20 + ci);
    const b = randArr(d.OC, 30 + ci);
    const ref = convForwardRef(inp, w, b, d);
    const outN = f32(ref.length);
    k.conv2dForwardNaive(outN, inp, w, b, d, A.linear, 0);
    close(t, outN, ref, `naive vs JS ${c.join(',')}`, { rtol: 1e-6, atolFrac: 1e-6 });
    const out = f32(ref.length);
    const colSize = k.conv2dColSize(d);
    const col = colSize ? f32(colSize) : null;
    k.conv2dForward(out, col, inp, w, b, d, A.linear, 0);
    close(t, out, outN, `fast vs naive ${c.join(',')}`);
  });
});

t.test('conv2d forward fuses bias and every activation', async (t) => {
  const c = [2, 7, 6, 3, 3, 3, 5, 1, 2, 1, 1, SAME];
  const d = k.conv2dDims(...c);
  const inp = randArr(d.N * d.H * d.W * d.C, 41);
  const w = randArr(d.KH * d.KW * d.C * d.OC, 42);
  const b = randArr(d.OC, 43);
  const col = f32(k.conv2dColSize(d));
  for (const [name, act] of Object.entries(A)) {
    for (const bias of [b, null]) {
      const alpha = act === A.leakyRelu ? 0.2 : 1;
      const ref = convForwardRef(inp, w, bias, d, act, alpha);
      const out = f32(ref.length), outN = f32(ref.length);
      k.conv2dForward(out, col, inp, w, bias, d, act, alpha);
      k.conv2dForwardNaive(outN, inp, w, bias, d, act, alpha);
      close(t, out, ref, `fast ${name}${bias ? '' : ' no bias'}`, { rtol: 1e-4, atolFrac: 1e-5 });
      close(t, outN, ref, `naive ${name}${bias ? '' : ' no bias'}`, { rtol: 1e-5, atolFrac: 1e-6 });
    }
  }
});

t.test('conv2d backward: col2im + sgemm matches the naive loops and a JS reference', async (t) => {
  CONVS.forEach((c, ci) => {
    const d = k.conv2dDims(...c);
    const inp = randArr(d.N * d.H * d.W * d.C, 50 + ci);
    const w = randArr(d.KH * d.KW * d.C * d.OC, 60 + ci);
    const dout = randArr(d.N * d.OH * d.OW * d.OC, 70 + ci);
    const ref = convBackwardRef(dout, inp, w, d);
    const tag = c.join(',');
    const nD = f32(ref.dinp.length), nW = f32(ref.dw.length), nB = f32(d.OC);
    k.conv2dBackwardNaive(nD, nW, nB, dout, inp, w, d);
    close(t, nD, ref.dinp, `naive dinp ${tag}`, { rtol: 1e-6, atolFrac: 1e-6 });
    close(t, nW, ref.dw, `naive dweight ${tag}`, { rtol: 1e-6, atolFrac: 1e-6 });
    close(t, nB, ref.db, `naive dbias ${tag}`, { rtol: 1e-6, atolFrac: 1e-6 });

    const colSize = k.conv2dColSize(d);
    const col = colSize ? f32(colSize) : null, dcol = colSize ? f32(colSize) : null;
    k.conv2dForward(f32(dout.length), col, inp, w, null, d, A.linear, 0);  // fills col
    const fD = f32(ref.dinp.length), fW = f32(ref.dw.length), fB = f32(d.OC);
    k.conv2dBackward(fD, fW, fB, dcol, dout, col, inp, w, d);
    close(t, fD, nD, `fast dinp ${tag}`);
    close(t, fW, nW, `fast dweight ${tag}`);
    close(t, fB, nB, `fast dbias ${tag}`);

    // first layer: no input gradient, no dcol; no bias either
    const gW = f32(ref.dw.length);
    k.conv2dBackward(null, gW, null, null, dout, col, inp, w, d);
    same(t, gW, fW, `dinp = dbias = dcol = null gives the same dweight ${tag}`);
    const gN = f32(ref.dw.length);
    k.conv2dBackwardNaive(null, gN, null, dout, inp, w, d);
    same(t, gN, nW, `naive with dinp = dbias = null ${tag}`);
  });
});

t.test('conv2d gradients against central differences', async (t) => {
  for (const c of [[2, 5, 6, 2, 3, 2, 3, 2, 1, 1, 2, SAME], [1, 4, 4, 3, 1, 1, 2, 1, 1, 1, 1, VALID]]) {
    const d = k.conv2dDims(...c);
    const inp = randArr(d.N * d.H * d.W * d.C, 81);
    const w = randArr(d.KH * d.KW * d.C * d.OC, 82);
    const b = randArr(d.OC, 83);
    const g = randArr(d.N * d.OH * d.OW * d.OC, 84);
    const colSize = k.conv2dColSize(d);
    const col = colSize ? f32(colSize) : null, dcol = colSize ? f32(colSize) : null;
    const out = f32(g.length);
    const L = () => {  // L = sum(g * conv(inp, w) + b): linear, so big steps are exact
      k.conv2dForward(out, col, inp, w, b, d, A.linear, 0);
      let s = 0;
      for (let i = 0; i < out.length; i++) s += g[i] * out[i];
      return s;
    };
    L();
    const dI = f32(inp.length), dW = f32(w.length), dB = f32(b.length);
    k.conv2dBackward(dI, dW, dB, dcol, g, col, inp, w, d);
    for (const [name, x, an] of [['inp', inp, dI], ['weight', w, dW], ['bias', b, dB]]) {
      const num = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const x0 = x[i];
        x[i] = x0 + 0.5; const lp = L();
        x[i] = x0 - 0.5; const lm = L();
        x[i] = x0;
        num[i] = (lp - lm) / 1;
      }
      close(t, an, num, `d${name} ${c.join(',')}`, { rtol: 1e-3, atolFrac: 1e-4 });
    }
  }
});

// ---- pooling ------------------------------------------------------------------------------------

function poolDimsRef(N, H, W, C, PH, PW, SH, SW, pad) {
  const dd = convDimsRef(N, H, W, C, PH, PW, 1, SH, SW, 1, 1, pad);
  return { N, H, W, C, PH, PW, SH, SW, PT: dd.PT, PL: dd.PL, OH: dd.OH, OW: dd.OW };
}
// fn(outIndexBase, n, list of real pixel indices (h*W+w) in row-major window order)
function poolWindows(d, fn) {
  for (let n = 0; n < d.N; n++)
    for (let oh = 0; oh < d.OH; oh++)
      for (let ow = 0; ow < d.OW; ow++) {
        const pix = [];
        for (let ph = 0; ph < d.PH; ph++)
          for (let pw = 0; pw < d.PW; pw++) {
            const h = oh * d.SH - d.PT + ph, w = ow * d.SW - d.PL + pw;
            if (h >= 0 && h < d.H && w >= 0 && w < d.W) pix.push(h * d.W + w);
          }
        fn(((n * d.OH + oh) * d.OW + ow) * d.C, n, pix);
      }
}
function maxPoolRef(inp, d) {
  const out = new Float64Array(d.N * d.OH * d.OW * d.C), arg = new Int32Array(out.length);
  poolWindows(d, (o, n, pix) => {
    for (let c = 0; c < d.C; c++) {
      let best = -Infinity, bi = -1;
      for (const p of pix) {
        const v = inp[(n * d.H * d.W + p) * d.C + c];
        if (v > best) { best = v; bi = p * d.C + c; }
      }
      out[o + c] = best;
      arg[o + c] = bi;
    }
  });
  return { out, arg };
}
function avgPoolRef(inp, dout, d) {
  const out = new Float64Array(d.N * d.OH * d.OW * d.C), dinp = new Float64Array(inp.length);
  poolWindows(d, (o, n, pix) => {
    for (let c = 0; c < d.C; c++) {
      for (const p of pix) {
        out[o + c] += inp[(n * d.H * d.W + p) * d.C + c] / pix.length;
        dinp[(n * d.H * d.W + p) * d.C + c] += dout[o + c] / pix.length;
      }
    }
  });
  return { out, dinp };
}

// [N, H, W, C, PH, PW, SH, SW, pad]
const POOLS = [
  [2, 6, 6, 3, 2, 2, 2, 2, VALID],
  [2, 7, 7, 3, 3, 3, 2, 2, VALID],   // overlapping windows
  [2, 7, 7, 3, 3, 3, 2, 2, SAME],
  [2, 8, 8, 2, 3, 3, 2, 2, SAME],    // extra padding at the end only
  [1, 5, 8, 2, 3, 2, 1, 2, SAME],
  [2, 9, 9, 4, 3, 3, 1, 1, SAME],    // heavy overlap, padded windows with fewer pixels
  [1, 4, 5, 1, 2, 3, 3, 1, VALID],
  [1, 3, 3, 2, 4, 4, 2, 2, SAME],    // window larger than the input
  [3, 8, 6, 5, 1, 1, 1, 1, VALID],
  [2, 11, 10, 3, 5, 4, 3, 2, SAME],
  [8, 24, 24, 16, 2, 2, 2, 2, VALID], // big enough to split over threads
];

t.test('pool2dDims follows the TF rule', async (t) => {
  for (const p of POOLS) t.same(k.pool2dDims(...p), poolDimsRef(...p), `dims ${p.join(',')}`);
});

t.test('max pooling: values, argmax (ties go to the first), scatter backward', async (t) => {
  POOLS.forEach((p, pi) => {
    const d = k.pool2dDims(...p);
    for (const [kind, inp] of [['random', randArr(d.N * d.H * d.W * d.C, 100 + pi)],
                               ['ties', randInts(d.N * d.H * d.W * d.C, 200 + pi, 2)],
                               ['negative', randArr(d.N * d.H * d.W * d.C, 300 + pi, -9, -1)]]) {
      const ref = maxPoolRef(inp, d);
      const out = f32(ref.out.length), arg = new Int32Array(ref.out.length).fill(-7);
      k.maxPool2dForward(out, arg, inp, d);
      same(t, out, Float32Array.from(ref.out), `out ${kind} ${p.join(',')}`);
      same(t, arg, ref.arg, `argmax ${kind} ${p.join(',')}`);
      const dout = randArr(out.length, 400 + pi);
      const dref = new Float64Array(inp.length);
      for (let i = 0; i < dout.length; i++) {
        const n = Math.floor(i / (d.OH * d.OW * d.C));
        dref[n * d.H * d.W * d.C + ref.arg[i]] += dout[i];
      }
      const dinp = f32(inp.length);
      k.maxPool2dBackward(dinp, dout, arg, d);
      close(t, dinp, dref, `backward ${kind} ${p.join(',')}`, { rtol: 1e-6, atolFrac: 1e-7 });
    }
  });
});

t.test('average pooling divides by the real pixels of each window', async (t) => {
  POOLS.forEach((p, pi) => {
    const d = k.pool2dDims(...p);
    const inp = randArr(d.N * d.H * d.W * d.C, 500 + pi);
    const dout = randArr(d.N * d.OH * d.OW * d.C, 600 + pi);
    const ref = avgPoolRef(inp, dout, d);
    const out = f32(ref.out.length), dinp = f32(inp.length);
    k.avgPool2dForward(out, inp, d);
    k.avgPool2dBackward(dinp, dout, d);
    close(t, out, ref.out, `forward ${p.join(',')}`, { rtol: 1e-6, atolFrac: 1e-6 });
    close(t, dinp, ref.dinp, `backward ${p.join(',')}`, { rtol: 1e-6, atolFrac: 1e-6 });
  });
  // same padding, 3x3 stride 1 on a constant image: every window averages to the constant
  const d = k.pool2dDims(1, 4, 4, 1, 3, 3, 1, 1, SAME);
  const out = f32(16);
  k.avgPool2dForward(out, new Float32Array(16).fill(3), d);
  same(t, out, new Float32Array(16).fill(3), 'padded pixels do not count in the average');
});

t.test('pooling gradients against central differences', async (t) => {
  const d = k.pool2dDims(2, 5, 6, 2, 3, 3, 2, 2, SAME);
  const inp = randArr(d.N * d.H * d.W * d.C, 700);  // distinct values: no kinks for small steps
  const g = randArr(d.N * d.OH * d.OW * d.C, 701);
  const out = f32(g.length), arg = new Int32Array(g.length);
  for (const kind of ['max', 'avg']) {
    const L = () => {
      if (kind === 'max') k.maxPool2dForward(out, arg, inp, d); else k.avgPool2dForward(out, inp, d);
      let s = 0;
      for (let i = 0; i < out.length; i++) s += g[i] * out[i];
      return s;
    };
    L();
    const an = f32(inp.length);
    if (kind === 'max') k.maxPool2dBackward(an, g, arg, d); else k.avgPool2dBackward(an, g, d);
    const num = new Float64Array(inp.length);
    for (let i = 0; i < inp.length; i++) {
      const x0 = inp[i];
      inp[i] = x0 + 1e-3; const hp = inp[i] - x0; const lp = L();
      inp[i] = x0 - 1e-3; const hm = x0 - inp[i]; const lm = L();
      inp[i] = x0;
      num[i] = (lp - lm) / (hp + hm);
    }
    close(t, an, num, `${kind} pool dinp`, { rtol: 1e-2, atolFrac: 1e-3 });
  }
});

t.test('global average / max pooling', async (t) => {
  for (const [N, HW, C] of [[1, 1, 1], [2, 9, 3], [3, 49, 16], [16, 64, 64]]) {
    for (const [kind, inp] of [['random', randArr(N * HW * C, 800 + C)], ['ties', randInts(N * HW * C, 900 + C, 1)]]) {
      const avg = new Float64Array(N * C), max = new Float64Array(N * C).fill(-Infinity), arg = new Int32Array(N * C);
      for (let n = 0; n < N; n++)
        for (let p = 0; p < HW; p++)
          for (let c = 0; c < C; c++) {
            const v = inp[(n * HW + p) * C + c];
            avg[n * C + c] += v / HW;
            if (v > max[n * C + c]) { max[n * C + c] = v; arg[n * C + c] = p; }
          }
      const out = f32(N * C), amax = new Int32Array(N * C).fill(-1);
      k.globalAvgPoolForward(out, inp, N, HW, C);
      close(t, out, avg, `avg forward ${kind} ${N},${HW},${C}`, { rtol: 1e-5, atolFrac: 1e-6 });
      k.globalMaxPoolForward(out, amax, inp, N, HW, C);
      same(t, out, Float32Array.from(max), `max forward ${kind} ${N},${HW},${C}`);
      same(t, amax, arg, `max argmax ${kind} ${N},${HW},${C}`);
      const dout = randArr(N * C, 1000 + C);
      const dA = f32(N * HW * C), dM = f32(N * HW * C);
      k.globalAvgPoolBackward(dA, dout, N, HW, C);
      k.globalMaxPoolBackward(dM, dout, amax, N, HW, C);
      const rA = new Float64Array(N * HW * C), rM = new Float64Array(N * HW * C);
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++) {
          for (let p = 0; p < HW; p++) rA[(n * HW + p) * C + c] = dout[n * C + c] / HW;
          rM[(n * HW + arg[n * C + c]) * C + c] = dout[n * C + c];
        }
      close(t, dA, rA, `avg backward ${kind} ${N},${HW},${C}`, { rtol: 1e-6, atolFrac: 1e-7 });
      same(t, dM, Float32Array.from(rM), `max backward ${kind} ${N},${HW},${C}`);
    }
  }
});

// ---- dense --------------------------------------------------------------------------------------

t.test('dense forward / backward against a JS triple loop', async (t) => {
  for (const [N, IN, U] of [[1, 1, 1], [3, 5, 4], [7, 33, 17], [64, 128, 10], [5, 300, 65], [600, 40, 30]]) {
    const x = randArr(N * IN, N + IN), w = randArr(IN * U, IN + U), b = randArr(U, U);
    const dout = randArr(N * U, N * U);
    const z = new Float64Array(N * U);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < U; j++) {
        let s = b[j];
        for (let p = 0; p < IN; p++) s += x[i * IN + p] * w[p * U + j];
        z[i * U + j] = s;
      }
    for (const act of [A.linear, A.relu, A.tanh, A.softmax]) {
      const out = f32(N * U);
      k.denseForward(out, x, w, b, N, IN, U, act, 0);
      close(t, out, actRows(Float64Array.from(z), U, act, 0), `forward act ${act} ${N},${IN},${U}`);
    }
    const nb = f32(N * U);
    k.denseForward(nb, x, w, null, N, IN, U, A.linear, 0);
    const zb = z.map((v, i) => v - b[i % U]);
    close(t, nb, zb, `forward no bias ${N},${IN},${U}`);

    const rD = new Float64Array(N * IN), rW = new Float64Array(IN * U), rB = new Float64Array(U);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < U; j++) {
        const g = dout[i * U + j];
        rB[j] += g;
        for (let p = 0; p < IN; p++) {
          rW[p * U + j] += x[i * IN + p] * g;
          rD[i * IN + p] += w[p * U + j] * g;
        }
      }
    const dI = f32(N * IN), dW = f32(IN * U), dB = f32(U);
    k.denseBackward(dI, dW, dB, dout, x, w, N, IN, U);
    close(t, dI, rD, `dinp ${N},${IN},${U}`);
    close(t, dW, rW, `dweight ${N},${IN},${U}`);
    close(t, dB, rB, `dbias ${N},${IN},${U}`);
    const dW2 = f32(IN * U);
    k.denseBackward(null, dW2, null, dout, x, w, N, IN, U);
    same(t, dW2, dW, `dinp = dbias = null ${N},${IN},${U}`);
  }
});

// ---- activations --------------------------------------------------------------------------------

const XS = Float32Array.from([
  -100, -88.5, -87.5, -30, -20, -10, -5, -3, -2, -1, -0.5, -0.1, -1e-3, -1e-5, -1e-7, 0, 1e-7, 1e-5, 1e-3, 0.1, 0.5,
  1, 2, 3, 5, 5.999, 6, 6.001, 10, 20, 30, 87.5, 88.5, 100, ...randArr(200, 1100, -8, 8),
]);

t.test('activation forward matches the JS formulas', async (t) => {
  for (const [name, act] of Object.entries(A)) {
    if (act === A.softmax) continue;
    for (const alpha of act === A.leakyRelu || act === A.elu ? [0.3, 1] : [0]) {
      const y = f32(XS.length);
      k.activationForward(y, XS, 1, XS.length, act, alpha);
      const ref = Float64Array.from(XS, (x) => actFn[act](x, Math.fround(alpha)));
      // gelu's tail: float erfc(z) inherits 2 z^2 times the rounding of z (z = x / sqrt 2)
      close(t, y, ref, `${name} alpha=${alpha}`, { rtol: act === A.gelu ? 1e-5 : 2e-6, atolFrac: 0, atol: 1e-30 });
    }
  }
  const y = f32(4);
  k.activationForward(y, Float32Array.from([NaN, 0, -Infinity, Infinity]), 1, 4, A.sigmoid, 0);
  t.ok(Number.isNaN(y[0]) && y[1] === 0.5 && y[2] === 0 && y[3] === 1, 'sigmoid of NaN / 0 / -inf / +inf');
  k.activationForward(y, Float32Array.from([NaN, 0, -Infinity, Infinity]), 1, 4, A.tanh, 0);
  t.ok(Number.isNaN(y[0]) && Object.is(y[1], 0) && y[2] === -1 && y[3] === 1, 'tanh of NaN / +0 / -inf / +inf');
  const ends = (act, alpha) => { k.activationForward(y, Float32Array.from([NaN, 0, -Infinity, Infinity]), 1, 4, act, alpha); return Array.from(y); };
  t.same(ends(A.softplus, 0), [NaN, Math.fround(Math.LN2), 0, Infinity], 'softplus of NaN / 0 / -inf / +inf');
  t.same(ends(A.elu, 0.5), [NaN, 0, -0.5, Infinity], 'elu of NaN / 0 / -inf / +inf');
  t.same(ends(A.relu6, 0), [0, 0, 0, 6], 'relu6 of NaN / 0 / -inf / +inf');
  k.activationForward(y, Float32Array.from([-Infinity, 0, -Infinity, 0]), 1, 4, A.softmax, 0);
  t.same(Array.from(y), [0, 0.5, 0, 0.5], 'softmax gives -inf logits probability 0');
});

t.test('softmax forward: per row, max-subtracted', async (t) => {
  for (const [rows, cols] of [[1, 1], [3, 10], [7, 1000], [2048, 10]]) {
    const x = randArr(rows * cols, rows + cols, -20, 20);
    x[0] = 1000; if (x.length > 1) x[1] = 999;  // exp would overflow without the max
    const y = f32(x.length);
    k.activationForward(y, x, rows, cols, A.softmax, 0);
    close(t, y, actRows(Float64Array.from(x), cols, A.softmax, 0), `softmax ${rows}x${cols}`, { rtol: 1e-5, atolFrac: 0, atol: 1e-12 });
  }
});

t.test('activation backward matches the JS derivative (from y; x for gelu / swish)', async (t) => {
  const dy = randArr(XS.length, 1200, -2, 2);
  for (const [name, act] of Object.entries(A)) {
    if (act === A.softmax) continue;
    for (const alpha of act === A.leakyRelu || act === A.elu ? [0.3, 1] : [0]) {
      const y = f32(XS.length), dx = f32(XS.length);
      k.activationForward(y, XS, 1, XS.length, act, alpha);
      k.activationBackward(dx, dy, act === A.gelu || act === A.swish ? XS : null, y, 1, XS.length, act, alpha);
      const ref = Float64Array.from(XS, (x, i) => dy[i] * actGrad[act](x, Math.fround(alpha)));
      close(t, dx, ref, `${name} alpha=${alpha}`, { rtol: 2e-5, atolFrac: 0, atol: 1e-6 });
    }
  }
  // relu'(0) = 0, relu6' = 0 at 0 and 6
  const dx = f32(3);
  k.activationBackward(dx, Float32Array.of(1, 1, 1), null, Float32Array.of(0, 0, 0), 1, 3, A.relu, 0);
  same(t, dx, Float32Array.of(0, 0, 0), "relu'(0) = 0");
  k.activationBackward(dx, Float32Array.of(1, 1, 1), null, Float32Array.of(0, 3, 6), 1, 3, A.relu6, 0);
  same(t, dx, Float32Array.of(0, 1, 0), "relu6' at 0, 3, 6");
});

t.test('softmax backward: dx = y * (dy - sum(dy * y))', async (t) => {
  const rows = 5, cols = 9;
  const x = randArr(rows * cols, 1300, -3, 3), dy = randArr(rows * cols, 1301);
  const y = f32(x.length), dx = f32(x.length);
  k.activationForward(y, x, rows, cols, A.softmax, 0);
  k.activationBackward(dx, dy, null, y, rows, cols, A.softmax, 0);
  const ref = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[r * cols + j] * y[r * cols + j];
    for (let j = 0; j < cols; j++) ref[r * cols + j] = y[r * cols + j] * (dy[r * cols + j] - dot);
  }
  close(t, dx, ref, 'formula', { rtol: 1e-5, atolFrac: 1e-6 });
});

t.test('activation backward against central differences of the native forward', async (t) => {
  const rows = 4, cols = 16, n = rows * cols;
  const x = randArr(n, 1400, -4, 4);
  for (let i = 0; i < n; i++) if (Math.abs(x[i]) < 0.05) x[i] += 0.1;  // keep clear of the kinks
  x[5] = 5; x[6] = 7;  // both sides of relu6's upper kink
  const g = randArr(n, 1401);
  const y = f32(n), yp = f32(n);
  for (const [name, act] of Object.entries(A)) {
    const alpha = act === A.leakyRelu ? 0.2 : act === A.elu ? 0.7 : 0;
    k.activationForward(y, x, rows, cols, act, alpha);
    const dx = f32(n);
    k.activationBackward(dx, g, x, y, rows, cols, act, alpha);
    const num = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x0 = x[i];
      let L = [0, 0];
      const h = [x0 + 1e-2, x0 - 1e-2].map(Math.fround);
      h.forEach((xi, s) => {
        x[i] = xi;
        k.activationForward(yp, x, rows, cols, act, alpha);
        for (let j = 0; j < n; j++) L[s] += g[j] * yp[j];
      });
      x[i] = x0;
      num[i] = (L[0] - L[1]) / (h[0] - h[1]);
    }
    close(t, dx, num, name, { rtol: 2e-3, atolFrac: 2e-3 });
  }
});

t.test('activations: y may alias x, dx may alias dy', async (t) => {
  const x = randArr(3000, 1500, -5, 5), dy = randArr(3000, 1501);
  for (const [name, act] of Object.entries(A)) {
    const y = f32(x.length), dx = f32(x.length);
    k.activationForward(y, x, 30, 100, act, 0.5);
    k.activationBackward(dx, dy, x, y, 30, 100, act, 0.5);
    const y2 = Float32Array.from(x), dx2 = Float32Array.from(dy);
    k.activationForward(y2, y2, 30, 100, act, 0.5);
    k.activationBackward(dx2, dx2, x, y, 30, 100, act, 0.5);
    same(t, y2, y, `forward in place ${name}`);
    same(t, dx2, dx, `backward in place ${name}`);
  }
});

// ---- threads ------------------------------------------------------------------------------------

t.test('results do not depend on the thread count', async (t) => {
  const before = k.getNumThreads();
  const run = () => {
    const d = k.conv2dDims(4, 16, 16, 8, 3, 3, 16, 1, 1, 1, 1, SAME);
    const inp = randArr(d.N * d.H * d.W * d.C, 1600), w = randArr(d.KH * d.KW * d.C * d.OC, 1601);
    const b = randArr(d.OC, 1602), dout = randArr(d.N * d.OH * d.OW * d.OC, 1603);
    const col = f32(k.conv2dColSize(d)), dcol = f32(col.length);
    const out = f32(dout.length), dI = f32(inp.length), dW = f32(w.length), dB = f32(d.OC);
    k.conv2dForward(out, col, inp, w, b, d, A.relu, 0);
    k.conv2dBackward(dI, dW, dB, dcol, dout, col, inp, w, d);
    const pd = k.pool2dDims(4, 16, 16, 8, 3, 3, 2, 2, SAME);
    const pm = f32(pd.N * pd.OH * pd.OW * pd.C), pa = new Int32Array(pm.length), pv = f32(pm.length);
    k.maxPool2dForward(pm, pa, inp, pd);
    k.avgPool2dForward(pv, inp, pd);
    const act = f32(inp.length);
    k.activationForward(act, inp, 64, 128, A.swish, 0);
    return { out, dI, dW, dB, pm, pa, pv, act };
  };
  k.setNumThreads(1);
  const one = run();
  k.setNumThreads(2);
  const two = run();
  k.setNumThreads(before);
  for (const key of Object.keys(one)) close(t, two[key], one[key], `${key}: 1 vs 2 threads`, { rtol: 1e-5, atolFrac: 1e-6 });
});

// ---- argument checks ----------------------------------------------------------------------------

t.test('the binding rejects bad arguments instead of reading or writing out of bounds', async (t) => {
  const d = k.conv2dDims(2, 6, 6, 3, 3, 3, 4, 1, 1, 1, 1, SAME);
  const nIn = 2 * 6 * 6 * 3, nOut = 2 * 6 * 6 * 4, nW = 3 * 3 * 3 * 4, nCol = k.conv2dColSize(d);
  const ok = () => [f32(nOut), f32(nCol), f32(nIn, 0), f32(nW, 0), f32(4, 0), d, A.relu, 0];
  t.doesNotThrow(() => k.conv2dForward(...ok()), 'valid conv2dForward');
  const bad = (i, v) => { const a = ok(); a[i] = v; return a; };
  t.throws(() => k.conv2dForward(...bad(0, f32(nOut - 1))), /out has/, 'short out');
  t.throws(() => k.conv2dForward(...bad(1, f32(nCol - 1))), /col has/, 'short col');
  t.throws(() => k.conv2dForward(...bad(1, null)), /col must be/, 'null col when im2col is needed');
  t.throws(() => k.conv2dForward(...bad(2, f32(nIn - 1))), /inp has/, 'short inp');
  t.throws(() => k.conv2dForward(...bad(3, f32(nW - 1))), /weight has/, 'short weight');
  t.throws(() => k.conv2dForward(...bad(4, f32(3))), /bias has/, 'short bias');
  t.throws(() => k.conv2dForward(...bad(2, new Float64Array(nIn))), /inp must be a Float32Array/, 'wrong array type');
  t.throws(() => k.conv2dForward(...bad(6, 12)), RangeError, 'unknown activation');
  t.throws(() => k.conv2dForward(...bad(5, { ...d, OH: 8 })), /OH = 8 is inconsistent/, 'OH too large (7 is fine: bottom padding 2)');
  t.throws(() => k.conv2dForward(...bad(5, { ...d, OW: 2 })), /OW = 2 is inconsistent/, 'OW too small');
  t.throws(() => k.conv2dForward(...bad(5, { ...d, PT: 3 })), /PT = 3/, 'padding as large as the window');
  t.throws(() => k.conv2dForward(...bad(5, { ...d, C: 0 })), RangeError, 'zero channels');
  t.throws(() => k.conv2dForward(...bad(5, { ...d, KH: undefined })), /dims.KH must be a number/, 'missing field');
  t.throws(() => k.conv2dForward(...bad(5, { ...d, N: 1.5 })), RangeError, 'fractional size');
  t.throws(() => k.conv2dForward(...bad(5, null)), /dims object/, 'dims missing');
  // with explicit padding (e.g. PyTorch's padding=1 with stride 2), consistent dims are accepted
  const pt = { ...k.conv2dDims(1, 6, 6, 1, 3, 3, 1, 2, 2, 1, 1, SAME), PT: 1, PL: 1 };
  t.doesNotThrow(() => k.conv2dForward(f32(9), f32(k.conv2dColSize(pt)), f32(36, 1), f32(9, 1), null, pt, 0, 0), 'explicit symmetric padding');
  t.throws(() => k.conv2dDims(1, 4, 4, 1, 5, 5, 1, 1, 1, 1, 1, VALID), /does not fit/, 'valid kernel larger than the input');
  t.throws(() => k.conv2dDims(1, 4, 4, 1, 3, 3, 1, 0, 1, 1, 1, VALID), RangeError, 'zero stride');
  t.throws(() => k.conv2dDims(1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 2), RangeError, 'unknown padding');

  const bargs = () => [f32(nIn), f32(nW), f32(4), f32(nCol), f32(nOut, 0), f32(nCol, 0), f32(nIn, 0), f32(nW, 0), d];
  t.doesNotThrow(() => k.conv2dBackward(...bargs()), 'valid conv2dBackward');
  const bb = (i, v) => { const a = bargs(); a[i] = v; return a; };
  t.throws(() => k.conv2dBackward(...bb(3, null)), /dcol must be/, 'dcol needed when dinp is given');
  t.doesNotThrow(() => k.conv2dBackward(...bb(0, null).map((v, i) => (i === 3 ? null : v))), 'dcol may be null without dinp');
  t.throws(() => k.conv2dBackward(...bb(1, f32(nW - 1))), /dweight has/, 'short dweight');
  t.throws(() => k.conv2dBackward(...bb(4, f32(nOut - 1))), /dout has/, 'short dout');
  t.throws(() => k.conv2dBackward(...bb(5, null)), /col must be/, 'null col');
  t.throws(() => k.conv2dBackwardNaive(f32(nIn - 1), f32(nW), null, f32(nOut), f32(nIn), f32(nW), d), /dinp has/, 'naive: short dinp');
  const pw = k.conv2dDims(1, 3, 3, 2, 1, 1, 2, 1, 1, 1, 1, VALID);
  t.doesNotThrow(() => {
    k.conv2dForward(f32(18), null, f32(18, 1), f32(4, 1), null, pw, 0, 0);
    k.conv2dBackward(f32(18), f32(4), null, null, f32(18, 1), null, f32(18, 1), f32(4, 1), pw);
  }, 'pointwise: col and dcol may be null');

  const p = k.pool2dDims(1, 4, 4, 2, 2, 2, 2, 2, VALID);
  t.throws(() => k.maxPool2dForward(f32(8), new Int32Array(7), f32(32), p), /argmax has/, 'short argmax');
  t.throws(() => k.maxPool2dForward(f32(8), f32(8), f32(32), p), /argmax must be an Int32Array/, 'argmax type');
  t.throws(() => k.maxPool2dBackward(f32(32), f32(8), new Int32Array(8).fill(32), p), /outside \[0, 32\)/, 'argmax out of range');
  t.throws(() => k.maxPool2dBackward(f32(32), f32(8), new Int32Array(8).fill(-1), p), RangeError, 'negative argmax');
  t.throws(() => k.avgPool2dForward(f32(8), f32(31), p), /inp has/, 'short pooling input');
  t.throws(() => k.avgPool2dBackward(f32(32), f32(8), { ...p, OH: 3 }), /OH = 3/, 'pooling OH inconsistent');
  t.throws(() => k.pool2dDims(1, 2, 2, 1, 3, 3, 1, 1, VALID), /does not fit/, 'valid window larger than the input');
  t.throws(() => k.globalMaxPoolBackward(f32(12), f32(3), Int32Array.of(0, 4, 1), 1, 4, 3), /outside \[0, 4\)/, 'global argmax out of range');
  t.throws(() => k.globalAvgPoolForward(f32(2), f32(12), 1, 4, 3), /out has/, 'global: short out');

  t.throws(() => k.denseForward(f32(6), f32(6), f32(5), null, 2, 3, 2, 0, 0), /weight has/, 'dense: short weight');
  t.throws(() => k.denseForward(f32(6), f32(6), f32(6), null, 0, 3, 2, 0, 0), RangeError, 'dense: N = 0');
  t.throws(() => k.denseBackward(f32(5), f32(6), null, f32(4), f32(6), f32(6), 2, 3, 2), /dinp has/, 'dense: short dinp');

  t.throws(() => k.activationForward(f32(9), f32(10), 2, 5, A.relu, 0), /y has/, 'activation: short y');
  t.throws(() => k.activationBackward(f32(10), f32(10), null, f32(10), 2, 5, A.gelu, 0), /x must be/, 'gelu needs x');
  t.throws(() => k.activationBackward(f32(10), f32(10), null, f32(10), 2, 5, A.swish, 0), /x must be/, 'swish needs x');
  t.doesNotThrow(() => k.activationBackward(f32(10), f32(10), null, f32(10), 2, 5, A.elu, 1), 'elu works from y alone');
  t.throws(() => k.activationForward(f32(10), f32(10), 2, 5, 12, 0), RangeError, 'act out of range');
  t.throws(() => k.activationForward(f32(10), f32(10), 2, 5, A.relu), /alpha must be a number/, 'alpha missing');
});
