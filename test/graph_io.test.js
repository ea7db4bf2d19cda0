'use strict';
// Functional (graph) models in files: the TF.js 'Model' class and Keras 2 / Keras 3 'Functional'
// configs read and written, checked against @tensorflow/tfjs both ways (residual, two-input,
// shared-layer and nested models) and against the hand-made converter fixtures.
const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const cnn = require('..');
const tfjs = require('@tensorflow/tfjs');

const FIX = path.join(__dirname, 'fixtures', 'keras');
const TOL = 1e-5;

function maxDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValues(n, seed) {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

/** Backends that run graph models (the native engine once it has the merge kinds). */
function graphBackends() {
  const out = ['js'];
  try {
    cnn.setBackend('native');
    const x = cnn.input({ shape: [2, 2, 1] });
    const y = cnn.layers.add().apply([x, x]);
    const m = cnn.model({ inputs: x, outputs: y });
    m.predict(cnn.zeros([1, 2, 2, 1]));
    m.dispose();
    out.push('native');
  } catch {
    /* the native engine does not run graph models yet */
  }
  cnn.setBackend('js');
  return out;
}

async function saveToMemory(model, save) {
  let artifacts;
  await save(model, async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  });
  return artifacts;
}

const cnnSave = (m, fn) => m.save(cnn.io.withSaveHandler(fn));
const tfjsSave = (m, fn) => m.save(tfjs.io.withSaveHandler(fn));

/** The same residual + two-input + concatenation model in either library (ns = cnn or tfjs). */
function residualTwoInput(ns) {
  const a = ns.input({ shape: [8, 8, 2], name: 'in_a' });
  const b = ns.input({ shape: [8, 8, 3], name: 'in_b' });
  const c1 = ns.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(a);
  const c2 = ns.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c2' }).apply(c1);
  const bn = ns.layers.batchNormalization({ name: 'bn' }).apply(c2);
  const r = ns.layers.add({ name: 'res' }).apply([c1, bn]);
  const cb = ns.layers.conv2d({ filters: 2, kernelSize: 1, name: 'cb' }).apply(b);
  const cat = ns.layers.concatenate({ name: 'cat' }).apply([r, cb]);
  const p = ns.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(cat);
  const g = ns.layers.globalAveragePooling2d({ name: 'gap' }).apply(p);
  const out = ns.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(g);
  return ns.model({ inputs: [a, b], outputs: out, name: 'res2in' });
}

/** A shared Dense applied twice, the other merges, and a nested Sequential. */
function sharedAndNested(ns) {
  const x = ns.input({ shape: [4, 4, 2], name: 'x' });
  const inner = ns.sequential({ name: 'inner', layers: [ns.layers.conv2d({ inputShape: [4, 4, 2], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', name: 'ic' }), ns.layers.flatten({ name: 'iflat' })] });
  const f = inner.apply(x);
  const shared = ns.layers.dense({ units: 5, activation: 'tanh', name: 'shared' });
  const h1 = shared.apply(f);
  const h2 = shared.apply(ns.layers.dense({ units: 48, name: 'pre' }).apply(f));
  const mx = ns.layers.maximum({ name: 'mx' }).apply([h1, h2]);
  const mn = ns.layers.minimum({ name: 'mn' }).apply([h1, h2]);
  const av = ns.layers.average({ name: 'av' }).apply([mx, mn]);
  const mu = ns.layers.multiply({ name: 'mu' }).apply([av, h1]);
  // (TF.js 4.22 has no Subtract layer; it is checked in cnn-node only, below.)
  const su = ns.layers.add({ name: 'su' }).apply([mu, h2]);
  const out = ns.layers.dense({ units: 2, name: 'head' }).apply(su);
  return ns.model({ inputs: x, outputs: out, name: 'shared_nested' });
}

/** Copies weights from a tfjs model into a cnn-node one built the same way (same weight order). */
function setRandomWeights(m, seed, isTfjs) {
  const ws = isTfjs ? m.getWeights() : m.getWeights();
  let s = seed;
  const vals = ws.map((w) => {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const v = randomValues(n, s++);
    // Positive values on the cnn-node side (BatchNormalization's variance must be positive).
    return v.map((x) => (isTfjs ? x * 0.5 : Math.abs(x) * 0.5 + 0.05));
  });
  if (isTfjs) {
    m.setWeights(vals.map((v, i) => {
      const name = m.weights[i].name;
      return tfjs.tensor(name.includes('moving_variance') ? v.map((x) => 1 + Math.abs(x)) : v, ws[i].shape);
    }));
  } else {
    m.setWeights(vals.map((v, i) => cnn.tensor(v, ws[i].shape)));
  }
}

const backends = graphBackends();
t.comment(`graph backends: ${backends.join(', ')}`);

for (const backend of backends) {
  t.test(`Keras converter fixtures, functional (${backend})`, async (t) => {
    cnn.setBackend(backend);
    const exp = JSON.parse(fs.readFileSync(path.join(FIX, 'expected_functional.json'), 'utf8'));
    const xa = cnn.tensor(Float32Array.from(exp.inputA), exp.inputShape);
    const xb = cnn.tensor(Float32Array.from(exp.inputB), exp.inputShape);
    for (const dir of ['functional_keras2', 'functional_keras3']) {
      const m = await cnn.loadLayersModel(`file://${path.join(FIX, dir, 'model.json')}`);
      t.equal(m.layers.length, 11, `${dir}: 11 layers`);
      t.same(m.inputNames, ['input_a', 'input_b'], `${dir}: input names`);
      t.same(m.outputNames, ['dense'], `${dir}: output name`);
      const d = maxDiff(m.predict([xa, xb]).values, exp.output);
      t.ok(d < TOL, `${dir}: predictions equal TF.js's (max diff ${d})`);
      m.dispose();
    }
  });

  t.test(`TF.js -> cnn-node: residual two-input model (${backend})`, async (t) => {
    cnn.setBackend(backend);
    const tm = residualTwoInput(tfjs);
    setRandomWeights(tm, 11, true);
    const artifacts = await saveToMemory(tm, tfjsSave);
    t.equal(artifacts.modelTopology.class_name, 'Model', 'TF.js writes class_name Model');
    const m = await cnn.loadLayersModel(cnn.io.fromMemory(artifacts));
    const a = randomValues(3 * 8 * 8 * 2, 1);
    const b = randomValues(3 * 8 * 8 * 3, 2);
    const want = tm.predict([tfjs.tensor(a, [3, 8, 8, 2]), tfjs.tensor(b, [3, 8, 8, 3])]).dataSync();
    const got = m.predict([cnn.tensor(a, [3, 8, 8, 2]), cnn.tensor(b, [3, 8, 8, 3])]).values;
    t.ok(maxDiff(got, want) < TOL, `equal predictions (max diff ${maxDiff(got, want)})`);
    // Named inputs as well.
    const named = m.predict({ in_a: cnn.tensor(a, [3, 8, 8, 2]), in_b: cnn.tensor(b, [3, 8, 8, 3]) }).values;
    t.ok(maxDiff(named, want) < TOL, 'equal predictions with {name: tensor} inputs');
    m.dispose();
  });

  t.test(`cnn-node -> TF.js: residual two-input and shared/nested models (${backend})`, async (t) => {
    cnn.setBackend(backend);
    for (const [what, make, shapes] of [
      ['residual two-input', residualTwoInput, [[2, 8, 8, 2], [2, 8, 8, 3]]],
      ['shared layer, nested Sequential, every merge', sharedAndNested, [[2, 4, 4, 2]]],
    ]) {
      const m = make(cnn);
      setRandomWeights(m, 21, false);
      const artifacts = await saveToMemory(m, cnnSave);
      t.equal(artifacts.modelTopology.class_name, 'Model', `${what}: class_name Model`);
      const tm = await tfjs.loadLayersModel(tfjs.io.fromMemory(artifacts));
      const xs = shapes.map((s, i) => randomValues(s.reduce((p, q) => p * q, 1), 40 + i));
      const want = tm.predict(xs.map((v, i) => tfjs.tensor(v, shapes[i]))).dataSync();
      const got = m.predict(xs.length === 1 ? cnn.tensor(xs[0], shapes[0]) : xs.map((v, i) => cnn.tensor(v, shapes[i]))).values;
      t.ok(maxDiff(got, want) < TOL, `${what}: TF.js loads it with equal predictions (max diff ${maxDiff(got, want)})`);
      // And back into cnn-node from the same artifacts.
      const back = await cnn.loadLayersModel(cnn.io.fromMemory(artifacts));
      const again = back.predict(xs.length === 1 ? cnn.tensor(xs[0], shapes[0]) : xs.map((v, i) => cnn.tensor(v, shapes[i]))).values;
      t.ok(maxDiff(again, got) === 0, `${what}: cnn-node reloads it exactly`);
      back.dispose();
      m.dispose();
    }
  });
}

t.test('the written Model topology', async (t) => {
  cnn.setBackend('js');
  const m = sharedAndNested(cnn);
  const artifacts = await saveToMemory(m, cnnSave);
  const c = artifacts.modelTopology.config;
  const byName = new Map(c.layers.map((l) => [l.name, l]));
  t.same(c.input_layers, [['x', 0, 0]], 'input_layers');
  t.same(c.output_layers, [['head', 0, 0]], 'output_layers');
  t.same(byName.get('shared').inbound_nodes, [[['inner', 1, 0, {}]], [['pre', 0, 0, {}]]], 'a shared layer has one inbound node per call (a nested model counted from 1, as TF.js)');
  t.same(byName.get('mx').inbound_nodes, [[['shared', 0, 0, {}], ['shared', 1, 0, {}]]], 'a merge reads both calls of the shared layer');
  t.equal(byName.get('inner').class_name, 'Sequential', 'the nested model is written in place');
  t.same(byName.get('inner').config.layers.map((l) => l.class_name), ['Conv2D', 'Flatten'], 'with its own layers');
  t.same(artifacts.weightSpecs.map((w) => w.name), ['ic/kernel', 'ic/bias', 'shared/kernel', 'shared/bias', 'pre/kernel', 'pre/bias', 'head/kernel', 'head/bias'], 'weights once each, in TF.js order');
  m.dispose();
});

t.test('graph models on disk, in one buffer, and merges configs', async (t) => {
  cnn.setBackend('js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-graph-io-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const m = residualTwoInput(cnn);
  setRandomWeights(m, 5, false);
  await m.save(`file://${dir}`);
  const xs = [cnn.tensor(randomValues(2 * 8 * 8 * 2, 8), [2, 8, 8, 2]), cnn.tensor(randomValues(2 * 8 * 8 * 3, 9), [2, 8, 8, 3])];
  const want = m.predict(xs).values;
  const fromDisk = await cnn.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
  t.same(Array.from(fromDisk.predict(xs).values), Array.from(want), 'from model.json: same predictions');
  const fromBuffer = await cnn.loadLayersModel(await cnn.io.toBuffer(m));
  t.same(Array.from(fromBuffer.predict(xs).values), Array.from(want), 'from one buffer: same predictions');
  const cat = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).modelTopology.config.layers.find((l) => l.name === 'cat');
  t.equal(cat.config.axis, -1, 'Concatenate writes its axis');

  // Dot (normalize) and a concatenation on another axis survive a round trip.
  const a = cnn.input({ shape: [4, 4, 2], name: 'a' });
  const j = cnn.layers.concatenate({ axis: 1, name: 'j' }).apply([a, a]);
  const f = cnn.layers.flatten({ name: 'f' }).apply(j);
  const u = cnn.layers.dense({ units: 6, name: 'u' }).apply(f);
  const v = cnn.layers.dense({ units: 6, name: 'v' }).apply(f);
  const dot = cnn.layers.dot({ axes: -1, normalize: true, name: 'dot' }).apply([u, v]);
  const dm = cnn.model({ inputs: a, outputs: dot });
  const arts = await saveToMemory(dm, cnnSave);
  const back = await cnn.loadLayersModel(cnn.io.fromMemory(arts));
  const x = cnn.tensor(randomValues(3 * 32, 3), [3, 4, 4, 2]);
  t.same(Array.from(back.predict(x).values), Array.from(dm.predict(x).values), 'Dot(normalize) + Concatenate(axis 1): same predictions');
  const tm = await tfjs.loadLayersModel(tfjs.io.fromMemory(arts));
  const d = maxDiff(tm.predict(tfjs.tensor(x.values, [3, 4, 4, 2])).dataSync(), dm.predict(x).values);
  t.ok(d < TOL, `TF.js agrees on Dot(normalize) + Concatenate(axis 1) (max diff ${d})`);
  // Subtract (not in TF.js 4.22) and Reshape: a cnn-node round trip.
  const s0 = cnn.input({ shape: [2, 2, 3], name: 's0' });
  const s1 = cnn.layers.conv2d({ filters: 3, kernelSize: 1, name: 's1' }).apply(s0);
  const sub = cnn.layers.subtract({ name: 'sub' }).apply([s0, s1]);
  const rs = cnn.layers.reshape({ targetShape: [4, 3], name: 'rs' }).apply(sub);
  const sm = cnn.model({ inputs: s0, outputs: cnn.layers.flatten({ name: 'sf' }).apply(rs) });
  const sArts = await saveToMemory(sm, cnnSave);
  t.same(sArts.modelTopology.config.layers.find((l) => l.name === 'rs').config.target_shape, [4, 3], 'Reshape writes target_shape');
  const sBack = await cnn.loadLayersModel(cnn.io.fromMemory(sArts));
  const sx = cnn.tensor(randomValues(2 * 12, 4), [2, 2, 2, 3]);
  t.same(Array.from(sBack.predict(sx).values), Array.from(sm.predict(sx).values), 'Subtract + Reshape: same predictions');
  for (const mm of [m, fromDisk, fromBuffer, dm, back, sm, sBack]) mm.dispose();
});

t.test('bad functional configs are refused with clear messages', async (t) => {
  cnn.setBackend('js');
  const m = residualTwoInput(cnn);
  const base = await saveToMemory(m, cnnSave);
  m.dispose();
  const cases = [
    ['a reference to a missing layer', (c) => { c.layers.find((l) => l.name === 'res').inbound_nodes[0][1][0] = 'nope'; }, /layer res \(Add\), call 0: it reads \["nope",0,0\], but the model has no layer "nope"/],
    ['a cycle', (c) => { c.layers.find((l) => l.name === 'c1').inbound_nodes[0][0][0] = 'c2'; }, /reads \["c2",0,0\], which no call in the file makes \(a cycle, or a missing node\)/],
    ['a node index that was never made', (c) => { c.layers.find((l) => l.name === 'c2').inbound_nodes[0][0][1] = 3; }, /which no call in the file makes/],
    ['an output that does not exist', (c) => { c.output_layers = [['out', 2, 0]]; }, /output_layers names \["out",2,0\], which no call in the file makes/],
    ['a malformed reference', (c) => { c.layers.find((l) => l.name === 'c2').inbound_nodes[0][0] = 'c1'; }, /a tensor reference must be \[layer_name, node_index, tensor_index\]/],
    ['a duplicate layer name', (c) => { c.layers.find((l) => l.name === 'c2').name = 'c1'; }, /the layer name "c1" is used twice/],
    ['no input_layers', (c) => { delete c.input_layers; }, /has no input_layers \/ output_layers/],
    ['merge shapes that differ', (c) => { c.layers.find((l) => l.name === 'res').inbound_nodes[0][1][0] = 'cb'; }, /layer res \(Add\), call 0: .*same shape/],
  ];
  for (const [what, edit, re] of cases) {
    const a = JSON.parse(JSON.stringify({ ...base, weightData: undefined }));
    a.weightData = base.weightData;
    edit(a.modelTopology.config);
    await t.rejects(cnn.loadLayersModel(cnn.io.fromMemory(a)), re, what);
  }
});
