// Port of tensorflow/tfjs-examples `baseball-node` (pitch_type.js, utils.js, train_pitch_type.js):
// pitch-type classification from Node: tf.data.csv with a label column, rows min-max normalised
// with the training constants in a map(), shuffle, batch, a 4-layer dense classifier with Adam on
// sparseCategoricalCrossentropy trained with fitDataset, evaluation over the test CSV with
// forEachAsync + evaluate, per-class mean predicted probabilities, save with file://.
// The only change from a tfjs-node script is the import. Replaced: the data source (the original
// reads two CSV files from storage.googleapis.com; here synthetic CSVs with the same 9 columns and
// 7 pitch classes, 700 / 140 rows, are written to a temporary directory) and the argparse default
// (1 epoch instead of 20). CSV rows are read as TF.js 4 yields them, { xs, ys }, and the per-class
// evaluation groups rows by their label (the original relies on the hosted file's class order).
'use strict';
const tf = require('../..');
const fs = require('fs');
const path = require('path');
const { rng, gaussian } = require('./synthetic');
const { runExample, tmpDir } = require('./harness');

const VX0_MIN = -18.885;
const VX0_MAX = 18.065;
const VY0_MIN = -152.463;
const VY0_MAX = -86.374;
const VZ0_MIN = -15.5146078412997;
const VZ0_MAX = 9.974;
const AX_MIN = -48.0287647107959;
const AX_MAX = 30.592;
const AY_MIN = 9.397;
const AY_MAX = 49.18;
const AZ_MIN = -49.339;
const AZ_MAX = 2.95522851438373;
const START_SPEED_MIN = 59;
const START_SPEED_MAX = 104.4;
const NUM_PITCH_CLASSES = 7;
const TRAINING_DATA_LENGTH = 700;
const TEST_DATA_LENGTH = 140;

function writeSyntheticCsv(file, rows, seed) {
  const next = rng(seed);
  const lerp = (lo, hi, t) => lo + (hi - lo) * Math.min(1, Math.max(0, t));
  const lines = ['vx0,vy0,vz0,ax,ay,az,start_speed,left_handed_pitcher,pitch_code'];
  for (let i = 0; i < rows; i++) {
    const c = i % NUM_PITCH_CLASSES;
    const t = (k) => (((c * (k + 3)) % NUM_PITCH_CLASSES) + 0.5) / NUM_PITCH_CLASSES + 0.05 * gaussian(next);
    lines.push([lerp(VX0_MIN, VX0_MAX, t(0)), lerp(VY0_MIN, VY0_MAX, t(1)), lerp(VZ0_MIN, VZ0_MAX, t(2)), lerp(AX_MIN, AX_MAX, t(3)),
      lerp(AY_MIN, AY_MAX, t(4)), lerp(AZ_MIN, AZ_MAX, t(5)), lerp(START_SPEED_MIN, START_SPEED_MAX, t(6))].map((v) => v.toFixed(3))
      .concat([next() < 0.3 ? 1 : 0, c]).join(','));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

// utils.js
function normalize(value, min, max) {
  if (min === undefined || max === undefined) return value;
  return (value - min) / (max - min);
}

// pitch_type.js
function pitchType(trainPath, testPath) {
  const csvTransform = ({ xs, ys }) => {
    const values = [
      normalize(xs.vx0, VX0_MIN, VX0_MAX),
      normalize(xs.vy0, VY0_MIN, VY0_MAX),
      normalize(xs.vz0, VZ0_MIN, VZ0_MAX),
      normalize(xs.ax, AX_MIN, AX_MAX),
      normalize(xs.ay, AY_MIN, AY_MAX),
      normalize(xs.az, AZ_MIN, AZ_MAX),
      normalize(xs.start_speed, START_SPEED_MIN, START_SPEED_MAX),
      xs.left_handed_pitcher,
    ];
    return { xs: values, ys: ys.pitch_code };
  };
  const trainingData = tf.data.csv(trainPath, { columnConfigs: { pitch_code: { isLabel: true } } }).map(csvTransform).shuffle(TRAINING_DATA_LENGTH).batch(100);
  const trainingValidationData = tf.data.csv(trainPath, { columnConfigs: { pitch_code: { isLabel: true } } }).map(csvTransform).batch(TRAINING_DATA_LENGTH);
  const testValidationData = tf.data.csv(testPath, { columnConfigs: { pitch_code: { isLabel: true } } }).map(csvTransform).batch(TEST_DATA_LENGTH);

  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 250, activation: 'relu', inputShape: [8] }));
  model.add(tf.layers.dense({ units: 175, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 150, activation: 'relu' }));
  model.add(tf.layers.dense({ units: NUM_PITCH_CLASSES, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

  // Mean predicted probability of each class over the training rows of that class.
  async function evaluate() {
    const results = {};
    await trainingValidationData.forEachAsync((pitchTypeBatch) => {
      const values = model.predict(pitchTypeBatch.xs).dataSync();
      const labels = pitchTypeBatch.ys.dataSync();
      for (let i = 0; i < NUM_PITCH_CLASSES; i++) {
        let total = 0;
        let count = 0;
        for (let j = 0; j < labels.length; j++) if (labels[j] === i) { total += values[j * NUM_PITCH_CLASSES + i]; count++; }
        results[i] = { training: total / count };
      }
    });
    return results;
  }
  return { model, trainingData, testValidationData, evaluate };
}

// train_pitch_type.js
async function main() {
  const dir = tmpDir('baseball-node');
  const trainPath = path.join(dir, 'pitch_type_training_data.csv');
  const testPath = path.join(dir, 'pitch_type_test_data.csv');
  writeSyntheticCsv(trainPath, TRAINING_DATA_LENGTH, 81);
  writeSyntheticCsv(testPath, TEST_DATA_LENGTH, 82);
  const pitch_type = pitchType(`file://${trainPath}`, `file://${testPath}`);

  const epochCount = 1;
  const savePath = path.join(dir, 'pitch_type_model');
  pitch_type.model.summary();
  let loss;
  await pitch_type.model.fitDataset(pitch_type.trainingData, {
    epochs: epochCount,
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        loss = logs.loss;
        console.log(`Epoch: ${epoch} - loss: ${logs.loss.toFixed(3)}`);
      },
    },
  });
  let accuracy;
  await pitch_type.testValidationData.forEachAsync((data) => {
    const evalOutput = pitch_type.model.evaluate(data.xs, data.ys, TEST_DATA_LENGTH);
    accuracy = evalOutput[1].dataSync()[0];
    console.log(`\nEvaluation result:\n  Loss = ${evalOutput[0].dataSync()[0].toFixed(3)}; Accuracy = ${accuracy.toFixed(3)}`);
  });
  const perClass = await pitch_type.evaluate();
  if (savePath !== null) {
    await pitch_type.model.save(`file://${savePath}`);
    console.log(`Saved model to path: ${savePath}`);
  }
  if (Object.keys(perClass).length !== NUM_PITCH_CLASSES) throw new Error('per-class evaluation');
  return `loss ${loss.toFixed(3)}, test accuracy ${accuracy.toFixed(3)}, class 0 mean probability ${perClass[0].training.toFixed(3)}`;
}

runExample('baseball-node', main);
