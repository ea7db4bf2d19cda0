'use strict';
// Training kernels of the native backend (loss.h, dropout.h, batchnorm.h, optim.h) against plain JS
// formulas (in double) and central differences.
const t = require('tap');
const { backendKernels } = require('../dist/backend');

const k = backendKernels('native');

// ---- helpers ------------------------------------------------------------------------------------

function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
function randArr(n, seed, lo = -1, hi = 1) {
  const r = lcg(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}
function oneHot(labels, D) {
  const y = new Float32Array(labels.length * D);
  labels.forEach((c, i) => { y[i * D + c] = 1; });
  return y;
}
function maxDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
// Asserts |a - b| <= atol + rtol * |b| elementwise.
function close(t, a, b, atol, rtol, msg) {
  let bad = -1;
  for (let i = 0; i < b.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]))) { bad = i; break; }
  }
  if (bad >= 0) t.fail(`${msg}: index ${bad}: ${a[bad]} vs ${b[bad]} (maxdiff ${maxDiff(a, b)})`);
  else t.pass(`${msg} (maxdiff ${maxDiff(a, b).toExponential(2)})`);
}
// Central differences of f() w.r.t. every element of x (x is modified and restored).
function numGrad(f, x, h = 1e-3) {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h; const xp = x[i]; const fp = f();
    x[i] = x0 - h; const xm = x[i]; const fm = f();
    x[i] = x0;
    g[i] = (fp - fm) / (xp - xm);  // the steps actually taken in float32
  }
  return g;
}
const EPS = 1e-7;
const clipP = (p) => Math.min(Math.max(p, EPS), 1 - EPS);

// ---- losses -------------------------------------------------------------------------------------

t.test('softmaxRows matches the JS formula, stable for large logits', async (t) => {
  const N = 4, D = 7;
  const z = randArr(N * D, 1, -5, 5);
  z[3] = 1000; z[4] = 999;  // would overflow exp without max subtraction
  const p = new Float32Array(N * D);
  k.softmaxRows(p, z, N, D);
  const ref = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    const row = Array.from(z.subarray(i * D, i * D + D));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => { ref[i * D + j] = v / s; });
  }
  close(t, p, ref, 1e-7, 1e-5, 'probs');
});

// JS reference of the fused loss value (Keras: clipped probabilities).
function cceRef(p, y, sw, N, D, s) {
  let tot = 0;
  for (let i = 0; i < N; i++) {
    let l = 0;
    for (let j = 0; j < D; j++) {
      const ys = y[i * D + j] * (1 - s) + s / D;
      l -= ys * Math.log(clipP(p[i * D + j]));
    }
    tot += (sw ? sw[i] : 1) * l;
  }
  return tot / N;
}

t.test('softmaxCrossentropy: value, fused gradient, central differences w.r.t. logits', async (t) => {
  const N = 5, D = 4;
  const z = randArr(N * D, 2, -3, 3);
  const labels = [0, 3, 1, 2, 3];
  const y = oneHot(labels, D);
  const sw = randArr(N, 3, 0.2, 2);
  for (const s of [0, 0.1]) {
    for (const w of [null, sw]) {
      const p = new Float32Array(N * D);
      const g = new Float32Array(N * D);
      k.softmaxRows(p, z, N, D);
      const loss = k.softmaxCrossentropy(g, p, y, w, N, D, s);
      t.ok(Math.abs(loss - cceRef(p, y, w, N, D, s)) < 1e-5, `value s=${s} sw=${!!w}`);
      const ref = new Float64Array(N * D);
      for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) {
        const ys = y[i * D + j] * (1 - s) + s / D;
        ref[i * D + j] = (w ? w[i] : 1) * (p[i * D + j] - ys) / N;
      }
      close(t, g, ref, 1e-7, 1e-5, `gradient formula s=${s} sw=${!!w}`);
      const pp = new Float32Array(N * D);
      const num = numGrad(() => { k.softmaxRows(pp, z, N, D); return k.softmaxCrossentropy(null, pp, y, w, N, D, s); }, z);
      close(t, g, num, 2e-4, 2e-2, `central differences s=${s} sw=${!!w}`);
      // sparse labels give the same value and gradient as the one-hot rows
      const g2 = new Float32Array(N * D);
      const loss2 = k.sparseSoftmaxCrossentropy(g2, p, Int32Array.from(labels), w, N, D, s);
      t.ok(Math.abs(loss2 - loss) < 1e-6, `sparse value s=${s}`);
      close(t, g2, g, 1e-7, 1e-5, `sparse gradient s=${s}`);
    }
  }
});

t.test('categoricalCrossentropy on probabilities: Keras normalisation, clipping, exact gradient', async (t) => {
  const N = 4, D = 5;
  const pred = randArr(N * D, 4, 0.05, 0.9);  // not normalised (e.g. sigmoid outputs)
  const labels = [1, 0, 4, 2];
  const y = oneHot(labels, D);
  const sw = randArr(N, 5, 0.5, 1.5);
  const ref = (p, s, w) => {
    let tot = 0;
    for (let i = 0; i < N; i++) {
      let sum = 0;
      for (let j = 0; j < D; j++) sum += p[i * D + j];
      let l = 0;
      for (let j = 0; j < D; j++) l -= (y[i * D + j] * (1 - s) + s / D) * Math.log(clipP(p[i * D + j] / sum));
      tot += (w ? w[i] : 1) * l;
    }
    return tot / N;
  };
  for (const s of [0, 0.2]) {
    for (const w of [null, sw]) {
      const g = new Float32Array(N * D);
      const loss = k.categoricalCrossentropy(g, pred, y, w, N, D, s);
      t.ok(Math.abs(loss - ref(pred, s, w)) < 1e-5, `value s=${s} sw=${!!w}`);
      const num = numGrad(() => k.categoricalCrossentropy(null, pred, y, w, N, D, s), pred, 1e-3);
      close(t, g, num, 5e-4, 2e-2, `central differences s=${s} sw=${!!w}`);
      const g2 = new Float32Array(N * D);
      const loss2 = k.sparseCategoricalCrossentropy(g2, pred, Int32Array.from(labels), w, N, D, s);
      t.ok(Math.abs(loss2 - loss) < 1e-6, `sparse value s=${s}`);
      close(t, g2, g, 1e-7, 1e-5, `sparse gradient s=${s}`);
    }
  }
  // a zero probability on the true class is clipped: finite loss, -log(eps)
  const p0 = new Float32Array([0, 1]);
  const g0 = new Float32Array(2);
  const l0 = k.categoricalCrossentropy(g0, p0, new Float32Array([1, 0]), null, 1, 2, 0);
  t.ok(Math.abs(l0 - -Math.log(1e-7)) < 1e-3, `clipped loss ${l0}`);
  t.ok(Number.isFinite(g0[0]) && Number.isFinite(g0[1]), 'finite gradient when clipped');
});

t.test('binaryCrossentropy: from logits (stable) and on probabilities', async (t) => {
  const N = 3, D = 4;
  const y = randArr(N * D, 6, 0, 1).map((v) => (v > 0.5 ? 1 : 0));
  const sw = randArr(N, 7, 0.5, 2);
  const logits = randArr(N * D, 8, -4, 4);
  const probs = randArr(N * D, 9, 0.05, 0.95);
  const refL = (x, s, w) => {
    let tot = 0;
    for (let i = 0; i < N; i++) {
      let l = 0;
      for (let j = 0; j < D; j++) {
        const v = x[i * D + j], ys = y[i * D + j] * (1 - s) + 0.5 * s;
        l += Math.max(v, 0) - v * ys + Math.log1p(Math.exp(-Math.abs(v)));
      }
      tot += (w ? w[i] : 1) * l / D;
    }
    return tot / N;
  };
  const refP = (p, s, w) => {
    let tot = 0;
    for (let i = 0; i < N; i++) {
      let l = 0;
      for (let j = 0; j < D; j++) {
        const c = clipP(p[i * D + j]), ys = y[i * D + j] * (1 - s) + 0.5 * s;
        l -= ys * Math.log(c) + (1 - ys) * Math.log(1 - c);
      }
      tot += (w ? w[i] : 1) * l / D;
    }
    return tot / N;
  };
  for (const s of [0, 0.1]) {
    for (const w of [null, sw]) {
      const g = new Float32Array(N * D);
      const l = k.binaryCrossentropy(g, logits, y, w, N, D, true, s);
      t.ok(Math.abs(l - refL(logits, s, w)) < 1e-5, `logits value s=${s} sw=${!!w}`);
      close(t, g, numGrad(() => k.binaryCrossentropy(null, logits, y, w, N, D, true, s), logits), 2e-4, 2e-2,
        `logits central differences s=${s} sw=${!!w}`);
      const gp = new Float32Array(N * D);
      const lp = k.binaryCrossentropy(gp, probs, y, w, N, D, false, s);
      t.ok(Math.abs(lp - refP(probs, s, w)) < 1e-5, `probs value s=${s} sw=${!!w}`);
      close(t, gp, numGrad(() => k.binaryCrossentropy(null, probs, y, w, N, D, false, s), probs, 1e-4), 5e-4, 2e-2,
        `probs central differences s=${s} sw=${!!w}`);
    }
  }
  // stability: huge logits neither overflow nor lose the linear part
  const big = k.binaryCrossentropy(null, new Float32Array([100, -100]), new Float32Array([0, 1]), null, 1, 2, true, 0);
  t.ok(Math.abs(big - 100) < 1e-3, `loss of logit 100 with label 0 is 100 (${big})`);
});

t.test('meanSquaredError and meanAbsoluteError: mean over D then over the batch', async (t) => {
  const N = 3, D = 5;
  const p = randArr(N * D, 10, -2, 2);
  const y = randArr(N * D, 11, -2, 2);
  const sw = randArr(N, 12, 0.1, 3);
  for (const w of [null, sw]) {
    let mse = 0, mae = 0;
    for (let i = 0; i < N; i++) {
      let a = 0, b = 0;
      for (let j = 0; j < D; j++) { const d = p[i * D + j] - y[i * D + j]; a += d * d; b += Math.abs(d); }
      mse += (w ? w[i] : 1) * a / D;
      mae += (w ? w[i] : 1) * b / D;
    }
    const g = new Float32Array(N * D);
    t.ok(Math.abs(k.meanSquaredError(g, p, y, w, N, D) - mse / N) < 1e-5, `mse value sw=${!!w}`);
    close(t, g, numGrad(() => k.meanSquaredError(null, p, y, w, N, D), p), 1e-4, 1e-2, `mse gradient sw=${!!w}`);
    const g2 = new Float32Array(N * D);
    t.ok(Math.abs(k.meanAbsoluteError(g2, p, y, w, N, D) - mae / N) < 1e-5, `mae value sw=${!!w}`);
    close(t, g2, numGrad(() => k.meanAbsoluteError(null, p, y, w, N, D), p), 1e-4, 1e-2, `mae gradient sw=${!!w}`);
  }
});

t.test('sample weights: loss = sum(w_i l_i) / N', async (t) => {
  const N = 4, D = 3;
  const p = randArr(N * D, 13, 0.1, 0.9);
  const y = oneHot([0, 1, 2, 1], D);
  const sw = new Float32Array([0, 1, 2, 0.5]);
  const per = [];
  for (let i = 0; i < N; i++) per.push(k.categoricalCrossentropy(null, p.subarray(i * D), y.subarray(i * D), null, 1, D, 0));
  const want = per.reduce((a, l, i) => a + sw[i] * l, 0) / N;
  t.ok(Math.abs(k.categoricalCrossentropy(null, p, y, sw, N, D, 0) - want) < 1e-6, 'weighted mean over N');
  const g = new Float32Array(N * D);
  k.categoricalCrossentropy(g, p, y, sw, N, D, 0);
  t.same(Array.from(g.subarray(0, D)), [0, 0, 0], 'zero weight gives zero gradient');
});

t.test('loss argument validation', async (t) => {
  const p = new Float32Array(6), y = new Float32Array(6);
  t.throws(() => k.sparseSoftmaxCrossentropy(null, p, new Int32Array([0, 3]), null, 2, 3, 0),
    { name: 'RangeError', message: /labels\[1\] = 3/ }, 'label out of range names the index');
  t.throws(() => k.sparseCategoricalCrossentropy(null, p, new Int32Array([-1, 0]), null, 2, 3, 0),
    { name: 'RangeError', message: /labels\[0\] = -1/ });
  t.throws(() => k.softmaxCrossentropy(null, p, y, null, 3, 3, 0), { name: 'TypeError', message: /probs has 6 elements, needs at least 9/ });
  t.throws(() => k.meanSquaredError(new Float32Array(2), p, y, null, 2, 3), /dpred has 2 elements/);
  t.throws(() => k.meanSquaredError(null, p, y, new Float32Array(1), 2, 3), /sw has 1 elements/);
  t.throws(() => k.meanSquaredError(null, p, new Int32Array(6), null, 2, 3), /labels must be a Float32Array/);
  t.throws(() => k.sparseSoftmaxCrossentropy(null, p, new Int32Array(1), null, 2, 3, 0), /labels has 1 elements/);
  t.throws(() => k.softmaxCrossentropy(null, p, y, null, 2, 3, 1.5), { name: 'RangeError', message: /smoothing/ });
  t.throws(() => k.softmaxCrossentropy(null, p, y, null, 2, 0, 0), { name: 'RangeError', message: /D must be an integer/ });
  t.equal(k.meanSquaredError(null, p, y, null, 0, 3), 0, 'empty batch gives 0');
});

// ---- dropout ------------------------------------------------------------------------------------

// JS twin of rng.cc (xoshiro128** seeded by splitmix32) to check the exact stream.
function jsRng(seed) {
  const s = new Uint32Array(4);
  let z = seed >>> 0;
  for (let i = 0; i < 4; i++) {
    z = (z + 0x9e3779b9) >>> 0;
    let x = z;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
    s[i] = (x ^ (x >>> 16)) >>> 0;
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  const rotl = (x, k) => ((x << k) | (x >>> (32 - k))) >>> 0;
  return {
    s,
    next() {
      const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
      const tt = (s[1] << 9) >>> 0;
      s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= tt;
      s[3] = rotl(s[3], 11);
      return r;
    },
    uniform() { return (this.next() >>> 8) / 16777216; },
  };
}

t.test('rngSeed and dropoutForward follow the xoshiro128** stream exactly', async (t) => {
  const st = new Uint32Array(4);
  k.rngSeed(st, 12345);
  const ref = jsRng(12345);
  t.same(Array.from(st), Array.from(ref.s), 'seeded state');
  const n = 1000, rate = 0.3;
  const inp = randArr(n, 14);
  const out = new Float32Array(n), mask = new Float32Array(n);
  k.dropoutForward(out, mask, inp, n, rate, st);
  const scale = Math.fround(1 / Math.fround(1 - Math.fround(rate)));
  let same = true;
  for (let i = 0; i < n; i++) {
    const m = ref.uniform() >= Math.fround(rate) ? scale : 0;
    if (mask[i] !== m || out[i] !== Math.fround(inp[i] * m)) { same = false; break; }
  }
  t.ok(same, 'mask and output match the JS stream bit for bit');
  t.same(Array.from(st), Array.from(ref.s), 'state advanced by exactly n draws and written back');
});

t.test('dropout statistics, determinism, backward', async (t) => {
  const n = 200000;
  for (const rate of [0, 0.2, 0.5, 0.9]) {
    const st = new Uint32Array(4);
    k.rngSeed(st, 7);
    const inp = new Float32Array(n).fill(1);
    const out = new Float32Array(n), mask = new Float32Array(n);
    k.dropoutForward(out, mask, inp, n, rate, st);
    const scale = Math.fround(1 / (1 - rate));
    let kept = 0, other = 0, sum = 0;
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) continue;
      if (Math.abs(mask[i] - scale) < 1e-6 * scale) kept++; else other++;
      sum += out[i];
    }
    t.equal(other, 0, `rate ${rate}: mask is 0 or 1/(1-rate)`);
    const sd = Math.sqrt(n * rate * (1 - rate));
    t.ok(Math.abs(kept - n * (1 - rate)) <= 5 * sd + 1, `rate ${rate}: kept ${kept} of ${n}`);
    t.ok(Math.abs(sum / n - 1) < 0.02 + 5 * sd / n / (1 - rate), `rate ${rate}: mean preserved (${(sum / n).toFixed(4)})`);
    // same seed, same mask
    const st2 = new Uint32Array(4);
    k.rngSeed(st2, 7);
    const mask2 = new Float32Array(n);
    k.dropoutForward(new Float32Array(n), mask2, inp, n, rate, st2);
    t.equal(maxDiff(mask, mask2), 0, `rate ${rate}: deterministic from the seed`);
  }
  const st = new Uint32Array(4);
  k.rngSeed(st, 1);
  const a = new Float32Array(50), b = new Float32Array(50);
  k.dropoutForward(new Float32Array(50), a, new Float32Array(50), 50, 0.5, st);
  k.dropoutForward(new Float32Array(50), b, new Float32Array(50), 50, 0.5, st);
  t.not(maxDiff(a, b), 0, 'consecutive calls continue the stream');
  const dout = randArr(50, 15), dinp = new Float32Array(50);
  k.dropoutBackward(dinp, dout, a, 50);
  t.same(Array.from(dinp), Array.from(dout).map((v, i) => Math.fround(v * a[i])), 'backward = dout * mask');
  t.throws(() => k.dropoutForward(a, a, a, 50, 1, st), { name: 'RangeError', message: /rate/ });
  t.throws(() => k.dropoutForward(a, a, a, 51, 0.5, st), /out has 50 elements/);
  t.throws(() => k.dropoutForward(a, a, a, 50, 0.5, new Uint32Array(3)), /rng must have 4 elements/);
  t.throws(() => k.dropoutForward(a, a, a, 50, 0.5, new Int32Array(4)), /rng must be a Uint32Array/);
});

// ---- batch norm ---------------------------------------------------------------------------------

function bnRef(inp, gamma, beta, mm, mv, rows, C, momentum, eps) {
  const mean = new Float64Array(C), v = new Float64Array(C);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) mean[c] += inp[r * C + c] / rows;
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) v[c] += (inp[r * C + c] - mean[c]) ** 2 / rows;
  const invstd = v.map((x) => 1 / Math.sqrt(x + eps));
  const xhat = new Float64Array(rows * C), out = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) {
    xhat[r * C + c] = (inp[r * C + c] - mean[c]) * invstd[c];
    out[r * C + c] = (gamma ? gamma[c] : 1) * xhat[r * C + c] + (beta ? beta[c] : 0);
  }
  const nmm = Array.from(mm, (x, c) => x * momentum + mean[c] * (1 - momentum));
  const nmv = Array.from(mv, (x, c) => x * momentum + v[c] * (1 - momentum));
  return { mean, invstd, xhat, out, nmm, nmv };
}

t.test('batchnorm train / infer match the JS formula', async (t) => {
  for (const [rows, C] of [[6, 3], [5000, 3], [300, 17]]) {
    const inp = randArr(rows * C, 16, -2, 5);
    const gamma = randArr(C, 17, 0.5, 1.5), beta = randArr(C, 18);
    const mm = randArr(C, 19), mv = randArr(C, 20, 0.5, 2);
    const ref = bnRef(inp, gamma, beta, mm, mv, rows, C, 0.9, 1e-3);
    const out = new Float32Array(rows * C), xhat = new Float32Array(rows * C);
    const mean = new Float32Array(C), invstd = new Float32Array(C);
    const mm2 = mm.slice(), mv2 = mv.slice();
    k.batchnormForwardTrain(out, xhat, mean, invstd, mm2, mv2, inp, gamma, beta, rows, C, 0.9, 1e-3);
    close(t, mean, ref.mean, 1e-5, 1e-5, `${rows}x${C} mean`);
    close(t, invstd, ref.invstd, 1e-5, 1e-5, `${rows}x${C} invstd`);
    close(t, xhat, ref.xhat, 1e-5, 1e-4, `${rows}x${C} xhat`);
    close(t, out, ref.out, 1e-5, 1e-4, `${rows}x${C} out`);
    close(t, mm2, ref.nmm, 1e-6, 1e-5, `${rows}x${C} moving mean`);
    close(t, mv2, ref.nmv, 1e-6, 1e-5, `${rows}x${C} moving var`);
    const inf = new Float32Array(rows * C);
    k.batchnormForwardInfer(inf, inp, gamma, beta, mm, mv, rows, C, 1e-3);
    const iref = Array.from(inp, (x, i) => (x - mm[i % C]) / Math.sqrt(mv[i % C] + 1e-3) * gamma[i % C] + beta[i % C]);
    close(t, inf, iref, 1e-5, 1e-4, `${rows}x${C} infer`);
  }
  // gamma / beta absent: scale 1, offset 0
  const inp = randArr(12, 21), out = new Float32Array(12), xhat = new Float32Array(12);
  k.batchnormForwardTrain(out, xhat, new Float32Array(3), new Float32Array(3), new Float32Array(3),
    new Float32Array(3).fill(1), inp, null, null, 4, 3, 0.99, 1e-3);
  t.same(Array.from(out), Array.from(xhat), 'no gamma / beta: out = xhat');
});

t.test('batchnorm backward vs central differences', async (t) => {
  const rows = 7, C = 3;
  const inp = randArr(rows * C, 22, -1, 2);
  const gamma = randArr(C, 23, 0.5, 1.5), beta = randArr(C, 24);
  const R = randArr(rows * C, 25);  // L = sum(out * R), so dout = R
  const out = new Float32Array(rows * C), xhat = new Float32Array(rows * C);
  const mean = new Float32Array(C), invstd = new Float32Array(C);
  const fwd = () => {
    k.batchnormForwardTrain(out, xhat, mean, invstd, new Float32Array(C), new Float32Array(C), inp, gamma, beta,
      rows, C, 0.99, 1e-3);
    let L = 0;
    for (let i = 0; i < rows * C; i++) L += out[i] * R[i];
    return L;
  };
  fwd();
  const dinp = new Float32Array(rows * C), dgamma = new Float32Array(C), dbeta = new Float32Array(C);
  k.batchnormBackward(dinp, dgamma, dbeta, R, xhat, invstd, gamma, rows, C);
  close(t, dinp, numGrad(fwd, inp, 1e-2), 2e-3, 2e-2, 'dinp');
  close(t, dgamma, numGrad(fwd, gamma, 1e-2), 2e-3, 2e-2, 'dgamma');
  close(t, dbeta, numGrad(fwd, beta, 1e-2), 2e-3, 2e-2, 'dbeta');
  // dinp may be null, and may alias dout
  const dg2 = new Float32Array(C);
  k.batchnormBackward(null, dg2, new Float32Array(C), R, xhat, invstd, gamma, rows, C);
  t.same(Array.from(dg2), Array.from(dgamma), 'dinp = null still gives dgamma');
  const alias = R.slice();
  k.batchnormBackward(alias, new Float32Array(C), new Float32Array(C), alias, xhat, invstd, gamma, rows, C);
  t.equal(maxDiff(alias, dinp), 0, 'dinp may alias dout');
  t.throws(() => k.batchnormBackward(dinp, dgamma, dbeta, R, xhat, invstd, gamma, rows + 1, C), /dinp has 21 elements/);
});

// ---- optimizers ---------------------------------------------------------------------------------

// JS re-implementations of the TF.js update formulas, in double.
const jsOpt = {
  sgd: (s, g, o) => { for (let i = 0; i < g.length; i++) s.w[i] -= o.lr * g[i]; },
  momentum: (s, g, o) => {
    for (let i = 0; i < g.length; i++) {
      s.v[i] = o.momentum * s.v[i] + g[i];
      s.w[i] -= o.nesterov ? o.lr * (g[i] + o.momentum * s.v[i]) : o.lr * s.v[i];
    }
  },
  adam: (s, g, o, t) => {
    for (let i = 0; i < g.length; i++) {
      if (o.wd) s.w[i] -= o.lr * o.wd * s.w[i];
      s.m[i] = o.b1 * s.m[i] + (1 - o.b1) * g[i];
      s.v[i] = o.b2 * s.v[i] + (1 - o.b2) * g[i] * g[i];
      s.w[i] -= o.lr * (s.m[i] / (1 - o.b1 ** t)) / (Math.sqrt(s.v[i] / (1 - o.b2 ** t)) + o.eps);
    }
  },
  rmsprop: (s, g, o) => {
    for (let i = 0; i < g.length; i++) {
      s.ms[i] = o.rho * s.ms[i] + (1 - o.rho) * g[i] * g[i];
      let denom = s.ms[i];
      if (o.centered) {
        s.mg[i] = o.rho * s.mg[i] + (1 - o.rho) * g[i];
        denom -= s.mg[i] * s.mg[i];
      }
      s.mom[i] = o.momentum * s.mom[i] + o.lr * g[i] / Math.sqrt(denom + o.eps);
      s.w[i] -= s.mom[i];
    }
  },
  adagrad: (s, g, o) => {
    for (let i = 0; i < g.length; i++) {
      s.acc[i] += g[i] * g[i];
      s.w[i] -= o.lr * g[i] / Math.sqrt(s.acc[i] + o.eps);
    }
  },
};

t.test('optimizers match the TF.js formulas over 3 steps', async (t) => {
  const cases = [
    ['sgd', { lr: 0.1 }, (w, s, g, o) => k.sgdUpdate(w, g, g.length, o.lr), []],
    ['momentum', { lr: 0.05, momentum: 0.9, nesterov: false }, (w, s, g, o) => k.momentumUpdate(w, s.v, g, g.length, o.lr, o.momentum, false), ['v']],
    ['nesterov', { lr: 0.05, momentum: 0.9, nesterov: true }, (w, s, g, o) => k.momentumUpdate(w, s.v, g, g.length, o.lr, o.momentum, true), ['v']],
    ['adam', { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-7 }, (w, s, g, o, t) => k.adamUpdate(w, s.m, s.v, g, g.length, o.lr, o.b1, o.b2, o.eps, t), ['m', 'v']],
    ['adamw', { lr: 0.01, b1: 0.8, b2: 0.99, eps: 1e-7, wd: 0.04 }, (w, s, g, o, t) => k.adamwUpdate(w, s.m, s.v, g, g.length, o.lr, o.b1, o.b2, o.eps, o.wd, t), ['m', 'v']],
    ['rmsprop', { lr: 0.01, rho: 0.9, momentum: 0, eps: 1e-7, centered: false }, (w, s, g, o) => k.rmspropUpdate(w, s.ms, s.mom, null, g, g.length, o.lr, o.rho, o.momentum, o.eps, false), ['ms', 'mom']],
    ['rmsprop centered+momentum', { lr: 0.01, rho: 0.8, momentum: 0.5, eps: 1e-7, centered: true }, (w, s, g, o) => k.rmspropUpdate(w, s.ms, s.mom, s.mg, g, g.length, o.lr, o.rho, o.momentum, o.eps, true), ['ms', 'mom', 'mg']],
    ['adagrad', { lr: 0.1, eps: 1e-7, acc0: 0.1 }, (w, s, g, o) => k.adagradUpdate(w, s.acc, g, g.length, o.lr, o.eps), ['acc']],
  ];
  for (const n of [37, 100003]) {  // the big one takes the parallel path
    for (const [name, o, run, slotNames] of cases) {
      const w = randArr(n, 30);
      const ref = { w: Float64Array.from(w) };
      const st = {};
      for (const sn of slotNames) {
        const init = sn === 'acc' ? o.acc0 : 0;
        st[sn] = new Float32Array(n).fill(init);
        ref[sn] = new Float64Array(n).fill(init);
      }
      const fn = name.startsWith('adam') ? 'adam' : name.startsWith('rmsprop') ? 'rmsprop' : name === 'nesterov' ? 'momentum' : name;
      for (let step = 1; step <= 3; step++) {
        const g = randArr(n, 40 + step, -2, 2);
        run(w, st, g, o, step);
        jsOpt[fn](ref, g, o, step);
      }
      close(t, w, ref.w, 1e-5, 1e-4, `${name} n=${n}: weights after 3 steps`);
      for (const sn of slotNames) close(t, st[sn], ref[sn], 1e-5, 1e-4, `${name} n=${n}: slot ${sn}`);
    }
  }
});

const avx = typeof k.cpuHasAvx2Fma === 'function' && k.cpuHasAvx2Fma();
t.test(`adam, rmsprop, adagrad: the ${avx ? 'AVX' : 'scalar (no AVX2 on this CPU)'} updates are bit-identical to the scalar float formulas, at any thread count`, async (t) => {
  // f32 rounds after every operation, exactly as the C++ scalar loops do (no FMA contraction).
  const f = Math.fround;
  const refs = {
    adam: (w, S, g, step) => {
      const c1 = f(1 - Math.pow(f(0.9), step)), c2 = f(1 - Math.pow(f(0.999), step)); // pow in double of the float betas
      const b1c = f(1 - f(0.9)), b2c = f(1 - f(0.999));
      for (let i = 0; i < w.length; i++) {
        S.a[i] = f(f(f(0.9) * S.a[i]) + f(b1c * g[i]));
        S.b[i] = f(f(f(0.999) * S.b[i]) + f(f(b2c * g[i]) * g[i]));
        w[i] = f(w[i] - f(f(f(0.01) * f(S.a[i] / c1)) / f(f(Math.sqrt(f(S.b[i] / c2))) + f(1e-7))));
      }
    },
    rmsprop: (w, S, g) => rmsRef(w, S, g, false, f(0)),
    'rmsprop centered+momentum': (w, S, g) => rmsRef(w, S, g, true, f(0.5)),
    adagrad: (w, S, g) => {
      for (let i = 0; i < w.length; i++) {
        S.a[i] = f(S.a[i] + f(g[i] * g[i]));
        w[i] = f(w[i] - f(f(f(0.05) * g[i]) / f(Math.sqrt(f(S.a[i] + f(1e-7))))));
      }
    },
  };
  function rmsRef(w, S, g, centered, mom) {
    const rho = f(0.8), rc = f(1 - rho), lr = f(0.01), eps = f(1e-7);
    for (let i = 0; i < w.length; i++) {
      S.a[i] = f(f(rho * S.a[i]) + f(f(rc * g[i]) * g[i]));
      let den;
      if (centered) {
        S.c[i] = f(f(rho * S.c[i]) + f(rc * g[i]));
        den = f(Math.sqrt(f(f(S.a[i] - f(S.c[i] * S.c[i])) + eps)));
      } else {
        den = f(Math.sqrt(f(S.a[i] + eps)));
      }
      S.b[i] = f(f(mom * S.b[i]) + f(f(lr * g[i]) / den));
      w[i] = f(w[i] - S.b[i]);
    }
  }
  const natives = {
    adam: (w, S, g, n, step) => k.adamUpdate(w, S.a, S.b, g, n, 0.01, 0.9, 0.999, 1e-7, step),
    rmsprop: (w, S, g, n) => k.rmspropUpdate(w, S.a, S.b, null, g, n, 0.01, 0.8, 0, 1e-7, false),
    'rmsprop centered+momentum': (w, S, g, n) => k.rmspropUpdate(w, S.a, S.b, S.c, g, n, 0.01, 0.8, 0.5, 1e-7, true),
    adagrad: (w, S, g, n) => k.adagradUpdate(w, S.a, g, n, 0.05, 1e-7),
  };
  const threads = k.getNumThreads();
  const same = (a, b) => a.every((x, i) => Object.is(x, b[i]));
  const sameAll = (a, b) => same(a.w, b.w) && ['a', 'b', 'c'].every((s) => same(a.S[s], b.S[s]));
  // 70,013 elements: the thread pool's chunks end at odd places, leaving scalar tails mid-array
  for (const n of [5, 70013]) {
    for (const name of Object.keys(refs)) {
      const fresh = () => ({ w: randArr(n, 7), S: { a: new Float32Array(n).fill(name === 'adagrad' ? 0.1 : 0), b: new Float32Array(n), c: new Float32Array(n) } });
      const runs = [1, 2].map((nt) => {
        k.setNumThreads(nt);
        const r = fresh();
        for (let step = 1; step <= 3; step++) natives[name](r.w, r.S, randArr(n, 50 + step, -3, 3), n, step);
        return r;
      });
      const ref = fresh();
      for (let step = 1; step <= 3; step++) refs[name](ref.w, ref.S, randArr(n, 50 + step, -3, 3), step);
      t.ok(sameAll(runs[0], runs[1]), `${name} n=${n}: 1 and 2 threads agree bit for bit`);
      t.ok(sameAll(runs[1], ref), `${name} n=${n}: equal to the scalar float32 formula bit for bit`);
    }
  }
  k.setNumThreads(threads);
});

t.test('clipByValue and clipByNorm', async (t) => {
  const g = new Float32Array([-3, -0.5, 0, 0.5, 3]);
  k.clipByValue(g, 5, 1);
  t.same(Array.from(g), [-1, -0.5, 0, 0.5, 1], 'clip by value');
  const h = new Float32Array([3, 4]);
  k.clipByNorm(h, 2, 10);
  t.same(Array.from(h), [3, 4], 'norm 5 below 10: unchanged');
  k.clipByNorm(h, 2, 1);
  close(t, h, [0.6, 0.8], 1e-7, 1e-6, 'norm 5 clipped to 1');
  const big = randArr(100000, 50);
  const norm = Math.sqrt(big.reduce((a, v) => a + v * v, 0));
  const ref = Array.from(big, (v) => v * 2 / norm);
  k.clipByNorm(big, big.length, 2);
  close(t, big, ref, 1e-7, 1e-5, 'big clip by norm');
});

t.test('optimizer argument validation', async (t) => {
  const a = new Float32Array(4), b = new Float32Array(3);
  t.throws(() => k.sgdUpdate(a, b, 4, 0.1), /g has 3 elements, needs at least 4/);
  t.throws(() => k.adamUpdate(a, a, a, a, 4, 0.1, 0.9, 0.999, 1e-7, 0), { name: 'RangeError', message: /t must be an integer/ });
  t.throws(() => k.adamUpdate(a, a, a, a, 4, 0.1, 1, 0.999, 1e-7, 1), { name: 'RangeError', message: /beta1/ });
  t.throws(() => k.rmspropUpdate(a, a, a, null, a, 4, 0.1, 0.9, 0, 1e-7, true), /mg must be a Float32Array/);
  t.doesNotThrow(() => k.rmspropUpdate(new Float32Array(4), new Float32Array(4), new Float32Array(4), null, a, 4, 0.1, 0.9, 0, 1e-7, false), 'mg may be null when not centered');
  t.throws(() => k.clipByValue(a, 4, -1), { name: 'RangeError' });
  t.throws(() => k.momentumUpdate(a, a, a, 4.5, 0.1, 0.9, false), { name: 'RangeError', message: /n must be an integer/ });
});
