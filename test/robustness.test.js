'use strict';
// Robustness: every bad input gets a clear Error naming the argument, nothing crashes, and the model
// is unchanged afterwards (same weights, same predictions) and still trains. Each group runs in its
// own child process (helpers/isolate.js), so an abort or a segfault fails the group instead of
// killing the runner. The `addon` group calls the native binding directly with wrong types, short
// buffers and absurd sizes; .ci/sanitize.sh runs this file against the ASan/UBSan build.
//
// Table rows: [name, run(ctx), expected message (RegExp), {type, model, noTrain, changes}].
//   type: the Error class name expected (default: any Error);
//   model: which model of the context must stay unchanged and keep training (default 'm');
//   noTrain: skip the "still trains" step (an uncompiled model).

const path = require('path');
const fs = require('fs');
const os = require('os');
const { isolated } = require('./helpers/isolate');

const ROOT = path.join(__dirname, '..');

// ---- shared pieces (child side) ------------------------------------------------------------------

function lib() {
  return require(ROOT);
}

/** The toy task and models the cases act on. */
function makeContext(backend) {
  const tf = lib();
  tf.setBackend(backend);
  tf.setSeed(7);
  const { quadrants, seedModel } = require('./helpers/toy');
  const { x, y, yInt } = quadrants(32, 2);
  const m = seedModel();
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const ms = seedModel();
  ms.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  const u = seedModel(); // never compiled
  u.build();
  return { tf, x, y, yInt, m, ms, u, seedModel, quadrants, backend };
}

function snapshot(model, x) {
  return { w: Float32Array.from(model.flatParams), p: model.predict(x).dataSync() };
}

function sameArrays(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** A copy of t with one value replaced. */
function withValue(tf, t, index, v) {
  const c = t.clone();
  c.values[index] = v;
  return c;
}

/**
 * Runs table rows: each must throw (or reject with) an Error of the given type whose message
 * matches; afterwards the model is unchanged and one more training step moves its weights.
 */
async function runCases(a, ctx, rows) {
  for (const [name, run, re, opts = {}] of rows) {
    a.case(name);
    const model = ctx[opts.model || 'm'];
    const before = snapshot(model, ctx.x);
    let err = null;
    try {
      await run(ctx);
    } catch (e) {
      err = e;
    }
    if (!a.ok(err instanceof Error, 'throws an Error', { got: err === null ? 'no error' : String(err) })) continue;
    if (opts.type) a.equal(err.name, opts.type, `is a ${opts.type}`);
    a.match(err.message, re, `message: ${err.message.slice(0, 160)}`);
    if (!opts.changes) {
      const after = snapshot(model, ctx.x);
      a.ok(sameArrays(before.w, after.w), 'weights unchanged');
      a.ok(sameArrays(before.p, after.p), 'predictions unchanged');
    }
    if (!opts.noTrain) {
      const w0 = Float32Array.from(model.flatParams);
      const labels = model === ctx.ms ? ctx.yInt : ctx.y;
      const loss = await model.trainOnBatch(ctx.x, labels);
      const l = Array.isArray(loss) ? loss[0] : loss;
      a.ok(Number.isFinite(l), `still trains (loss ${l})`);
      a.ok(!sameArrays(w0, model.flatParams), 'the training step moved the weights');
    }
  }
}

// ---- bad data: fit, evaluate, predict, trainOnBatch, fitDataset ---------------------------------------

function dataRows(tf) {
  const rows = [
    ['fit: x is not a Tensor', (c) => c.m.fit([[1, 2]], c.y), /fit: x must be a Tensor, received array\(1\)/, { type: 'TypeError' }],
    ['fit: y is not a Tensor', (c) => c.m.fit(c.x, 'labels'), /fit: y must be a Tensor, received "labels"/, { type: 'TypeError' }],
    ['fit: x of the wrong per-sample shape', (c) => c.m.fit(tf.zeros([4, 12, 12, 2]), tf.zeros([4, 4])), /fit: x must have shape \[n, 12, 12, 1\], received \[4,12,12,2\]/],
    ['fit: x without the batch axis', (c) => c.m.fit(tf.zeros([12, 12, 1]), tf.zeros([12, 4])), /x must have shape \[n, 12, 12, 1\], received \[12,12,1\]/],
    ['fit: int32 x', (c) => c.m.fit(tf.zeros([32, 12, 12, 1], 'int32'), c.y), /fit: x must be float32, received int32/],
    ['fit: a disposed x', (c) => { const d = c.x.clone(); d.dispose(); return c.m.fit(d, c.y); }, /fit: x is disposed/],
    ['fit: sample counts differ', (c) => c.m.fit(c.x, c.y.sliceRows(0, 31)), /fit: x has 32 samples but y has 31/],
    ['fit: y of the wrong shape', (c) => c.m.fit(c.x, tf.zeros([32, 5])), /fit: y must have shape \[n, 4\] to match the model's output, received \[32,5\]/],
    ['fit: NaN in x, first offending index named', (c) => c.m.fit(withValue(tf, withValue(tf, c.x, 77, NaN), 900, NaN), c.y), /fit: x holds NaN at flat index 77; inputs must be finite/, { type: 'RangeError' }],
    ['fit: Infinity in x', (c) => c.m.fit(withValue(tf, c.x, 4000, Infinity), c.y), /fit: x holds Infinity at flat index 4000/, { type: 'RangeError' }],
    ['fit: -Infinity in y', (c) => c.m.fit(c.x, withValue(tf, c.y, 9, -Infinity)), /fit: y holds -Infinity at flat index 9/, { type: 'RangeError' }],
    ['fit: NaN in y', (c) => c.m.fit(c.x, withValue(tf, c.y, 127, NaN)), /fit: y holds NaN at flat index 127/, { type: 'RangeError' }],
    ['fit: an empty data set', (c) => c.m.fit(tf.zeros([0, 12, 12, 1]), tf.zeros([0, 4])), /fit: x has no samples/],
    ['fit: args is not an object', (c) => c.m.fit(c.x, c.y, 5), /fit: args must be an object/, { type: 'TypeError' }],
    ['fit: before compile', (c) => c.u.fit(c.x, c.y), /fit: compile the model first/, { model: 'u', noTrain: true }],
  ];
  for (const [v, shown] of [[0, '0'], [-1, '-1'], [1.5, '1.5'], ['32', '"32"'], [NaN, 'NaN'], [Infinity, 'Infinity']]) {
    rows.push([`fit: batchSize ${shown}`, (c) => c.m.fit(c.x, c.y, { batchSize: v, verbose: 0 }), new RegExp(`fit: batchSize must be a positive integer, received ${esc(shown)}$`), { type: 'RangeError' }]);
  }
  for (const [v, shown] of [[0, '0'], [-2, '-2'], [2.5, '2.5'], [NaN, 'NaN'], ['3', '"3"']]) {
    rows.push([`fit: epochs ${shown}`, (c) => c.m.fit(c.x, c.y, { epochs: v, verbose: 0 }), new RegExp(`fit: epochs must be a positive integer, received ${esc(shown)}$`), { type: 'RangeError' }]);
  }
  rows.push(['fit: initialEpoch -1', (c) => c.m.fit(c.x, c.y, { initialEpoch: -1, verbose: 0 }), /fit: initialEpoch must be a non-negative integer, received -1/, { type: 'RangeError' }]);
  for (const [v, shown] of [[0, '0'], [1, '1'], [-0.1, '-0.1'], [1.5, '1.5'], [NaN, 'NaN'], ['0.2', '"0.2"']]) {
    rows.push([`fit: validationSplit ${shown}`, (c) => c.m.fit(c.x, c.y, { validationSplit: v, verbose: 0 }), new RegExp(`fit: validationSplit must be in \\(0, 1\\), received ${esc(shown)}$`), { type: 'RangeError' }]);
  }
  rows.push(
    ['fit: validationSplit leaving no validation sample', (c) => c.m.fit(c.x, c.y, { validationSplit: 0.01, verbose: 0 }), /fit: validationSplit 0.01 of 32 samples leaves an empty training or validation set/],
    ['fit: validationData not a pair', (c) => c.m.fit(c.x, c.y, { validationData: [c.x], verbose: 0 }), /fit: validationData must be \[xVal, yVal\]/, { type: 'TypeError' }],
    ['fit: validationData sample counts differ', (c) => c.m.fit(c.x, c.y, { validationData: [c.x, c.y.sliceRows(0, 5)], verbose: 0 }), /fit: validationData: x has 32 samples but y has 5/],
    ['fit: validationData of the wrong shape', (c) => c.m.fit(c.x, c.y, { validationData: [tf.zeros([2, 6, 6, 1]), tf.zeros([2, 4])], verbose: 0 }), /fit: validationData: x must have shape \[n, 12, 12, 1\], received \[2,6,6,1\]/],
    ['fit: NaN in validationData x', (c) => c.m.fit(c.x, c.y, { validationData: [withValue(tf, c.x, 3, NaN), c.y], verbose: 0 }), /fit: validationData: x holds NaN at flat index 3/, { type: 'RangeError' }],
    ['fit: Infinity in validationData y', (c) => c.m.fit(c.x, c.y, { validationData: [c.x, withValue(tf, c.y, 5, Infinity)], verbose: 0 }), /fit: validationData: y holds Infinity at flat index 5/, { type: 'RangeError' }],
    ['fit: empty validationData', (c) => c.m.fit(c.x, c.y, { validationData: [tf.zeros([0, 12, 12, 1]), tf.zeros([0, 4])], verbose: 0 }), /fit: validationData: x has no samples/],
    ['fit: classWeight not an object', (c) => c.m.fit(c.x, c.y, { classWeight: 'a', verbose: 0 }), /fit: classWeight must be an object \{classIndex: weight\}/, { type: 'TypeError' }],
    ['fit: negative classWeight', (c) => c.m.fit(c.x, c.y, { classWeight: { 0: -1 }, verbose: 0 }), /fit: classWeight\[0\] must be a number in \[0, Infinity\], received -1/, { type: 'RangeError' }],
    ['fit: verbose 3', (c) => c.m.fit(c.x, c.y, { verbose: 3 }), /fit: verbose must be 0 \(silent\), 1 \(progress bar\) or 2 \(one line per epoch\), received 3/, { type: 'RangeError' }],
    ['fit: seed -1', (c) => c.m.fit(c.x, c.y, { seed: -1, verbose: 0 }), /fit: seed must be an integer in \[0, 2\^32\), received -1/, { type: 'RangeError' }],
    ['fit: seed 2^32', (c) => c.m.fit(c.x, c.y, { seed: 2 ** 32, verbose: 0 }), /fit: seed must be an integer in \[0, 2\^32\), received 4294967296/, { type: 'RangeError' }],
    ['fit: a callback that is not one', (c) => c.m.fit(c.x, c.y, { callbacks: [{}], verbose: 0 }), /fit: callbacks must be objects with at least one of onTrainBegin, .*, received Object/, { type: 'TypeError' }],
    // sparse labels
    ['fit: sparse label out of range', (c) => c.ms.fit(c.x, withValue(tf, c.yInt, 3, 4), { verbose: 0 }), /fit: label 4 at index 3 is not a class index in \[0, 4\)/, { type: 'RangeError', model: 'ms' }],
    ['fit: negative sparse label', (c) => c.ms.fit(c.x, withValue(tf, c.yInt, 0, -1), { verbose: 0 }), /fit: label -1 at index 0 is not a class index in \[0, 4\)/, { type: 'RangeError', model: 'ms' }],
    ['fit: fractional sparse label', (c) => c.ms.fit(c.x, tf.tensor(new Float32Array(32).fill(1.5), [32]), { verbose: 0 }), /fit: label 1.5 at index 0 is not a class index/, { type: 'RangeError', model: 'ms' }],
    ['fit: NaN sparse label', (c) => c.ms.fit(c.x, withValue(tf, tf.tensor(new Float32Array(32), [32]), 30, NaN), { verbose: 0 }), /fit: label NaN at index 30 is not a class index/, { type: 'RangeError', model: 'ms' }],
    ['fit: one-hot labels for a sparse loss', (c) => c.ms.fit(c.x, c.y, { verbose: 0 }), /fit: sparse labels must have shape \[n\] or \[n, 1\], received \[32,4\]/, { model: 'ms' }],
    // evaluate / predict
    ['evaluate: an empty data set', (c) => c.m.evaluate(tf.zeros([0, 12, 12, 1]), tf.zeros([0, 4])), /evaluate: x has no samples/],
    ['evaluate: NaN in x', (c) => c.m.evaluate(withValue(tf, c.x, 11, NaN), c.y), /evaluate: x holds NaN at flat index 11/, { type: 'RangeError' }],
    ['evaluate: NaN in y', (c) => c.m.evaluate(c.x, withValue(tf, c.y, 12, NaN)), /evaluate: y holds NaN at flat index 12/, { type: 'RangeError' }],
    ['evaluate: sample counts differ', (c) => c.m.evaluate(c.x, c.y.sliceRows(0, 10)), /evaluate: x has 32 samples but y has 10/],
    ['evaluate: sparse label out of range', (c) => c.ms.evaluate(c.x, tf.tensor(new Int32Array(32).fill(7), [32], 'int32')), /evaluate: label 7 at index 0 is not a class index in \[0, 4\)/, { type: 'RangeError', model: 'ms' }],
    ['evaluate: before compile', (c) => c.u.evaluate(c.x, c.y), /evaluate: compile the model first/, { model: 'u', noTrain: true }],
    ['evaluate: batchSize 0', (c) => c.m.evaluate(c.x, c.y, { batchSize: 0 }), /batchSize must be a positive integer, received 0/, { type: 'RangeError' }],
    ['evaluateAsync: an empty data set', (c) => c.m.evaluateAsync(tf.zeros([0, 12, 12, 1]), tf.zeros([0, 4])), /evaluateAsync: x has no samples/],
    ['evaluateAsync: Infinity in x', (c) => c.m.evaluateAsync(withValue(tf, c.x, 2, -Infinity), c.y), /evaluateAsync: x holds -Infinity at flat index 2/, { type: 'RangeError' }],
    ['predict: x of the wrong shape', (c) => c.m.predict(tf.zeros([3, 12, 12])), /predict: x must have shape \[n, 12, 12, 1\], received \[3,12,12\]/],
    ['predict: x is an array', (c) => c.m.predict([1, 2, 3]), /predict: x must be a Tensor, received array\(3\)/, { type: 'TypeError' }],
    ['predict: batchSize -4', (c) => c.m.predict(c.x, { batchSize: -4 }), /predict: batchSize must be a positive integer, received -4/, { type: 'RangeError' }],
    ['predictAsync: x of the wrong shape', (c) => c.m.predictAsync(tf.zeros([3, 11, 12, 1])), /predictAsync: x must have shape \[n, 12, 12, 1\], received \[3,11,12,1\]/],
    // trainOnBatch
    ['trainOnBatch: an empty batch', (c) => c.m.trainOnBatch(tf.zeros([0, 12, 12, 1]), tf.zeros([0, 4])), /trainOnBatch: x has no samples/],
    ['trainOnBatch: NaN in x', (c) => c.m.trainOnBatch(withValue(tf, c.x, 5, NaN), c.y), /trainOnBatch: x holds NaN at flat index 5/, { type: 'RangeError' }],
    ['trainOnBatch: sparse label out of range', (c) => c.ms.trainOnBatch(c.x, withValue(tf, c.yInt, 31, 9)), /trainOnBatch: label 9 at index 31 is not a class index in \[0, 4\)/, { type: 'RangeError', model: 'ms' }],
    // datasets
    ['fitDataset: not a dataset', (c) => c.m.fitDataset(5, { verbose: 0 }), /fitDataset: dataset must be an async iterable of \{xs, ys\} or a TF.js Dataset, received 5/, { type: 'TypeError' }],
    ['fitDataset: no batches', (c) => c.m.fitDataset([], { verbose: 0 }), /fitDataset: the dataset yielded no batches in epoch 1/],
    ['fitDataset: a batch whose counts differ', (c) => c.m.fitDataset([{ xs: c.x, ys: c.y.sliceRows(0, 3) }], { verbose: 0 }), /fitDataset: batch 0: x has 32 samples but y has 3/],
    ['fitDataset: a null batch', (c) => c.m.fitDataset([null], { verbose: 0 }), /fitDataset: batch 0 xs: x must be a Tensor, received undefined/, { type: 'TypeError' }],
    ['fitDataset: an empty batch', (c) => c.m.fitDataset([{ xs: tf.zeros([0, 12, 12, 1]), ys: tf.zeros([0, 4]) }], { verbose: 0 }), /fitDataset: batch 0 is empty/],
    ['fitDataset: NaN in xs', (c) => c.m.fitDataset([{ xs: withValue(tf, c.x, 9, NaN), ys: c.y }], { verbose: 0 }), /fitDataset: batch 0: xs holds NaN at flat index 9/, { type: 'RangeError' }],
    ['fitDataset: batchesPerEpoch 0', (c) => c.m.fitDataset([{ xs: c.x, ys: c.y }], { batchesPerEpoch: 0, verbose: 0 }), /fitDataset: batchesPerEpoch must be a positive integer, received 0/, { type: 'RangeError' }],
    ['fitDataset: a bad second batch (the first one trained)', (c) => c.m.fitDataset([{ xs: c.x, ys: c.y }, { xs: c.x, ys: tf.zeros([32, 3]) }], { verbose: 0 }), /fitDataset: batch 1: y must have shape \[n, 4\]/, { changes: true }],
    ['evaluateDataset: no batches', (c) => c.m.evaluateDataset([]), /evaluateDataset: the dataset yielded no batches/],
    ['evaluateDataset: NaN in a batch', (c) => c.m.evaluateDataset([{ xs: c.x, ys: c.y }, { xs: withValue(tf, c.x, 1, NaN), ys: c.y }]), /evaluateDataset: batch 1: x holds NaN at flat index 1/, { type: 'RangeError' }],
  );
  return rows;
}

function esc(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function dataGroup(a, backend) {
  const ctx = makeContext(backend);
  await runCases(a, ctx, dataRows(ctx.tf));
  a.case('after every bad call');
  const h = await ctx.m.fit(ctx.x, ctx.y, { epochs: 2, batchSize: 8, verbose: 0 });
  a.ok(h.history.loss.every(Number.isFinite), `fit still runs (losses ${h.history.loss.map((l) => l.toFixed(3)).join(', ')})`);
  const big = await ctx.m.fit(ctx.x, ctx.y, { epochs: 1, batchSize: 2 ** 31, verbose: 0 });
  a.ok(Number.isFinite(big.history.loss[0]), 'a batchSize above the sample count trains as one batch');
}

// ---- bad models: layers, shapes, compile, setWeights ------------------------------------------------

function buildRows(tf) {
  const L = tf.layers;
  const seq = (layers) => tf.sequential({ layers });
  const weights = (c) => c.m.getWeights();
  const rows = [];
  const layerArg = (label, make, re, type = 'RangeError') => rows.push([label, make, re, { type }]);
  for (const [v, shown] of [[0, '0'], [-1, '-1'], [1.5, '1.5'], ['8', '"8"'], [undefined, 'undefined']]) {
    layerArg(`conv2d: filters ${shown}`, () => L.conv2d({ filters: v, kernelSize: 3 }), new RegExp(`conv2d\\(conv2d_Conv2D\\d+\\): filters must be a positive integer, received ${esc(shown)}$`));
  }
  layerArg('conv2d: kernelSize 0', () => L.conv2d({ filters: 2, kernelSize: 0 }), /kernelSize must be a positive integer, received 0/);
  layerArg('conv2d: kernelSize [3, 0]', () => L.conv2d({ filters: 2, kernelSize: [3, 0] }), /kernelSize\[1\] must be a positive integer, received 0/);
  layerArg('conv2d: kernelSize [3]', () => L.conv2d({ filters: 2, kernelSize: [3] }), /kernelSize must be a positive integer or a pair of them, received array\(1\)/);
  layerArg('conv2d: strides -2', () => L.conv2d({ filters: 2, kernelSize: 3, strides: -2 }), /strides must be a positive integer, received -2/);
  layerArg('conv2d: dilationRate 0', () => L.conv2d({ filters: 2, kernelSize: 3, dilationRate: 0 }), /dilationRate must be a positive integer, received 0/);
  layerArg('conv2d: dilation with strides', () => L.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, strides: 2 }), /strides must be 1 when dilationRate is above 1/, 'Error');
  layerArg('conv2d: padding "full"', () => L.conv2d({ filters: 2, kernelSize: 3, padding: 'full' }), /padding must be 'valid' or 'same', received "full"/, 'Error');
  layerArg('conv2d: channelsFirst', () => L.conv2d({ filters: 2, kernelSize: 3, dataFormat: 'channelsFirst' }), /only dataFormat 'channelsLast' is supported, received "channelsFirst"/, 'Error');
  for (const [v, shown] of [[0, '0'], [-5, '-5'], [NaN, 'NaN'], [2.5, '2.5']]) {
    layerArg(`dense: units ${shown}`, () => L.dense({ units: v }), new RegExp(`dense\\(dense_Dense\\d+\\): units must be a positive integer, received ${esc(shown)}$`));
  }
  layerArg('dense: no options', () => L.dense(), /dense: expected an options object/, 'TypeError');
  layerArg('dropout: rate 1', () => L.dropout({ rate: 1 }), /rate must be a number in \[0, 0.999999\], received 1/);
  layerArg('dropout: rate -0.1', () => L.dropout({ rate: -0.1 }), /rate must be a number in \[0, 0.999999\], received -0.1/);
  layerArg('batchNormalization: momentum 2', () => L.batchNormalization({ momentum: 2 }), /momentum must be a number in \[0, 1\], received 2/);
  layerArg('batchNormalization: epsilon -1', () => L.batchNormalization({ epsilon: -1 }), /epsilon must be a number in \[0, Infinity\], received -1/);
  layerArg('batchNormalization: axis 1', () => L.batchNormalization({ axis: 1 }), /only axis -1 is supported, received 1/, 'Error');
  layerArg('maxPooling2d: poolSize 0', () => L.maxPooling2d({ poolSize: 0 }), /poolSize must be a positive integer, received 0/);
  layerArg('averagePooling2d: strides [1, -1]', () => L.averagePooling2d({ strides: [1, -1] }), /strides\[1\] must be a positive integer, received -1/);
  layerArg('reLU: maxValue 5', () => L.reLU({ maxValue: 5 }), /reLU: maxValue must be undefined or 6, received 5/, 'Error');
  layerArg('inputShape with a zero', () => L.dense({ units: 2, inputShape: [0, 28, 1] }), /Dense: inputShape \[0,28,1\] must hold positive integers/);
  layerArg('inputShape with a negative size', () => L.conv2d({ filters: 2, kernelSize: 3, inputShape: [28, -28, 1] }), /Conv2D: inputShape \[28,-28,1\] must hold positive integers/);
  layerArg('inputShape with a fraction', () => L.dense({ units: 2, inputShape: [1.5] }), /inputShape \[1.5\] must hold positive integers/);
  layerArg('inputShape of rank 4', () => L.dense({ units: 2, inputShape: [28, 28, 1, 1] }), /inputShape must have 1 to 3 dimensions \(per sample\), received \[28,28,1,1\]/, 'Error');
  layerArg('inputShape []', () => L.dense({ units: 2, inputShape: [] }), /inputShape must have 1 to 3 dimensions/, 'Error');
  layerArg('unknown activation (valid ones listed)', () => L.dense({ units: 4, activation: 'relu7' }), /Unknown dense\(dense_Dense\d+\): activation "relu7". Valid: linear, relu, relu6, leakyRelu, elu, selu, sigmoid, tanh, softplus, gelu, swish, softmax/, 'Error');
  layerArg('activation of the wrong type', () => L.conv2d({ filters: 2, kernelSize: 3, activation: 42 }), /activation must be a string \(one of linear, relu, .*\), received 42/, 'TypeError');
  rows.push(
    // whole models
    ['kernel larger than the input', () => seq([L.conv2d({ filters: 2, kernelSize: 5, inputShape: [3, 3, 1] })]), /conv2d\(conv2d_Conv2D\d+\): kernel 5x5 \(dilation 1x1\) is larger than the input 3x3 with padding 'valid'/],
    ['dilated kernel larger than the input', () => seq([L.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, inputShape: [4, 9, 1] })]), /kernel 3x3 \(dilation 2x2\) is larger than the input 4x9/],
    ['pool larger than the input', () => seq([L.maxPooling2d({ poolSize: 5, inputShape: [3, 3, 1] })]), /MaxPooling2D\(max_pooling2d_MaxPooling2D\d+\): pool 5x5 is larger than the input 3x3/],
    ['conv2d on a flat input', () => seq([L.conv2d({ filters: 2, kernelSize: 1, inputShape: [10] })]), /expects input of shape \[height, width, channels\] per sample, received \[10\]/],
    ['first layer without inputShape', () => seq([L.dense({ units: 2 })]), /add: the first layer \(dense_Dense\d+\) must declare its inputShape, e.g. inputShape: \[28, 28, 1\]/],
    ['a huge input shape is refused before allocating', () => seq([L.dense({ units: 1, inputShape: [1e6, 1e6, 1] })]), /inputShape \[1000000,1000000,1\] has 1000000000000 values per sample, more than the 2147483647 supported/, { type: 'RangeError' }],
    ['a huge kernel is refused before allocating', () => seq([L.conv2d({ filters: 64, kernelSize: 60000, padding: 'same', inputShape: [28, 28, 1] })]), /weight kernel of shape \[60000,60000,1,64\] takes the model past 268435456 parameters/, { type: 'RangeError' }],
    ['a huge activation is refused before allocating', () => seq([L.conv2d({ filters: 2 ** 20, kernelSize: 1, inputShape: [2048, 2048, 1] })]), /its output shape \[2048,2048,1048576\] has 4398046511104 values per sample, more than the 2147483647 supported/, { type: 'RangeError' }],
    // adding to the compiled model: refused, and the model keeps its layers and compiled state
    ['add: a conv2d after the dense output', (c) => c.m.add(L.conv2d({ filters: 2, kernelSize: 3 })), /expects input of shape \[height, width, channels\] per sample, received \[4\]/],
    ['add: a layer that takes the model past the parameter limit', (c) => c.m.add(L.dense({ units: 2 ** 27 })), /takes the model past 268435456 parameters/, { type: 'RangeError' }],
    ['add: not a layer', (c) => c.m.add({ units: 3 }), /add: expected a layer \(e.g. tf.layers.dense\(\{...\}\)\), received Object/, { type: 'TypeError' }],
    ['add: the same layer twice', (c) => c.m.add(c.m.layers[1]), /add: layer max_pooling2d_MaxPooling2D\d+ is already in the model/],
    ['add: a duplicate name', (c) => c.m.add(L.dense({ units: 2, name: c.m.layers[3].name })), /add: a layer named dense_Dense\d+ is already in the model/],
    ['add: a declared inputShape that does not match', (c) => c.m.add(L.dense({ units: 2, inputShape: [5] })), /declares inputShape \[5\] but receives \[4\]/],
    // compile
    ['compile: unknown optimizer (valid ones listed)', (c) => c.m.compile({ optimizer: 'adamm', loss: 'mse' }), /Unknown optimizer "adamm". Valid: sgd, momentum, adam, adamw, rmsprop, adagrad$/],
    ['compile: unknown loss (valid ones listed)', (c) => c.m.compile({ optimizer: 'adam', loss: 'nope' }), /Unknown loss "nope". Valid: categoricalCrossentropy, sparseCategoricalCrossentropy, binaryCrossentropy, meanSquaredError/],
    ['compile: unknown metric (valid ones listed)', (c) => c.m.compile({ optimizer: 'adam', loss: 'mse', metrics: ['f1'] }), /Unknown metric "f1". Valid: accuracy, acc/],
    ['compile: no optimizer', (c) => c.m.compile({ loss: 'mse' }), /compile: optimizer is required/],
    ['compile: no loss', (c) => c.m.compile({ optimizer: 'sgd' }), /compile: loss is required/],
    ['compile: no arguments', (c) => c.m.compile(null), /compile: expected \{optimizer, loss, metrics\}/, { type: 'TypeError' }],
    ['compile: a JavaScript loss function', (c) => c.m.compile({ optimizer: 'sgd', loss: (a, b) => a }), /custom loss functions cannot run inside the compiled native training step/],
    ['compile: a loss named "constructor"', (c) => c.m.compile({ optimizer: 'sgd', loss: 'constructor' }), /Unknown loss "constructor". Valid:/],
    ['compile: an optimizer named "__proto__"', (c) => c.m.compile({ optimizer: '__proto__', loss: 'mse' }), /Unknown optimizer "__proto__". Valid:/],
    ['compile: an optimizer of the wrong type', (c) => c.m.compile({ optimizer: 42, loss: 'mse' }), /optimizer must be a string \(one of sgd, momentum, adam, adamw, rmsprop, adagrad\), received 42/, { type: 'TypeError' }],
    ['compile: sparse loss with one output', () => seq([L.dense({ units: 1, inputShape: [3] })]).compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' }), /sparseCategoricalCrossentropy needs at least 2 outputs, the model has 1/],
    ['compile: categorical loss on an image output', () => seq([L.conv2d({ filters: 3, kernelSize: 3, inputShape: [6, 6, 1] })]).compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' }), /categorical losses need a \[1, 1, classes\] output, the last layer gives \[4, 4, 3\] \(add Flatten or global pooling\)/],
    ['optimizer: negative learning rate', () => tf.train.adam(-1), /Adam: learningRate must be a number in \[0, Infinity\], received -1/, { type: 'RangeError' }],
    ['optimizer: NaN learning rate', () => tf.train.sgd(NaN), /SGD: learningRate must be a number in \[0, Infinity\], received NaN/, { type: 'RangeError' }],
    ['optimizer: beta1 1.5', () => tf.train.adam(0.001, 1.5), /adam: beta1 must be a number in \[0, 1\], received 1.5/, { type: 'RangeError' }],
    ['learningRate = Infinity', (c) => { c.m.learningRate = Infinity; }, /learningRate must be a number in \[0, Infinity\], received Infinity/, { type: 'RangeError' }],
    // setWeights: all checked before anything changes
    ['setWeights: too few', (c) => c.m.setWeights(weights(c).slice(0, 3)), /setWeights: the model has 4 weights, received 3/],
    ['setWeights: not an array', (c) => c.m.setWeights(3), /setWeights: expected an array of 4 tensors, received 3/, { type: 'TypeError' }],
    ['setWeights: a wrong shape (the first ones valid)', (c) => { const w = weights(c).map((t) => tf.ones(t.shape)); w[2] = tf.zeros([5, 4]); return c.m.setWeights(w); }, /setWeights: weight 2 \(dense_Dense\d+\/kernel\) must have shape \[200,4\], received \[5,4\]/],
    ['setWeights: not a tensor', (c) => { const w = weights(c); w[1] = [1, 2]; return c.m.setWeights(w); }, /weight 1 \(conv2d_Conv2D\d+\/bias\) must have shape \[8\], received array\(2\)/],
    ['setWeights: NaN in the last weight', (c) => { const w = weights(c).map((t) => tf.ones(t.shape)); w[3] = withValue(tf, w[3], 1, NaN); return c.m.setWeights(w); }, /setWeights: weight 3 \(dense_Dense\d+\/bias\) holds NaN at flat index 1/, { type: 'RangeError' }],
    ['setWeights: a disposed tensor', (c) => { const w = weights(c).map((t) => tf.ones(t.shape)); w[1].dispose(); return c.m.setWeights(w); }, /setWeights: weight 1 \(conv2d_Conv2D\d+\/bias\) is disposed/],
    ['layer.setWeights: too few', (c) => c.m.layers[0].setWeights([tf.ones([3, 3, 1, 8])]), /conv2d_Conv2D\d+.setWeights: expected 2 tensors, received 1/],
    ['layer.setWeights: a wrong shape', (c) => c.m.layers[3].setWeights([tf.ones([200, 4]), tf.ones([5])]), /setWeights: weight 1 \(bias\) must have shape \[4\], received \[5\]/],
    ['layer.setWeights: a disposed second tensor', (c) => { const b = tf.ones([8]); b.dispose(); return c.m.layers[0].setWeights([tf.ones([3, 3, 1, 8]), b]); }, /setWeights: weight 1 \(bias\) is disposed/],
    ['layer.setWeights: Infinity', (c) => c.m.layers[3].setWeights([tf.ones([200, 4]), withValue(tf, tf.ones([4]), 2, Infinity)]), /setWeights: weight 1 \(bias\) holds Infinity at flat index 2/, { type: 'RangeError' }],
    // tensors and data loading
    ['tensor: a string element', () => tf.tensor([1, 'a']), /tensor: values must be numbers or booleans, received string at flat index 1/, { type: 'TypeError' }],
    ['tensor: a ragged array', () => tf.tensor([[1], [2, 3]]), /tensor: ragged nested array: expected 1 elements at depth 1, received 2/],
    ['tensor: data and shape disagree', () => tf.tensor([1, 2, 3], [2, 2]), /tensor: data has 3 values but shape \[2, 2\] needs 4/],
    ['tensor: a negative dimension', () => tf.zeros([2, -1]), /zeros: shape \[2, -1\] must hold non-negative integers/, { type: 'RangeError' }],
    ['tensor: more than 2^31-1 values', () => tf.zeros([2 ** 20, 2 ** 20]), /zeros: shape \[1048576, 1048576\] has more than 2\^31-1 values/, { type: 'RangeError' }],
    ['tensor: nested 100000 deep', () => tf.tensor(JSON.parse(`${'['.repeat(100000)}1${']'.repeat(100000)}`)), /tensor: nested arrays of depth 100000, more than the 32 supported/, { type: 'RangeError' }],
    ['reshape: two -1', (c) => c.x.reshape([-1, -1]), /reshape: shape must be an array of non-negative integers with at most one -1, received \[-1, -1\]/, { type: 'TypeError' }],
    ['sliceRows: past the end', (c) => c.x.sliceRows(30, 5), /sliceRows: rows \[30, 35\) are outside \[0, 32\)/, { type: 'RangeError' }],
    ['oneHot: an index out of range', () => tf.oneHot(tf.tensor([0, 5], [2], 'int32'), 4), /oneHot: index 5 at position 1 is outside \[0, 4\)/, { type: 'RangeError' }],
    ['oneHot: a huge depth', () => tf.oneHot(tf.tensor([0], [1], 'int32'), 1e12), /oneHot: 1 indices of depth 1000000000000 make more than 2\^31-1 values/, { type: 'RangeError' }],
    ['fashionMnist: limit -1', () => tf.data.fashionMnist({ limit: -1 }), /limit must be a non-negative integer, received -1/, { type: 'RangeError' }],
    ['setOptimizerState: wrong length', (c) => c.m.setOptimizerState(3, new Float32Array(5)), /setOptimizerState: expected 1768 slot values, received 5/],
  );
  return rows;
}

async function buildGroup(a, backend) {
  const ctx = makeContext(backend);
  await runCases(a, ctx, buildRows(ctx.tf));
  a.case('after every bad call');
  a.equal(ctx.m.layers.length, 4, 'the model still has its 4 layers');
  const h = await ctx.m.fit(ctx.x, ctx.y, { epochs: 2, batchSize: 8, verbose: 0 });
  a.ok(h.history.loss.every(Number.isFinite) && h.history.acc.every(Number.isFinite), 'fit still runs with its compiled loss and metrics');
}

// ---- untrusted model files ---------------------------------------------------------------------------

/**
 * Rows for hostile or damaged model folders. Each row copies a good saved folder, applies
 * edit(json, dir) (its return value, when a string, replaces model.json's text) and loads it.
 * The path rows put an exact copy of the real weights outside the folder: had the loader followed
 * the path, the load would have succeeded.
 */
function fileRows(tf, env) {
  const { good, outside, outsideDir, tmp } = env;
  let n = 0;
  const folder = () => {
    const d = path.join(tmp, `case-${++n}`);
    fs.cpSync(good, d, { recursive: true });
    return d;
  };
  const load = (edit, target = (d) => d) => async () => {
    const d = folder();
    const file = path.join(d, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const out = edit(json, d);
    if (out !== false) fs.writeFileSync(file, typeof out === 'string' ? out : JSON.stringify(json));
    return tf.loadLayersModel(target(d));
  };
  const w0 = (j) => j.weightsManifest[0].weights[0];
  const layer = (j, i) => j.modelTopology.config.layers[i].config;
  const rel = (d, p) => path.relative(d, p);
  const mkfifo = (p) => require('child_process').execFileSync('mkfifo', [p]);
  const rows = [
    // JSON and topology
    ['malformed JSON', load((j) => JSON.stringify(j).slice(0, 200)), /model\.json is not valid JSON/],
    ['an empty model.json', load(() => ''), /model\.json is not valid JSON/],
    ['model.json holds an array', load(() => '[1, 2]'), /model\.json must hold a JSON object/],
    ['model.json holds null', load(() => 'null'), /model\.json must hold a JSON object/],
    ['no modelTopology', load((j) => { delete j.modelTopology; }), /has no modelTopology object/],
    ['a functional model', load((j) => { j.modelTopology.class_name = 'Functional'; }), /only Sequential models are supported, this file holds a "Functional" model/],
    ['layers is not an array', load((j) => { j.modelTopology.config.layers = 5; }), /the Sequential config must hold a layers array/],
    ['a layer that is not an object', load((j) => { j.modelTopology.config.layers[1] = 'MaxPooling2D'; }), /layer 1 must be an object \{class_name, config\}/],
    ['a layer class named "constructor"', load((j) => { j.modelTopology.config.layers[1].class_name = 'constructor'; }), /layer class "constructor" is not supported/],
    ['a loss named "toString" in trainingConfig', load((j) => { j.trainingConfig.loss = 'toString'; }), /Unknown loss "toString"/],
    ['an unknown layer class (supported ones listed)', load((j) => { j.modelTopology.config.layers[1].class_name = 'LSTM'; }), /layer 1 \("LSTM"\): layer class "LSTM" is not supported\. Supported layer classes: InputLayer, Conv2D, Dense, Flatten, Dropout, Activation, ReLU, BatchNormalization, MaxPooling2D/],
    ['class_name not a string', load((j) => { j.modelTopology.config.layers[1].class_name = 42; }), /class_name must be a string, received 42/],
    ['a config that is not an object', load((j) => { j.modelTopology.config.layers[3].config = [1]; }), /the config of a Dense layer must be an object/],
    ['Dense units -1', load((j) => { layer(j, 3).units = -1; }), /layer 3 \("Dense"\): dense\(dense_Dense\d+\): units must be a positive integer, received -1/],
    ['Dense units as a string', load((j) => { layer(j, 3).units = '10'; }), /layer 3 \("Dense"\): units must be a number, received "10"/],
    ['Dense units 2^30 (refused before allocating)', load((j) => { layer(j, 3).units = 2 ** 30; }), /takes the model past 268435456 parameters/],
    ['Conv2D filters 0', load((j) => { layer(j, 0).filters = 0; }), /filters must be a positive integer, received 0/],
    ['Conv2D kernel_size [0, 3]', load((j) => { layer(j, 0).kernel_size = [0, 3]; }), /kernelSize\[0\] must be a positive integer, received 0/],
    ['Conv2D kernel_size larger than the input', load((j) => { layer(j, 0).kernel_size = [13, 13]; }), /kernel 13x13 \(dilation 1x1\) is larger than the input 12x12/],
    ['a pool larger than its input', load((j) => { layer(j, 1).pool_size = [99, 99]; }), /pool 99x99 is larger than the input 10x10/],
    ['batch_input_shape with a zero', load((j) => { layer(j, 0).batch_input_shape = [null, 0, 12, 1]; }), /inputShape \[0,12,1\] must hold positive integers/],
    ['batch_input_shape with nulls', load((j) => { layer(j, 0).batch_input_shape = [null, null, null, 1]; }), /inputShape \[null,null,1\] must hold positive integers/],
    ['batch_input_shape too large (refused before allocating)', load((j) => { layer(j, 0).batch_input_shape = [null, 1e6, 1e6, 1]; }), /values per sample, more than the 2147483647 supported/],
    ['batch_input_shape not an array', load((j) => { layer(j, 0).batch_input_shape = 'abc'; }), /batch_input_shape must be \[batch, \.\.\.dims\], received "abc"/],
    ['an unknown activation', load((j) => { layer(j, 3).activation = 'relu7'; }), /activation "relu7". Valid: linear/],
    ['padding "full"', load((j) => { layer(j, 0).padding = 'full'; }), /padding "full" is not supported \(valid or same\)/],
    ['channels_first', load((j) => { layer(j, 0).data_format = 'channels_first'; }), /data_format "channelsFirst" is not supported/],
    ['a float16 dtype', load((j) => { layer(j, 0).dtype = 'float16'; }), /dtype "float16" is not supported \(only float32\)/],
    ['a graph-model format', load((j) => { j.format = 'graph-model'; }), /format "graph-model" is not a layers model/],
    ['a config nested 100000 levels deep', load((j) => JSON.stringify(j).replace('"units":4', `"units":4,"deep":${'['.repeat(100000)}${']'.repeat(100000)}`)), /layer 3 \("Dense"\): the config is nested more than 64 levels deep/],
    ['a weight name nested 100000 levels deep', load((j) => { w0(j).name = 'DEEP'; return JSON.stringify(j).replace('"DEEP"', `${'['.repeat(100000)}${']'.repeat(100000)}`); }), /each weight entry must be an object with a string name, received object/],
    ['an unknown optimizer in trainingConfig', load((j) => { j.trainingConfig.optimizer_config.class_name = 'Nadam'; }), /optimizer "Nadam" is not supported \(SGD, Momentum, Adam, AdamW, RMSProp, Adagrad\)/],
    ['an unknown loss in trainingConfig', load((j) => { j.trainingConfig.loss = 'xyz'; }), /cannot compile with the file's trainingConfig: Unknown loss "xyz"/],
    ['a learning-rate schedule in trainingConfig', load((j) => { j.trainingConfig.optimizer_config.config.learning_rate = { class_name: 'ExponentialDecay' }; }), /optimizer setting learningRate must be a number \(learning-rate schedules are not supported\)/],
    // weights
    ['truncated weights', load((j, d) => { const f = path.join(d, 'weights.bin'); fs.truncateSync(f, fs.statSync(f).size - 4); }), /weightsManifest\[0\] describes \d+ bytes but its file\(s\) weights.bin hold \d+ \(truncated\)/],
    ['oversized weights', load((j, d) => { fs.appendFileSync(path.join(d, 'weights.bin'), Buffer.alloc(1)); }), /\(too long\)/],
    ['an empty weights file', load((j, d) => { fs.truncateSync(path.join(d, 'weights.bin'), 0); }), /hold 0 \(truncated\)/],
    ['a missing weights file', load((j, d) => { fs.unlinkSync(path.join(d, 'weights.bin')); }), /weights path "weights.bin" does not exist/],
    ['a shape whose product overflows', load((j) => { w0(j).shape = [2 ** 31, 2 ** 31, 2 ** 31]; }), /holds more than 268435456 elements; refusing to allocate it/],
    ['a huge shape', load((j) => { w0(j).shape = [65536, 65536]; }), /refusing to allocate it/],
    ['an unsafe-integer dimension', load((j) => { w0(j).shape = [2 ** 60]; }), /must hold non-negative integers/],
    ['a negative dimension', load((j) => { w0(j).shape = [-3, 2]; }), /shape \[-3,2\] must hold non-negative integers/],
    ['a fractional dimension', load((j) => { w0(j).shape = [1.5]; }), /shape \[1.5\] must hold non-negative integers/],
    ['a rank-40 shape', load((j) => { w0(j).shape = new Array(40).fill(1); }), /has rank 40, more than 8/],
    ['an unknown dtype', load((j) => { w0(j).dtype = 'string'; }), /unsupported dtype "string" \(supported: float32, int32\)/],
    ['an unknown quantization', load((j) => { w0(j).quantization = { dtype: 'int4' }; }), /unsupported quantization dtype "int4"/],
    ['a wrong shape for the layer', load((j) => { w0(j).shape = [9, 1, 8]; }), /weight "conv2d_Conv2D\d+\/kernel" has shape \[9,1,8\] but conv2d_Conv2D\d+\/kernel needs \[3,3,1,8\]/],
    ['a weight of the model missing from the file', load((j) => { w0(j).name = 'elsewhere/kernel'; }), /the file has no value for 1 weight\(s\) of the model: conv2d_Conv2D\d+\/kernel/],
    ['two entries for one weight', load((j) => { const w = j.weightsManifest[0].weights; w[3].name = `${w[1].name}:0`; }), /weights "conv2d_Conv2D\d+\/bias" and "conv2d_Conv2D\d+\/bias:0" both map to conv2d_Conv2D\d+\/bias/],
    ['NaN in the weight data', load((j, d) => { const f = path.join(d, 'weights.bin'); const b = fs.readFileSync(f); b.writeFloatLE(NaN, 8); fs.writeFileSync(f, b); }), /weight 0 \(conv2d_Conv2D\d+\/kernel\) holds NaN at flat index 2/],
    ['weightsManifest not an array', load((j) => { j.weightsManifest = { paths: ['weights.bin'] }; }), /weightsManifest must be an array/],
    ['a manifest group that is not an object', load((j) => { j.weightsManifest = [5]; }), /weightsManifest\[0\] must be \{paths: \[\.\.\.\], weights: \[\.\.\.\]\}/],
    // paths: never read outside the folder
    ['a "../" path', load((j, d) => { j.weightsManifest[0].paths = [rel(d, outside)]; }), /weights path "\.\.\/outside\/weights.bin" must not contain "\.\."/],
    ['a "sub/../../" path', load((j, d) => { fs.mkdirSync(path.join(d, 'sub')); j.weightsManifest[0].paths = [`sub/../${rel(d, outside)}`]; }), /must not contain "\.\."/],
    ['a backslash "..\\" path', load((j, d) => { j.weightsManifest[0].paths = [rel(d, outside).replace(/\//g, '\\')]; }), /must not contain "\.\."/],
    ['an absolute path', load((j) => { j.weightsManifest[0].paths = [outside]; }), /must be relative to the model folder/],
    ['a file:// URL', load((j) => { j.weightsManifest[0].paths = [`file://${outside}`]; }), /must be relative to the model folder/],
    ['a symlink leading outside', load((j, d) => { fs.symlinkSync(outside, path.join(d, 'link.bin')); j.weightsManifest[0].paths = ['link.bin']; }), /weights path "link.bin" resolves outside the model folder/],
    ['a symlinked folder leading outside', load((j, d) => { fs.symlinkSync(outsideDir, path.join(d, 'up')); j.weightsManifest[0].paths = ['up/weights.bin']; }), /weights path "up\/weights.bin" resolves outside the model folder/],
    ['a symlink to /dev/zero', load((j, d) => { fs.symlinkSync('/dev/zero', path.join(d, 'zero.bin')); j.weightsManifest[0].paths = ['zero.bin']; }), /resolves outside the model folder/],
    ['a path with a NUL character', load((j) => { j.weightsManifest[0].paths = ['weights.bin\0.txt']; }), /contains a NUL character/],
    ['an empty path', load((j) => { j.weightsManifest[0].paths = ['']; }), /must be a non-empty string/],
    ['the folder itself', load((j) => { j.weightsManifest[0].paths = ['.']; }), /resolves outside the model folder/],
    ['a subfolder', load((j, d) => { fs.mkdirSync(path.join(d, 'sub')); j.weightsManifest[0].paths = ['sub']; }), /is not a regular file/],
    ['a FIFO (no hang)', load((j, d) => { mkfifo(path.join(d, 'pipe.bin')); j.weightsManifest[0].paths = ['pipe.bin']; }), /weights path "pipe.bin" is not a regular file/],
    ['a non-string path', load((j) => { j.weightsManifest[0].paths = [{ toString: 1 }]; }), /must be a non-empty string/],
    // model.json itself
    ['model.json is a FIFO (no hang)', load((j, d) => { fs.unlinkSync(path.join(d, 'model.json')); mkfifo(path.join(d, 'model.json')); return false; }), /model.json is not a file/],
    ['model.json is /dev/zero', load(() => false, () => '/dev/zero'), /\/dev\/zero is not a file/],
    ['model.json larger than 64 MB (sparse, not read)', load((j, d) => { fs.truncateSync(path.join(d, 'model.json'), 65 * 2 ** 20); return false; }), /model.json is 68157440 bytes, more than the 67108864 accepted for a model.json/],
    ['a missing model.json', load(() => false, (d) => path.join(d, 'nothing', 'model.json')), /cannot read .*nothing\/model.json: no such file/],
    ['an http:// URL', () => tf.loadLayersModel('https://example.com/model.json'), /only 'file:\/\/' URLs, paths and IO handlers are supported/],
  ];
  return rows;
}

async function filesGroup(a) {
  const ctx = makeContext('native');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-robust-'));
  try {
    await ctx.m.fit(ctx.x, ctx.y, { epochs: 1, verbose: 0 });
    const good = path.join(tmp, 'good');
    await ctx.m.save(`file://${good}`, { includeOptimizer: true });
    const outsideDir = path.join(tmp, 'outside');
    fs.mkdirSync(outsideDir);
    const outside = path.join(outsideDir, 'weights.bin');
    fs.copyFileSync(path.join(good, 'weights.bin'), outside);
    await runCases(a, ctx, fileRows(ctx.tf, { good, outside, outsideDir, tmp }));
    a.case('the good folder after every bad one');
    const back = await ctx.tf.loadLayersModel(good);
    a.ok(back.predict(ctx.x).dataSync().every(Number.isFinite), 'loads and predicts');
    const h = await back.fit(ctx.x, ctx.y, { epochs: 1, verbose: 0 });
    a.ok(Number.isFinite(h.history.loss[0]), 'and trains (compiled from its trainingConfig)');
    const mem = await ctx.tf.loadLayersModel(ctx.tf.io.fromMemory({ modelTopology: JSON.parse(fs.readFileSync(path.join(good, 'model.json'))).modelTopology }));
    a.ok(mem.predict(ctx.x).shape[0] === 32, 'a topology without weights loads with fresh weights');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- the native binding called directly ------------------------------------------------------------

const GUARD = 32; // floats of sentinel on each side of every buffer handed to the addon
const SENTINEL = -12345.5;
const guards = new WeakMap(); // typed array -> its whole backing array (guards included)

/** A typed array of n elements (filled by fill(i)) sitting between two guard zones. */
function guarded(Ctor, n, fill = () => 0) {
  const whole = new Ctor(n + 2 * GUARD);
  whole.fill(Ctor === Int32Array || Ctor === Uint32Array ? 0x7eadbeef : SENTINEL);
  const view = whole.subarray(GUARD, GUARD + n);
  for (let i = 0; i < n; i++) view[i] = fill(i);
  guards.set(view, whole);
  return view;
}

/** Names of the guard zones that were written: a kernel wrote past a buffer's end. */
function brokenGuards(args) {
  const bad = [];
  args.forEach((v, i) => {
    const whole = guards.get(v);
    if (!whole) return;
    const s = whole[0];
    for (let j = 0; j < GUARD; j++) {
      if (!Object.is(whole[j], s) || !Object.is(whole[whole.length - 1 - j], s)) {
        bad.push(`argument ${i}`);
        return;
      }
    }
  });
  return bad;
}

function detachedF32(n) {
  const f = new Float32Array(n);
  structuredClone(f.buffer, { transfer: [f.buffer] });
  return f;
}

/** Valid arguments for every kernel of the addon (small sizes). */
function kernelTemplates(k) {
  const F = (n, fill = (i) => ((i * 7919) % 13) / 13 - 0.4) => guarded(Float32Array, n, fill);
  const I = (n, fill = () => 0) => guarded(Int32Array, n, fill);
  const d = k.conv2dDims(2, 5, 5, 3, 3, 3, 4, 1, 1, 1, 1, 1);
  const nIn = 150, nOut = 200, nW = 108, nCol = k.conv2dColSize(d);
  const pd = k.pool2dDims(2, 4, 4, 3, 2, 2, 2, 2, 0);
  const probs = () => F(10, () => 0.2);
  const onehot = () => F(10, (i) => (i % 5 === 1 ? 1 : 0));
  return {
    sgemm: () => [false, true, 3, 4, 5, 1, F(15), 5, F(20), 5, 0.5, F(12), 4],
    sgemmNaive: () => [true, false, 3, 4, 5, 1, F(15), 3, F(20), 4, 0, F(12), 4],
    conv2dDims: () => [2, 5, 5, 3, 3, 3, 4, 1, 1, 1, 1, 1],
    conv2dColSize: () => [{ ...d }],
    conv2dForward: () => [F(nOut), F(nCol), F(nIn), F(nW), F(4), { ...d }, 1, 0],
    conv2dBackward: () => [F(nIn), F(nW), F(4), F(nCol), F(nOut), F(nCol), F(nIn), F(nW), { ...d }],
    conv2dForwardNaive: () => [F(nOut), F(nIn), F(nW), F(4), { ...d }, 9, 0],
    conv2dBackwardNaive: () => [F(nIn), F(nW), F(4), F(nOut), F(nIn), F(nW), { ...d }],
    pool2dDims: () => [2, 4, 4, 3, 2, 2, 2, 2, 0],
    maxPool2dForward: () => [F(24), I(24), F(96), { ...pd }],
    maxPool2dBackward: () => [F(96), F(24), I(24, (i) => i % 48), { ...pd }],
    avgPool2dForward: () => [F(24), F(96), { ...pd }],
    avgPool2dBackward: () => [F(96), F(24), { ...pd }],
    globalAvgPoolForward: () => [F(6), F(48), 2, 8, 3],
    globalAvgPoolBackward: () => [F(48), F(6), 2, 8, 3],
    globalMaxPoolForward: () => [F(6), I(6), F(48), 2, 8, 3],
    globalMaxPoolBackward: () => [F(48), F(6), I(6, (i) => i), 2, 8, 3],
    denseForward: () => [F(6), F(10), F(15), F(3), 2, 5, 3, 1, 0],
    denseBackward: () => [F(10), F(15), F(3), F(6), F(10), F(15), 2, 5, 3],
    activationForward: () => [F(10), F(10), 2, 5, 10, 0],
    activationBackward: () => [F(10), F(10), F(10), F(10), 2, 5, 8, 0],
    softmaxRows: () => [F(10), F(10), 2, 5],
    softmaxCrossentropy: () => [F(10), probs(), onehot(), F(2, () => 1), 2, 5, 0.1],
    sparseSoftmaxCrossentropy: () => [F(10), probs(), I(2, (i) => i + 1), null, 2, 5, 0],
    categoricalCrossentropy: () => [F(10), probs(), onehot(), null, 2, 5, 0],
    sparseCategoricalCrossentropy: () => [F(10), probs(), I(2, (i) => 4 - i), F(2, () => 1), 2, 5, 0.2],
    binaryCrossentropy: () => [F(10), probs(), onehot(), null, 2, 5, true, 0],
    meanSquaredError: () => [F(10), F(10), F(10), F(2, () => 1), 2, 5],
    meanAbsoluteError: () => [F(10), F(10), F(10), null, 2, 5],
    rngSeed: () => [guarded(Uint32Array, 4), 5],
    dropoutForward: () => [F(20), F(20), F(20), 20, 0.5, guarded(Uint32Array, 4, (i) => i + 1)],
    dropoutBackward: () => [F(20), F(20), F(20), 20],
    batchnormForwardTrain: () => [F(12), F(12), F(3), F(3), F(3), F(3, () => 1), F(12), F(3, () => 1), F(3), 4, 3, 0.9, 1e-3],
    batchnormForwardInfer: () => [F(12), F(12), F(3, () => 1), F(3), F(3), F(3, () => 1), 4, 3, 1e-3],
    batchnormBackward: () => [F(12), F(3), F(3), F(12), F(12), F(3, () => 1), F(3, () => 1), 4, 3],
    clipByValue: () => [F(10), 10, 0.2],
    clipByNorm: () => [F(10), 10, 0.5],
    sgdUpdate: () => [F(10), F(10), 10, 0.1],
    momentumUpdate: () => [F(10), F(10), F(10), 10, 0.1, 0.9, true],
    adamUpdate: () => [F(10), F(10), F(10, () => 0.1), F(10), 10, 0.01, 0.9, 0.999, 1e-7, 3],
    adamwUpdate: () => [F(10), F(10), F(10, () => 0.1), F(10), 10, 0.01, 0.9, 0.999, 1e-7, 0.01, 3],
    rmspropUpdate: () => [F(10), F(10, () => 0.1), F(10), F(10), F(10), 10, 0.01, 0.9, 0.5, 1e-7, true],
    adagradUpdate: () => [F(10), F(10, () => 0.1), F(10), 10, 0.01, 1e-7],
    optimizerSlotCount: () => [3],
    setGemmKernel: () => [0],
  };
}

const BAD_NUMBERS = [undefined, null, -1, 0, 1.5, NaN, Infinity, -Infinity, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 53, 1e300, -(2 ** 31), '3', true, {}, [], 3n];
const DIM_VALUES = [undefined, -1, 0, 1.5, NaN, Infinity, 2 ** 15, 2 ** 24 + 1, 2 ** 31 - 1, 2 ** 31, 1e300, '2'];

/** Every mutation of argument i of a valid argument list. */
function mutations(args, i) {
  const v = args[i];
  const out = [];
  if (ArrayBuffer.isView(v)) {
    const Ctor = v.constructor;
    out.push(['null', null], ['undefined', undefined], ['a plain array', Array.from(v)], ['a number', 4], ['a string', 'abc']);
    if (v.length > 0) out.push(['one element short', guarded(Ctor, v.length - 1)]);
    out.push(['empty', guarded(Ctor, 0)]);
    out.push(['a Float64Array', new Float64Array(v.length)], ['a Uint8Array', new Uint8Array(v.length * 4)], ['a DataView', new DataView(new ArrayBuffer(v.length * 4))]);
    out.push([Ctor === Int32Array ? 'a Float32Array' : 'an Int32Array', Ctor === Int32Array ? new Float32Array(v.length) : new Int32Array(v.length)]);
    out.push(['a detached array', Ctor === Float32Array ? detachedF32(v.length) : (() => { const a = new Ctor(v.length); structuredClone(a.buffer, { transfer: [a.buffer] }); return a; })()]);
    if (Ctor === Int32Array && v.length > 0) {
      out.push(['indices far out of range', guarded(Int32Array, v.length, () => 2 ** 31 - 1)], ['negative indices', guarded(Int32Array, v.length, () => -5)]);
    }
  } else if (v !== null && typeof v === 'object') {
    out.push(['null', null], ['an array', []], ['a Float32Array', new Float32Array(16)]);
    for (const key of Object.keys(v)) {
      for (const bad of DIM_VALUES) out.push([`${key} = ${String(bad)}`, { ...v, [key]: bad }]);
    }
    out.push(['a getter that throws', Object.defineProperty({ ...v }, 'N', { get() { throw new Error('getter'); }, enumerable: true })]);
    out.push(['a Proxy', new Proxy({ ...v }, {})]);
  } else if (typeof v === 'boolean') {
    out.push(['a string', 'yes'], ['an object', {}], ['null', null], ['undefined', undefined]);
  } else {
    for (const bad of BAD_NUMBERS) out.push([typeof bad === 'bigint' ? '3n' : String(bad), bad]);
  }
  return out;
}

/** Calls f with every single-argument mutation of a template; none may crash or write out of bounds. */
function fuzzCall(a, name, f, template) {
  let threw = 0;
  let returned = 0;
  const badErrors = [];
  const overruns = [];
  const base = template();
  try {
    f(...base);
    returned++;
  } catch (e) {
    a.ok(false, `${name}: the valid template runs`, { error: e.message });
  }
  const broken0 = brokenGuards(base);
  if (broken0.length) overruns.push(`valid call: ${broken0.join(', ')}`);
  const calls = [[], [undefined], ...base.map((_, i) => i)];
  for (const c of calls) {
    const list = Array.isArray(c) ? [['(no arguments)' + (c.length ? ' (undefined)' : ''), c]] : mutations(base, c).map(([label, v]) => {
      const args = template();
      args[c] = v;
      return [`argument ${c} ${label}`, args];
    });
    for (const [label, args] of list) {
      try {
        f(...args);
        returned++;
      } catch (e) {
        threw++;
        if (!(e instanceof Error) || !e.message || !e.message.startsWith(`${name}: `) && !/getter/.test(e.message) && !/BigInt/.test(e.message)) badErrors.push(`${label}: ${e && e.message}`);
      }
      const broken = brokenGuards(args);
      if (broken.length) overruns.push(`${label}: wrote past ${broken.join(', ')}`);
    }
  }
  a.ok(overruns.length === 0, `${name}: no write outside any buffer (${threw} calls threw, ${returned} returned)`, { overruns: overruns.slice(0, 10) });
  a.ok(badErrors.length === 0, `${name}: every error is an Error whose message starts with "${name}: "`, { errors: badErrors.slice(0, 10) });
}

async function addonGroup(a) {
  let k;
  try {
    k = require(path.join(ROOT, 'dist', 'backend')).backendKernels('native');
  } catch (e) {
    a.skip(`native addon unavailable: ${e.message.split('\n')[0]}`);
    return;
  }
  const threads = k.getNumThreads();
  a.case('every kernel, every argument mutated');
  const templates = kernelTemplates(k);
  for (const [name, template] of Object.entries(templates)) fuzzCall(a, name, k[name].bind(k), template);
  a.ok(typeof k.getNumThreads(7) === 'number' && typeof k.gemmKernel({}) === 'number' && typeof k.cpuHasAvx2Fma('x') === 'boolean', 'argument-less functions ignore extra arguments');
  for (const bad of [0, -1, 1025, 1.5, NaN, '4', null]) {
    try { k.setNumThreads(bad); a.ok(false, `setNumThreads(${String(bad)}) throws`); } catch (e) { a.match(e.message, /setNumThreads: n must be/, `setNumThreads(${String(bad)}) throws`); }
  }
  k.setNumThreads(threads);
  k.setGemmKernel(0);

  // Whole networks: absurd specs, then every method with mutated arguments.
  const { buildSpec } = require('./helpers/network');
  const { spec, paramCount } = buildSpec([6, 6, 2], [{ conv: 3, k: [3, 3], act: 1 }, { maxpool: [2, 2] }, { flatten: true }, { dense: 4, act: 10 }], { loss: 0, opt: { kind: 2 } });
  const slotsFor = (s) => new Float32Array(paramCount * 2);
  const params = () => guarded(Float32Array, paramCount, (i) => Math.sin(i) * 0.1);
  a.case('createNetwork with absurd specs');
  const specMut = [];
  const clone = () => JSON.parse(JSON.stringify(spec));
  const fields = ['kind', 'kh', 'kw', 'sh', 'sw', 'dh', 'dw', 'padding', 'filters', 'units', 'act', 'alpha', 'rate', 'momentum', 'eps', 'kernel', 'bias', 'gamma', 'beta', 'movingMean', 'movingVar'];
  spec.layers.forEach((L, li) => {
    for (const f of fields) for (const bad of BAD_NUMBERS) specMut.push([`layers[${li}].${f} = ${typeof bad === 'bigint' ? '3n' : String(bad)}`, (s) => { s.layers[li][f] = bad; }]);
    for (const f of ['in', 'out']) {
      for (const bad of [[1, 1], [0, 6, 2], [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1], [65536, 65536, 1], [1e300, 1, 1], 'abc', null]) specMut.push([`layers[${li}].${f} = ${JSON.stringify(bad)}`, (s) => { s.layers[li][f] = bad; }]);
    }
  });
  for (const bad of BAD_NUMBERS) {
    specMut.push([`vars[0].offset = ${String(bad)}`, (s) => { s.vars[0].offset = bad; }], [`vars[0].size = ${String(bad)}`, (s) => { s.vars[0].size = bad; }], [`loss = ${String(bad)}`, (s) => { s.loss = bad; }], [`opt.kind = ${String(bad)}`, (s) => { s.opt.kind = bad; }], [`seed = ${String(bad)}`, (s) => { s.seed = bad; }]);
  }
  specMut.push(['huge conv window with same padding', (s) => { Object.assign(s.layers[0], { kh: 2 ** 31 - 1, kw: 2 ** 31 - 1, padding: 1, out: [6, 6, 3] }); }]);
  specMut.push(['huge dilation with same padding', (s) => { Object.assign(s.layers[0], { dh: 2 ** 31 - 1, dw: 2 ** 31 - 1, padding: 1, out: [6, 6, 3] }); }]);
  specMut.push(['huge pool stride with same padding', (s) => { Object.assign(s.layers[1], { sh: 2 ** 31 - 1, sw: 2 ** 31 - 1, padding: 1, out: [1, 1, 3] }); Object.assign(s.layers[2], { in: [1, 1, 3], out: [1, 1, 3] }); Object.assign(s.layers[3], { in: [1, 1, 3] }); }]);
  specMut.push(['a var far past the params', (s) => { s.vars.push({ offset: 2 ** 52, size: 2 ** 52, trainable: true }); }]);
  specMut.push(['a var of size 2^53', (s) => { s.vars[0].size = 2 ** 53; }]);
  specMut.push(['1000 layers', (s) => { for (let i = 0; i < 1000; i++) s.layers.push({ kind: 9, in: [1, 1, 4], out: [1, 1, 4], act: 1 }); }]);
  specMut.push(['layers with getters that throw', (s) => { Object.defineProperty(s.layers[0], 'kh', { get() { throw new Error('getter'); }, enumerable: true }); }]);
  let made = 0;
  const specBad = [];
  for (const [label, edit] of specMut) {
    const s = clone();
    edit(s);
    const p = params();
    try {
      const net = k.createNetwork(s, p, slotsFor(s));
      made++;
      // Accepted specs must also run: a batch through it, then free it.
      try { net.trainStep(new Float32Array(2 * net.inSize), new Float32Array(2 * net.outSize), null, 2, 0.01, 1); } catch (e) { if (!(e instanceof Error)) specBad.push(`${label}: trainStep threw a non-Error`); }
      net.dispose();
    } catch (e) {
      if (!(e instanceof Error) || !/^createNetwork: |getter/.test(e.message)) specBad.push(`${label}: ${e && e.message}`);
    }
    const broken = brokenGuards([p]);
    if (broken.length) specBad.push(`${label}: wrote past the params`);
  }
  a.ok(specBad.length === 0, `createNetwork: ${specMut.length} absurd specs give errors starting "createNetwork: " (${made} were valid and ran)`, { bad: specBad.slice(0, 10) });

  a.case('network methods with mutated arguments');
  const net = k.createNetwork(spec, params(), slotsFor(spec));
  const n = 3;
  const X = () => guarded(Float32Array, n * net.inSize, (i) => Math.cos(i));
  const Y = () => guarded(Float32Array, n * net.outSize, (i) => (i % 4 === 0 ? 1 : 0));
  const methods = {
    forwardBackward: () => [X(), Y(), null, n],
    trainStep: () => [X(), Y(), guarded(Float32Array, n, () => 1), n, 0.01, 1],
    predict: () => [guarded(Float32Array, n * net.outSize), X(), n],
    evaluate: () => [guarded(Float32Array, n * net.outSize), X(), Y(), null, n],
    getOutput: () => [guarded(Float32Array, n * net.outSize)],
    getGrads: () => [guarded(Float32Array, paramCount)],
  };
  for (const [name, template] of Object.entries(methods)) fuzzCall(a, name, net[name].bind(net), template);
  for (const name of ['trainStepAsync', 'predictAsync']) {
    const template = name === 'trainStepAsync' ? methods.trainStep : methods.predict;
    const base = template();
    let rejected = 0;
    const bad = [];
    for (let i = 0; i < base.length; i++) {
      for (const [label, v] of mutations(base, i)) {
        const args = template();
        args[i] = v;
        try {
          await net[name](...args);
        } catch (e) {
          rejected++;
          if (!(e instanceof Error) || !e.message.startsWith(`${name}: `)) bad.push(`argument ${i} ${label}: ${e && e.message}`);
        }
        const broken = brokenGuards(args);
        if (broken.length) bad.push(`argument ${i} ${label}: wrote past ${broken.join(', ')}`);
      }
    }
    a.ok(bad.length === 0, `${name}: bad arguments reject with "${name}: ..." (${rejected} rejected), nothing written out of bounds`, { bad: bad.slice(0, 10) });
  }

  a.case('busy and disposed networks');
  const pending = net.trainStepAsync(X(), Y(), null, n, 0.01, 2);
  for (const [name, args] of Object.entries(methods)) {
    try { net[name](...args()); a.ok(false, `${name} while an async step runs throws`); } catch (e) { a.match(e.message, new RegExp(`^${name}: network is busy \\(an async call is running\\)$`), `${name} while an async step runs throws`); }
  }
  await a.ok(await net.predictAsync(...methods.predict()).then(() => false, (e) => /predictAsync: network is busy/.test(e.message)), 'predictAsync while busy rejects');
  try { net.dispose(); a.ok(false, 'dispose while busy throws'); } catch (e) { a.match(e.message, /dispose: network is busy/, 'dispose while busy throws'); }
  a.ok(typeof (await pending) === 'number', 'the running step completes');
  net.dispose();
  for (const [name, args] of Object.entries(methods)) {
    try { net[name](...args()); a.ok(false, `${name} after dispose throws`); } catch (e) { a.match(e.message, new RegExp(`^${name}: network was disposed$`), `${name} after dispose throws`); }
  }
  a.ok(await net.trainStepAsync(...methods.trainStep()).then(() => false, (e) => /network was disposed/.test(e.message)), 'trainStepAsync after dispose rejects');

  a.case('params detached after createNetwork, resizable params or slots');
  const p1 = new Float32Array(paramCount).fill(0.01);
  const net1 = k.createNetwork(spec, p1, slotsFor(spec));
  structuredClone(p1.buffer, { transfer: [p1.buffer] });
  try { net1.trainStep(...methods.trainStep()); a.ok(false, 'a detached params buffer is refused'); } catch (e) { a.match(e.message, /trainStep: the params or slots buffer was detached or shrunk/, 'a detached params buffer is refused'); }
  // A resizable buffer could shrink while a step runs on the worker thread: refused up front.
  const rab = new ArrayBuffer(paramCount * 4, { maxByteLength: paramCount * 8 });
  try { k.createNetwork(spec, new Float32Array(rab), slotsFor(spec)); a.ok(false, 'resizable params are refused'); } catch (e) { a.match(e.message, /^createNetwork: params must not be backed by a resizable ArrayBuffer/, 'resizable params are refused'); }
  const rslots = new Float32Array(new ArrayBuffer(slotsFor(spec).length * 4, { maxByteLength: slotsFor(spec).length * 8 }));
  try { k.createNetwork(spec, new Float32Array(paramCount), rslots); a.ok(false, 'resizable slots are refused'); } catch (e) { a.match(e.message, /^createNetwork: slots must not be backed by a resizable ArrayBuffer/, 'resizable slots are refused'); }
  net1.dispose();

  a.case('batch buffers detached while an async call runs');
  const net3 = k.createNetwork(spec, new Float32Array(paramCount).fill(0.01), slotsFor(spec));
  for (let round = 0; round < 3; round++) {
    const [x, y, sw] = methods.trainStep();
    const pending3 = net3.trainStepAsync(x, y, sw, n, 0.01, round + 1);
    for (const b of [x, y, sw]) structuredClone(guards.get(b).buffer, { transfer: [guards.get(b).buffer] });
    if (global.gc) global.gc();
    const junk = Array.from({ length: 20 }, () => new Float32Array(4096).fill(7));
    a.ok(typeof (await pending3) === 'number' && junk.length === 20, `round ${round}: the step ran on its own copy of x, y and sw`);
  }
  const out = new Float32Array(n * net3.outSize);
  const pending4 = net3.predictAsync(out, X(), n);
  structuredClone(out.buffer, { transfer: [out.buffer] });
  if (global.gc) global.gc();
  a.ok(await pending4.then(() => false, (e) => /^predictAsync: out was detached or shrunk while the call ran$/.test(e.message)), 'predictAsync: an out buffer detached meanwhile rejects');
  const rout = new ArrayBuffer(n * net3.outSize * 4, { maxByteLength: n * net3.outSize * 8 });
  const pending5 = net3.predictAsync(new Float32Array(rout), X(), n);
  rout.resize(4);
  a.ok(await pending5.then(() => false, (e) => /out was detached or shrunk/.test(e.message)), 'predictAsync: an out buffer shrunk meanwhile rejects');
  const good = new Float32Array(n * net3.outSize);
  await net3.predictAsync(good, X(), n);
  const sync = new Float32Array(n * net3.outSize);
  net3.predict(sync, X(), n);
  a.ok(sameArrays(good, sync), 'predictAsync writes the same output as predict');
  net3.dispose();
}

// ---- concurrency and lifecycle -------------------------------------------------------------------------

async function expectError(a, label, f, re) {
  try {
    await f();
    a.ok(false, `${label}: throws`);
  } catch (e) {
    a.ok(e instanceof Error, `${label}: throws an Error`);
    a.match(e.message, re, `${label}: ${e.message.slice(0, 120)}`);
  }
}

async function lifecycleGroup(a, backend) {
  const { tf, x, y, m, quadrants, seedModel } = makeContext(backend);
  const big = quadrants(512, 3);
  a.case('a second fit while one runs');
  const fit = m.fit(big.x, big.y, { epochs: 3, batchSize: 16, verbose: 0 });
  await expectError(a, 'fit', () => m.fit(x, y, { verbose: 0 }), /^fit: the model is already training; wait for the running fit to finish$/);
  await expectError(a, 'trainOnBatch', () => m.trainOnBatch(x, y), /^trainOnBatch: the model is already training/);
  await expectError(a, 'fitDataset', () => m.fitDataset([{ xs: x, ys: y }], { verbose: 0 }), /^fitDataset: the model is already training/);
  await expectError(a, 'compile', () => m.compile({ optimizer: 'sgd', loss: 'mse' }), /^compile: the model is training$/);
  await expectError(a, 'add', () => m.add(tf.layers.dense({ units: 2 })), /^add: the model is training$/);
  const p = await m.predictAsync(x);
  a.equal(p.shape[0], 32, 'predictAsync runs between the training steps');
  const h = await fit;
  a.equal(h.epoch.length, 3, 'the running fit completes all its epochs');
  a.ok(h.history.loss.every(Number.isFinite), 'with finite losses');
  const h2 = await m.fit(x, y, { epochs: 1, verbose: 0 });
  a.ok(Number.isFinite(h2.history.loss[0]), 'fit works again afterwards');

  if (backend === 'native') {
    a.case('sync calls while an async call runs');
    const pending = m.predictAsync(tf.zeros([20000, 12, 12, 1]));
    await new Promise((r) => setImmediate(r));
    for (const [name, f] of [['getWeights', () => m.getWeights()], ['setWeights', () => m.setWeights(m.layers.flatMap((l) => l.weightSpecs.map((w) => tf.zeros(w.shape))))], ['predict', () => m.predict(x)]]) {
      await expectError(a, name, f, new RegExp(`^${name}: the model is running a step; await it first \\(or use the async form\\)$`));
    }
    await pending;
    a.ok(m.getWeights().length === 4, 'sync calls work once it is done');
  }

  a.case('errors thrown by callbacks');
  const boom = { onBatchEnd: (b) => { if (b === 2) throw new Error('callback failed'); } };
  await expectError(a, 'fit with a throwing callback', () => m.fit(big.x, big.y, { epochs: 2, batchSize: 16, verbose: 0, callbacks: [boom] }), /^callback failed$/);
  const nested = { onEpochEnd: () => m.fit(x, y, { verbose: 0 }) };
  await expectError(a, 'fit started from a callback', () => m.fit(x, y, { epochs: 2, verbose: 0, callbacks: [nested] }), /already training/);
  const h3 = await m.fit(x, y, { epochs: 1, verbose: 0 });
  a.ok(Number.isFinite(h3.history.loss[0]), 'the model trains after callback errors');

  a.case('dispose during training');
  const d = seedModel();
  d.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const running = d.fit(big.x, big.y, { epochs: 50, batchSize: 8, verbose: 0 });
  await new Promise((r) => setTimeout(r, 30));
  d.dispose();
  await expectError(a, 'predict right after dispose() (fit still finishing its batch)', () => d.predict(x), /^predict: the model was disposed$/);
  const hd = await running;
  a.ok(hd.epoch.length < 50, `fit stops after the current batch (${hd.epoch.length} epochs done)`);
  a.ok(d.isDisposed, 'the model is disposed once fit returns');
  const uses = {
    fit: () => d.fit(x, y), fitDataset: () => d.fitDataset([{ xs: x, ys: y }]), trainOnBatch: () => d.trainOnBatch(x, y),
    predict: () => d.predict(x), predictAsync: () => d.predictAsync(x), evaluate: () => d.evaluate(x, y),
    evaluateAsync: () => d.evaluateAsync(x, y), evaluateDataset: () => d.evaluateDataset([{ xs: x, ys: y }]),
    compile: () => d.compile({ optimizer: 'sgd', loss: 'mse' }), getWeights: () => d.getWeights(), setWeights: () => d.setWeights([]),
    save: () => d.save(tf.io.withSaveHandler(async () => ({}))), summary: () => d.summary(undefined, undefined, () => {}),
    add: () => d.add(tf.layers.dense({ units: 2 })), build: () => d.build(),
  };
  for (const [name, f] of Object.entries(uses)) await expectError(a, `${name} after dispose`, f, new RegExp(`^${name}: the model was disposed$`));
  d.dispose();
  a.ok(true, 'a second dispose() is harmless');

  a.case('dispose during predictAsync');
  const e = seedModel();
  e.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  const pe = e.predictAsync(tf.zeros([5000, 12, 12, 1]));
  e.dispose();
  const settled = await pe.then((r) => `resolved with ${r.shape[0]} rows`, (err) => `rejected: ${err.message}`);
  a.ok(/resolved with 5000 rows|rejected: .*disposed/.test(settled), `the pending call settles (${settled})`);
  await expectError(a, 'predict after that dispose', () => e.predict(x), /^predict: the model was disposed$/);

  a.case('abort signal');
  const ac = new AbortController();
  const f = seedModel();
  f.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  const pf = f.fit(big.x, big.y, { epochs: 20, batchSize: 8, verbose: 0, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  const hf = await pf;
  a.ok(hf.epoch.length < 20, `an aborted fit returns early (${hf.epoch.length} epochs)`);
  const hf2 = await f.fit(x, y, { epochs: 1, verbose: 0 });
  a.ok(Number.isFinite(hf2.history.loss[0]), 'and the model trains again');
}

// ---- crash safety of modelCheckpoint ------------------------------------------------------------------

/**
 * A child trains a 0.4M-weight model and saves a checkpoint after every epoch; before each save it
 * prints the SHA-256 of the weights it is about to write. It is SIGKILLed at random moments; the
 * folder must then load, and its weights must be exactly one of the announced states (old or new,
 * never a mix).
 */
async function checkpointGroup(a) {
  const { spawn } = require('child_process');
  const crypto = require('crypto');
  const tf = lib();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-ckpt-'));
  const hashOf = (model) => {
    const h = crypto.createHash('sha256');
    for (const w of model.getWeights()) h.update(Buffer.from(w.dataSync().buffer));
    return h.digest('hex');
  };
  const child = `
    const tf = require(${JSON.stringify(ROOT)});
    const crypto = require('crypto');
    tf.setSeed(Number(process.argv[1]));
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [1000], units: 400, activation: 'relu', name: 'a' }), tf.layers.dense({ units: 10, activation: 'softmax', name: 'b' })] });
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const x = tf.randomUniform([8, 1000], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor([0, 1, 2, 3, 4, 5, 6, 7], [8], 'int32'), 10);
    const announce = { onEpochEnd: () => {
      const h = crypto.createHash('sha256');
      for (const w of m.getWeights()) h.update(Buffer.from(w.dataSync().buffer));
      process.stdout.write(h.digest('hex') + '\\n');
    } };
    m.fit(x, y, { epochs: 100000, batchSize: 8, verbose: 0, callbacks: [announce, tf.callbacks.modelCheckpoint(${JSON.stringify(dir)})] });`;
  let mixed = 0;
  let loadsSeen = 0;
  const previous = new Set(); // states announced by earlier rounds (the folder may still hold one)
  for (let round = 0; round < 6; round++) {
    const p = spawn(process.execPath, ['-e', child, String(round + 1)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const announced = new Set();
    let buf = '';
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    p.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) announced.add(l.trim());
    });
    // Wait for the first completed checkpoint of this run, then kill at a random later moment.
    const t0 = Date.now();
    while (announced.size < 2 && Date.now() - t0 < 20000 && p.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 3 + ((round * 37) % 60)));
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
    a.case(`round ${round}: killed after ${announced.size} checkpoints`);
    if (!a.ok(announced.size >= 2, 'the child trained and saved', { stderr: stderr.slice(-2000) })) continue;
    let loaded;
    try {
      loaded = await tf.loadLayersModel(dir);
    } catch (e) {
      a.ok(false, 'the checkpoint folder loads', { error: e.message });
      continue;
    }
    loadsSeen++;
    const h = hashOf(loaded);
    const ok = announced.has(h) || previous.has(h);
    if (!ok) mixed++;
    a.ok(ok, 'its weights are exactly one of the saved states');
    for (const v of announced) previous.add(v);
  }
  a.equal(mixed, 0, 'no round left a mixed or damaged checkpoint');
  const left = fs.readdirSync(dir).filter((f) => !/^\.(model\.json|weights\.bin)\.\d+\.[0-9a-f]+\.tmp$/.test(f)).sort();
  a.ok(left.join() === 'model.json,weights.bin', `only model.json, weights.bin and temporary files are in the folder (${left.join(', ')})`);
  a.comment(`${loadsSeen} kills, all loaded`);
  fs.rmSync(dir, { recursive: true, force: true });
}

// ---- groups ---------------------------------------------------------------------------------------

const groups = {
  'data (native)': (a) => dataGroup(a, 'native'),
  'data (js)': (a) => dataGroup(a, 'js'),
  'build (native)': (a) => buildGroup(a, 'native'),
  'build (js)': (a) => buildGroup(a, 'js'),
  files: filesGroup,
  addon: addonGroup,
  'lifecycle (native)': (a) => lifecycleGroup(a, 'native'),
  'lifecycle (js)': (a) => lifecycleGroup(a, 'js'),
  'checkpoint killed mid-save': checkpointGroup,
};

isolated(__filename, groups, { timeoutMs: 60000, groups: { addon: { execArgv: ['--expose-gc'] } } });
