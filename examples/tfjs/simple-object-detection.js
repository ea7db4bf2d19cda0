// Port of tensorflow/tfjs-examples `simple-object-detection` (train.js, synthetic_images.js):
// transfer learning for one-object detection from Node: load MobileNet, cut it at an inner layer
// (getLayer + tf.model on layer.output), freeze it, put a new dense head on it with
// head.apply(symbolic tensor), train with a custom loss function (slices, sigmoid,
// tf.metrics.binaryCrossentropy + meanSquaredError), then unfreeze the top blocks and fine-tune.
// The only change from a tfjs-node script is the import. Replaced: the data source (the original
// draws shapes on a node-canvas; here plain JS paints a rectangle or a triangle with distractor
// lines into the same [n, size, size, 3] images and [n, 5] targets), the downloaded MobileNet
// (a small stand-in with MobileNet's block structure and layer names -- depthwise conv, batch
// norm, ReLU, pointwise conv -- on 64x64 inputs, saved and loaded with file://, where the
// original calls the old tf.loadModel on a URL), mulStrict (gone from TF.js 4: mul), and the
// argparse defaults (64 examples, 1 epoch per phase instead of 2,000 and 100 + 100).
'use strict';
const tf = require('../..');
const path = require('path');
const { rng } = require('./synthetic');
const { runExample, tmpDir } = require('./harness');

const topLayerGroupNames = ['conv_pw_9', 'conv_pw_10', 'conv_pw_11'];
const topLayerName = `${topLayerGroupNames[topLayerGroupNames.length - 1]}_relu`;
const CANVAS_SIZE = 64;

// Stand-in for the hosted MobileNet v1 0.25: its block pattern and layer names, small.
async function saveStandInMobilenet(dir) {
  const layers = [
    tf.layers.conv2d({ inputShape: [CANVAS_SIZE, CANVAS_SIZE, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'conv1' }),
    tf.layers.batchNormalization({ name: 'conv1_bn' }),
    tf.layers.reLU({ name: 'conv1_relu' }),
  ];
  for (const i of [9, 10, 11]) {
    layers.push(
      tf.layers.depthwiseConv2d({ kernelSize: 3, strides: i === 9 ? 2 : 1, padding: 'same', useBias: false, name: `conv_dw_${i}` }),
      tf.layers.batchNormalization({ name: `conv_dw_${i}_bn` }),
      tf.layers.reLU({ name: `conv_dw_${i}_relu` }),
      tf.layers.conv2d({ filters: 16, kernelSize: 1, padding: 'same', useBias: false, name: `conv_pw_${i}` }),
      tf.layers.batchNormalization({ name: `conv_pw_${i}_bn` }),
      tf.layers.reLU({ name: `conv_pw_${i}_relu` }));
  }
  layers.push(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d_1' }), tf.layers.dense({ units: 10, activation: 'softmax', name: 'predictions' }));
  const mobilenet = tf.sequential({ layers });
  await mobilenet.save(`file://${dir}`);
  return `file://${path.join(dir, 'model.json')}`;
}

// synthetic_images.js stand-in: target = [isTriangle, left, right, top, bottom] in pixels.
function generateExampleBatch(numExamples, numCircles, numLines) {
  const next = rng(41);
  const s = CANVAS_SIZE;
  const images = new Float32Array(numExamples * s * s * 3);
  const targets = [];
  for (let n = 0; n < numExamples; n++) {
    const base = n * s * s * 3;
    const paint = (x, y, v) => { if (x >= 0 && y >= 0 && x < s && y < s) for (let c = 0; c < 3; c++) images[base + (y * s + x) * 3 + c] = v; };
    for (let k = 0; k < numLines + numCircles; k++) {
      const x0 = Math.floor(next() * s);
      const y0 = Math.floor(next() * s);
      for (let t = 0; t < 10; t++) paint(x0 + t, y0 + (k % 2 ? t : 0), 0.5);
    }
    const isTriangle = next() < 0.5;
    const w = 10 + Math.floor(next() * 20);
    const left = Math.floor(next() * (s - w));
    const top = Math.floor(next() * (s - w));
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) if (!isTriangle || x <= y) paint(left + x, top + y, 1);
    targets.push([isTriangle ? 1 : 0, left, left + w, top, top + w]);
  }
  return { images: tf.tensor4d(images, [numExamples, s, s, 3]), targets: tf.tensor2d(targets) };
}

const classLossMultiplier = tf.scalar(100);

function customLossFunction(yTrue, yPred) {
  return tf.tidy(() => {
    const batchSize = yTrue.shape[0];
    const boundingBoxDims = yTrue.shape[1] - 1;
    const classTrue = yTrue.slice([0, 0], [batchSize, 1]);
    const classPred = tf.sigmoid(yPred.slice([0, 0], [batchSize, 1]));
    const classLoss = tf.metrics.binaryCrossentropy(classTrue, classPred).mean();
    const boundingBoxTrue = yTrue.slice([0, 1], [batchSize, boundingBoxDims]);
    const boundingBoxPred = yPred.slice([0, 1], [batchSize, boundingBoxDims]);
    const boundingBoxLoss = tf.metrics.meanSquaredError(boundingBoxTrue, boundingBoxPred);
    return classLoss.mul(classLossMultiplier).add(boundingBoxLoss);
  });
}

async function loadDecapitatedMobilenet(url) {
  const mobilenet = await tf.loadLayersModel(url);
  const fineTuningLayers = [];
  const layer = mobilenet.getLayer(topLayerName);
  const decapitatedBase = tf.model({ inputs: mobilenet.inputs, outputs: layer.output });
  for (const l of decapitatedBase.layers) {
    l.trainable = false;
    for (const groupName of topLayerGroupNames) {
      if (l.name.indexOf(groupName) === 0) {
        fineTuningLayers.push(l);
        break;
      }
    }
  }
  tf.util.assert(fineTuningLayers.length > 1, `Did not find any layers that match the prefixes ${topLayerGroupNames}`);
  return { decapitatedBase, fineTuningLayers };
}

function buildNewHead(inputShape) {
  const newHead = tf.sequential();
  newHead.add(tf.layers.flatten({ inputShape }));
  newHead.add(tf.layers.dense({ units: 200, activation: 'relu' }));
  newHead.add(tf.layers.dense({ units: 5 }));
  return newHead;
}

async function buildObjectDetectionModel(url) {
  const { decapitatedBase, fineTuningLayers } = await loadDecapitatedMobilenet(url);
  const newHead = buildNewHead(decapitatedBase.outputs[0].shape.slice(1));
  const newOutput = newHead.apply(decapitatedBase.outputs[0]);
  const model = tf.model({ inputs: decapitatedBase.inputs, outputs: newOutput });
  return { model, fineTuningLayers };
}

async function main() {
  const dir = tmpDir('simple-object-detection');
  const url = await saveStandInMobilenet(path.join(dir, 'mobilenet'));
  const args = { numExamples: 64, validationSplit: 0.15, batchSize: 32, initialTransferEpochs: 1, fineTuningEpochs: 1 };
  const tBegin = tf.util.now();
  const { images, targets } = generateExampleBatch(args.numExamples, 10, 10);

  const { model, fineTuningLayers } = await buildObjectDetectionModel(url);
  model.compile({ loss: customLossFunction, optimizer: tf.train.rmsprop(5e-3) });
  model.summary();
  const phase1 = await model.fit(images, targets, { epochs: args.initialTransferEpochs, batchSize: args.batchSize, validationSplit: args.validationSplit });

  for (const layer of fineTuningLayers) layer.trainable = true;
  model.compile({ loss: customLossFunction, optimizer: tf.train.rmsprop(2e-3) });
  model.summary();
  const phase2 = await model.fit(images, targets, { epochs: args.fineTuningEpochs, batchSize: args.batchSize / 2, validationSplit: args.validationSplit });

  await model.save(`file://${path.join(dir, 'object_detection_model')}`);
  const l1 = phase1.history.loss[0];
  const l2 = phase2.history.loss[0];
  if (!Number.isFinite(l1) || !Number.isFinite(l2)) throw new Error(`losses ${l1}, ${l2}`);
  return `${fineTuningLayers.length} fine-tuning layers, loss ${l1.toFixed(1)} (transfer) -> ${l2.toFixed(1)} (fine-tuning), ${((tf.util.now() - tBegin) / 1e3).toFixed(1)} s of training`;
}

runExample('simple-object-detection', main);
