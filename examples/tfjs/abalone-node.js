// Port of tensorflow/tfjs-examples `abalone-node` (data.js, model.js, main.js): a CSV file read
// with tf.data.csv (header, a label column), rows mapped to { xs, ys } arrays, shuffled,
// batched, split with take/skip, a sigmoid MLP regressor trained with fitDataset and saved.
// The only change from a tfjs-node script is the import. Replaced: the data source (the
// original reads the downloaded UCI abalone.csv; here a synthetic CSV with the same 9 columns
// -- sex as F/M/I, 7 measurements, rings -- is written to a temporary file), and the argparse
// defaults (2 epochs, batches of 100 over 800 rows instead of 100 epochs, batches of 500).
'use strict';
const tf = require('../..');
const fs = require('fs');
const path = require('path');
const { rng } = require('./synthetic');
const { runExample, tmpDir } = require('./harness');

function writeSyntheticCsv(file, rows) {
  const next = rng(21);
  const lines = ['sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight,rings'];
  for (let i = 0; i < rows; i++) {
    const length = 0.1 + 0.6 * next();
    const m = [length, length * 0.8, length * 0.25, length * length * 2, length * length * 0.9, length * length * 0.4, length * length * 0.6];
    const rings = Math.round(3 + 20 * length + 2 * next());
    lines.push([['F', 'M', 'I'][i % 3], ...m.map((v) => v.toFixed(4)), rings].join(','));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

// data.js
async function createDataset(csvPath) {
  const dataset = tf.data.csv(csvPath, { hasHeader: true, columnConfigs: { rings: { isLabel: true } } });
  const numOfColumns = (await dataset.columnNames()).length - 1;
  return {
    dataset: dataset.map((row) => {
      const rawFeatures = row['xs'];
      const rawLabel = row['ys'];
      const convertedFeatures = Object.keys(rawFeatures).map((key) => {
        switch (rawFeatures[key]) {
          case 'F': return 0;
          case 'M': return 1;
          case 'I': return 2;
          default: return Number(rawFeatures[key]);
        }
      });
      return { xs: convertedFeatures, ys: [rawLabel['rings']] };
    }),
    numOfColumns,
  };
}

// model.js
function createModel(inputShape) {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [inputShape], activation: 'sigmoid', units: 50 }));
  model.add(tf.layers.dense({ activation: 'sigmoid', units: 50 }));
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
  return model;
}

// main.js
async function main() {
  const dir = tmpDir('abalone-node');
  const file = path.join(dir, 'abalone.csv');
  writeSyntheticCsv(file, 800);
  const csvPath = `file://${file}`;
  const epochs = 2;
  const batchSize = 100;

  const datasetObj = await createDataset(csvPath);
  const model = createModel(datasetObj.numOfColumns);
  const dataset = datasetObj.dataset.shuffle(1000).batch(batchSize);
  const trainDataset = dataset.take(6);
  const validationDataset = dataset.skip(6);

  const losses = [];
  await model.fitDataset(trainDataset, {
    epochs,
    validationData: validationDataset,
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        losses.push(logs);
        console.log(`Epoch ${epoch + 1} of ${epochs} completed: loss ${logs.loss.toFixed(3)} val_loss ${logs.val_loss.toFixed(3)}`);
      },
    },
  });
  await model.save(`file://${path.join(dir, 'trainedModel')}`);
  if (datasetObj.numOfColumns !== 8 || losses.length !== epochs) throw new Error(`columns ${datasetObj.numOfColumns}, ${losses.length} epochs`);
  const last = losses[losses.length - 1];
  return `${datasetObj.numOfColumns} feature columns, loss ${last.loss.toFixed(3)}, val_loss ${last.val_loss.toFixed(3)}`;
}

runExample('abalone-node', main);
