// Tensors: creation names, data access, errors; matMul on both backends.
'use strict';
const t = require('tap');
const tf = require('..');

t.test('creation from nested arrays, flat arrays and typed arrays', async (t) => {
  const a = tf.tensor([[1, 2, 3], [4, 5, 6]]);
  t.same(a.shape, [2, 3]);
  t.equal(a.dtype, 'float32');
  t.same(a.arraySync(), [[1, 2, 3], [4, 5, 6]]);
  t.same(Array.from(await a.data()), [1, 2, 3, 4, 5, 6]);
  t.same(tf.tensor(new Uint8Array([1, 2, 3, 4]), [2, 2]).arraySync(), [[1, 2], [3, 4]]);
  t.same(tf.tensor(new Float64Array([0.5]), [1]).arraySync(), [0.5]);
  const i = tf.tensor(new Int32Array([3, 1]));
  t.equal(i.dtype, 'int32');
  t.same(tf.scalar(4).arraySync(), 4);
  t.same(tf.tensor1d([1, 2]).shape, [2]);
  t.same(tf.tensor2d([1, 2, 3, 4], [2, 2]).shape, [2, 2]);
  t.same(tf.tensor3d([[[1]], [[2]]]).shape, [2, 1, 1]);
  t.same(tf.tensor4d(new Float32Array(24), [1, 2, 3, 4]).shape, [1, 2, 3, 4]);
  t.same(Array.from(tf.zeros([2, 2]).dataSync()), [0, 0, 0, 0]);
  t.same(Array.from(tf.ones([3], 'int32').dataSync()), [1, 1, 1]);
  t.same(tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3).arraySync(), [[1, 0, 0], [0, 0, 1]]);
  t.same(tf.oneHot([1], 2).arraySync(), [[0, 1]]);
  t.same(tf.argMax(tf.tensor([[1, 5, 2], [9, 0, 1]]), -1).arraySync(), [1, 0]);
  t.same(tf.argMax(tf.tensor([[1, 5, 2], [9, 0, 1]])).arraySync(), [1, 0, 0], 'axis 0 by default, as TF.js');
  t.same(a.reshape([3, -1]).shape, [3, 2]);
});

t.test('random tensors are seeded and have the right statistics', async (t) => {
  const a = tf.randomNormal([20000], 2, 3, 'float32', 11).dataSync();
  const b = tf.randomNormal([20000], 2, 3, 'float32', 11).dataSync();
  t.same(Array.from(a.slice(0, 5)), Array.from(b.slice(0, 5)), 'same seed, same numbers');
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  t.ok(Math.abs(mean - 2) < 0.1 && Math.abs(sd - 3) < 0.1, `mean ${mean}, sd ${sd}`);
  const u = tf.randomUniform([10000], -1, 1, 'float32', 2).dataSync();
  t.ok(u.every((v) => v >= -1 && v < 1));
  tf.setSeed(5);
  const c = tf.randomUniform([3]).dataSync();
  tf.setSeed(5);
  t.same(Array.from(tf.randomUniform([3]).dataSync()), Array.from(c), 'setSeed makes it reproducible');
});

t.test('errors name what was expected and received', async (t) => {
  t.throws(() => tf.tensor([1, 2, 3], [2, 2]), /data has 3 values but shape \[2, 2\] needs 4/);
  t.throws(() => tf.tensor([[1, 2], [3]]), /ragged nested array/);
  t.throws(() => tf.tensor2d([1, 2, 3]), /must have rank 2/);
  t.throws(() => tf.zeros([2, -1]), /non-negative integers/);
  t.throws(() => tf.oneHot([3], 3), /index 3 at position 0 is outside \[0, 3\)/, 'out-of-range indices are refused (TF.js gives a row of offValue)');
  t.equal(tf.oneHot([1], 2).dtype, 'float32', 'float32 by default (TF.js: int32)');
  t.same(tf.oneHot([[1], [0]], 2, 1, 0, 'int32').arraySync(), [[[0, 1]], [[1, 0]]], 'any-rank indices, dtype as TF.js');
  t.throws(() => tf.oneHot(tf.tensor([0.5]), 3), /must be int32 tensor, but got float32 tensor/);
  t.throws(() => tf.tensor('abc'), /values must be/);
  const d = tf.tensor([1]);
  d.dispose();
  t.ok(d.isDisposed);
  t.throws(() => d.dataSync(), /disposed/);
  d.dispose();
});

const backends = ['js'];
try { tf.setBackend('native'); backends.unshift('native'); } catch { /* js only */ }

for (const be of backends) {
  t.test(`${be}: matMul with every transpose combination`, async (t) => {
    tf.setBackend(be);
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const b = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    t.same(tf.matMul(a, b).arraySync(), [[4, 5], [10, 11]]);
    t.same(tf.matMul(b, a, true, true).arraySync(), [[4, 10], [5, 11]]);
    t.same(tf.matMul(a, a, false, true).arraySync(), [[14, 32], [32, 77]]);
    t.same(tf.matMul(a, a, true, false).arraySync(), [[17, 22, 27], [22, 29, 36], [27, 36, 45]]);
    t.throws(() => tf.matMul(a, a), /inner dimensions differ/);
    t.throws(() => tf.matMul(tf.tensor1d([1]), a), /must be 2-D/);
    const x = tf.randomNormal([37, 53], 0, 1, 'float32', 1);
    const y = tf.randomNormal([53, 29], 0, 1, 'float32', 2);
    const z = tf.matMul(x, y).dataSync();
    const xv = x.dataSync(), yv = y.dataSync();
    let maxd = 0;
    for (let i = 0; i < 37; i++) for (let j = 0; j < 29; j++) {
      let s = 0;
      for (let k = 0; k < 53; k++) s += xv[i * 53 + k] * yv[k * 29 + j];
      maxd = Math.max(maxd, Math.abs(s - z[i * 29 + j]));
    }
    t.ok(maxd < 1e-4, `max difference to a double-precision loop: ${maxd}`);
  });

  t.test(`${be}: matMul products reuse disposed buffers and never show old values`, async (t) => {
    tf.setBackend(be);
    // 256 x 256 results are large enough for the buffer pool
    const a = tf.fill([256, 8], 2);
    const b = tf.fill([8, 256], 3);
    const first = tf.matMul(a, b);
    const firstBuf = first.values; // library internal: the tensor's own buffer
    t.equal(firstBuf[0], 48);
    first.dispose();
    const again = tf.matMul(a, b);
    t.ok(again.values === firstBuf, 'the disposed product\'s buffer is reused');
    t.ok(again.dataSync().every((v) => v === 48));
    again.dispose();
    // K = 0: all zeros, also in a recycled buffer that held 48s
    const z = tf.matMul(tf.zeros([256, 0]), tf.zeros([0, 256]));
    t.same(z.shape, [256, 256]);
    t.ok(z.dataSync().every((v) => v === 0));
    const kept = tf.matMul(a, b);
    t.ok(kept.dataSync().every((v) => v === 48), 'a live product is never recycled under another');
    const other = tf.matMul(a, b);
    t.ok(other.values !== kept.values);
    tf.dispose([a, b, z, kept, other]);
  });
}
