// Port of tensorflow/tfjs-examples `mnist-transfer-cnn` (index.js, loader.js, util.js, and the
// python/mnist_transfer_cnn.py model it loads): load a pretrained CNN, then retrain it on new
// classes in the example's three modes (freeze the feature layers, reinitialise the weights
// through modelFromJSON, fine-tune everything).
// The only change from a TF.js script is the import. Replaced: the data source and the hosted
// model (the original fetches a Keras-trained model.json and JSON files of digits >= 5; here the
// same Sequential topology is trained for one epoch on synthetic digits < 5 and saved with
// file://, then loaded back as the original loads its URL, and the retraining data is synthetic
// JSON-style { x: 28x28 rows of 0..255, y } records), and the UI (tfjs-vis charts, progress
// bar and mode picker become console output; all three modes run).
'use strict';
const tf = require('../..');
const path = require('path');
const { digitImages } = require('./synthetic');
const { runExample, tmpDir } = require('./harness');

const NUM_CLASSES = 5;

// Stand-in for the Python script's model, which the example downloads pretrained.
async function makePretrainedModel(dir) {
  const featureLayers = [
    tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'valid', inputShape: [28, 28, 1] }),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.conv2d({ filters: 32, kernelSize: 3 }),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.dropout({ rate: 0.25 }),
    tf.layers.flatten(),
  ];
  const classificationLayers = [
    tf.layers.dense({ units: 128 }),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.dropout({ rate: 0.5 }),
    tf.layers.dense({ units: NUM_CLASSES }),
    tf.layers.activation({ activation: 'softmax' }),
  ];
  const model = tf.sequential({ layers: featureLayers.concat(classificationLayers) });
  model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  const { x, y } = convertDataToTensors(synthRecords(256, 10, 0), NUM_CLASSES);
  await model.fit(x, y, { batchSize: 128, epochs: 1 });
  await model.save(`file://${dir}`);
  return `file://${path.join(dir, 'model.json')}`;
}

// Records shaped like gte5.train.json: { x: rows of 0..255 integers, y: class index }.
function synthRecords(n, seed, offset) {
  const { images, labels } = digitImages(n, { numClasses: 10, seed });
  const data = [];
  for (let i = 0; i < n; i++) {
    const x = [];
    for (let r = 0; r < 28; r++) x.push(Array.from(images.subarray(i * 784 + r * 28, i * 784 + r * 28 + 28), (v) => Math.round(v * 255)));
    data.push({ x, y: (labels[i] + offset) % NUM_CLASSES });
  }
  return data;
}

// util.js
function indexToOneHot(index, numClasses) {
  const oneHot = [];
  for (let i = 0; i < numClasses; ++i) oneHot.push(i === index ? 1 : 0);
  return oneHot;
}

function convertDataToTensors(data, numClasses) {
  const numExamples = data.length;
  const imgRows = data[0].x.length;
  const imgCols = data[0].x[0].length;
  const xs = [];
  const ys = [];
  data.forEach((example) => {
    xs.push(example.x);
    ys.push(indexToOneHot(example.y, numClasses));
  });
  let xsTensor = tf.reshape(tf.tensor3d(xs, [numExamples, imgRows, imgCols]), [numExamples, imgRows, imgCols, 1]);
  xsTensor = tf.mul(tf.scalar(1 / 255), xsTensor);
  const ysTensor = tf.tensor2d(ys, [numExamples, numClasses]);
  return { x: xsTensor, y: ysTensor };
}

function imageVectorToText(imageVector, imageSize) {
  let text = '';
  for (let i = 0; i < imageSize * imageSize; ++i) {
    if (i % imageSize === 0 && i > 0) text += '\n';
    const s = imageVector[i].toString();
    text += ' '.repeat(s.length < 4 ? 4 - s.length : 0) + s;
  }
  return text;
}

function textToImageArray(text, imageSize) {
  const pixels = [];
  for (const row of text.split('\n')) {
    for (const token of row.split(' ')) if (token.length > 0) pixels.push(Number.parseInt(token, 10) / 255);
  }
  if (pixels.length !== imageSize * imageSize) throw new Error(`Incorrect length of image vector (expected ${imageSize * imageSize}; got ${pixels.length})`);
  return tf.tensor4d(pixels, [1, imageSize, imageSize, 1]);
}

// index.js MnistTransferCNNPredictor
class MnistTransferCNNPredictor {
  async init(modelUrl) {
    this.model = await tf.loadLayersModel(modelUrl);
    this.model.summary();
    this.imageSize = this.model.layers[0].batchInputShape[1];
    this.numClasses = 5;
    const train = synthRecords(320, 20, 2);
    const test = synthRecords(128, 21, 2);
    this.gte5TrainData = { ...convertDataToTensors(train, this.numClasses), data: train };
    this.gte5TestData = { ...convertDataToTensors(test, this.numClasses), data: test };
    return this;
  }

  predict(imageText) {
    let winner;
    tf.tidy(() => {
      const image = textToImageArray(imageText, this.imageSize);
      const predictOut = this.model.predict(image);
      const w = predictOut.argMax(1);
      if (predictOut.dataSync().length !== this.numClasses) throw new Error('predict: wrong output size');
      winner = w.dataSync()[0] + 5;
    });
    return winner;
  }

  async retrainModel(trainingMode) {
    if (trainingMode === 'freeze-feature-layers') {
      for (let i = 0; i < 7; ++i) this.model.layers[i].trainable = false;
    } else if (trainingMode === 'reinitialize-weights') {
      const returnString = false;
      this.model = await tf.models.modelFromJSON({ modelTopology: this.model.toJSON(null, returnString) });
    }
    this.model.compile({ loss: 'categoricalCrossentropy', optimizer: tf.train.adam(0.01), metrics: ['acc'] });
    this.model.summary();

    const batchSize = 128;
    const epochs = 1;
    let valAcc;
    let batches = 0;
    await this.model.fit(this.gte5TrainData.x, this.gte5TrainData.y, {
      batchSize,
      epochs,
      validationData: [this.gte5TestData.x, this.gte5TestData.y],
      callbacks: [{
        onBatchEnd: async () => { batches++; },
        onEpochEnd: async (epoch, logs) => { valAcc = logs.val_acc; console.log(`${trainingMode}: epoch ${epoch + 1} val_loss ${logs.val_loss.toFixed(3)} val_acc ${logs.val_acc.toFixed(3)}`); },
      }],
    });
    if (batches !== Math.ceil(320 / batchSize)) throw new Error(`${trainingMode}: ${batches} batches`);
    return valAcc;
  }
}

async function main() {
  const url = await makePretrainedModel(tmpDir('mnist-transfer-cnn'));
  const results = [];
  for (const mode of ['freeze-feature-layers', 'reinitialize-weights', 'fine-tune-all']) {
    const predictor = await new MnistTransferCNNPredictor().init(url);
    const before = predictor.model.layers[0].getWeights()[0].dataSync().slice();
    const valAcc = await predictor.retrainModel(mode);
    const after = predictor.model.layers[0].getWeights()[0].dataSync();
    const changed = after.some((v, i) => v !== before[i]);
    if (mode === 'freeze-feature-layers' && changed) throw new Error('a frozen conv layer changed during fit');
    if (mode === 'fine-tune-all' && !changed) throw new Error('fine-tuning left the first conv layer unchanged');
    const example = predictor.gte5TestData.data[0];
    const digit = predictor.predict(imageVectorToText([].concat(...example.x), predictor.imageSize));
    if (!(digit >= 5 && digit <= 9)) throw new Error(`predicted digit ${digit}`);
    results.push(`${mode} val_acc ${valAcc.toFixed(3)}`);
  }
  return results.join(', ');
}

runExample('mnist-transfer-cnn', main);
