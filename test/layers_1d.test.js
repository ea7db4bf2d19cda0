'use strict';
// The 1-D layers (lib/model/layers/conv1d.ts), run on the 2-D kinds with H = 1: predictions equal
// TF.js's, files both ways (conv1d kernel [k, in, out]), ONNX in onnxruntime, training on both
// backends, and option errors naming the layer.

const t = require('tap');
const tf = require('@tensorflow/tfjs');
const ort = require('onnxruntime-node');
const cnn = require('..');
const { makeRng } = require('./helpers/common');

function values(n, seed) {
  const r = makeRng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * 0.5);
}

async function toMemory(m, io) {
  let arts;
  await m.save(io.withSaveHandler(async (a) => { arts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  return arts;
}

const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

const MODELS = {
  'conv1d same/strides, maxPooling1d, dilated conv1d, averagePooling1d same, globalAveragePooling1d': (ns) => ns.sequential({
    layers: [
      ns.layers.conv1d({ inputShape: [20, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'c1' }),
      ns.layers.maxPooling1d({ poolSize: 2, name: 'p1' }),
      ns.layers.conv1d({ filters: 5, kernelSize: [2], dilationRate: 2, activation: 'tanh', name: 'c2' }),
      ns.layers.averagePooling1d({ poolSize: 2, strides: 1, padding: 'same', name: 'p2' }),
      ns.layers.globalAveragePooling1d({ name: 'g' }),
      ns.layers.dense({ units: 3, name: 'd' }),
    ],
  }),
  'conv1d valid, globalMaxPooling1d': (ns) => ns.sequential({
    layers: [
      ns.layers.conv1d({ inputShape: [20, 3], filters: 4, kernelSize: 5, name: 'c1' }),
      ns.layers.globalMaxPooling1d({ name: 'g' }),
      ns.layers.dense({ units: 2, name: 'd' }),
    ],
  }),
};

for (const backend of ['native', 'js']) {
  for (const [what, mk] of Object.entries(MODELS)) {
    t.test(`${what} (${backend})`, async (tt) => {
      cnn.setBackend(backend);
      const m = mk(cnn), tm = mk(tf);
      m.layers.forEach((l, i) => tt.same(l.outputShape, tm.layers[i].outputShape.slice(1), `${l.name}: output shape`));
      tm.setWeights(tm.getWeights().map((w, i) => tf.tensor(values(w.size, 5 + i), w.shape)));
      const tarts = await toMemory(tm, tf.io);
      const fromTf = await cnn.loadLayersModel(cnn.io.fromMemory(tarts));
      const x = values(2 * 60, 9);
      const want = tm.predict(tf.tensor(x, [2, 20, 3])).dataSync();
      const got = fromTf.predict(cnn.tensor(x, [2, 20, 3])).values;
      tt.ok(maxDiff(got, want) < 1e-5, `a TF.js file loads with equal predictions (${maxDiff(got, want)})`);
      m.setWeights(fromTf.getWeights());
      tt.ok(maxDiff(m.predict(cnn.tensor(x, [2, 20, 3])).values, want) < 1e-5, 'predictions equal TF.js');
      const arts = await toMemory(m, cnn.io);
      const tm2 = await tf.loadLayersModel(tf.io.fromMemory(arts));
      tt.ok(maxDiff(tm2.predict(tf.tensor(x, [2, 20, 3])).dataSync(), want) < 1e-5, 'TF.js loads our file');
      const s = await ort.InferenceSession.create(m.toOnnx(), { intraOpNumThreads: 1 });
      const o = await s.run({ input: new ort.Tensor('float32', x, [2, 20, 3]) });
      tt.ok(maxDiff(o.output.data, want) < 1e-4, `ONNX in onnxruntime equals predict (${maxDiff(o.output.data, want)})`);
      m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
      const y = cnn.tensor(values(2 * m.outputShape[0], 3), [2, m.outputShape[0]]);
      const h = await m.fit(cnn.tensor(x, [2, 20, 3]), y, { epochs: 5, batchSize: 2, verbose: 0 });
      tt.ok(h.history.loss[4] < h.history.loss[0], `trains: loss ${h.history.loss[0]} -> ${h.history.loss[4]}`);
      m.dispose();
      fromTf.dispose();
      tt.end();
    });
  }
}

t.test('1-D layers: bad options and inputs are refused naming the layer and the option', (tt) => {
  tt.throws(() => cnn.layers.conv1d({ filters: 2, kernelSize: 0, name: 'c' }), /conv1d\(c\): kernelSize/);
  tt.throws(() => cnn.layers.conv1d({ filters: 2, kernelSize: 3, padding: 'causal', name: 'c' }), /conv1d\(c\)/);
  tt.throws(() => cnn.layers.conv1d({ filters: 2, kernelSize: 3, strides: 2, dilationRate: 2, name: 'c' }), /conv1d\(c\): strides must be 1/);
  tt.throws(() => cnn.layers.maxPooling1d({ poolSize: -1, name: 'p' }), /maxPooling1d\(p\): poolSize/);
  tt.throws(() => cnn.sequential({ layers: [cnn.layers.conv1d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3, name: 'c' })] }).build(),
    /conv1d\(c\): expects \[steps, channels\] per sample/);
  tt.end();
});
