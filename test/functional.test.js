// The Functional API: tf.input / layer.apply / tf.model, merge layers, shared layers, nested
// models, summary, weights and the lowering to the engine's graph NetworkSpec; forward passes
// compared with @tensorflow/tfjs on the same weights (residual, two-input, shared, nested,
// channel concatenation). Graph training against TF.js is in graph_training.test.js.
'use strict';
const t = require('tap');
const tf = require('..');
const tfjs = require('@tensorflow/tfjs');
const { graphBackends, copyWeightsToTfjs, maxRelDiff, seeded } = require('./helpers/functional');

t.test('tf.input / apply / tf.model: shapes, layers, names', async (t) => {
  tf.setBackend('js');
  const x = tf.input({ shape: [8, 8, 3], name: 'img' });
  t.ok(x instanceof tf.SymbolicTensor);
  t.same(x.shape, [null, 8, 8, 3]);
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c' });
  const y = conv.apply(x);
  t.same(y.shape, [null, 8, 8, 4]);
  const z = tf.layers.concatenate({ name: 'cat' }).apply([x, y]);
  t.same(z.shape, [null, 8, 8, 7], 'concatenate on the channel axis');
  const z1 = tf.layers.concatenate({ axis: 1, name: 'cat_h' }).apply([x, x]);
  t.same(z1.shape, [null, 16, 8, 3], 'concatenate on axis 1 (H)');
  const g = tf.layers.globalAveragePooling2d({ name: 'g' }).apply(z);
  const out = tf.layers.dense({ units: 2, name: 'out' }).apply(g);
  const m = tf.model({ inputs: x, outputs: out, name: 'm1' });
  t.ok(m instanceof tf.LayersModel);
  t.same(m.layers.map((l) => l.name), ['img', 'c', 'cat', 'g', 'out']);
  t.same(m.inputNames, ['img']);
  t.same(m.outputNames, ['out']);
  t.equal(m.getLayer('c'), conv);
  t.equal(m.getLayer(1), conv);
  t.throws(() => m.getLayer('nope'), /no layer named nope/);
  t.same(m.inputs[0].shape, [null, 8, 8, 3]);
  t.same(m.outputs[0].shape, [null, 2]);
  t.equal(m.countParams(), 4 * 27 + 4 + 7 * 2 + 2);
  const cfg = m.getConfig();
  t.same(cfg.inputLayers, [['img', 0, 0]]);
  t.same(cfg.outputLayers, [['out', 0, 0]]);
  t.same(cfg.layers.find((l) => l.name === 'cat').inboundNodes, [[['img', 0, 0, {}], ['c', 0, 0, {}]]]);
  t.same(cfg.layers.find((l) => l.name === 'cat').config.axis, -1);
});

t.test('Functional API errors', async (t) => {
  const a = tf.input({ shape: [4] });
  const b = tf.input({ shape: [5] });
  t.throws(() => tf.input({}), /either a `shape` or a `batchShape`/);
  t.throws(() => tf.layers.dense({ units: 2 }).apply(tf.zeros([2, 4])), /expected a SymbolicTensor/);
  t.throws(() => tf.layers.add().apply([a, b]), /the inputs must have the same shape/);
  t.throws(() => tf.layers.add().apply([a]), /at least 2 inputs/);
  t.throws(() => tf.layers.subtract().apply([a, a, a]), /exactly 2 inputs/);
  t.throws(() => tf.layers.concatenate().apply([tf.input({ shape: [2, 3] }), tf.input({ shape: [3, 3] })]), /matching shapes except for the concat axis/);
  t.throws(() => tf.layers.dense({ units: 2 }).apply([a, b]), /expects 1 input/);
  t.throws(() => tf.layers.dot({ axes: -1 }).apply([a, b]), /Dimension incompatibility/);
  const shared = tf.layers.dense({ units: 3 });
  shared.apply(a);
  t.throws(() => shared.apply(b), /shared layer must be called on the same shapes/);
  const d1 = tf.layers.dense({ units: 2, name: 'same' }).apply(a);
  const d2 = tf.layers.dense({ units: 2, name: 'same' }).apply(a);
  t.throws(() => tf.model({ inputs: a, outputs: [d1, d2] }), /used twice/);
  const o = tf.layers.dense({ units: 2 }).apply(tf.layers.add().apply([tf.layers.dense({ units: 4 }).apply(b), tf.input({ shape: [4] })]));
  t.throws(() => tf.model({ inputs: b, outputs: o }), /not in the model's inputs/);
  t.throws(() => tf.model({ inputs: d1, outputs: d1 }), /must come from tf.input/);
});

t.test('lowering: graph NetworkSpec with tensor ids, shared layers and nested models', async (t) => {
  tf.setBackend('js');
  const a = tf.input({ shape: [4], name: 'a' });
  const b = tf.input({ shape: [4], name: 'b' });
  const shared = tf.layers.dense({ units: 3, name: 'shared' });
  const sa = shared.apply(a);
  const sb = shared.apply(b);
  const inner = tf.sequential({ name: 'inner', layers: [tf.layers.dense({ units: 2, inputShape: [3], name: 'in_d' })] });
  const s = tf.layers.add({ name: 'sum' }).apply([sa, sb]);
  const out = inner.apply(s);
  const m = tf.model({ inputs: [a, b], outputs: out });
  t.same(m.layers.map((l) => l.name), ['a', 'b', 'shared', 'sum', 'inner']);
  const spec = m.networkSpec([{ kind: 3, fromLogits: false, labelSmoothing: 0 }], [1], null);
  t.same(spec.inputs, [[1, 1, 4], [1, 1, 4]]);
  t.same(spec.layers.map((l) => [l.kind, l.inputs]), [[1, [0]], [1, [1]], [10, [2, 3]], [1, [4]]], 'dense(a), dense(b), add, nested dense');
  t.equal(spec.layers[0].kernel, spec.layers[1].kernel, 'a shared layer is two nodes with the same weights');
  t.same(spec.layers[2].ins, [[1, 1, 3], [1, 1, 3]]);
  t.same(spec.outputs, [5]);
  t.same(spec.outputLosses, [{ loss: 3, fromLogits: false, labelSmoothing: 0, weight: 1 }]);
  t.equal(m.getWeights().length, 4, 'shared kernel+bias once, nested kernel+bias');
  t.equal(m.countParams(), 4 * 3 + 3 + 3 * 2 + 2);
  const lines = [];
  m.summary(undefined, undefined, (s) => lines.push(s));
  const text = lines.join('\n');
  t.match(text, /Connected to/);
  t.match(text, /shared \(Dense\)/);
  t.match(text, /a\[0\]\[0\]/);
  t.match(text, /b\[0\]\[0\]/);
  t.match(text, /shared\[1\]\[0\]/, 'the second call of the shared layer');
  t.match(text, /inner \(Sequential\)/);
  const seqLines = [];
  inner.summary(undefined, undefined, (s) => seqLines.push(s));
  t.notMatch(seqLines.join('\n'), /Connected to/, 'a Sequential keeps three columns');
});

t.test('setWeights / getWeights round trip in TF.js order', async (t) => {
  tf.setBackend('js');
  const m = seeded.residual(tf);
  const w = m.getWeights();
  const tm = seeded.residual(tfjs);
  t.same(w.map((x) => x.shape), tm.getWeights().map((x) => x.shape), 'same weight shapes and order as TF.js');
  const changed = w.map((x) => tf.add(x, tf.scalar(0.5)));
  m.setWeights(changed);
  m.getWeights().forEach((x, i) => t.same(Array.from(x.dataSync()), Array.from(changed[i].dataSync())));
  t.throws(() => m.setWeights(w.slice(1)), /the model has \d+ weights/);
});

for (const be of graphBackends(t)) {
  const cases = [
    ['residual block with batch norm', seeded.residual, () => [tf.randomNormal([6, 8, 8, 3], 0, 1, 'float32', 1)]],
    ['two inputs (image and vector)', seeded.twoInput, () => [tf.randomNormal([5, 6, 6, 2], 0, 1, 'float32', 2), tf.randomNormal([5, 4], 0, 1, 'float32', 3)]],
    ['shared layer', seeded.shared, () => [tf.randomNormal([4, 5], 0, 1, 'float32', 4), tf.randomNormal([4, 5], 0, 1, 'float32', 5)]],
    ['channel concatenation', seeded.concat, () => [tf.randomNormal([3, 6, 6, 2], 0, 1, 'float32', 6)]],
    ['nested Sequential and merges', seeded.nested, () => [tf.randomNormal([4, 6], 0, 1, 'float32', 7)]],
  ];
  for (const [name, build, data] of cases) {
    t.test(`${be}: forward equals TF.js: ${name}`, async (t) => {
      tf.setBackend(be);
      tf.setSeed(11);
      const m = build(tf);
      const tm = build(tfjs);
      copyWeightsToTfjs(m, tm, tfjs);
      const xs = data();
      const ours = m.predict(xs.length === 1 ? xs[0] : xs);
      const theirs = tm.predict((xs.length === 1 ? [xs[0]] : xs).map((x) => tfjs.tensor(x.dataSync(), x.shape)));
      const o = Array.isArray(ours) ? ours : [ours];
      const th = Array.isArray(theirs) ? theirs : [theirs];
      t.equal(o.length, th.length);
      o.forEach((p, k) => {
        t.same(p.shape, th[k].shape, `output ${k} shape`);
        const d = maxRelDiff(p.dataSync(), th[k].dataSync());
        t.ok(d < 1e-4, `output ${k}: max relative difference ${d.toExponential(2)}`);
      });
      const byName = xs.length === 1 ? xs[0] : Object.fromEntries(m.inputNames.map((n, i) => [n, xs[i]]));
      const again = m.predict(byName);
      (Array.isArray(again) ? again : [again]).forEach((p, k) => t.same(Array.from(p.dataSync()), Array.from(o[k].dataSync()), 'inputs by name'));
    });
  }
}

for (const be of graphBackends(t)) {
  t.test(`${be}: merge layers compute as TF.js's ops (subtract: a - b)`, async (t) => {
    tf.setBackend(be);
    const a = tf.input({ shape: [2, 3], name: 'a' });
    const b = tf.input({ shape: [2, 3], name: 'b' });
    const merges = {
      add: [tf.layers.add(), (x, y) => tfjs.add(x, y)],
      subtract: [tf.layers.subtract(), (x, y) => tfjs.sub(x, y)],
      multiply: [tf.layers.multiply(), (x, y) => tfjs.mul(x, y)],
      average: [tf.layers.average(), (x, y) => tfjs.div(tfjs.add(x, y), 2)],
      maximum: [tf.layers.maximum(), (x, y) => tfjs.maximum(x, y)],
      minimum: [tf.layers.minimum(), (x, y) => tfjs.minimum(x, y)],
      concat_w: [tf.layers.concatenate({ axis: 2 }), (x, y) => tfjs.concat([x, y], 2)],
      concat_h: [tf.layers.concatenate({ axis: 1 }), (x, y) => tfjs.concat([x, y], 1)],
    };
    const names = Object.keys(merges);
    const m = tf.model({ inputs: [a, b], outputs: names.map((k) => merges[k][0].apply([a, b])) });
    const xa = tf.randomNormal([3, 2, 3], 0, 1, 'float32', 8);
    const xb = tf.randomNormal([3, 2, 3], 0, 1, 'float32', 9);
    const outs = m.predict([xa, xb]);
    t.equal(outs.length, names.length, 'predict returns one tensor per output');
    const ta = tfjs.tensor(xa.dataSync(), xa.shape);
    const tb = tfjs.tensor(xb.dataSync(), xb.shape);
    names.forEach((k, i) => {
      const want = merges[k][1](ta, tb);
      t.same(outs[i].shape, want.shape, `${k} shape`);
      t.ok(maxRelDiff(outs[i].dataSync(), want.dataSync()) < 1e-6, `${k} values`);
    });
    const u = tf.input({ shape: [4] });
    const v = tf.input({ shape: [4] });
    const dm = tf.model({ inputs: [u, v], outputs: [tf.layers.dot({ axes: 1 }).apply([u, v]), tf.layers.dot({ axes: -1, normalize: true }).apply([u, v])] });
    const xu = tf.tensor2d([[1, 2, 3, 4], [0, 1, 0, -1]]);
    const xv = tf.tensor2d([[2, 0, 1, 1], [3, 1, 2, 1]]);
    const [dot, cos] = dm.predict([xu, xv]);
    t.same(dot.shape, [2, 1]);
    t.ok(maxRelDiff(dot.dataSync(), [9, 0]) < 1e-6, `dot ${Array.from(dot.dataSync())}`);
    t.ok(maxRelDiff(cos.dataSync(), [9 / Math.sqrt(30) / Math.sqrt(6), 0]) < 1e-5, `cosine ${Array.from(cos.dataSync())}`);
  });
}

t.test('data arguments: several inputs and outputs by array or name, one by Tensor, [Tensor] or name, clear errors', async (t) => {
  const { layers } = tf;
  const a = tf.input({ shape: [2], name: 'in_a' });
  const b = tf.input({ shape: [3], name: 'in_b' });
  const two = tf.model({ inputs: [a, b], outputs: layers.dense({ units: 1, name: 'out' }).apply(layers.concatenate().apply([a, b])) });
  two.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const xa = tf.ones([4, 2]);
  const xb = tf.ones([4, 3]);
  const y = tf.ones([4, 1]);
  t.throws(() => two.predict(xa), /predict: the model has 2 inputs \(in_a, in_b\); x must be an array of 2 Tensors or \{inputName: Tensor\}, received Tensor/);
  t.throws(() => two.predict([xa, xb, xb]), /the model has 2 inputs \(in_a, in_b\), received an array of 3/);
  t.throws(() => two.predict([xb, xa]), /input in_a must have shape \[n, 2\], received \[4,3\]/);
  t.throws(() => two.predict({ in_a: xa }), /x gives no tensor for input in_b/);
  t.throws(() => two.predict({ in_a: xa, in_b: xb, zz: xa }), /x names "zz", which is not an input \(inputs: in_a, in_b\)/);
  t.throws(() => two.predict([xa, tf.ones([3, 3])]), /input in_b has 3 samples, input in_a has 4/);
  t.throws(() => two.evaluate([xa, xb], [y, y]), /the model has 1 output \(out\); y must be a Tensor \(or an array of 1\), received an array of 2/);
  await t.rejects(two.fit([xa, xb], [y, y], { epochs: 1, verbose: 0 }), /fit: the model has 1 output \(out\)/);
  const want = two.predict([xa, xb]).dataSync()[0];
  t.equal(two.predict({ in_b: xb, in_a: xa }).dataSync()[0], want, 'inputs by name, any order');
  t.equal(two.evaluate([xa, xb], [y]).dataSync()[0], two.evaluate([xa, xb], y).dataSync()[0], 'a one-output target as [y]');
  t.equal(two.evaluate([xa, xb], { out: y }).dataSync()[0], two.evaluate([xa, xb], y).dataSync()[0], 'and as {out: y}');

  const one = tf.model({ inputs: a, outputs: layers.dense({ units: 1, name: 'solo' }).apply(a) });
  one.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const p = one.predict(xa).dataSync()[0];
  t.equal(one.predict([xa]).dataSync()[0], p, 'a one-input model takes [x]');
  t.equal((await one.predictAsync({ in_a: xa })).dataSync()[0], p, 'and {inputName: x}');
  t.throws(() => one.predict([xa, xa]), /the model has 1 input \(in_a\); x must be a Tensor \(or an array of 1\), received an array of 2/);
  t.throws(() => one.predict([1, 2, 3]), /predict: x must be a Tensor, received array\(3\)/, 'a plain JS array is not a list of tensors');
  const h = await one.fit([xa], [y], { epochs: 1, verbose: 0, validationData: [[xa], [y]] });
  t.equal(h.history.val_loss.length, 1, 'fit with [x], [y] and validationData in that form');
  tf.dispose([xa, xb, y]);
});
