'use strict';
// ONNX export of graph (functional) models, run in onnxruntime-node: every output equals
// model.predict (1e-4) on both backends for residual blocks with batch norm, several inputs and
// outputs, shared layers (weights emitted once), nested models, every merge, concatenation on
// each axis across NCHW / NHWC tensors, Reshape, a ResNet-20; plus names and errors.

const t = require('tap');
const ort = require('onnxruntime-node');
const cnn = require('..');
const { onnxModelType } = require('../dist/onnx/schema');
const { resnet20 } = require('../bench/lib/models');

const { layers } = cnn;
const TOL = 1e-4;

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return (((x ^ (x >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** Distinct weights everywhere (layer by layer, nested models too), BN statistics far from 0 / 1 so a layout slip shows. */
function randomizeWeights(model, seed) {
  model.build();
  const r = rng(seed);
  const visit = (m) => {
    for (const l of m.layers) {
      if (l.layers) { visit(l); continue; }
      const specs = l.weightSpecs || [];
      if (specs.length === 0) continue;
      l.setWeights(l.getWeights().map((w, k) => {
        const name = specs[k].name;
        const fanIn = w.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        return cnn.tensor(Float32Array.from({ length: w.size }, () => {
          if (name === 'moving_variance') return 0.3 + Math.abs(r());
          if (name === 'gamma') return 1 + 0.5 * r();
          if (name === 'kernel') return r() * Math.sqrt(3 / Math.max(fanIn, 1));
          return 0.6 * r();
        }), w.shape);
      }));
    }
  };
  visit(model);
}

function decoded(bytes) {
  const type = onnxModelType();
  return type.toObject(type.decode(bytes), { defaults: true });
}

/** Runs the export in ORT with the model's input names and compares every output with predict. */
async function check(t, label, model, batch = 2, seed = 1) {
  const r = rng(seed);
  const xs = model.inputShapes.map((s) => {
    const shape = [batch, ...s];
    return { shape, values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2) };
  });
  for (const be of ['native', 'js']) {
    try { cnn.setBackend(be); } catch { t.skip(`${be} backend not available`); continue; }
    let want = model.predict(xs.length === 1 ? cnn.tensor(xs[0].values, xs[0].shape) : xs.map((x) => cnn.tensor(x.values, x.shape)));
    if (!Array.isArray(want)) want = [want];
    const bytes = model.toOnnx();
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const feeds = {};
    const inNames = model.inputNames.length === 1 ? ['input'] : model.inputNames;
    const outNames = model.outputNames.length === 1 ? ['output'] : model.outputNames;
    inNames.forEach((n, i) => (feeds[n] = new ort.Tensor('float32', xs[i].values, xs[i].shape)));
    t.same(session.inputNames, inNames, `${label}: graph inputs named`);
    t.same(session.outputNames, outNames, `${label}: graph outputs named`);
    const out = await session.run(feeds);
    outNames.forEach((n, k) => {
      t.same(out[n].dims, [batch, ...model.outputShapes[k]], `${label} (${be}): output ${n} shape`);
      const w = want[k].dataSync();
      const g = out[n].data;
      let worst = 0;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i] - w[i]) / (1 + Math.abs(w[i])));
      t.ok(worst <= TOL, `${label} (${be}): output ${n} matches predict (max scaled difference ${worst.toExponential(2)})`);
    });
    cnn.dispose(want);
  }
}

t.test('a residual block with batch norm (the shortcut stays NHWC, the branch NCHW)', async (t) => {
  const x = cnn.input({ shape: [8, 8, 4] });
  let h = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
  h = layers.batchNormalization().apply(h);
  h = layers.activation({ activation: 'relu' }).apply(h);
  h = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(h);
  h = layers.activation({ activation: 'relu' }).apply(layers.add().apply([h, x]));
  const out = layers.dense({ units: 3, activation: 'softmax' }).apply(layers.globalAveragePooling2d().apply(h));
  const m = cnn.model({ inputs: x, outputs: out });
  randomizeWeights(m, 2);
  await check(t, 'residual', m);
});

t.test('two inputs, two outputs, concatenation on the channel axis, every merge', async (t) => {
  const a = cnn.input({ shape: [6, 6, 2], name: 'img_a' });
  const b = cnn.input({ shape: [6, 6, 3], name: 'img_b' });
  const ca = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(a);
  const cat = layers.concatenate().apply([ca, b]); // NCHW conv output with an NHWC model input
  const c2 = layers.conv2d({ filters: 3, kernelSize: 1 }).apply(cat);
  const merged = [
    layers.subtract().apply([c2, b]), layers.multiply().apply([c2, ca, b]), layers.average().apply([c2, ca]),
    layers.maximum().apply([ca, b]), layers.minimum().apply([c2, ca]),
  ];
  const sum = layers.add().apply(merged);
  const flat = layers.flatten().apply(sum);
  const cls = layers.dense({ units: 4, activation: 'softmax', name: 'cls' }).apply(flat);
  const reg = layers.dense({ units: 1, name: 'reg' }).apply(layers.concatenate({ axis: 1 }).apply([flat, layers.flatten().apply(a)]));
  const m = cnn.model({ inputs: [a, b], outputs: [cls, reg] });
  randomizeWeights(m, 3);
  await check(t, 'two-input two-output', m, 3);
});

t.test('concatenation on H and W, reshape, dot with and without normalize', async (t) => {
  const x = cnn.input({ shape: [4, 5, 2], name: 'x' });
  const c = layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(x);
  const onH = layers.concatenate({ axis: 1 }).apply([c, x]); // 8 x 5 x 2
  const onW = layers.concatenate({ axis: -2 }).apply([c, c]); // 4 x 10 x 2
  const r = layers.reshape({ targetShape: [8, 5, 2] }).apply(onW); // reorders in NHWC order
  const both = layers.flatten().apply(layers.add().apply([onH, r]));
  const u = layers.dense({ units: 6 }).apply(both);
  const v = layers.dense({ units: 6 }).apply(both);
  const dot = layers.dot({ axes: -1 }).apply([u, v]);
  const cos = layers.dot({ axes: 1, normalize: true }).apply([u, v]);
  const m = cnn.model({ inputs: x, outputs: [dot, cos] });
  randomizeWeights(m, 4);
  await check(t, 'axes, reshape, dot', m);
});

t.test('a shared layer (weights emitted once) and a nested Sequential', async (t) => {
  const x = cnn.input({ shape: [5, 5, 3] });
  const shared = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', name: 'shared_conv' });
  const twice = shared.apply(shared.apply(x));
  const inner = cnn.sequential({ layers: [layers.flatten({ inputShape: [5, 5, 3] }), layers.dense({ units: 4, activation: 'relu' })] });
  const out = layers.dense({ units: 2 }).apply(inner.apply(twice));
  const m = cnn.model({ inputs: x, outputs: out });
  randomizeWeights(m, 5);
  await check(t, 'shared + nested', m);
  const o = decoded(m.toOnnx());
  t.equal(o.graph.initializer.filter((i) => i.name.startsWith('shared_conv/kernel')).length, 1, 'the shared kernel is one initializer');
  t.equal(o.graph.node.filter((n) => (n.op_type ?? n.opType) === 'Conv').length, 2, 'read by two Conv nodes');
});

t.test('an output that is also read further on, and an input passed straight out', async (t) => {
  const x = cnn.input({ shape: [3], name: 'x' });
  const h = layers.dense({ units: 3, name: 'h' }).apply(x);
  const y = layers.dense({ units: 2, name: 'y' }).apply(h);
  const m = cnn.model({ inputs: x, outputs: [h, y] });
  randomizeWeights(m, 6);
  await check(t, 'intermediate output', m);
});

t.test('a ResNet-20 (CIFAR-shaped) exports and runs', async (t) => {
  const m = resnet20(cnn);
  randomizeWeights(m, 7);
  await check(t, 'resnet20', m, 2);
});

t.test('names and errors', async (t) => {
  const a = cnn.input({ shape: [2], name: 'a' });
  const b = cnn.input({ shape: [2], name: 'b' });
  const m = cnn.model({ inputs: [a, b], outputs: layers.add().apply([a, b]) });
  let s = await ort.InferenceSession.create(m.toOnnx({ inputNames: ['p', 'q'], outputName: 'sum' }));
  t.same(s.inputNames, ['p', 'q']);
  t.same(s.outputNames, ['sum']);
  t.throws(() => m.toOnnx({ inputName: 'x' }), /2 inputs: give inputNames/);
  t.throws(() => m.toOnnx({ inputNames: ['p'] }), /inputNames must be 2 non-empty strings/);
  t.throws(() => m.toOnnx({ inputNames: ['p', 'out'], outputName: 'out' }), /must all differ/);
  const seq = cnn.sequential({ layers: [layers.dense({ units: 1, inputShape: [2] })] });
  t.throws(() => seq.toOnnx({ inputName: 'z', outputName: 'z' }), /inputName and outputName must differ/);
  s = await ort.InferenceSession.create(seq.toOnnx({ inputNames: ['features'] }));
  t.same(s.inputNames, ['features']);
  // a layer named like a graph output does not take that name from it
  const named = cnn.sequential({ layers: [layers.dense({ units: 3, inputShape: [2], activation: 'softmax', name: 'output' })] });
  randomizeWeights(named, 8);
  await check(t, 'a layer called output', named);
});
