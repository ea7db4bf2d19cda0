// The tensor registry (memory, tidy, keep, dispose) against TF.js's semantics, bool tensors,
// TF.js-worded errors for bad arguments, tf.util, and tf.losses / tf.metrics still working in compile.
'use strict';
const t = require('tap');
const tf = require('..');

const tfjs = require('@tensorflow/tfjs');
tfjs.setBackend('cpu');

/** Runs the same scenario in both libraries and returns the numTensors deltas it records. */
function scenario(lib, fn) {
  const base = lib.memory().numTensors;
  const seen = [];
  fn(lib, () => seen.push(lib.memory().numTensors - base));
  return seen;
}

const scenarios = {
  'tidy disposes what it does not return': (lib, mark) => {
    const r = lib.tidy(() => { const a = lib.ones([3]); const b = a.add(1); lib.ones([2]); return b; });
    mark();
    r.dispose();
    mark();
  },
  'nested tidy hands returned tensors to the outer scope': (lib, mark) => {
    const outer = lib.tidy(() => {
      const inner = lib.tidy(() => [lib.zeros([2]), { x: lib.ones([2]) }]);
      mark();
      return inner[1].x;
    });
    mark();
    outer.dispose();
  },
  'keep survives every tidy; dispose of nested containers': (lib, mark) => {
    let k;
    lib.tidy(() => { lib.tidy(() => { k = lib.keep(lib.ones([4])); lib.ones([1]); }); });
    mark();
    const box = { a: [lib.ones([1]), lib.ones([1])], b: lib.ones([1]) };
    mark();
    lib.dispose([k, box]);
    mark();
    k.dispose();
    mark();
  },
  'a throwing fn still has its tensors disposed': (lib, mark) => {
    try { lib.tidy(() => { lib.ones([5]); throw new Error('boom'); }); } catch { /* expected */ }
    mark();
  },
  'memory counts bytes per dtype': (lib, mark) => {
    const a = lib.tensor([true, false, true]);
    const b = lib.tensor([1, 2], [2], 'int32');
    mark();
    lib.dispose([a, b]);
    mark();
  },
};

t.test('memory / tidy / keep / dispose follow TF.js', async (t) => {
  for (const [name, fn] of Object.entries(scenarios)) {
    t.same(scenario(tf, fn), scenario(tfjs, fn), name);
  }
  const m0 = tf.memory();
  const a = tf.tensor([true, false, true]);
  const b = tf.tensor([1, 2], [2], 'int32');
  t.equal(tf.memory().numBytes - m0.numBytes, 3 + 8, 'bool is one byte, int32 four');
  t.same(Object.keys(tf.memory()).sort(), ['numBytes', 'numDataBuffers', 'numTensors', 'unreliable']);
  tf.dispose([a, b, a]);
  t.same(tf.memory().numBytes, m0.numBytes, 'disposing twice counts once');
  t.throws(() => tf.tidy(async () => 1), /Cannot return a Promise inside of tidy\./);
  t.throws(() => tf.tidy(1), /Please provide a function to tidy\(\)/);
  t.equal(tf.tidy('named', () => 7), 7, 'tidy(name, fn)');
  t.same(tf.memory().numTensors, m0.numTensors, 'no tensor left from the refusals');
  t.throws(() => tf.keep(3), /keep: expected a Tensor/);
});

t.test('ops leave no live tensor behind but their result', async (t) => {
  const x = tf.tensor([[1, 2], [3, 4]]);
  const n0 = tf.memory().numTensors;
  const y = x.add(2).mul([1, 2]).sum(-1);
  t.equal(tf.memory().numTensors - n0, 3, 'three results; the TensorLike operands were not registered');
  tf.dispose(y);
  const r = tf.tidy(() => [tf.norm(x), tf.moments(x).variance, tf.stack([x, x]), tf.losses.huberLoss(x, x.add(1)), tf.metrics.r2Score(x, x)]);
  t.equal(tf.memory().numTensors - n0, 3 + 5 - 1, 'composite ops (norm, stack, losses, metrics) free their intermediates');
  tf.dispose(r);
});

t.test('model code does not leak or double-dispose under the registry', async (t) => {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: 'softmax' })] });
  m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomUniform([8, 4], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor([0, 1, 2, 0, 1, 2, 0, 1], [8], 'int32'), 3);
  await m.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
  const n0 = tf.memory().numTensors;
  const p = tf.tidy(() => m.predict(x).argMax(-1));
  t.equal(tf.memory().numTensors - n0, 1, 'predict inside tidy: only the returned tensor stays');
  tf.dispose(p);
  t.equal(m.getWeights().length, 2, 'weights are still readable after tidy');
  await m.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
  t.pass('training again after tidy works');
  m.dispose();
});

t.test('every training and inference entry point leaves no tensor behind (Sequential and graph, both backends)', async (t) => {
  const backends = ['js'];
  try { tf.setBackend('native'); backends.unshift('native'); } catch { /* js only */ }
  for (const be of backends) {
    tf.setBackend(be);
    const seq = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3], activation: 'softmax' })] });
    const a = tf.input({ shape: [3], name: 'a' });
    const h = tf.layers.dense({ units: 5, activation: 'relu' }).apply(a);
    const o1 = tf.layers.dense({ units: 4, activation: 'softmax', name: 'cls' }).apply(h);
    const o2 = tf.layers.dense({ units: 1, name: 'reg' }).apply(tf.layers.add().apply([h, h]));
    const graph = tf.model({ inputs: a, outputs: [o1, o2] });
    const x = tf.randomNormal([8, 3], 0, 1, 'float32', 3);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4).cast('float32');
    const r = tf.randomNormal([8, 1], 0, 1, 'float32', 4);
    seq.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    graph.compile({ optimizer: 'adam', loss: ['categoricalCrossentropy', 'meanSquaredError'], metrics: ['accuracy'] });
    for (const [name, m, ys] of [['sequential', seq, y], ['graph', graph, [y, r]]]) {
      const ds = tf.data.zip({ xs: tf.data.array(x.arraySync()), ys: name === 'graph'
        ? tf.data.zip({ cls: tf.data.array(y.arraySync()), reg: tf.data.array(r.arraySync()) }) : tf.data.array(y.arraySync()) }).batch(4);
      const calls = {
        evaluate: () => m.evaluate(x, ys, { batchSize: 4 }),
        evaluateAsync: () => m.evaluateAsync(x, ys, { batchSize: 4 }),
        predict: () => m.predict(x),
        predictAsync: () => m.predictAsync(x),
        fit: () => m.fit(x, ys, { epochs: 1, batchSize: 4, verbose: 0, validationData: [x, ys] }),
        fitValidationSplit: () => m.fit(x, ys, { epochs: 1, batchSize: 4, verbose: 0, validationSplit: 0.25 }),
        trainOnBatch: () => m.trainOnBatch(x, ys),
        fitDataset: () => m.fitDataset(ds, { epochs: 1, verbose: 0, validationData: ds }),
        evaluateDataset: () => m.evaluateDataset(ds),
      };
      for (const [call, f] of Object.entries(calls)) {
        await f(); // warm: first-call caches are not leaks
        const n0 = tf.memory().numTensors;
        const out = await f();
        if (out instanceof tf.Tensor || Array.isArray(out)) tf.dispose(out);
        t.equal(tf.memory().numTensors, n0, `${be} ${name} ${call}: no tensor left behind`);
      }
      m.dispose();
    }
    tf.dispose([x, y, r]);
  }
});

t.test('a pooled input disposed during an async call is not recycled under it', async (t) => {
  const backends = ['js'];
  try { tf.setBackend('native'); backends.unshift('native'); } catch { /* js only */ }
  for (const be of backends) {
    tf.setBackend(be);
    tf.setSeed(5);
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [256], activation: 'softmax' })] });
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    // op results of 128 Ki floats come from the buffer pool; the next same-sized op would reuse a
    // disposed one and overwrite it with 9s
    const mk = () => tf.mul(tf.randomUniform([512, 256], 0, 1, 'float32', 7), 1);
    const clobber = () => tf.mul(tf.ones([512, 256]), 9);
    const x0 = mk();
    const want = m.predict(x0).dataSync().slice();
    const y = tf.oneHot(tf.zeros([512], 'int32'), 4).cast('float32');
    const wantLoss = m.evaluate(x0, y).dataSync()[0];
    let x = mk();
    const p = m.predictAsync(x);
    x.dispose();
    const c1 = clobber();
    t.same(Array.from((await p).dataSync()), Array.from(want), `${be}: predictAsync reads the values it was given`);
    x = mk();
    const e = m.evaluateAsync(x, y);
    x.dispose();
    const c2 = clobber();
    t.ok(Math.abs((await e).dataSync()[0] - wantLoss) < 1e-6, `${be}: evaluateAsync too`);
    t.throws(() => x.dataSync(), /disposed/, 'the user\'s tensor is disposed as asked');
    tf.dispose([x0, y, c1, c2]);
    m.dispose();
  }
});

t.test('bool tensors', async (t) => {
  const b = tf.tensor([[true, false], [false, true]]);
  t.equal(b.dtype, 'bool');
  t.ok(b.dataSync() instanceof Uint8Array);
  t.same(b.arraySync(), [[1, 0], [0, 1]], 'values read as 0 / 1, as TF.js');
  t.same(tf.scalar(true).dtype, 'bool');
  t.same(tf.zeros([2], 'bool').dtype, 'bool');
  t.same(Array.from(tf.tensor([0.2, 0, -3]).cast('bool').dataSync()), [1, 0, 1]);
  t.same(Array.from(tf.tensor([2.7, -2.7]).cast('int32').dataSync()), [2, -2], 'float -> int32 truncates');
  t.same(tf.add(tf.tensor([1], [1], 'int32'), tf.tensor([0.5])).dtype, 'float32', 'int32 + float32 -> float32');
  t.same(tf.add(tf.tensor([1], [1], 'int32'), 1).dtype, 'float32', 'a plain number is float32');
  t.same(tf.div(tf.tensor([7, -7], [2], 'int32'), tf.tensor([2, 2], [2], 'int32')).arraySync(), [3, -4], 'int32 / int32 floors');
});

/** [call, message] rows: the call must throw an Error whose message matches. */
const errors = [
  [() => tf.add(tf.zeros([2, 3]), tf.zeros([4])), /^Operands could not be broadcast together with shapes 2,3 and 4\.$/],
  [() => tf.sum(tf.zeros([2, 3]), 2), /All values in axis param must be in range \[-2, 2\) but got axis 2/],
  [() => tf.mean(tf.zeros([2, 3]), 1.5), /All values in axis param must be integers but got axis 1.5/],
  [() => tf.reshape(tf.zeros([2, 3]), [4]), /Size\(6\) must match the product of shape 4/],
  [() => tf.concat([tf.zeros([2, 3]), tf.zeros([2, 4])]), /Shape of tensors\[1\] \(2,4\) does not match the shape of the rest \(2,3\) along the non-concatenated axis 1/],
  [() => tf.concat([]), /Pass at least one tensor to concat/],
  [() => tf.stack([tf.zeros([2, 3]), tf.zeros([3, 2])]), /All tensors passed to stack must have matching shapes/],
  [() => tf.squeeze(tf.zeros([2, 1]), [0]), /Can't squeeze axis 0 since its dim '2' is not 1/],
  [() => tf.expandDims(tf.zeros([2]), 3), /Axis must be <= rank of the tensor/],
  [() => tf.transpose(tf.zeros([2, 1]), [0]), /rank of input 2 must match length of perm 0/],
  [() => tf.slice(tf.zeros([2, 3]), [1, 1], [2, 2]), /begin\[0\] \+ size\[0\] \(3\) would overflow input.shape\[0\] \(2\)/],
  [() => tf.split(tf.zeros([2, 3]), 2, 1), /Number of splits must evenly divide the axis/],
  [() => tf.gather(tf.zeros([2, 3]), [5]), /the index value 5 is not in \[0, 1\]/],
  [() => tf.topk(tf.zeros([2, 3]), 5), /'k' passed to topk\(\) must be <= the last dimension \(3\) but got 5/],
  [() => tf.clipByValue(tf.zeros([2]), 5, 2), /min \(5\) must be less than or equal to max \(2\)/],
  [() => tf.range(0, 5, 0), /Cannot have a step of zero/],
  [() => tf.linspace(0, 5, 0), /The number of values should be positive/],
  [() => tf.cast(tf.zeros([2]), 'string2'), /Failed to cast to unknown dtype string2/],
  [() => tf.sqrt(tf.tensor([4], [1], 'int32')), /Argument 'x' passed to 'sqrt' must be float32 tensor, but got int32 tensor/],
  [() => tf.logicalAnd(tf.tensor([1]), tf.tensor([true])), /Argument 'a' passed to 'logicalAnd' must be bool tensor, but got float32 tensor/],
  [() => tf.where(tf.tensor([1, 0]), [1, 2], [3, 4]), /Argument 'condition' passed to 'where' must be bool tensor, but got float32 tensor/],
  [() => tf.add(tf.zeros([2]), 'a'), /Argument 'b' passed to 'add' must be a Tensor or TensorLike, but got 'String'/],
  [() => tf.add(tf.zeros([2]), [[1, 2], [3]]), /Argument 'b' passed to 'add'.*ragged/],
  [() => tf.oneHot(tf.tensor([0.5]), 3), /Argument 'indices' passed to 'oneHot' must be int32 tensor, but got float32 tensor/],
  [() => tf.unstack(tf.zeros([2, 3]), 2), /Axis = 2 is not in \[-2, 2\)/],
  [() => { const d = tf.ones([2]); d.dispose(); return d.add(1); }, /disposed/],
  [() => tf.losses.meanSquaredError([1, 2], [1, 2, 3]), /Error in meanSquaredError: {2}Shapes 2 and 3 must match/],
  [() => tf.util.shuffleCombo([1, 2], [1]), /Array sizes must match to be shuffled together/],
  [() => tf.buffer([2, 2], 'float32', [1, 2, 3]), /Length of values '3' does not match the size inferred by the shape '4'/],
];

t.test('bad arguments get TF.js-worded errors', async (t) => {
  for (const [call, re] of errors) t.throws(call, re, String(call).replace(/^\(\) => /, '').slice(0, 90));
});

t.test('tf.util', async (t) => {
  tf.setSeed(3);
  const a = [1, 2, 3, 4, 5, 6, 7, 8];
  tf.util.shuffle(a);
  t.same([...a].sort(), [1, 2, 3, 4, 5, 6, 7, 8], 'shuffle permutes in place');
  tf.setSeed(3);
  const b = [1, 2, 3, 4, 5, 6, 7, 8];
  tf.util.shuffle(b);
  t.same(b, a, 'seeded by tf.setSeed');
  const x = new Float32Array([1, 2, 3, 4]), y = ['a', 'b', 'c', 'd'];
  tf.util.shuffleCombo(x, y);
  t.same(Array.from(x).map((v) => y[Array.from(x).indexOf(v)]), Array.from(x).map((v) => 'abcd'[v - 1]), 'shuffleCombo applies one permutation to both');
  t.equal(tf.util.sizeFromShape([2, 3, 4]), 24);
  t.equal(tf.util.sizeFromShape([]), 1);
  t.same(tf.util.flatten([[1, [2, 3]], [4]]), [1, 2, 3, 4]);
  t.throws(() => tf.util.assert(false, () => 'nope'), /nope/);
  t.same(tf.util.computeStrides([2, 3, 4]), tfjs.util.computeStrides([2, 3, 4]));
  t.same(tf.util.parseAxisParam(-1, [2, 3]), [1]);
});

t.test('tf.losses / tf.metrics work on tensors and in compile', async (t) => {
  t.equal(tf.Reduction.SUM_BY_NONZERO_WEIGHTS, tfjs.Reduction.SUM_BY_NONZERO_WEIGHTS);
  const yt = tf.tensor([[0, 1], [1, 0]]), yp = tf.tensor([[0.2, 0.8], [0.4, 0.6]]);
  t.ok(Math.abs(tf.losses.meanSquaredError(yt, yp).dataSync()[0] - tfjs.losses.meanSquaredError([[0, 1], [1, 0]], [[0.2, 0.8], [0.4, 0.6]]).dataSync()[0]) < 1e-6);
  t.same(tf.metrics.categoricalAccuracy(yt, yp).arraySync(), [1, 0], 'per sample, as TF.js');
  t.ok(Math.abs(tf.losses.categoricalCrossentropy(yt, yp).dataSync()[0] - (-Math.log(0.8) - Math.log(0.4)) / 2) < 1e-5, 'the Keras-named entries still compute on tensors');
  const x = tf.randomUniform([6, 2], 0, 1, 'float32', 2);
  for (const loss of [tf.losses.meanSquaredError, tf.losses.meanSquaredError(), 'meanSquaredError', tf.losses.absoluteDifference, tf.losses.softmaxCrossEntropy, tf.losses.categoricalCrossentropy({ labelSmoothing: 0.1 })]) {
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2] })] });
    m.compile({ optimizer: 'sgd', loss, metrics: [tf.metrics.categoricalAccuracy, 'mse'] });
    const h = await m.fit(x, tf.oneHot(tf.tensor([0, 1, 0, 1, 0, 1], [6], 'int32'), 2), { epochs: 1, verbose: 0 });
    t.ok(Number.isFinite(h.history.loss[0]) && 'categoricalAccuracy' in h.history, `compile with ${typeof loss === 'string' ? loss : loss.name || 'a loss object'}`);
    m.dispose();
  }
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2] })] });
  t.throws(() => m.compile({ optimizer: 'sgd', loss: tf.losses.huberLoss }), /huberLoss has no kernel in the compiled native training step/);
});

t.test('large float32 results reuse the buffers of disposed results', async (t) => {
  const n = 1 << 17;
  const x = tf.tensor(Float32Array.from({ length: n }, (_, i) => i % 7));
  const first = x.add(1);
  const buf = first.values;
  first.dispose();
  const second = x.mul(2);
  t.equal(second.values, buf, 'the disposed result\'s buffer came back');
  t.equal(second.dataSync()[5], 10, 'and holds the new values');
  t.throws(() => first.dataSync(), /disposed/);
  const kept = tf.tidy(() => x.sub(1).abs().neg());
  t.equal(kept.dataSync()[3], -2, 'a tidy chain computes through recycled intermediates');
  const user = new Float32Array(n);
  const wrapped = tf.tensor(user);
  wrapped.dispose();
  t.not(x.add(3).values, user, 'arrays the pool did not hand out are never reused');
  tf.dispose([second, kept, x]);
});
