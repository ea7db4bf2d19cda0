// Port of tensorflow/tfjs-examples `mnist-node` (model.js, data.js, main.js): the Keras-style
// convnet trained with RMSprop from Node, evaluated, then saved with file://.
// The only change from a tfjs-node script is the import. Replaced: the data source (the original
// downloads the MNIST IDX files; here synthetic 28x28 images of the same shapes and dtypes are
// built into the same typed arrays), the `progress` bar package (a tick counter) and the
// argparse defaults (1 epoch on 768 images instead of 20 epochs on 60,000).
'use strict';
const tf = require('../..');
const path = require('path');
const { digitImages } = require('./synthetic');
const { runExample, tmpDir } = require('./harness');

const IMAGE_HEIGHT = 28;
const IMAGE_WIDTH = 28;
const IMAGE_FLAT_SIZE = IMAGE_HEIGHT * IMAGE_WIDTH;
const LABEL_FLAT_SIZE = 10;

// model.js: two conv blocks, dropout, a 512-unit dense layer, softmax over 10 digits.
function createModel() {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [IMAGE_HEIGHT, IMAGE_WIDTH, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
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
  model.compile({ optimizer: 'rmsprop', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

// data.js getData_(): one Float32Array of images, one Int32Array of labels, then tensors.
function toTensors(records) {
  const size = records.labels.length;
  tf.util.assert(records.images.length === size * IMAGE_FLAT_SIZE,
    `Mismatch in the number of images (${records.images.length / IMAGE_FLAT_SIZE}) and the number of labels (${size})`);
  const imagesShape = [size, IMAGE_HEIGHT, IMAGE_WIDTH, 1];
  const images = new Float32Array(tf.util.sizeFromShape(imagesShape));
  const labels = new Int32Array(tf.util.sizeFromShape([size, 1]));
  for (let i = 0; i < size; ++i) {
    images.set(records.images.subarray(i * IMAGE_FLAT_SIZE, (i + 1) * IMAGE_FLAT_SIZE), i * IMAGE_FLAT_SIZE);
    labels.set([records.labels[i]], i);
  }
  return {
    images: tf.tensor4d(images, imagesShape),
    labels: tf.oneHot(tf.tensor1d(labels, 'int32'), LABEL_FLAT_SIZE).toFloat(),
  };
}

async function main() {
  const epochs = 1;
  const batchSize = 128;
  const model = createModel();
  const { images: trainImages, labels: trainLabels } = toTensors(digitImages(768, { seed: 1 }));
  model.summary();

  let ticks = 0;
  let epochBeginTime;
  let millisPerStep;
  const validationSplit = 0.15;
  const numTrainExamplesPerEpoch = trainImages.shape[0] * (1 - validationSplit);
  const numTrainBatchesPerEpoch = Math.ceil(numTrainExamplesPerEpoch / batchSize);
  let lastLogs;
  await model.fit(trainImages, trainLabels, {
    epochs,
    batchSize,
    validationSplit,
    callbacks: {
      onEpochBegin: async (epoch) => {
        ticks = 0;
        console.log(`Epoch ${epoch + 1} / ${epochs}`);
        epochBeginTime = tf.util.now();
      },
      onBatchEnd: async (batch, logs) => {
        if (batch === numTrainBatchesPerEpoch - 1) {
          millisPerStep = (tf.util.now() - epochBeginTime) / numTrainExamplesPerEpoch;
        }
        ticks++;
        await tf.nextFrame();
      },
      onEpochEnd: async (epoch, logs) => {
        lastLogs = logs;
        console.log(`Loss: ${logs.loss.toFixed(3)} (train), ${logs.val_loss.toFixed(3)} (val); ` +
          `Accuracy: ${logs.acc.toFixed(3)} (train), ${logs.val_acc.toFixed(3)} (val) ` +
          `(${millisPerStep.toFixed(2)} ms/step, ${ticks} batches)`);
        await tf.nextFrame();
      },
    },
  });

  const { images: testImages, labels: testLabels } = toTensors(digitImages(256, { seed: 2 }));
  const evalOutput = model.evaluate(testImages, testLabels);
  const testLoss = evalOutput[0].dataSync()[0];
  const testAcc = evalOutput[1].dataSync()[0];
  console.log(`\nEvaluation result:\n  Loss = ${testLoss.toFixed(3)}; Accuracy = ${testAcc.toFixed(3)}`);

  const modelSavePath = path.join(tmpDir('mnist-node'), 'model');
  await model.save(`file://${modelSavePath}`);
  console.log(`Saved model to path: ${modelSavePath}`);
  if (!Number.isFinite(testLoss) || ticks !== numTrainBatchesPerEpoch) throw new Error(`bad run: loss ${testLoss}, ${ticks} batches`);
  return `val_acc ${lastLogs.val_acc.toFixed(3)}, test acc ${testAcc.toFixed(3)}`;
}

runExample('mnist-node', main);
