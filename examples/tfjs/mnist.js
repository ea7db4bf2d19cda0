// Port of tensorflow/tfjs-examples `mnist` (index.js, data.js): the browser MNIST demo's training
// path, both of its models (the convnet and the dense net), trained with RMSprop, evaluated, and
// the prediction step inside tf.tidy.
// The only change from a TF.js script is the import. Replaced: the data source (the original
// draws a sprite PNG onto a canvas and fetches a label file; here synthetic 28x28 images fill the
// same Float32Array of pixels and Uint8Array of one-hot labels), the UI (charts and status lines
// become console output) and the epoch count from the UI (1 epoch on 1,200 images).
'use strict';
const tf = require('../..');
const { digitImages } = require('./synthetic');
const { runExample } = require('./harness');

const IMAGE_H = 28;
const IMAGE_W = 28;
const IMAGE_SIZE = IMAGE_H * IMAGE_W;
const NUM_CLASSES = 10;

// data.js MnistData, fed by synthetic images instead of the sprite: same arrays, same calls.
class MnistData {
  load() {
    const train = digitImages(1200, { seed: 3 });
    const test = digitImages(300, { seed: 4 });
    const oneHot = (labels) => {
      const out = new Uint8Array(labels.length * NUM_CLASSES);
      labels.forEach((l, i) => { out[i * NUM_CLASSES + l] = 1; });
      return out;
    };
    this.trainIndices = tf.util.createShuffledIndices(train.labels.length);
    this.testIndices = tf.util.createShuffledIndices(test.labels.length);
    this.trainImages = train.images;
    this.testImages = test.images;
    this.trainLabels = oneHot(train.labels);
    this.testLabels = oneHot(test.labels);
  }

  getTrainData() {
    const xs = tf.tensor4d(this.trainImages, [this.trainImages.length / IMAGE_SIZE, IMAGE_H, IMAGE_W, 1]);
    const labels = tf.tensor2d(this.trainLabels, [this.trainLabels.length / NUM_CLASSES, NUM_CLASSES]);
    return { xs, labels };
  }

  getTestData(numExamples) {
    let xs = tf.tensor4d(this.testImages, [this.testImages.length / IMAGE_SIZE, IMAGE_H, IMAGE_W, 1]);
    let labels = tf.tensor2d(this.testLabels, [this.testLabels.length / NUM_CLASSES, NUM_CLASSES]);
    if (numExamples != null) {
      xs = xs.slice([0, 0, 0, 0], [numExamples, IMAGE_H, IMAGE_W, 1]);
      labels = labels.slice([0, 0], [numExamples, NUM_CLASSES]);
    }
    return { xs, labels };
  }
}

function createConvModel() {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [IMAGE_H, IMAGE_W, 1], kernelSize: 3, filters: 16, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  model.add(tf.layers.conv2d({ kernelSize: 3, filters: 32, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  model.add(tf.layers.conv2d({ kernelSize: 3, filters: 32, activation: 'relu' }));
  model.add(tf.layers.flatten({}));
  model.add(tf.layers.dense({ units: 64, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return model;
}

function createDenseModel() {
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape: [IMAGE_H, IMAGE_W, 1] }));
  model.add(tf.layers.dense({ units: 42, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return model;
}

async function train(model, data, onIteration) {
  model.compile({ optimizer: 'rmsprop', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const batchSize = 320;
  const validationSplit = 0.15;
  const trainEpochs = 1;
  let trainBatchCount = 0;
  const trainData = data.getTrainData();
  const testData = data.getTestData();
  const totalNumBatches = Math.ceil(trainData.xs.shape[0] * (1 - validationSplit) / batchSize) * trainEpochs;

  let valAcc;
  await model.fit(trainData.xs, trainData.labels, {
    batchSize,
    validationSplit,
    epochs: trainEpochs,
    callbacks: {
      onBatchEnd: async (batch, logs) => {
        trainBatchCount++;
        console.log(`Training... (${(trainBatchCount / totalNumBatches * 100).toFixed(1)}% complete) loss ${logs.loss.toFixed(3)} acc ${logs.acc.toFixed(3)}`);
        if (onIteration && batch % 10 === 0) onIteration('onBatchEnd', batch, logs);
        await tf.nextFrame();
      },
      onEpochEnd: async (epoch, logs) => {
        valAcc = logs.val_acc;
        console.log(`validation loss ${logs.val_loss.toFixed(3)} acc ${logs.val_acc.toFixed(3)}`);
        if (onIteration) onIteration('onEpochEnd', epoch, logs);
        await tf.nextFrame();
      },
    },
  });

  const testResult = model.evaluate(testData.xs, testData.labels);
  const testAccPercent = testResult[1].dataSync()[0] * 100;
  const finalValAccPercent = valAcc * 100;
  console.log(`Final validation accuracy: ${finalValAccPercent.toFixed(1)}%; Final test accuracy: ${testAccPercent.toFixed(1)}%`);
  if (trainBatchCount !== totalNumBatches) throw new Error(`${trainBatchCount} batches, expected ${totalNumBatches}`);
  return testAccPercent;
}

function showPredictions(model, data) {
  const testExamples = 100;
  const examples = data.getTestData(testExamples);
  let correct = 0;
  tf.tidy(() => {
    const output = model.predict(examples.xs);
    const axis = 1;
    const labels = Array.from(examples.labels.argMax(axis).dataSync());
    const predictions = Array.from(output.argMax(axis).dataSync());
    for (let i = 0; i < testExamples; i++) if (labels[i] === predictions[i]) correct++;
    if (predictions.length !== testExamples) throw new Error(`${predictions.length} predictions`);
  });
  return correct;
}

async function main() {
  const data = new MnistData();
  data.load();
  const results = [];
  for (const [kind, create] of [['ConvNet', createConvModel], ['DenseNet', createDenseModel]]) {
    const model = create();
    model.summary();
    const acc = await train(model, data, () => showPredictions(model, data));
    const correct = showPredictions(model, data);
    results.push(`${kind} test acc ${acc.toFixed(1)}% (${correct}/100 shown right)`);
  }
  return results.join(', ');
}

runExample('mnist', main);
