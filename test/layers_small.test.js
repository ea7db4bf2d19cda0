'use strict';
// leakyReLU, elu, softmax layers (lib/model/layers/activation_layers.ts): predictions equal
// TF.js's, files both ways, ONNX in onnxruntime, numeric gradients via the Activation kind's tests.

const t = require('tap');
const tf = require('@tensorflow/tfjs');
const ort = require('onnxruntime-node');
const cnn = require('..');
const { makeRng } = require('./helpers/common');

function values(n, seed) {
  const r = makeRng(seed);
  return Float32Array.from({ length: n }, () => r.normal());
}
async function toMemory(m, io) {
  let arts;
  await m.save(io.withSaveHandler(async (a) => { arts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  return arts;
}
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

const CASES = [
  ['leakyReLU default', (ns) => ns.layers.leakyReLU({ name: 'a' })],
  ['leakyReLU alpha 0.05', (ns) => ns.layers.leakyReLU({ alpha: 0.05, name: 'a' })],
  ['elu default', (ns) => ns.layers.elu({ name: 'a' })],
  ['softmax', (ns) => ns.layers.softmax({ name: 'a' })],
];

for (const backend of ['native', 'js']) {
  t.test(`small layers (${backend}): TF.js predictions, files both ways, ONNX`, async (tt) => {
    cnn.setBackend(backend);
    for (const [what, mk] of CASES) {
      const build = (ns) => ns.sequential({ layers: [ns.layers.dense({ inputShape: [5], units: 4, name: 'd' }), mk(ns)] });
      const m = build(cnn), tm = build(tf);
      tm.setWeights(tm.getWeights().map((w, i) => tf.tensor(values(w.size, 3 + i), w.shape)));
      const fromTf = await cnn.loadLayersModel(cnn.io.fromMemory(await toMemory(tm, tf.io)));
      m.setWeights(fromTf.getWeights());
      const x = values(3 * 5, 8);
      const want = tm.predict(tf.tensor(x, [3, 5])).dataSync();
      const got = m.predict(cnn.tensor(x, [3, 5])).values;
      tt.ok(maxDiff(got, want) < 1e-5, `${what}: predictions equal TF.js (${maxDiff(got, want)})`);
      tt.ok(maxDiff(fromTf.predict(cnn.tensor(x, [3, 5])).values, want) < 1e-5, `${what}: a TF.js file loads`);
      const tm2 = await tf.loadLayersModel(tf.io.fromMemory(await toMemory(m, cnn.io)));
      tt.ok(maxDiff(tm2.predict(tf.tensor(x, [3, 5])).dataSync(), want) < 1e-5, `${what}: TF.js loads our file`);
      const s = await ort.InferenceSession.create(m.toOnnx(), { intraOpNumThreads: 1 });
      const o = await s.run({ input: new ort.Tensor('float32', x, [3, 5]) });
      tt.ok(maxDiff(o.output.data, want) < 1e-4, `${what}: ONNX equals predict`);
      m.dispose();
      fromTf.dispose();
    }
    tt.end();
  });
}

t.test('small layers: bad options are refused naming the layer and the option', (tt) => {
  tt.throws(() => cnn.layers.leakyReLU({ alpha: 'x', name: 'l' }), /leakyReLU\(l\): alpha must be/);
  tt.throws(() => cnn.layers.elu({ alpha: NaN, name: 'e' }), /elu\(e\): alpha must be/);
  tt.throws(() => cnn.sequential({ layers: [cnn.layers.softmax({ inputShape: [4, 3], axis: 1, name: 's' })] }).build(),
    /softmax\(s\): axis 1 is not supported/);
  tt.end();
});
