// Port of tensorflow/tfjs-examples `jena-weather` (data.js, models.js, train-rnn.js): temperature
// prediction from a weather time series: batches built with tf.buffer in a tf.data.generator,
// column moments with tf.moments, the commonsense baseline (dataset.forEach, gather, squeeze,
// tf.losses.absoluteDifference, tf.stack), and the example's models -- linear regression, MLP,
// MLP with an L2 kernel regulariser, MLP with dropout, simpleRNN, GRU -- compiled with
// meanAbsoluteError + RMSprop and trained with fitDataset (batchesPerEpoch, onEpochBegin /
// onBatchEnd / onEpochEnd running evaluateDataset), with tf.node.tensorBoard and earlyStopping
// set up as train-rnn.js does.
//   node examples/tfjs/jena-weather.js [--modelTypes baseline,linear-regression,mlp,...] [--logDir d]
// The only change from a tfjs-node script is the import. Replaced: the data source (the original
// fetches the 420,551-row Jena climate CSV; here 3,100 synthetic rows of 14 columns with daily and
// yearly cycles and noise), the sizes (lookBack 120, step 6, delay 24, batch 32, 20 batches per
// epoch, 2 epochs instead of 1440, 6, 144, 128, 500, 20), and tf.data.generator's argument: the
// original passes the next-batch function itself; TF.js 4 calls .next() on what the function
// returns, so this port passes () => ({ next: nextBatchFn }), the iterator-factory form; and
// dataset.forEach (renamed in TF.js 1.x) is forEachAsync, and batches are { xs, ys } instead of
// [features, targets] (TF.js 4's fitDataset accepts only the object form).
'use strict';
const tf = require('../..');
const { rng, gaussian } = require('./synthetic');
const { runExample } = require('./harness');

const NUM_ROWS = 3100;
const TRAIN_MIN_ROW = 0;
const TRAIN_MAX_ROW = 2000;
const VAL_MIN_ROW = 2001;
const VAL_MAX_ROW = 3000;

class JenaWeatherData {
  load() {
    const next = rng(51);
    this.dataColumnNames = ['p (mbar)', 'T (degC)', 'Tpot (K)', 'Tdew (degC)', 'rh (%)', 'VPmax (mbar)', 'VPact (mbar)', 'VPdef (mbar)',
      'sh (g/kg)', 'H2OC (mmol/mol)', 'rho (g/m**3)', 'wv (m/s)', 'max. wv (m/s)', 'wd (deg)'];
    this.numColumns = this.dataColumnNames.length;
    this.tempCol = 1;
    this.data = [];
    for (let i = 0; i < NUM_ROWS; i++) {
      const t = 10 + 8 * Math.sin((2 * Math.PI * i) / 144) + 5 * Math.sin((2 * Math.PI * i) / 2000) + gaussian(next);
      this.data.push(this.dataColumnNames.map((_, j) => (j === 1 ? t : 100 * (j % 3) + t * (0.5 + j / 10) + 3 * gaussian(next))));
    }
    this.numRows = NUM_ROWS;
    this.normalizedDayOfYear = Array.from({ length: NUM_ROWS }, (_, i) => (i % 52560) / 52560);
    this.normalizedTimeOfDay = Array.from({ length: NUM_ROWS }, (_, i) => (i % 144) / 144);
    this.calculateMeansAndStddevs_();
  }

  calculateMeansAndStddevs_() {
    tf.tidy(() => {
      this.means = [];
      this.stddevs = [];
      for (let j = 0; j < this.numColumns; j++) {
        const data = tf.tensor1d(this.data.map((row) => row[j]));
        const moments = tf.moments(data);
        this.means.push(moments.mean.dataSync()[0]);
        this.stddevs.push(Math.sqrt(moments.variance.dataSync()[0]));
      }
    });
    this.normalizedData = this.data.map((row) => row.map((v, j) => (v - this.means[j]) / this.stddevs[j]));
  }

  getDataColumnNames() {
    return this.dataColumnNames;
  }

  getNextBatchFunction(shuffle, lookBack, delay, batchSize, step, minIndex, maxIndex, normalize, includeDateTime) {
    let startIndex = minIndex + lookBack;
    const lookBackSlices = Math.floor(lookBack / step);
    function nextBatchFn() {
      const rowIndices = [];
      let done = false;
      if (shuffle) {
        const range = maxIndex - (minIndex + lookBack);
        for (let i = 0; i < batchSize; ++i) rowIndices.push(minIndex + lookBack + Math.floor(Math.random() * range));
      } else {
        let r = startIndex;
        for (; r < startIndex + batchSize && r < maxIndex; ++r) rowIndices.push(r);
        if (r >= maxIndex) done = true;
      }
      const numExamples = rowIndices.length;
      startIndex += numExamples;
      const featureLength = includeDateTime ? this.numColumns + 2 : this.numColumns;
      const samples = tf.buffer([numExamples, lookBackSlices, featureLength]);
      const targets = tf.buffer([numExamples, 1]);
      for (let j = 0; j < numExamples; ++j) {
        const rowIndex = rowIndices[j];
        let exampleRow = 0;
        for (let r = rowIndex - lookBack; r < rowIndex; r += step) {
          let exampleCol = 0;
          for (let n = 0; n < featureLength; ++n) {
            let value;
            if (n < this.numColumns) value = normalize ? this.normalizedData[r][n] : this.data[r][n];
            else if (n === this.numColumns) value = this.normalizedDayOfYear[r];
            else value = this.normalizedTimeOfDay[r];
            samples.set(value, j, exampleRow, exampleCol++);
          }
          const value = normalize ? this.normalizedData[r + delay][this.tempCol] : this.data[r + delay][this.tempCol];
          targets.set(value, j, 0);
          exampleRow++;
        }
      }
      return { value: { xs: samples.toTensor(), ys: targets.toTensor() }, done };
    }
    return nextBatchFn.bind(this);
  }
}

// models.js
async function getBaselineMeanAbsoluteError(jenaWeatherData, normalize, includeDateTime, lookBack, step, delay) {
  const batchSize = 128;
  const nextBatchFn = jenaWeatherData.getNextBatchFunction(false, lookBack, delay, batchSize, step, VAL_MIN_ROW, VAL_MAX_ROW, normalize, includeDateTime);
  const dataset = tf.data.generator(() => ({ next: nextBatchFn }));
  const batchMeanAbsoluteErrors = [];
  const batchSizes = [];
  await dataset.forEachAsync((dataItem) => {
    const features = dataItem.xs;
    const targets = dataItem.ys;
    const timeSteps = features.shape[1];
    batchSizes.push(features.shape[0]);
    batchMeanAbsoluteErrors.push(tf.tidy(() => tf.losses.absoluteDifference(targets, features.gather([timeSteps - 1], 1).gather([1], 2).squeeze([2]))));
  });
  const meanAbsoluteError = tf.tidy(() => {
    const batchSizesTensor = tf.tensor1d(batchSizes);
    const batchMeanAbsoluteErrorsTensor = tf.stack(batchMeanAbsoluteErrors);
    return batchMeanAbsoluteErrorsTensor.mul(batchSizesTensor).sum().div(batchSizesTensor.sum());
  });
  tf.dispose(batchMeanAbsoluteErrors);
  return meanAbsoluteError.dataSync()[0];
}

function buildLinearRegressionModel(inputShape) {
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape }));
  model.add(tf.layers.dense({ units: 1 }));
  return model;
}

function buildMLPModel(inputShape, kernelRegularizer, dropoutRate) {
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape }));
  model.add(tf.layers.dense({ units: 32, kernelRegularizer, activation: 'relu' }));
  if (dropoutRate > 0) model.add(tf.layers.dropout({ rate: dropoutRate }));
  model.add(tf.layers.dense({ units: 1 }));
  return model;
}

function buildSimpleRNNModel(inputShape) {
  const model = tf.sequential();
  model.add(tf.layers.simpleRNN({ units: 32, inputShape }));
  model.add(tf.layers.dense({ units: 1 }));
  return model;
}

function buildGRUModel(inputShape, dropout, recurrentDropout) {
  const model = tf.sequential();
  model.add(tf.layers.gru({ units: 32, inputShape, dropout: dropout || 0, recurrentDropout: recurrentDropout || 0 }));
  model.add(tf.layers.dense({ units: 1 }));
  return model;
}

function buildModel(modelType, numTimeSteps, numFeatures) {
  const inputShape = [numTimeSteps, numFeatures];
  let model;
  if (modelType === 'mlp') model = buildMLPModel(inputShape);
  else if (modelType === 'mlp-l2') model = buildMLPModel(inputShape, tf.regularizers.l2());
  else if (modelType === 'linear-regression') model = buildLinearRegressionModel(inputShape);
  else if (modelType === 'mlp-dropout') model = buildMLPModel(inputShape, null, 0.25);
  else if (modelType === 'simpleRNN') model = buildSimpleRNNModel(inputShape);
  else if (modelType === 'gru') model = buildGRUModel(inputShape);
  else throw new Error(`Unsupported model type: ${modelType}`);
  model.compile({ loss: 'meanAbsoluteError', optimizer: 'rmsprop' });
  model.summary();
  return model;
}

async function trainModel(model, jenaWeatherData, normalize, includeDateTime, lookBack, step, delay, batchSize, epochs, displayEvery, customCallbacks) {
  const trainNextBatchFn = jenaWeatherData.getNextBatchFunction(true, lookBack, delay, batchSize, step, TRAIN_MIN_ROW, TRAIN_MAX_ROW, normalize, includeDateTime);
  const trainDataset = tf.data.generator(() => ({ next: trainNextBatchFn })).prefetch(8);
  const batchesPerEpoch = 20;
  let t0;
  let currentEpoch;
  let lastLogs;
  await model.fitDataset(trainDataset, {
    batchesPerEpoch,
    epochs,
    callbacks: {
      onEpochBegin: async (epoch) => { currentEpoch = epoch; t0 = tf.util.now(); },
      onBatchEnd: async (batch, logs) => {
        if ((batch + 1) % displayEvery === 0) {
          console.log(`epoch ${currentEpoch + 1}/${epochs} batch ${batch + 1}/${batchesPerEpoch}: loss=${logs.loss.toFixed(6)} (${((tf.util.now() - t0) / (batch + 1)).toFixed(1)} ms/batch)`);
          if (customCallbacks && customCallbacks.onBatchEnd) customCallbacks.onBatchEnd(batch, logs);
        }
      },
      onEpochEnd: async (epoch, logs) => {
        const valNextBatchFn = jenaWeatherData.getNextBatchFunction(false, lookBack, delay, batchSize, step, VAL_MIN_ROW, VAL_MAX_ROW, normalize, includeDateTime);
        const valDataset = tf.data.generator(() => ({ next: valNextBatchFn }));
        const evalOut = await model.evaluateDataset(valDataset, {});
        logs.val_loss = (await evalOut.data())[0];
        tf.dispose(evalOut);
        lastLogs = logs;
        console.log(`epoch ${epoch + 1}/${epochs}: trainLoss=${logs.loss.toFixed(6)}; valLoss=${logs.val_loss.toFixed(6)}`);
        if (customCallbacks && customCallbacks.onEpochEnd) customCallbacks.onEpochEnd(epoch, logs);
      },
    },
  });
  return lastLogs;
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
  const modelTypes = opt('--modelTypes', 'baseline,linear-regression,mlp,mlp-l2,mlp-dropout').split(',');
  const args = { lookBack: 120, step: 6, delay: 24, normalize: true, includeDateTime: false, batchSize: 32, epochs: 2, earlyStoppingPatience: 2, logDir: opt('--logDir', undefined), logUpdateFreq: 'batch' };

  const jenaWeatherData = new JenaWeatherData();
  jenaWeatherData.load();
  const results = [];
  for (const modelType of modelTypes) {
    if (modelType === 'baseline') {
      const baselineError = await getBaselineMeanAbsoluteError(jenaWeatherData, args.normalize, args.includeDateTime, args.lookBack, args.step, args.delay);
      console.log(`Commonsense baseline mean absolute error: ${baselineError.toFixed(6)}`);
      results.push(`baseline MAE ${baselineError.toFixed(3)}`);
      continue;
    }
    const numFeatures = jenaWeatherData.getDataColumnNames().length;
    const model = buildModel(modelType, Math.floor(args.lookBack / args.step), numFeatures);
    const callback = [];
    if (args.logDir != null) callback.push(tf.node.tensorBoard(args.logDir, { updateFreq: args.logUpdateFreq }));
    if (args.earlyStoppingPatience != null) callback.push(tf.callbacks.earlyStopping({ patience: args.earlyStoppingPatience }));
    const logs = await trainModel(model, jenaWeatherData, args.normalize, args.includeDateTime, args.lookBack, args.step, args.delay, args.batchSize, args.epochs, 10, callback);
    if (!Number.isFinite(logs.val_loss)) throw new Error(`${modelType}: val_loss ${logs.val_loss}`);
    results.push(`${modelType} val MAE ${logs.val_loss.toFixed(3)}`);
  }
  return results.join(', ');
}

runExample('jena-weather', main);
