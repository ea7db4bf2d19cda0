'use strict';
// ONNX export run in onnxruntime-node: on several architectures the exported graph gives the
// model's predictions (1e-4) for channels-last input with any batch size; the file's header
// (opset 13, IR 8, symbolic batch), TF 'same' padding as explicit pads, and saveOnnx.

const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');
const cnn = require('..');
const { onnxModelType } = require('../dist/onnx/schema');
const { samePads } = require('../dist/onnx');

const { layers } = cnn;
const TOL = 1e-4;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-onnx-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

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

/**
 * Distinct weights everywhere: kernels scaled by fan-in so that activations stay near unit size
 * (no saturated softmax hiding a difference), BN statistics far from 0 / 1 so a layout slip shows.
 */
function randomizeWeights(model, seed) {
  model.build();
  const r = rng(seed);
  model.setWeights(model.namedWeights().map(({ name, tensor }) => {
    const fanIn = tensor.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const v = Float32Array.from({ length: tensor.size }, () => {
      if (name.endsWith('moving_variance')) return 0.3 + Math.abs(r());
      if (name.endsWith('gamma')) return 1 + 0.5 * r();
      if (name.endsWith('kernel')) return r() * Math.sqrt(3 / fanIn);
      return 0.6 * r();
    });
    return cnn.tensor(v, tensor.shape);
  }));
}

/** Runs the export in ORT and compares with predict (absolute + relative 1e-4). */
async function check(t, label, model, batch = 3, seed = 1) {
  const shape = [batch, ...model.inputShape];
  const r = rng(seed);
  const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2);
  const want = model.predict(cnn.tensor(x, shape)).dataSync();
  const session = await ort.InferenceSession.create(model.toOnnx(), { intraOpNumThreads: 1 });
  const out = await session.run({ input: new ort.Tensor('float32', x, shape) });
  const got = out.output.data;
  t.same(out.output.dims, [batch, ...model.outputShape], `${label}: output shape`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  t.ok(worst <= TOL, `${label}: ORT matches predict (max scaled difference ${worst.toExponential(2)})`);
  return session;
}

t.test('TF "same" padding as explicit pads, the extra pixel at the end', async (t) => {
  t.same(samePads(28, 5, 1, 1), [2, 2]);
  t.same(samePads(7, 3, 2, 1), [1, 1]);
  t.same(samePads(8, 3, 2, 1), [0, 1], 'asymmetric: SAME_UPPER');
  t.same(samePads(6, 2, 1, 1), [0, 1], 'even kernel');
  t.same(samePads(9, 3, 1, 2), [2, 2], 'dilation');
  t.same(samePads(5, 1, 3, 1), [0, 0]);
});

t.test('the seed network (MNIST CNN), any batch size', async (t) => {
  const m = cnn.sequential({
    layers: [
      layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 5, activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(),
      layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  randomizeWeights(m, 1);
  const s = await check(t, 'seed net', m, 4);
  t.same(s.inputNames, ['input']);
  t.same(s.outputNames, ['output']);
  await check(t, 'seed net, batch 1', m, 1, 2);
  await check(t, 'seed net, batch 7', m, 7, 3);
});

t.test('two convolutions with same padding (strides, even kernels, dilation), ending in a conv', async (t) => {
  const m = cnn.sequential({
    layers: [
      layers.conv2d({ inputShape: [9, 8, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      layers.conv2d({ filters: 5, kernelSize: [2, 4], padding: 'same', activation: 'leakyRelu' }),
      layers.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', useBias: false }),
    ],
  });
  randomizeWeights(m, 2);
  await check(t, '2-conv same (output NHWC)', m);
  const m2 = cnn.sequential({
    layers: [
      layers.conv2d({ inputShape: [10, 10, 2], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }),
      layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      layers.flatten(),
      layers.dense({ units: 5, activation: 'softmax' }),
    ],
  });
  randomizeWeights(m2, 3);
  await check(t, '2-conv same + flatten + dense', m2);
});

t.test('average, max and global pools', async (t) => {
  const m = cnn.sequential({
    layers: [
      layers.conv2d({ inputShape: [11, 9, 2], filters: 4, kernelSize: 3, activation: 'elu' }),
      layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      layers.averagePooling2d({ poolSize: [2, 1], padding: 'valid' }),
      layers.globalAveragePooling2d(),
      layers.dense({ units: 3 }),
    ],
  });
  randomizeWeights(m, 4);
  await check(t, 'avg (same, count_include_pad 0) / max (same) / global avg', m);
  const g = cnn.sequential({
    layers: [
      layers.conv2d({ inputShape: [6, 7, 3], filters: 5, kernelSize: 2, activation: 'tanh' }),
      layers.globalMaxPooling2d(),
      layers.dense({ units: 2, activation: 'sigmoid' }),
    ],
  });
  randomizeWeights(g, 5);
  await check(t, 'global max', g);
});

t.test('batch normalization in inference form, after conv and after dense', async (t) => {
  const m = cnn.sequential({
    layers: [
      layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: 'same' }),
      layers.batchNormalization({ epsilon: 1e-2 }),
      layers.activation({ activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(),
      layers.dense({ units: 6 }),
      layers.batchNormalization({ center: false }),
      layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  randomizeWeights(m, 6);
  await check(t, 'batchnorm', m);
});

t.test('dropout is dropped; every activation, fused and as layers', async (t) => {
  const acts = ['relu', 'relu6', 'leakyRelu', 'elu', 'selu', 'sigmoid', 'tanh', 'softplus', 'gelu', 'swish', 'softmax', 'linear'];
  const stack = [layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'gelu' }), layers.dropout({ rate: 0.5 })];
  for (const a of acts) stack.push(layers.activation({ activation: a }));
  stack.push(layers.reLU({ maxValue: 6 }), layers.reLU(), layers.flatten(), layers.dropout({ rate: 0.2 }));
  const m = cnn.sequential({ layers: [...stack, layers.dense({ units: 4, activation: 'swish' })] });
  randomizeWeights(m, 7);
  await check(t, 'activation layers on NCHW (softmax over channels) + dropout', m);
  for (const a of acts) {
    const d = cnn.sequential({
      layers: [
        layers.dense({ inputShape: [5], units: 6, activation: a }),
        layers.dense({ units: 3, activation: a === 'softmax' ? 'softmax' : 'linear' }),
      ],
    });
    randomizeWeights(d, 8);
    await check(t, `dense + ${a}`, d, 5);
  }
  const c = cnn.sequential({ layers: [layers.conv2d({ inputShape: [5, 5, 3], filters: 4, kernelSize: 2, activation: 'softmax' })] });
  randomizeWeights(c, 9);
  await check(t, 'conv + fused softmax over channels', c);
});

t.test('Dense on a rank-3 sample (MatMul + Add) and an input layer', async (t) => {
  const m = cnn.sequential({
    layers: [
      layers.inputLayer({ inputShape: [4, 5, 3] }),
      layers.dense({ units: 6, activation: 'relu' }),
      layers.batchNormalization(),
      layers.flatten(),
      layers.dense({ units: 2, useBias: false }),
    ],
  });
  randomizeWeights(m, 10);
  await check(t, 'dense on [h, w, c]', m);
  const seq = cnn.sequential({ layers: [layers.dense({ inputShape: [3, 4], units: 5 }), layers.batchNormalization(), layers.flatten(), layers.dense({ units: 2 })] });
  randomizeWeights(seq, 11);
  await check(t, 'dense + batchnorm on [len, channels]', seq);
});

t.test('the file: opset 13, IR 8, symbolic batch, initializers, saveOnnx', async (t) => {
  const m = cnn.sequential({
    name: 'tiny',
    layers: [layers.conv2d({ inputShape: [5, 5, 1], filters: 2, kernelSize: 3 }), layers.flatten(), layers.dense({ units: 2 })],
  });
  randomizeWeights(m, 12);
  const bytes = m.toOnnx({ docString: 'test model' });
  t.ok(bytes instanceof Uint8Array);
  const msg = onnxModelType().toObject(onnxModelType().decode(bytes), { longs: Number, defaults: false });
  t.equal(msg.ir_version, 8);
  t.same(msg.opset_import, [{ domain: '', version: 13 }]);
  t.equal(msg.producer_name, 'cnn-node');
  t.equal(msg.doc_string, 'test model');
  t.equal(msg.graph.name, 'tiny');
  t.same(msg.graph.input[0].type.tensor_type.shape.dim, [{ dim_param: 'N' }, { dim_value: 5 }, { dim_value: 5 }, { dim_value: 1 }]);
  t.same(msg.graph.output[0].type.tensor_type.shape.dim, [{ dim_param: 'N' }, { dim_value: 2 }]);
  t.same(msg.graph.node.map((n) => n.op_type), ['Transpose', 'Conv', 'Transpose', 'Flatten', 'Gemm']);
  const kernel = msg.graph.initializer.find((i) => i.name.endsWith('/kernel') && i.dims.length === 4);
  t.same(kernel.dims, [2, 1, 3, 3], 'conv kernel stored OIHW');
  t.equal(kernel.data_type, 1);

  const file = path.join(tmp, 'tiny.onnx');
  const res = await m.saveOnnx(file);
  const plain = m.toOnnx();
  t.equal(res.bytes, plain.length);
  t.ok(fs.readFileSync(file).equals(Buffer.from(plain)), 'saveOnnx writes toOnnx()');
  t.same(fs.readdirSync(tmp), ['tiny.onnx'], 'no temporary file left');
  const s = await ort.InferenceSession.create(file);
  t.same(s.inputNames, ['input']);
  const named = m.toOnnx({ inputName: 'image', outputName: 'probs', batchName: 'batch' });
  const s2 = await ort.InferenceSession.create(named);
  t.same([s2.inputNames, s2.outputNames], [['image'], ['probs']]);
  t.throws(() => m.toOnnx({ inputName: 'x', outputName: 'x' }), /must differ/);
  await t.rejects(m.saveOnnx(path.join(tmp, 'missing-dir', 'x.onnx')), /cannot write/);
});

t.test('a trained, saved and reloaded model exports the same', async (t) => {
  cnn.setSeed(3);
  const m = cnn.sequential({
    layers: [
      layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }),
      layers.batchNormalization(),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(),
      layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  const r = rng(4);
  const x = cnn.tensor(Float32Array.from({ length: 16 * 64 }, () => r()), [16, 8, 8, 1]);
  await m.fit(x, cnn.tensor(Array.from({ length: 16 }, (_, i) => i % 3), [16], 'int32'), { epochs: 2, batchSize: 8, verbose: 0 });
  await check(t, 'trained', m);
  let artifacts;
  await m.save(cnn.io.withSaveHandler(async (a) => { artifacts = a; return {}; }));
  const back = await cnn.loadLayersModel(cnn.io.fromMemory(artifacts));
  t.ok(Buffer.from(back.toOnnx()).equals(Buffer.from(m.toOnnx())), 'the reloaded model exports the same bytes');
  await check(t, 'reloaded', back);
});
