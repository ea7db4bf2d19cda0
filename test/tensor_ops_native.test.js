// The native tensor-op kernels (native/kernels/tensor_ops.h) against their naive C++ references
// and the TypeScript twin (lib/backend/js/tensor_ops.ts), every op and broadcast mode, odd sizes
// (SIMD tails), NaNs, at 1 and 2 threads; then the ops above the native threshold against the same
// ops kept in TypeScript.
'use strict';
const t = require('tap');
const path = require('path');
const tf = require('..');
const { backendKernels } = require(path.join(__dirname, '..', 'dist', 'backend'));
const { jsTensorOps } = require(path.join(__dirname, '..', 'dist', 'backend', 'js', 'tensor_ops'));
const hot = require(path.join(__dirname, '..', 'dist', 'ops', 'hot'));

let K = null;
try { K = backendKernels('native'); } catch { /* skipped below */ }
const skip = !K || typeof K.tensorBinary !== 'function' ? 'native addon without the tensor-op kernels' : false;

function rand(n, seed, nan = false) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = (s / 4294967296) * 6 - 3; }
  if (nan && n > 3) { a[Math.floor(n / 3)] = NaN; a[n - 1] = -0; }
  return a;
}

/** Index of the first element where x and y differ by more than tol (relative), or -1. */
function firstDiff(x, y, tol) {
  for (let i = 0; i < y.length; i++) {
    const a = x[i], b = y[i];
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (tol === 0 ? !Object.is(a, b) && a !== b : Math.abs(a - b) > tol * Math.max(1, Math.abs(b))) return i;
  }
  return -1;
}

const sizes = [0, 1, 7, 8, 15, 17, 1000, 131075, 300001];
const EXACT_UNARY = [0, 1, 2, 3, 4];

t.test('native kernels equal the naive references and the TypeScript twin', { skip }, async (t) => {
  for (const threads of [1, 2]) {
    K.setNumThreads(threads);
    const bad = [];
    for (const n of sizes) {
      const a = rand(n, n + 1, true), b = rand(n, n + 7, true);
      for (let op = 0; op <= 5; op++) {
        for (const [mode, inner] of [[0, 0], [1, 0], [2, 0], [3, n % 5 === 0 && n ? 5 : n], [4, n % 5 === 0 && n ? 5 : n]]) {
          if ((mode === 3 || mode === 4) && !inner) continue;
          const outs = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
          K.tensorBinary(op, outs[0], a, b, mode, n, inner);
          K.tensorBinaryNaive(op, outs[1], a, b, mode, n, inner);
          jsTensorOps.tensorBinary(op, outs[2], a, b, mode, n, inner);
          if (firstDiff(outs[0], outs[1], 0) >= 0 || firstDiff(outs[0], outs[2], 0) >= 0) bad.push(`binary op ${op} mode ${mode} n ${n}`);
        }
      }
      for (let op = 0; op <= 8; op++) {
        const x = op === 4 || op === 6 ? a.map(Math.abs) : a;
        const outs = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
        K.tensorUnary(op, outs[0], x, n);
        K.tensorUnaryNaive(op, outs[1], x, n);
        jsTensorOps.tensorUnary(op, outs[2], x, n);
        // exp (5) and sigmoid (7) use a polynomial on the AVX2 path: 1 and 3 ulp; log / tanh are libm in double
        const tol = EXACT_UNARY.includes(op) ? 0 : op === 5 || op === 7 ? 4e-7 : 1e-7;
        if (firstDiff(outs[0], outs[1], EXACT_UNARY.includes(op) ? 0 : tol) >= 0 || firstDiff(outs[0], outs[2], tol) >= 0) bad.push(`unary op ${op} n ${n}`);
      }
      for (const [outer, inner] of [[1, n], [n ? 5 : 0, Math.floor(n / 5)], [Math.min(n, 3), n ? Math.floor(n / Math.min(n, 3)) : 0]]) {
        const x = rand(outer * inner, inner + 3, n === 1000);
        for (let op = 0; op <= 3; op++) {
          const outs = [new Float32Array(outer), new Float32Array(outer), new Float32Array(outer)];
          K.tensorReduce(op, outs[0], x, outer, inner);
          K.tensorReduceNaive(op, outs[1], x, outer, inner);
          jsTensorOps.tensorReduce(op, outs[2], x, outer, inner);
          const tol = op <= 1 ? 1e-6 : 0; // sums: double accumulation in another order
          if (firstDiff(outs[0], outs[1], tol) >= 0 || firstDiff(outs[0], outs[2], tol) >= 0) bad.push(`reduce op ${op} ${outer}x${inner}`);
        }
      }
    }
    t.same(bad, [], `${threads} thread(s): every op, mode and size agrees`);
  }
  K.setNumThreads(2);
  t.throws(() => K.tensorBinary(0, new Float32Array(3), new Float32Array(3), new Float32Array(2), 0, 3, 0), /b has 2 elements, needs at least 3/);
  t.throws(() => K.tensorBinary(9, new Float32Array(3), new Float32Array(3), new Float32Array(3), 0, 3, 0), /op must be an integer in \[0, 5\]/);
  t.throws(() => K.tensorBinary(0, new Float32Array(6), new Float32Array(6), new Float32Array(4), 4, 6, 4), /inner must be >= 1 and divide n/);
  t.throws(() => K.tensorReduce(0, new Float32Array(2), new Float32Array(5), 2, 3), /x has 5 elements, needs at least 6/);
  t.throws(() => K.tensorUnary(0, new Int32Array(3), new Float32Array(3), 3), /out must be a Float32Array/);
});

t.test('native exp and sigmoid stay within 1 and 3 ulp over the whole float range', { skip }, async (t) => {
  const n = 400003;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -95 + (190 * i) / n;
  x.set([NaN, Infinity, -Infinity, 100, -100, -0], 10);
  const ulp = (v) => { const f = new Float32Array([Math.abs(v)]); const b = new Int32Array(f.buffer); b[0]++; return f[0] - Math.abs(v); };
  for (const [op, name, ref, limit] of [[5, 'exp', (v) => Math.exp(v), 1], [7, 'sigmoid', (v) => 1 / (1 + Math.exp(-v)), 3]]) {
    const out = new Float32Array(n);
    K.tensorUnary(op, out, x, n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const r = Math.fround(ref(x[i]));
      if (Object.is(r, out[i]) || r === out[i]) continue;
      worst = Math.max(worst, Number.isNaN(r) || Number.isNaN(out[i]) ? Infinity : Math.abs(out[i] - r) / ulp(r));
    }
    t.ok(worst <= limit, `${name}: max ${worst} ulp from the double-precision reference`);
  }
});

t.test('ops above the native threshold give what the TypeScript loops give', { skip }, async (t) => {
  tf.setBackend('native');
  const n = hot.HOT_MIN * 3 + 5;
  const x = tf.tensor(rand(n, 1), [n]);
  const m = tf.tensor(rand(4 * 5000, 2), [4, 5000]);
  const row = tf.tensor(rand(5000, 3), [5000]);
  const cases = {
    'add same shape': () => tf.add(x, x.neg()),
    'mul scalar': () => tf.mul(x, 2.5),
    'scalar div': () => tf.div(3, x),
    'sub row': () => tf.sub(m, row),
    'row maximum': () => tf.maximum(row.reshape([1, 5000]), m),
    'sqrt abs': () => tf.sqrt(tf.abs(x)),
    'exp, sigmoid, tanh, relu, square': () => [tf.exp(x), tf.sigmoid(x), tf.tanh(x), tf.relu(x), tf.square(x)],
    'sum / mean / max / min, all and last axis': () => [tf.sum(x), tf.mean(m, -1), tf.max(m, 1, true), tf.min(m), tf.mean(x)],
    'mean over axis 0 (transposed rows)': () => tf.mean(m, 0),
  };
  for (const [name, f] of Object.entries(cases)) {
    const fast = [f()].flat();
    const was = hot.setHotOps(false);
    const slow = [f()].flat();
    hot.setHotOps(was);
    const d = fast.map((a, i) => firstDiff(a.dataSync(), slow[i].dataSync(), 1e-6));
    t.ok(d.every((i) => i < 0) && fast.every((a, i) => a.dtype === slow[i].dtype && String(a.shape) === String(slow[i].shape)), name);
    tf.dispose([fast, slow]);
  }
});
