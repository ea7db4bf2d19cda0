'use strict';
// Saving and loading layers models: the file format TF.js writes, round trips of every supported
// layer config, memory and buffer handlers, exact training resumption with includeOptimizer,
// interchange with the real TF.js (@tensorflow/tfjs, cpu backend) in both directions, the Keras 2
// and Keras 3 fixtures (hand-made, see test/fixtures/keras/README.md), and hostile files.

const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const cnn = require('..');

const { layers, io, loadLayersModel } = cnn;
const FIXTURES = path.join(__dirname, 'fixtures', 'keras');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-io-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
const tmpDir = () => path.join(tmp, `m${dirCount++}`);

/** A seeded generator for inputs (mulberry32), independent of the library's. */
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
const randArray = (n, seed) => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r());
};
const input = (shape, seed = 1) => cnn.tensor(randArray(shape.reduce((a, b) => a * b, 1), seed), shape);

function maxDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Captures the artifacts of model.save through io.withSaveHandler. */
async function artifactsOf(model, config) {
  let artifacts;
  await model.save(io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }), config);
  return artifacts;
}

/**
 * Gives every weight of a built model distinct deterministic values (BN variances positive; gamma
 * and beta of a BatchNormalization without scale / center stay 1 / 0, as they are by definition).
 */
function setDistinctWeights(model, seed) {
  model.build();
  const r = rng(seed);
  const fixed = new Set();
  for (const l of model.layers) {
    if (l.className !== 'BatchNormalization') continue;
    if (!l.scale) fixed.add(`${l.name}/gamma`);
    if (!l.center) fixed.add(`${l.name}/beta`);
  }
  model.setWeights(model.namedWeights().map(({ name, tensor }) => {
    if (fixed.has(name)) return tensor;
    const v = Float32Array.from({ length: tensor.size }, () => (name.endsWith('moving_variance') ? 0.5 + Math.abs(r()) : 0.5 * r()));
    return cnn.tensor(v, tensor.shape);
  }));
}

/** One model with every supported layer class and many non-default options. */
function everyLayerModel() {
  const m = cnn.sequential({ name: 'every_layer' });
  m.add(layers.inputLayer({ inputShape: [9, 8, 3], name: 'in' }));
  m.add(layers.conv2d({ filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'same', activation: 'leakyRelu', useBias: false, kernelInitializer: 'heNormal', name: 'c1' }));
  m.add(layers.batchNormalization({ momentum: 0.9, epsilon: 1e-4, center: false, name: 'bn1' }));
  m.add(layers.conv2d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'selu', biasInitializer: cnn.initializers.constant({ value: 0.1 }), name: 'c2' }));
  m.add(layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'mp' }));
  m.add(layers.averagePooling2d({ poolSize: [2, 3], strides: [2, 2], padding: 'valid', name: 'ap' }));
  m.add(layers.reLU({ maxValue: 6, name: 'r6' }));
  m.add(layers.activation({ activation: 'gelu', name: 'act_gelu' }));
  m.add(layers.batchNormalization({ scale: false, trainable: false, name: 'bn2' }));
  m.add(layers.dropout({ rate: 0.4, name: 'drop' }));
  m.add(layers.conv2d({ filters: 6, kernelSize: 1, activation: 'swish', kernelInitializer: cnn.initializers.randomNormal({ stddev: 0.1, seed: 3 }), name: 'c3' }));
  m.add(layers.globalMaxPooling2d({ name: 'gmp' }));
  m.add(layers.dense({ units: 7, activation: 'tanh', kernelInitializer: cnn.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'truncatedNormal' }), name: 'd1' }));
  m.add(layers.reLU({ name: 'r' }));
  m.add(layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  return m;
}

function poolsModel() {
  return cnn.sequential({
    layers: [
      layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'elu', name: 'conv' }),
      layers.globalAveragePooling2d({ name: 'gap' }),
      layers.dropout({ rate: 0.3, name: 'drop' }),
      layers.batchNormalization({ name: 'bn' }),
      layers.activation({ activation: 'softplus', name: 'sp' }),
      layers.dense({ units: 2, activation: 'sigmoid', name: 'd' }),
    ],
  });
}

function smallCnn(name = 'small') {
  return cnn.sequential({
    name,
    layers: [
      layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }),
      layers.batchNormalization({ name: 'bn' }),
      layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      layers.flatten({ name: 'flat' }),
      layers.dense({ units: 3, activation: 'softmax', name: 'dense' }),
    ],
  });
}

// ---- the file format -----------------------------------------------------------------------------

t.test('save("file://DIR") writes model.json + weights.bin as TF.js does', async (t) => {
  const m = smallCnn();
  setDistinctWeights(m, 1);
  const dir = tmpDir();
  const res = await m.save(`file://${dir}`);
  t.same(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin'], 'exactly the two files, no temporary left');
  t.equal(res.modelArtifactsInfo.modelTopologyType, 'JSON');
  t.ok(res.modelArtifactsInfo.dateSaved instanceof Date);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  t.same(Object.keys(json), ['modelTopology', 'format', 'generatedBy', 'convertedBy', 'weightsManifest'], 'TF.js key order');
  t.equal(json.format, 'layers-model');
  t.match(json.generatedBy, /^cnn-node v/);
  t.equal(json.convertedBy, null);
  const topo = json.modelTopology;
  t.equal(topo.class_name, 'Sequential');
  t.equal(topo.backend, 'tensor_flow.js');
  t.match(topo.keras_version, /^tfjs-layers /);
  t.equal(topo.config.name, 'small');
  const conv = topo.config.layers[0];
  t.equal(conv.class_name, 'Conv2D');
  t.same(conv.config.batch_input_shape, [null, 8, 8, 1]);
  t.equal(conv.config.data_format, 'channels_last', 'string values snake_case, as TF.js');
  t.same(conv.config.kernel_size, [3, 3]);
  t.notOk('dtype' in topo.config.layers[1].config, 'dtype only with an input shape, as TF.js');
  t.same(json.weightsManifest.length, 1);
  t.same(json.weightsManifest[0].paths, ['weights.bin']);
  t.same(json.weightsManifest[0].weights.map((w) => w.name), [
    'conv/kernel', 'conv/bias', 'bn/gamma', 'bn/beta', 'dense/kernel', 'dense/bias', 'bn/moving_mean', 'bn/moving_variance',
  ], 'trainable weights first, then the others (TF.js order)');
  t.same(json.weightsManifest[0].weights[0], { name: 'conv/kernel', shape: [3, 3, 1, 4], dtype: 'float32' });
  const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
  const kernel = m.namedWeights().find((w) => w.name === 'conv/kernel').tensor.dataSync();
  t.equal(bin.length, 4 * m.countParams());
  t.same(Array.from(new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + 4 * kernel.length))), Array.from(kernel), 'little-endian float32, row-major');
});

t.test('load(save(m)) predicts identically and saves identical JSON and bytes, for every supported layer', async (t) => {
  for (const make of [everyLayerModel, poolsModel, smallCnn]) {
    const m = make();
    setDistinctWeights(m, 5);
    const dir = tmpDir();
    await m.save(`file://${dir}`);
    const back = await loadLayersModel(`file://${dir}/model.json`);
    const x = input([3, ...m.inputShape], 2);
    t.equal(maxDiff(back.predict(x).dataSync(), m.predict(x).dataSync()), 0, `${m.name}: identical predictions`);
    t.same(back.layers.map((l) => l.className), m.layers.map((l) => l.className));
    const dir2 = tmpDir();
    await back.save(dir2); // a plain folder path works too
    for (const f of ['model.json', 'weights.bin']) {
      t.ok(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(dir2, f))), `${m.name}: ${f} identical after a second save`);
    }
    t.equal(back.name, m.name);
  }
  const every = JSON.parse(fs.readFileSync(path.join(tmp, 'm1', 'model.json'), 'utf8'));
  const bn1 = every.modelTopology.config.layers.find((l) => l.config.name === 'bn1');
  t.equal(bn1.config.center, false);
  t.notOk(every.weightsManifest[0].weights.some((w) => w.name === 'bn1/beta' || w.name === 'bn2/gamma'), 'BN without center / scale has no beta / gamma, as TF.js');
  t.equal(every.modelTopology.config.layers[0].class_name, 'InputLayer');
});

t.test('loading a folder path, a plain path, and a model saved over an older one', async (t) => {
  const dir = tmpDir();
  const a = smallCnn();
  setDistinctWeights(a, 1);
  await a.save(`file://${dir}`);
  const b = smallCnn();
  setDistinctWeights(b, 2);
  await b.save(`file://${dir}`);
  t.same(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin']);
  const x = input([2, 8, 8, 1]);
  for (const src of [dir, path.join(dir, 'model.json'), `file://${dir}`]) {
    const m = await loadLayersModel(src);
    t.equal(maxDiff(m.predict(x).dataSync(), b.predict(x).dataSync()), 0, `${src}: the newer model`);
  }
});

t.test('memory: io.withSaveHandler / io.fromMemory, legacy arguments, and one buffer', async (t) => {
  const m = poolsModel();
  setDistinctWeights(m, 3);
  const x = input([4, 6, 6, 2], 9);
  const want = m.predict(x).dataSync();
  const art = await artifactsOf(m);
  t.ok(art.weightData instanceof ArrayBuffer);
  t.equal(art.format, 'layers-model');
  t.equal(art.weightSpecs.length, 8);
  const viaMemory = await loadLayersModel(io.fromMemory(art));
  t.equal(maxDiff(viaMemory.predict(x).dataSync(), want), 0, 'fromMemory(artifacts)');
  const legacy = await loadLayersModel(io.fromMemory(art.modelTopology, art.weightSpecs, art.weightData));
  t.equal(maxDiff(legacy.predict(x).dataSync(), want), 0, 'fromMemory(topology, specs, data)');
  const split = await loadLayersModel(io.fromMemory({ ...art, weightData: [art.weightData.slice(0, 10), art.weightData.slice(10)] }));
  t.equal(maxDiff(split.predict(x).dataSync(), want), 0, 'weightData as a list of buffers');
  const buf = await io.toBuffer(m);
  t.ok(Buffer.isBuffer(buf));
  const fromBuf = await loadLayersModel(new Uint8Array(buf));
  t.equal(maxDiff(fromBuf.predict(x).dataSync(), want), 0, 'one buffer');
  const fs2 = io.fileSystem(tmpDir());
  await m.save(fs2);
  t.equal(maxDiff((await loadLayersModel(fs2)).predict(x).dataSync(), want), 0, 'io.fileSystem handler');
});

t.test('loaded models are uncompiled without a trainingConfig', async (t) => {
  const m = smallCnn();
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const back = await loadLayersModel(io.fromMemory(await artifactsOf(m)));
  t.equal(back.optimizer, undefined);
  await t.rejects(back.fit(input([2, 8, 8, 1]), cnn.oneHot(cnn.tensor([0, 1], [2], 'int32'), 3), { verbose: 0 }), /compile/);
});

// ---- includeOptimizer -------------------------------------------------------------------------------

/** Trains with trainOnBatch over fixed batches. */
async function trainSteps(model, steps, seed) {
  for (let s = 0; s < steps; s++) {
    const x = input([6, 8, 8, 1], seed + s);
    const labels = Array.from({ length: 6 }, (_, i) => (i + s) % 3);
    await model.trainOnBatch(x, cnn.oneHot(cnn.tensor(labels, [6], 'int32'), 3));
  }
}

t.test('includeOptimizer: TF.js-style training config and optimizer weights; training resumes exactly', async (t) => {
  const cases = [
    ['adam', () => cnn.train.adam(0.01), ['m', 'v']],
    ['rmsprop centered', () => cnn.train.rmsprop(0.01, 0.9, 0.5, 1e-7, true), ['rms', 'momentum', 'mg']],
    ['rmsprop', () => cnn.train.rmsprop(0.01), ['rms', 'momentum']],
    ['momentum', () => cnn.train.momentum(0.05, 0.9, true), ['momentum']],
    ['adagrad', () => cnn.train.adagrad(0.05, 0.2), ['accumulator']],
    ['adamw', () => cnn.train.adamw(0.01, 0.01), ['m', 'v']],
    ['sgd', () => cnn.train.sgd(0.1), []],
  ];
  for (const [label, opt, slots] of cases) {
    cnn.setSeed(11);
    const a = smallCnn();
    a.compile({ optimizer: opt(), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    await trainSteps(a, 3, 100);
    const dir = tmpDir();
    await a.save(`file://${dir}`, { includeOptimizer: true });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    t.same(Object.keys(json), ['modelTopology', 'format', 'generatedBy', 'convertedBy', 'weightsManifest', 'trainingConfig']);
    t.equal(json.trainingConfig.loss, 'categorical_crossentropy');
    t.same(json.trainingConfig.metrics, ['accuracy']);
    t.equal(json.trainingConfig.optimizer_config.class_name, a.optimizer.className);
    const specs = json.weightsManifest[0].weights;
    const opt0 = specs.findIndex((s) => s.group === 'optimizer');
    t.same(specs[opt0], { name: 'iter', shape: [], dtype: 'int32', group: 'optimizer' }, `${label}: iter first`);
    const trainable = ['conv/kernel', 'conv/bias', 'bn/gamma', 'bn/beta', 'dense/kernel', 'dense/bias'];
    t.same(specs.slice(opt0 + 1).map((s) => s.name), slots.flatMap((s) => trainable.map((v) => `${v}/${s}`)), `${label}: slot order as TF.js`);

    const b = await loadLayersModel(`file://${dir}`);
    t.equal(b.optimizer.className, a.optimizer.className, `${label}: compiled from the file`);
    t.equal(b.getOptimizerState().iterations, 3);
    t.same(b.getOptimizerState().config, a.getOptimizerState().config, `${label}: optimizer settings`);
    await trainSteps(a, 2, 200);
    await trainSteps(b, 2, 200);
    t.equal(maxDiff(a.flatParams, b.flatParams), 0, `${label}: 2 more steps give bit-identical weights`);
  }
});

t.test('loss options and clipping survive includeOptimizer', async (t) => {
  const m = smallCnn();
  m.compile({ optimizer: cnn.train.adam(0.002, 0.8, 0.99, 1e-6, { clipnorm: 1.5 }), loss: cnn.losses.categoricalCrossentropy({ labelSmoothing: 0.1 }), metrics: ['mse'] });
  const art = await artifactsOf(m, { includeOptimizer: true });
  t.same(art.trainingConfig.loss, { class_name: 'CategoricalCrossentropy', config: { name: 'categorical_crossentropy', from_logits: false, label_smoothing: 0.1 } });
  t.same(art.trainingConfig.optimizer_config, { class_name: 'Adam', config: { learningRate: 0.002, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, clipnorm: 1.5 } });
  const back = await loadLayersModel(io.fromMemory(art));
  const again = await artifactsOf(back, { includeOptimizer: true });
  t.same(again.trainingConfig, art.trainingConfig);
});

// ---- TF.js, the real peer -------------------------------------------------------------------------

t.test('TF.js interchange (@tensorflow/tfjs, cpu backend)', async (t) => {
  const tf = require('@tensorflow/tfjs');
  await tf.setBackend('cpu');

  /** Writes TF.js artifacts as tfjs-node's file handler does (model.json + weights.bin). */
  const writeLikeTfjsNode = (dir) => tf.io.withSaveHandler(async (a) => {
    fs.mkdirSync(dir, { recursive: true });
    const json = { modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
    if (a.trainingConfig) json.trainingConfig = a.trainingConfig;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(a.weightData));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  });

  const tm = tf.sequential();
  tm.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
  tm.add(tf.layers.batchNormalization());
  tm.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  tm.add(tf.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }));
  tm.add(tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }));
  tm.add(tf.layers.flatten());
  tm.add(tf.layers.dense({ units: 6, activation: 'tanh' }));
  tm.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  tm.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const xs = randArray(12 * 64, 21);
  const labels = Array.from({ length: 12 }, (_, i) => i % 3);
  const txs = tf.tensor4d(xs, [12, 8, 8, 1]);
  const tys = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
  await tm.fit(txs, tys, { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });

  const dir = tmpDir();
  await tm.save(writeLikeTfjsNode(dir), { includeOptimizer: true });
  const ours = await loadLayersModel(`file://${dir}/model.json`);
  const x = cnn.tensor4d(xs, [12, 8, 8, 1]);
  const want = tm.predict(txs).dataSync();
  t.ok(maxDiff(ours.predict(x).dataSync(), want) < 1e-5, 'a TF.js-trained model predicts the same here (1e-5)');
  t.same(ours.layers.map((l) => l.name), tm.layers.map((l) => l.name));
  t.equal(ours.optimizer.className, 'Adam', 'compiled from TF.js trainingConfig');
  t.equal(ours.getOptimizerState().iterations, 9, 'TF.js iteration count');

  // One more step on both sides from the restored optimizer state.
  await tm.trainOnBatch(txs, tys);
  await ours.trainOnBatch(x, cnn.tensor2d(tys.dataSync(), [12, 3]));
  const theirs = new Map(tm.weights.map((w) => [w.originalName, w.read().dataSync()]));
  let worst = 0;
  for (const w of ours.namedWeights()) worst = Math.max(worst, maxDiff(w.tensor.dataSync(), theirs.get(w.name)));
  t.ok(worst < 1e-5, `training resumes from TF.js's Adam state (max weight difference ${worst.toExponential(2)})`);

  // Ours -> TF.js.
  const art = await artifactsOf(ours, { includeOptimizer: true });
  const back = await tf.loadLayersModel(tf.io.fromMemory(art));
  t.ok(maxDiff(back.predict(txs).dataSync(), ours.predict(x).dataSync()) < 1e-5, 'our save loads in TF.js with the same predictions (1e-5)');
  t.equal(back.optimizer.getClassName(), 'Adam', 'TF.js compiles it from our trainingConfig');

  // A model built here (every layer TF.js also has) loads in TF.js.
  const m = poolsModel();
  setDistinctWeights(m, 8);
  const tm2 = await tf.loadLayersModel(tf.io.fromMemory(await artifactsOf(m)));
  const x2 = randArray(3 * 72, 5);
  t.ok(maxDiff(tm2.predict(tf.tensor4d(x2, [3, 6, 6, 2])).dataSync(), m.predict(cnn.tensor4d(x2, [3, 6, 6, 2])).dataSync()) < 1e-5, 'global pool + dropout + BN + softplus model in TF.js');

  // TF.js's JSON for the same architecture and names matches ours (ignoring version strings and key order).
  const twin = tf.sequential();
  twin.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv', kernelInitializer: 'glorotUniform' }));
  twin.add(tf.layers.batchNormalization({ name: 'bn' }));
  twin.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }));
  twin.add(tf.layers.flatten({ name: 'flat' }));
  twin.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'dense', kernelInitializer: 'glorotUniform' }));
  let twinArt;
  await twin.save(tf.io.withSaveHandler(async (a) => { twinArt = a; return {}; }));
  const ourArt = await artifactsOf(smallCnn('sequential_twin'));
  twinArt.modelTopology.config.name = 'sequential_twin';
  t.same(ourArt.modelTopology.config, twinArt.modelTopology.config, 'same layer configs as TF.js');
  t.same(ourArt.weightSpecs, twinArt.weightSpecs, 'same weight manifest as TF.js');
});

// ---- Keras fixtures -----------------------------------------------------------------------------------

t.test('Keras 2 and Keras 3 converter-style files load with the right weights', async (t) => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'));
  const x = cnn.tensor(Float32Array.from(expected.input), expected.inputShape);
  for (const dialect of ['keras2', 'keras3']) {
    const m = await loadLayersModel(`file://${path.join(FIXTURES, dialect, 'model.json')}`);
    t.ok(maxDiff(m.predict(x).dataSync(), expected.output) < 1e-5, `${dialect}: predictions as TF.js computed them`);
    t.same(m.layers.slice(1).map((l) => l.name), ['conv2d', 'batch_normalization', 'max_pooling2d', 'conv2d_1', 'flatten', 'dense', 'dropout', 'dense_1']);
    t.equal(m.layers[0].className, 'InputLayer');
    t.equal(m.optimizer, undefined, `${dialect}: Keras training_config inside the topology is not a TF.js trainingConfig: uncompiled`);
    // Re-saved in TF.js form, it loads again unchanged.
    const again = await loadLayersModel(io.fromMemory(await artifactsOf(m)));
    t.equal(maxDiff(again.predict(x).dataSync(), m.predict(x).dataSync()), 0, `${dialect}: survives a save / load`);
  }
});

t.test('other dialects: legacy config array, positional Keras 3 names, strict', async (t) => {
  const m = poolsModel();
  setDistinctWeights(m, 4);
  const art = await artifactsOf(m);
  const x = input([2, 6, 6, 2], 3);
  const want = m.predict(x).dataSync();

  const legacy = { ...art, modelTopology: { class_name: 'Sequential', config: art.modelTopology.config.layers } };
  t.equal(maxDiff((await loadLayersModel(io.fromMemory(legacy))).predict(x).dataSync(), want), 0, 'legacy Sequential config (a bare array)');

  const positional = art.weightSpecs.map((s) => {
    const [layer, w] = s.name.split('/');
    const order = { kernel: 0, bias: 1, gamma: 0, beta: 1, moving_mean: 2, moving_variance: 3 }[w];
    return { ...s, name: `sequential/${layer}/vars/${order}` };
  });
  t.equal(maxDiff((await loadLayersModel(io.fromMemory({ ...art, weightSpecs: positional }))).predict(x).dataSync(), want), 0, 'Keras 3 positional weight names');

  const suffixed = art.weightSpecs.map((s) => ({ ...s, name: `${s.name}:0` }));
  t.equal(maxDiff((await loadLayersModel(io.fromMemory({ ...art, weightSpecs: suffixed }))).predict(x).dataSync(), want), 0, '":0" suffixes');

  const renamed = art.weightSpecs.map((s, i) => (i === 0 ? { ...s, name: 'nope/kernel' } : s));
  await t.rejects(loadLayersModel(io.fromMemory({ ...art, weightSpecs: renamed })), /no value for 1 weight.*conv\/kernel/);
  const lax = await loadLayersModel(io.fromMemory({ ...art, weightSpecs: renamed }), { strict: false });
  t.equal(lax.layers.length, 6, 'strict: false keeps initial values for missing weights');
  const extra = { ...art, weightSpecs: [...art.weightSpecs, { name: 'ghost/bias', shape: [1], dtype: 'float32' }], weightData: [art.weightData, new ArrayBuffer(4)] };
  await t.rejects(loadLayersModel(io.fromMemory(extra)), /belong to no layer.*ghost\/bias/);
  t.ok(await loadLayersModel(io.fromMemory(extra), { strict: false }), 'strict: false ignores extra weights');

  const topologyOnly = await loadLayersModel(io.fromMemory({ modelTopology: art.modelTopology }));
  t.equal(topologyOnly.layers.length, 6, 'a topology without weights loads (initial weights)');
});

t.test('quantized weights (uint8, uint16, float16) are dequantized', async (t) => {
  const m = poolsModel();
  setDistinctWeights(m, 6);
  const art = await artifactsOf(m);
  // Re-store the first three weights quantized, as tensorflowjs_converter --quantize_* does.
  const floats = new Float32Array(art.weightData);
  const parts = [];
  const specs = [];
  const expect = new Map();
  let off = 0;
  art.weightSpecs.forEach((spec, i) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const v = floats.subarray(off, off + n);
    off += n;
    if (i === 0 || i === 1) {
      const dtype = i === 0 ? 'uint8' : 'uint16';
      const levels = i === 0 ? 255 : 65535;
      const min = Math.min(...v), max = Math.max(...v);
      const scale = (max - min) / levels;
      const q = (i === 0 ? Uint8Array : Uint16Array).from(v, (x) => Math.round((x - min) / scale));
      parts.push(Buffer.from(q.buffer));
      specs.push({ ...spec, quantization: { dtype, scale, min } });
      expect.set(spec.name, Float32Array.from(q, (x) => x * scale + min));
    } else if (i === 2) {
      // float16 of values exactly representable in half precision.
      const half = new Uint16Array(n);
      const want = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const e = Math.round(v[k] * 64) / 64;
        want[k] = e;
        const sign = e < 0 ? 0x8000 : 0;
        const a = Math.abs(e);
        if (a === 0) { half[k] = sign; continue; }
        const exp = Math.floor(Math.log2(a));
        half[k] = sign | ((exp + 15) << 10) | Math.round((a / 2 ** exp - 1) * 1024);
      }
      parts.push(Buffer.from(half.buffer));
      specs.push({ ...spec, quantization: { dtype: 'float16' } });
      expect.set(spec.name, want);
    } else {
      parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      specs.push(spec);
    }
  });
  const data = Buffer.concat(parts);
  const back = await loadLayersModel(io.fromMemory({ ...art, weightSpecs: specs, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length) }));
  const got = new Map(back.namedWeights().map((w) => [w.name, w.tensor.dataSync()]));
  for (const [name, want] of expect) t.ok(maxDiff(got.get(name), want) < 1e-6, `${name} dequantized`);
});

t.test('a save killed at any moment leaves a folder that loads as the old or the new model', async (t) => {
  const { spawn } = require('child_process');
  // Same architecture (a checkpoint overwritten during training), 0.4M weights so writes take a while.
  const build = `
    const cnn = require(${JSON.stringify(path.join(__dirname, '..'))});
    const build = (k) => {
      const m = cnn.sequential({ layers: [cnn.layers.dense({ inputShape: [1000], units: 400, activation: 'relu', name: 'a' }), cnn.layers.dense({ units: 10, name: 'b' })] });
      m.build();
      m.setWeights(m.getWeights().map((w) => {
        const v = new Float32Array(w.size);
        for (let i = 0; i < v.length; i++) v[i] = Math.sin(i * k) * 0.05;
        return cnn.tensor(v, w.shape);
      }));
      return m;
    };`;
  const dir = tmpDir();
  const make = new Function('require', `${build}; return build;`)(require);
  const a = make(1.3);
  const b = make(2.7);
  const x = input([2, 1000], 4);
  const ya = a.predict(x).dataSync();
  const yb = b.predict(x).dataSync();
  const child = `${build}
    const m = build(2.7);
    process.stdout.write('ready\\n');
    (async () => { for (;;) await m.save(${JSON.stringify(`file://${dir}`)}); })();`;
  const seen = new Set();
  for (let round = 0; round < 4; round++) {
    await a.save(`file://${dir}`);
    const p = spawn(process.execPath, ['-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => p.stdout.once('data', resolve));
    await new Promise((resolve) => setTimeout(resolve, 5 + 25 * round));
    p.kill('SIGKILL');
    await new Promise((resolve) => p.once('exit', resolve));
    const m = await loadLayersModel(dir);
    const y = m.predict(x).dataSync();
    const which = maxDiff(y, ya) === 0 ? 'old' : maxDiff(y, yb) === 0 ? 'new' : 'mixed';
    t.not(which, 'mixed', `round ${round}: loads as the ${which} model`);
    seen.add(which);
  }
  t.ok(seen.size >= 1, `states seen: ${[...seen].join(', ')}`);
  t.same(fs.readdirSync(dir).filter((f) => !f.endsWith('.tmp')).sort(), ['model.json', 'weights.bin'], 'only temporary files can be left behind');
});

// ---- hostile and broken input ---------------------------------------------------------------------------

/** Writes a model folder from a small saved model, applying edit(json, dir) first. */
async function brokenModel(edit) {
  const dir = tmpDir();
  await poolsModel().save(`file://${dir}`);
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = edit(json, dir);
  fs.writeFileSync(file, typeof out === 'string' ? out : JSON.stringify(json));
  return dir;
}

t.test('security: weight paths stay inside the model folder', async (t) => {
  const outside = path.join(tmp, 'outside.bin');
  fs.writeFileSync(outside, Buffer.alloc(4 * 128));
  const cases = [
    ['"../"', (j, d) => { fs.renameSync(path.join(d, 'weights.bin'), path.join(tmp, `w${dirCount}.bin`)); j.weightsManifest[0].paths = [`../w${dirCount}.bin`]; }, /must not contain "\.\."/],
    ['an absolute path', (j) => { j.weightsManifest[0].paths = [outside]; }, /must be relative/],
    ['a URL', (j) => { j.weightsManifest[0].paths = ['http://example.com/w.bin']; }, /must be relative/],
    ['a symlink leading outside', (j, d) => { fs.symlinkSync(outside, path.join(d, 'link.bin')); j.weightsManifest[0].paths = ['link.bin']; }, /resolves outside the model folder/],
    ['a symlinked folder leading outside', (j, d) => { fs.symlinkSync(tmp, path.join(d, 'up')); j.weightsManifest[0].paths = ['up/outside.bin']; }, /resolves outside the model folder/],
    ['a missing file', (j) => { j.weightsManifest[0].paths = ['nothing.bin']; }, /does not exist/],
    ['a folder', (j, d) => { fs.mkdirSync(path.join(d, 'sub')); j.weightsManifest[0].paths = ['sub']; }, /not a regular file/],
    ['a non-string', (j) => { j.weightsManifest[0].paths = [42]; }, /must be a non-empty string/],
  ];
  for (const [label, edit, re] of cases) {
    const dir = await brokenModel(edit);
    await t.rejects(loadLayersModel(dir), re, label);
  }
  // A symlink that stays inside the folder is fine.
  const ok = await brokenModel((j, d) => { fs.renameSync(path.join(d, 'weights.bin'), path.join(d, 'real.bin')); fs.symlinkSync('real.bin', path.join(d, 'weights.bin')); });
  t.ok(await loadLayersModel(ok), 'an inside symlink loads');
});

t.test('security: sizes and shapes are checked before allocating', async (t) => {
  const cases = [
    ['truncated weights', (j, d) => { const f = path.join(d, 'weights.bin'); fs.truncateSync(f, fs.statSync(f).size - 4); }, /describes \d+ bytes but .* hold \d+ \(truncated\)/],
    ['oversized weights', (j, d) => { fs.appendFileSync(path.join(d, 'weights.bin'), Buffer.alloc(1)); }, /\(too long\)/],
    ['a shape whose product overflows', (j) => { j.weightsManifest[0].weights[0].shape = [2 ** 31, 2 ** 31, 2 ** 31]; }, /refusing to allocate/],
    ['a huge shape', (j) => { j.weightsManifest[0].weights[0].shape = [65536, 65536]; }, /refusing to allocate/],
    ['a negative dimension', (j) => { j.weightsManifest[0].weights[0].shape = [-3, 2]; }, /non-negative integers/],
    ['a fractional dimension', (j) => { j.weightsManifest[0].weights[0].shape = [1.5]; }, /non-negative integers/],
    ['a very deep shape', (j) => { j.weightsManifest[0].weights[0].shape = new Array(40).fill(1); }, /rank 40/],
    ['an unknown dtype', (j) => { j.weightsManifest[0].weights[0].dtype = 'string'; }, /unsupported dtype "string"/],
    ['a wrong shape for the layer', (j) => { const w = j.weightsManifest[0].weights; const k = w[0].shape; w[0].shape = [k[0] * k[1], k[2], k[3]]; }, /needs \[3,3,2,3\]/],
    ['malformed JSON', () => '{"modelTopology": {', /model\.json is not valid JSON/],
    ['no topology', (j) => { delete j.modelTopology; }, /no modelTopology/],
    ['a manifest that is not an array', (j) => { j.weightsManifest = { paths: [] }; }, /weightsManifest must be an array/],
    ['a functional model', (j) => { j.modelTopology.class_name = 'Functional'; }, /only Sequential models are supported.*"Functional"/],
    ['an unsupported layer', (j) => { j.modelTopology.config.layers[1].class_name = 'LSTM'; }, /layer class "LSTM" is not supported\. Supported layer classes: InputLayer, Conv2D, Dense/],
    ['channels_first', (j) => { j.modelTopology.config.layers[0].config.data_format = 'channels_first'; }, /data_format "channelsFirst" is not supported/],
    ['float16 dtype policy', (j) => { j.modelTopology.config.layers[0].config.dtype = 'float16'; }, /dtype "float16" is not supported/],
    ['a non-layers format', (j) => { j.format = 'graph-model'; }, /not a layers model/],
  ];
  for (const [label, edit, re] of cases) {
    const dir = await brokenModel(edit);
    await t.rejects(loadLayersModel(path.join(dir, 'model.json')), re, label);
  }
  await t.rejects(loadLayersModel(path.join(tmp, 'no-such-folder', 'model.json')), /no-such-folder.*no such file/, 'a missing model.json is named');
  await t.rejects(loadLayersModel('https://example.com/model.json'), /only 'file:\/\/' URLs/);
  await t.rejects(loadLayersModel(42), /expected a 'file:\/\/' URL/);
});

t.test('security: memory artifacts and buffers', async (t) => {
  const m = poolsModel();
  const art = await artifactsOf(m);
  await t.rejects(loadLayersModel(io.fromMemory({ ...art, weightData: art.weightData.slice(0, 8) })), /weight data is truncated/);
  await t.rejects(loadLayersModel(io.fromMemory({ ...art, weightData: [art.weightData, new ArrayBuffer(8)] })), /weight data is too long/);
  await t.rejects(loadLayersModel(io.fromMemory({ ...art, weightSpecs: [{ name: 'x', shape: [2 ** 40], dtype: 'float32' }] })), /refusing to allocate/);
  const buf = await io.toBuffer(m);
  await t.rejects(loadLayersModel(buf.subarray(0, buf.length - 4)), /truncated/);
  const lying = Buffer.from(buf);
  lying.writeUInt32LE(0xffffff00, 8);
  await t.rejects(loadLayersModel(lying), /runs past the end/);
  await t.rejects(loadLayersModel(new Uint8Array(16)), /bad magic/);
  const badJson = Buffer.from(buf);
  badJson[12] = 0x7b + 1;
  await t.rejects(loadLayersModel(badJson), /not valid JSON/);
});

t.test('save errors', async (t) => {
  const m = smallCnn();
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  await t.rejects(m.save(`file://${file}`), /cannot create the folder|not a folder/);
  await t.rejects(m.save('indexeddb://model'), /only 'file:\/\/' URLs/);
  await t.rejects(m.save({ nope: true }), /handler with save/);
  await t.rejects(m.save(tmpDir(), { trainableOnly: true }), /trainableOnly is not supported/);
});
