// Port of tensorflow/tfjs-examples `iris-fitDataset` (index.js, data.js): the Iris classifier fed
// through tf.data: tf.data.array + tf.data.zip({xs, ys}) + batch, trained with fitDataset and a
// validation dataset, evaluated from dataset.toArray().
// The only change from a TF.js script is the import. Replaced: the data source (150 synthetic
// rows of 4 features around 3 class centres instead of the embedded Iris rows), tfjs-vis (the
// confusion matrix is counted in plain JS) and the UI inputs (learning rate 0.01, 30 epochs).
// The original destructures `[[xTest, yTest]]` from toArray() of a zip({xs, ys}) dataset; the
// element is an object, so this port reads `{xs, ys}`.
'use strict';
const tf = require('../..');
const { clusters } = require('./synthetic');
const { runExample } = require('./harness');

const IRIS_NUM_FEATURES = 4;
const IRIS_CLASSES = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];
const IRIS_RAW_DATA = clusters(150, { numFeatures: 4, numClasses: 3, seed: 8, spread: 0.8 }).map((r) => [...r.features, r.label]);
const BATCH_SIZE = 32;

function flatOneHot(idx) {
  return Array.from(tf.oneHot([idx], 3).dataSync());
}

function getIrisData(testSplit) {
  const shuffled = IRIS_RAW_DATA.slice();
  tf.util.shuffle(shuffled);
  const numTestExamples = Math.round(IRIS_RAW_DATA.length * testSplit);
  const numTrainExamples = IRIS_RAW_DATA.length - numTestExamples;
  const train = shuffled.slice(0, numTrainExamples);
  const test = shuffled.slice(numTrainExamples);
  const trainX = tf.data.array(train.map((r) => r.slice(0, 4)));
  const testX = tf.data.array(test.map((r) => r.slice(0, 4)));
  const trainY = tf.data.array(train.map((r) => flatOneHot(r[4])));
  const testY = tf.data.array(test.map((r) => flatOneHot(r[4])));
  return [tf.data.zip({ xs: trainX, ys: trainY }), tf.data.zip({ xs: testX, ys: testY })];
}

function confusion(model, xTest, yTest) {
  const [preds, labels] = tf.tidy(() => [model.predict(xTest).argMax(-1), yTest.argMax(-1)]);
  const m = IRIS_CLASSES.map(() => IRIS_CLASSES.map(() => 0));
  const p = preds.dataSync();
  const l = labels.dataSync();
  for (let i = 0; i < l.length; i++) m[l[i]][p[i]]++;
  tf.dispose([preds, labels]);
  return m;
}

async function trainModel(trainDataset, validationDataset) {
  const params = { learningRate: 0.01, epochs: 30 };
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 10, activation: 'sigmoid', inputShape: [IRIS_NUM_FEATURES] }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  model.summary();
  model.compile({ optimizer: tf.train.adam(params.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const trainLogs = [];
  let matrix;
  await model.fitDataset(trainDataset, {
    epochs: params.epochs,
    validationData: validationDataset,
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        trainLogs.push(logs);
        const [{ xs: xTest, ys: yTest }] = await validationDataset.toArray();
        matrix = confusion(model, xTest, yTest);
      },
    },
  });
  const last = trainLogs[trainLogs.length - 1];
  if (trainLogs.length !== params.epochs || !('val_acc' in last)) throw new Error(`logs: ${JSON.stringify(last)}`);
  console.log(`loss ${last.loss.toFixed(3)} acc ${last.acc.toFixed(3)} val_loss ${last.val_loss.toFixed(3)} val_acc ${last.val_acc.toFixed(3)}`);
  console.log('confusion matrix', JSON.stringify(matrix));
  return { model, valAcc: last.val_acc };
}

async function evaluateModelOnTestData(model, testDataset) {
  const [{ xs: xTest, ys: yTest }] = await testDataset.toArray();
  const yTrue = yTest.argMax(-1).dataSync();
  const predictOut = model.predict(xTest);
  const yPred = predictOut.argMax(-1).dataSync();
  let right = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) right++;
  return right / yTrue.length;
}

async function main() {
  let [trainDataset, testDataset] = getIrisData(0.15);
  trainDataset = trainDataset.batch(BATCH_SIZE);
  testDataset = testDataset.batch(BATCH_SIZE);
  const { model, valAcc } = await trainModel(trainDataset, testDataset);
  const testAcc = await evaluateModelOnTestData(model, testDataset);
  const input = tf.tensor2d([IRIS_RAW_DATA[0].slice(0, 4)], [1, 4]);
  const winner = IRIS_CLASSES[model.predict(input).argMax(-1).dataSync()[0]];
  return `val_acc ${valAcc.toFixed(3)}, test acc ${testAcc.toFixed(3)}, manual input -> ${winner}`;
}

runExample('iris-fitDataset', main);
