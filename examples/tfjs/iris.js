// Port of tensorflow/tfjs-examples `iris` (index.js, data.js): a two-layer dense classifier
// trained with Adam on in-memory tensors, a confusion matrix after every epoch, predictions in
// tf.tidy, and a save/load round trip.
// The only change from a TF.js script is the import. Replaced: the data source (the original
// embeds the 150 Iris rows; here 150 synthetic rows of 4 features around 3 class centres go
// through the same per-class shuffle/split/concat), tfjs-vis (the confusion matrix is counted
// in plain JS), the UI inputs (learning rate 0.01, 40 epochs), and localstorage:// (file://).
'use strict';
const tf = require('../..');
const { clusters } = require('./synthetic');
const { runExample, tmpDir } = require('./harness');

const IRIS_CLASSES = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];
const IRIS_NUM_CLASSES = IRIS_CLASSES.length;
const IRIS_DATA = clusters(150, { numFeatures: 4, numClasses: 3, seed: 7 }).map((r) => [...r.features, r.label]);

// data.js
function convertToTensors(data, targets, testSplit) {
  const numExamples = data.length;
  if (numExamples !== targets.length) throw new Error('data and split have different numbers of examples');
  const indices = [];
  for (let i = 0; i < numExamples; ++i) indices.push(i);
  tf.util.shuffle(indices);
  const shuffledData = [];
  const shuffledTargets = [];
  for (let i = 0; i < numExamples; ++i) {
    shuffledData.push(data[indices[i]]);
    shuffledTargets.push(targets[indices[i]]);
  }
  const numTestExamples = Math.round(numExamples * testSplit);
  const numTrainExamples = numExamples - numTestExamples;
  const xDims = shuffledData[0].length;
  const xs = tf.tensor2d(shuffledData, [numExamples, xDims]);
  const ys = tf.oneHot(tf.tensor1d(shuffledTargets).toInt(), IRIS_NUM_CLASSES);
  const xTrain = xs.slice([0, 0], [numTrainExamples, xDims]);
  const xTest = xs.slice([numTrainExamples, 0], [numTestExamples, xDims]);
  const yTrain = ys.slice([0, 0], [numTrainExamples, IRIS_NUM_CLASSES]);
  const yTest = ys.slice([0, 0], [numTestExamples, IRIS_NUM_CLASSES]);
  return [xTrain, yTrain, xTest, yTest];
}

function getIrisData(testSplit) {
  return tf.tidy(() => {
    const dataByClass = [];
    const targetsByClass = [];
    for (let i = 0; i < IRIS_CLASSES.length; ++i) {
      dataByClass.push([]);
      targetsByClass.push([]);
    }
    for (const example of IRIS_DATA) {
      const target = example[example.length - 1];
      dataByClass[target].push(example.slice(0, example.length - 1));
      targetsByClass[target].push(target);
    }
    const xTrains = [];
    const yTrains = [];
    const xTests = [];
    const yTests = [];
    for (let i = 0; i < IRIS_CLASSES.length; ++i) {
      const [xTrain, yTrain, xTest, yTest] = convertToTensors(dataByClass[i], targetsByClass[i], testSplit);
      xTrains.push(xTrain);
      yTrains.push(yTrain);
      xTests.push(xTest);
      yTests.push(yTest);
    }
    const concatAxis = 0;
    return [tf.concat(xTrains, concatAxis), tf.concat(yTrains, concatAxis), tf.concat(xTests, concatAxis), tf.concat(yTests, concatAxis)];
  });
}

// index.js
function calculateConfusionMatrix(model, xTest, yTest) {
  const [preds, labels] = tf.tidy(() => {
    const p = model.predict(xTest).argMax(-1);
    const l = yTest.argMax(-1);
    return [p, l];
  });
  const matrix = IRIS_CLASSES.map(() => IRIS_CLASSES.map(() => 0));
  const p = preds.dataSync();
  const l = labels.dataSync();
  for (let i = 0; i < l.length; i++) matrix[l[i]][p[i]]++;
  tf.dispose([preds, labels]);
  return matrix;
}

async function trainModel(xTrain, yTrain, xTest, yTest) {
  const params = { learningRate: 0.01, epochs: 40 };
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 10, activation: 'sigmoid', inputShape: [xTrain.shape[1]] }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  model.summary();
  const optimizer = tf.train.adam(params.learningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const trainLogs = [];
  let matrix;
  await model.fit(xTrain, yTrain, {
    epochs: params.epochs,
    validationData: [xTest, yTest],
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        trainLogs.push(logs);
        matrix = calculateConfusionMatrix(model, xTest, yTest);
      },
    },
  });
  if (trainLogs.length !== params.epochs) throw new Error(`${trainLogs.length} epoch logs`);
  const last = trainLogs[trainLogs.length - 1];
  console.log(`loss ${last.loss.toFixed(3)} val_loss ${last.val_loss.toFixed(3)} acc ${last.acc.toFixed(3)} val_acc ${last.val_acc.toFixed(3)}`);
  console.log('confusion matrix', JSON.stringify(matrix));
  return { model, valAcc: last.val_acc };
}

function predictOnManualInput(model, inputData) {
  return tf.tidy(() => {
    const input = tf.tensor2d([inputData], [1, 4]);
    const predictOut = model.predict(input);
    const logits = Array.from(predictOut.dataSync());
    const winner = IRIS_CLASSES[predictOut.argMax(-1).dataSync()[0]];
    if (logits.length !== 3) throw new Error(`${logits.length} logits`);
    return winner;
  });
}

function evaluateModelOnTestData(model, xTest, yTest) {
  return tf.tidy(() => {
    const xData = xTest.dataSync();
    const yTrue = yTest.argMax(-1).dataSync();
    const predictOut = model.predict(xTest);
    const yPred = predictOut.argMax(-1).dataSync();
    let right = 0;
    for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) right++;
    if (xData.length !== yTrue.length * 4) throw new Error('xTest size');
    return right / yTrue.length;
  });
}

async function main() {
  const [xTrain, yTrain, xTest, yTest] = getIrisData(0.15);
  const { model, valAcc } = await trainModel(xTrain, yTrain, xTest, yTest);
  const testAcc = evaluateModelOnTestData(model, xTest, yTest);
  const winner = predictOnManualInput(model, IRIS_DATA[0].slice(0, 4));
  const dir = tmpDir('iris');
  await model.save(`file://${dir}`);
  const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
  if (predictOnManualInput(loaded, IRIS_DATA[0].slice(0, 4)) !== winner) throw new Error('the reloaded model predicts differently');
  return `val_acc ${valAcc.toFixed(3)}, test acc ${testAcc.toFixed(3)}, manual input -> ${winner}`;
}

runExample('iris', main);
