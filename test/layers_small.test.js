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

// ---- PReLU: a registry kind with a parameter (alpha) ---------------------------------------------

const { loadBackends } = require('./helpers/common');
const { gradcheck } = require('./helpers/gradcheck');
const { GraphBuilder, graphParams, graphBatch } = require('./helpers/graph');

for (const k of loadBackends().backends.filter((b) => !b.skip).map((b) => b.K)) {
  for (const shared of [[0, 0, 0], [1, 1, 0], [0, 1, 1]]) {
    t.test(`${k.name}: PReLU shared ${shared}: gradients (alpha, and through it) against central differences`, (tt) => {
      const b = new GraphBuilder([[4, 3, 2]]);
      const c = b.conv(0, 3, { act: 6 });
      const [H, W, C] = b.shapes[c];
      const size = (shared[0] ? 1 : H) * (shared[1] ? 1 : W) * (shared[2] ? 1 : C);
      const p = b.node({ kind: 25, out: [H, W, C], kernel: b.param(size), shared }, [c]);
      const c2 = b.conv(p, 2, { act: 6 });
      const d = b.dense(b.gap(c2), 3);
      const spec = b.spec([d], [{ loss: 3 }]);
      const params = graphParams(spec, 1);
      const net = k.createNetwork(spec, params, new Float32Array(params.length * 3));
      const { xs, ys } = graphBatch(spec, 3);
      const grads = new Float32Array(net.paramCount);
      const rep = gradcheck(tt, {
        name: `${k.name} prelu`, inputs: { params },
        forward: () => net.forwardBackward(xs, ys, null, 3),
        backward: () => { net.getGrads(grads); return { params: grads }; },
        eps: 1e-2, tol: 2e-2, samples: 80,
      });
      tt.ok(rep.params.checked > 0, 'some coordinates checked');
      net.dispose();
      tt.end();
    });
  }
}

for (const backend of ['native', 'js']) {
  t.test(`prelu in a model (${backend}): TF.js predictions, files both ways, ONNX, training`, async (tt) => {
    cnn.setBackend(backend);
    for (const [what, build] of [
      ['prelu after dense', (ns) => ns.sequential({ layers: [ns.layers.dense({ inputShape: [5], units: 4, name: 'd' }), ns.layers.prelu({ name: 'p' }), ns.layers.dense({ units: 2, name: 'o' })] })],
      ['prelu sharedAxes [1, 2] after conv2d', (ns) => ns.sequential({ layers: [ns.layers.conv2d({ inputShape: [4, 4, 2], filters: 3, kernelSize: 2, name: 'c' }), ns.layers.prelu({ sharedAxes: [1, 2], name: 'p' }), ns.layers.flatten({ name: 'f' }), ns.layers.dense({ units: 2, name: 'o' })] })],
    ]) {
      const m = build(cnn), tm = build(tf);
      tm.setWeights(tm.getWeights().map((w, i) => tf.tensor(values(w.size, 3 + i), w.shape)));
      const fromTf = await cnn.loadLayersModel(cnn.io.fromMemory(await toMemory(tm, tf.io)));
      m.setWeights(fromTf.getWeights());
      const shape = [3, ...m.inputShape];
      const x = values(shape.reduce((a, b) => a * b, 1), 8);
      const want = tm.predict(tf.tensor(x, shape)).dataSync();
      const got = m.predict(cnn.tensor(x, shape)).values;
      tt.ok(maxDiff(got, want) < 1e-5, `${what}: predictions equal TF.js (${maxDiff(got, want)})`);
      const tm2 = await tf.loadLayersModel(tf.io.fromMemory(await toMemory(m, cnn.io)));
      tt.ok(maxDiff(tm2.predict(tf.tensor(x, shape)).dataSync(), want) < 1e-5, `${what}: TF.js loads our file`);
      const s = await ort.InferenceSession.create(m.toOnnx(), { intraOpNumThreads: 1 });
      const o = await s.run({ input: new ort.Tensor('float32', x, shape) });
      tt.ok(maxDiff(o.output.data, want) < 1e-4, `${what}: ONNX PRelu equals predict`);
      m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
      const y = cnn.tensor(values(6, 1), [3, 2]);
      const h = await m.fit(cnn.tensor(x, shape), y, { epochs: 5, batchSize: 3, verbose: 0 });
      tt.ok(h.history.loss[4] < h.history.loss[0], `${what}: trains`);
      m.dispose();
      fromTf.dispose();
    }
    tt.end();
  });
}
