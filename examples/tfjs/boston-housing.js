// Port of tensorflow/tfjs-examples `boston-housing` (index.js, normalization.js): features
// standardised with tensor ops (mean, sub, pow, sqrt, div), a mean-price baseline, and the
// example's three regression models (linear, one and two sigmoid hidden layers) trained with SGD
// on mean squared error, the linear model's kernel read back every epoch.
// The only change from a TF.js script is the import. Replaced: the data source (the original
// fetches the Boston Housing CSV files; here 333 train / 173 test synthetic rows of 12 features
// on different scales with a noisy linear target, as nested arrays like the parsed CSV), the UI
// (plots become console output) and NUM_EPOCHS (10 instead of 200).
'use strict';
const tf = require('../..');
const { regression } = require('./synthetic');
const { runExample } = require('./harness');

const NUM_EPOCHS = 10;
const BATCH_SIZE = 40;
const LEARNING_RATE = 0.01;

const train = regression(333, { seed: 11 });
const test = regression(173, { seed: 12 });
const bostonData = { trainFeatures: train.features, trainTarget: train.target, testFeatures: test.features, testTarget: test.target, numFeatures: 12 };
const featureDescriptions = Array.from({ length: 12 }, (_, i) => `feature ${i}`);
const tensors = {};

// normalization.js
function determineMeanAndStddev(data) {
  const dataMean = tf.mean(data, 0);
  const diffFromMean = tf.sub(data, dataMean);
  const squaredDiffFromMean = tf.pow(diffFromMean, 2);
  const variance = tf.mean(squaredDiffFromMean, 0);
  const dataStd = tf.sqrt(variance);
  return { dataMean, dataStd };
}

function normalizeTensor(data, dataMean, dataStd) {
  return tf.div(tf.sub(data, dataMean), dataStd);
}

function arraysToTensors() {
  tensors.rawTrainFeatures = tf.tensor2d(bostonData.trainFeatures);
  tensors.trainTarget = tf.tensor2d(bostonData.trainTarget);
  tensors.rawTestFeatures = tf.tensor2d(bostonData.testFeatures);
  tensors.testTarget = tf.tensor2d(bostonData.testTarget);
  const { dataMean, dataStd } = determineMeanAndStddev(tensors.rawTrainFeatures);
  tensors.trainFeatures = normalizeTensor(tensors.rawTrainFeatures, dataMean, dataStd);
  tensors.testFeatures = normalizeTensor(tensors.rawTestFeatures, dataMean, dataStd);
}

function linearRegressionModel() {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [bostonData.numFeatures], units: 1 }));
  model.summary();
  return model;
}

function multiLayerPerceptronRegressionModel1Hidden() {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [bostonData.numFeatures], units: 50, activation: 'sigmoid', kernelInitializer: 'leCunNormal' }));
  model.add(tf.layers.dense({ units: 1 }));
  model.summary();
  return model;
}

function multiLayerPerceptronRegressionModel2Hidden() {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [bostonData.numFeatures], units: 50, activation: 'sigmoid', kernelInitializer: 'leCunNormal' }));
  model.add(tf.layers.dense({ units: 50, activation: 'sigmoid', kernelInitializer: 'leCunNormal' }));
  model.add(tf.layers.dense({ units: 1 }));
  model.summary();
  return model;
}

function describeKernelElements(kernel) {
  tf.util.assert(kernel.length == 12, `kernel must be a array of length 12, got ${kernel.length}`);
  return Array.from(kernel, (value, idx) => ({ description: featureDescriptions[idx], value }));
}

async function run(model, weightsIllustration) {
  model.compile({ optimizer: tf.train.sgd(LEARNING_RATE), loss: 'meanSquaredError' });
  let trainLoss;
  let valLoss;
  let weightsList;
  await model.fit(tensors.trainFeatures, tensors.trainTarget, {
    batchSize: BATCH_SIZE,
    epochs: NUM_EPOCHS,
    validationSplit: 0.2,
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        trainLoss = logs.loss;
        valLoss = logs.val_loss;
        if (weightsIllustration) {
          await model.layers[0].getWeights()[0].data().then((kernelAsArr) => { weightsList = describeKernelElements(kernelAsArr); });
        }
      },
    },
  });
  const result = model.evaluate(tensors.testFeatures, tensors.testTarget, { batchSize: BATCH_SIZE });
  const testLoss = result.dataSync()[0];
  console.log(`Final train-set loss: ${trainLoss.toFixed(4)}\nFinal validation-set loss: ${valLoss.toFixed(4)}\nTest-set loss: ${testLoss.toFixed(4)}`);
  if (weightsIllustration && weightsList.length !== 12) throw new Error('kernel description');
  return testLoss;
}

function computeBaseline() {
  const avgPrice = tf.mean(tensors.trainTarget);
  console.log(`Average price: ${avgPrice.dataSync()}`);
  const baseline = tf.mean(tf.pow(tf.sub(tensors.testTarget, avgPrice), 2));
  console.log(`Baseline loss: ${baseline.dataSync()}`);
  return baseline.dataSync()[0];
}

async function main() {
  arraysToTensors();
  const baseline = computeBaseline();
  const linear = await run(linearRegressionModel(), true);
  const oneHidden = await run(multiLayerPerceptronRegressionModel1Hidden(), false);
  const twoHidden = await run(multiLayerPerceptronRegressionModel2Hidden(), false);
  if (!(linear < baseline)) throw new Error(`the linear model (${linear}) did not beat the baseline (${baseline})`);
  return `baseline ${baseline.toFixed(2)}, test MSE linear ${linear.toFixed(2)} / 1 hidden ${oneHidden.toFixed(2)} / 2 hidden ${twoHidden.toFixed(2)}`;
}

runExample('boston-housing', main);
