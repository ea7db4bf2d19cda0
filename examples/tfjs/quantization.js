// Port of tensorflow/tfjs-examples `quantization` (train_mnist.js, model_mnist.js, eval_mnist.js,
// quantize_evaluate.sh, for the fashion-mnist dataset): train the Keras-style convnet, save it,
// quantize its weights to 16 and 8 bits, then load each quantized model with
// tf.loadLayersModel, compile it again and evaluate it against the original.
// The only change from a tfjs-node script is the import. Replaced: the data source (the original
// downloads Fashion-MNIST; here the first 1,024 / 256 images of Debian's dataset-fashion-mnist
// IDX files, or synthetic images when they are absent), the quantizer (the original runs the
// Python tensorflowjs_converter --quantize_uint16 / --quantize_uint8; here a few lines of JS
// write the same weights-manifest format: affine uint16 / uint8 with scale and min), and the
// argparse defaults (1 epoch instead of 20).
'use strict';
const tf = require('../..');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { digitImages } = require('./synthetic');
const { runExample, tmpDir } = require('./harness');

const DIR = '/usr/share/datasets/fashion-mnist';

// data_mnist.js stand-in: images / 255 as [n, 28, 28, 1], one-hot labels.
function loadSplit(prefix, n, seed) {
  const imagesFile = path.join(DIR, `${prefix}-images-idx3-ubyte.gz`);
  const labelsFile = path.join(DIR, `${prefix}-labels-idx1-ubyte.gz`);
  let images;
  let labels;
  if (fs.existsSync(imagesFile) && fs.existsSync(labelsFile)) {
    const ib = zlib.gunzipSync(fs.readFileSync(imagesFile));
    const lb = zlib.gunzipSync(fs.readFileSync(labelsFile));
    images = Float32Array.from(ib.subarray(16, 16 + n * 784), (v) => v / 255);
    labels = Int32Array.from(lb.subarray(8, 8 + n));
  } else {
    ({ images, labels } = digitImages(n, { seed }));
  }
  return { images: tf.tensor4d(images, [n, 28, 28, 1]), labels: tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() };
}

// model_mnist.js
function createModel() {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: [2, 2] }));
  model.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: [2, 2] }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dropout({ rate: 0.25 }));
  model.add(tf.layers.dense({ units: 512, activation: 'relu' }));
  model.add(tf.layers.dropout({ rate: 0.5 }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  compileModel(model);
  return model;
}

function compileModel(model) {
  model.compile({ optimizer: 'rmsprop', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
}

// Stand-in for `tensorflowjs_converter --quantize_uint8|uint16`: rewrites a saved model's weights.
function quantizeSavedModel(srcDir, dstDir, bits) {
  const json = JSON.parse(fs.readFileSync(path.join(srcDir, 'model.json'), 'utf8'));
  const group = json.weightsManifest[0];
  const buf = fs.readFileSync(path.join(srcDir, group.paths[0]));
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const levels = bits === 8 ? 255 : 65535;
  const parts = [];
  let offset = 0;
  for (const spec of group.weights) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const w = floats.subarray(offset, offset + size);
    offset += size;
    let min = Infinity;
    let max = -Infinity;
    for (const v of w) { if (v < min) min = v; if (v > max) max = v; }
    const scale = max > min ? (max - min) / levels : 1;
    const q = bits === 8 ? new Uint8Array(size) : new Uint16Array(size);
    for (let i = 0; i < size; i++) q[i] = Math.round((w[i] - min) / scale);
    spec.quantization = { dtype: bits === 8 ? 'uint8' : 'uint16', scale, min };
    parts.push(Buffer.from(q.buffer));
  }
  fs.mkdirSync(dstDir, { recursive: true });
  fs.writeFileSync(path.join(dstDir, group.paths[0]), Buffer.concat(parts));
  fs.writeFileSync(path.join(dstDir, 'model.json'), JSON.stringify(json));
}

async function evaluateSaved(modelSavePath, testImages, testLabels) {
  const model = await tf.loadLayersModel(`file://${path.join(modelSavePath, 'model.json')}`);
  compileModel(model);
  const t0 = tf.util.now();
  const evalOutput = model.evaluate(testImages, testLabels);
  const t1 = tf.util.now();
  const loss = evalOutput[0].dataSync()[0];
  const accuracy = evalOutput[1].dataSync()[0];
  console.log(`${path.basename(modelSavePath)}: evaluation took ${(t1 - t0).toFixed(2)} ms; Loss = ${loss.toFixed(6)}; Accuracy = ${accuracy.toFixed(6)}`);
  return accuracy;
}

async function main() {
  const dir = tmpDir('quantization');
  const { images: trainImages, labels: trainLabels } = loadSplit('train', 1024, 91);
  const { images: testImages, labels: testLabels } = loadSplit('t10k', 256, 92);

  // train_mnist.js
  const model = createModel();
  model.summary();
  await model.fit(trainImages, trainLabels, { epochs: 1, batchSize: 128, validationSplit: 0.15 });
  const modelSavePath = path.join(dir, 'original');
  await model.save(`file://${modelSavePath}`);

  // quantize_evaluate.sh: quantize, then eval_mnist.js on each model.
  quantizeSavedModel(modelSavePath, path.join(dir, 'quantized-uint16'), 16);
  quantizeSavedModel(modelSavePath, path.join(dir, 'quantized-uint8'), 8);
  const original = await evaluateSaved(modelSavePath, testImages, testLabels);
  const uint16 = await evaluateSaved(path.join(dir, 'quantized-uint16'), testImages, testLabels);
  const uint8 = await evaluateSaved(path.join(dir, 'quantized-uint8'), testImages, testLabels);
  const bytes = (d) => fs.statSync(path.join(dir, d, 'weights.bin')).size;
  if (Math.abs(uint16 - original) > 0.02 || Math.abs(uint8 - original) > 0.1) throw new Error(`quantized accuracy ${uint16} / ${uint8} vs ${original}`);
  return `accuracy original ${original.toFixed(3)} (${bytes('original')} B), uint16 ${uint16.toFixed(3)} (${bytes('quantized-uint16')} B), uint8 ${uint8.toFixed(3)} (${bytes('quantized-uint8')} B)`;
}

runExample('quantization', main);
