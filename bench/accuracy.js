#!/usr/bin/env node
// Full Fashion-MNIST accuracy runs of the reference models (issue 5), several seeds in one go.
// Each seed trains the preset as `npx cnn-node train` does (Adam lr 0.001, categorical
// cross-entropy, batch 32, shuffled every epoch; but no validation split unless asked, so all
// 60,000 images train) and the test set is scored after every epoch, so
// one run gives the whole curve. The headline is the accuracy after the last epoch; the per-epoch
// test figures are a curve to read, never a model selection.
//
// With --early-stopping N (and a validation split) training stops when the validation accuracy
// has not improved for N epochs and the best epoch's weights are put back, as
// `cnn-node train --early-stopping N` does; the headline is then the test accuracy of those weights
// (chosen on the validation split, never on the test set).
//
// Usage: node bench/accuracy.js [--model seed|convnet] [--epochs N] [--seeds 1,2,3]
//          [--data DIR] [--validation-split F] [--early-stopping N] [--learning-rate F]
//          [--threads N] [--batch-size N] [--dtype float32|mixed_bfloat16]
// --dtype sets the global dtype policy the model is built under (every layer, the last one too).
// (after npm run build:ts). Writes bench/out/accuracy-<model>-<epochs>.json.
'use strict';
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const tf = require('../dist');
const { presetModel, PRESETS } = require('../dist/cli/presets');

const { values: v } = parseArgs({
  options: {
    model: { type: 'string', default: 'seed' },
    epochs: { type: 'string', default: '10' },
    seeds: { type: 'string', default: '1,2,3' },
    data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    'validation-split': { type: 'string', default: '0' },
    'batch-size': { type: 'string', default: '32' },
    'early-stopping': { type: 'string' },
    'learning-rate': { type: 'string', default: '0.001' },
    threads: { type: 'string' },
    dtype: { type: 'string', default: 'float32' },
  },
});
if (!PRESETS.includes(v.model)) throw new Error(`--model must be one of ${PRESETS.join(', ')}`);
const epochs = Number(v.epochs);
const batchSize = Number(v['batch-size']);
const split = Number(v['validation-split']);
const seeds = v.seeds.split(',').map(Number);
const lr = Number(v['learning-rate']);
const patience = v['early-stopping'] === undefined ? undefined : Number(v['early-stopping']);
if (patience !== undefined && !(split > 0)) throw new Error('--early-stopping needs --validation-split > 0');
if (!(Number.isInteger(epochs) && epochs >= 1 && Number.isInteger(batchSize) && batchSize >= 1 && lr > 0 && split >= 0 && split < 1 &&
  seeds.every(Number.isInteger) && (patience === undefined || (Number.isInteger(patience) && patience >= 0)))) {
  throw new Error('bad arguments: --epochs, --batch-size and --seeds take positive integers, --learning-rate a positive number, ' +
    '--validation-split a number in [0, 1), --early-stopping an integer >= 0');
}
if (v.threads) tf.setNumThreads(Number(v.threads));
tf.mixedPrecision.setGlobalPolicy(v.dtype);  // throws on a policy cnn-node refuses

function accuracy(probs, ys) {
  const p = tf.argMax(probs, -1).values;
  const t = tf.argMax(ys, -1).values;
  let c = 0;
  for (let i = 0; i < t.length; i++) if (p[i] === t[i]) c++;
  return c / t.length;
}

async function runSeed(seed, data) {
  tf.setSeed(seed);
  const model = presetModel(v.model);
  model.compile({ optimizer: tf.train.adam(lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const curve = [];
  const t0 = Date.now();
  let trainMs = 0; // fit time per epoch, the validation pass included
  let epochStart = Date.now();
  const onEpochBegin = async () => { epochStart = Date.now(); };
  const onEpochEnd = async (epoch, logs) => {
    trainMs += Date.now() - epochStart;
    const probs = await model.predictAsync(data.test.xs);
    const acc = accuracy(probs, data.test.ys);
    probs.dispose();
    curve.push({ epoch: epoch + 1, loss: logs.loss, acc: logs.acc, valLoss: logs.val_loss, valAcc: logs.val_acc, testAcc: acc });
    console.log(`  seed ${seed} epoch ${epoch + 1}: loss ${logs.loss.toFixed(4)} train acc ${logs.acc.toFixed(4)}` +
      (logs.val_acc !== undefined ? ` val acc ${logs.val_acc.toFixed(4)}` : '') + ` test acc ${acc.toFixed(4)}`);
  };
  const stopper = patience === undefined ? null : tf.callbacks.earlyStopping({ monitor: 'val_acc', patience, restoreBestWeights: true });
  await model.fit(data.train.xs, data.train.ys, {
    epochs, batchSize, seed, verbose: 0, validationSplit: split > 0 ? split : undefined,
    callbacks: stopper ? [{ onEpochBegin, onEpochEnd }, stopper] : { onEpochBegin, onEpochEnd },
  });
  let final = curve[curve.length - 1].testAcc;
  let keptEpoch = curve.length;
  if (stopper) {  // the weights of the best validation epoch are back in the model
    const probs = await model.predictAsync(data.test.xs);
    final = accuracy(probs, data.test.ys);
    probs.dispose();
    keptEpoch = stopper.bestEpoch + 1;
    console.log(`  seed ${seed}: kept epoch ${keptEpoch} of ${curve.length} (best validation accuracy)`);
  }
  const wall = (Date.now() - t0) / 1000;
  model.dispose();
  return { seed, final, keptEpoch, epochsRun: curve.length, trainSeconds: trainMs / 1000, wallSeconds: wall, curve };
}

async function main() {
  const data = tf.data.fashionMnist({ dir: v.data });
  console.log(`${v.model}: ${epochs} epochs, batch ${batchSize}, validation split ${split}, seeds ${seeds.join(',')}, ` +
    `backend ${tf.getBackend()}, ${tf.getNumThreads()} threads, dtype policy ${v.dtype}, data ${data.dir}`);
  const runs = [];
  const tag = `${v.model}-${epochs}${split > 0 ? `-val${split}` : ''}${patience !== undefined ? `-es${patience}` : ''}${lr !== 0.001 ? `-lr${lr}` : ''}${v.dtype !== 'float32' ? `-${v.dtype}` : ''}`;
  const out = path.join(__dirname, 'out', `accuracy-${tag}.json`);
  for (const seed of seeds) {
    const r = await runSeed(seed, data);
    runs.push(r);
    console.log(`seed ${seed}: test accuracy ${r.final.toFixed(4)} (epoch ${r.keptEpoch} of ${r.epochsRun}) ` +
      `(training ${r.trainSeconds.toFixed(0)} s, wall ${r.wallSeconds.toFixed(0)} s)`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify({
      model: v.model, dtype: v.dtype, epochs, batchSize, validationSplit: split, learningRate: lr, earlyStopping: patience ?? null, threads: tf.getNumThreads(),
      date: new Date().toISOString(), command: `node bench/accuracy.js ${process.argv.slice(2).join(' ')}`.trim(), runs,
    }, null, 1));
  }
  const finals = runs.map((r) => r.final);
  const mean = finals.reduce((a, b) => a + b, 0) / finals.length;
  console.log(`\n${v.model}, ${patience !== undefined ? `up to ${epochs} epochs, early stopping ${patience}` : `${epochs} epochs`}: test accuracy mean ${mean.toFixed(4)}, min ${Math.min(...finals).toFixed(4)}, ` +
    `max ${Math.max(...finals).toFixed(4)} over ${finals.length} seeds (${out})`);
}

main().catch((e) => { console.error(e); process.exit(1); });
