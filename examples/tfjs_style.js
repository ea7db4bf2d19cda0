// A TF.js Layers training script: only the import differs from TF.js
// (`const tf = require('@tensorflow/tfjs-node')` there). Run: node examples/tfjs_style.js
'use strict';
const tf = require('cnn-node');
const os = require('os');
const path = require('path');

// Synthetic 16x16 images: a bright horizontal or vertical bar (2 classes) or a square (class 2).
function makeData(n, seed) {
  tf.setSeed(seed);
  const noise = tf.randomUniform([n, 16, 16, 1], 0, 0.2).dataSync();
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    const o = 3 + (i * 7) % 8;
    for (let k = 2; k < 14; k++) {
      const p = c === 0 ? o * 16 + k : c === 1 ? k * 16 + o : (4 + (k % 6)) * 16 + 4 + Math.floor(k / 2);
      noise[i * 256 + p] = 1;
    }
  }
  return { xs: tf.tensor4d(noise, [n, 16, 16, 1]), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) };
}

async function main() {
  const train = makeData(600, 1);
  const test = makeData(150, 2);

  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [16, 16, 1], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: 'heNormal' }));
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.maxPooling2d({ poolSize: [2, 2], strides: [2, 2] }));
  model.add(tf.layers.conv2d({ filters: 16, kernelSize: [3, 3], dilationRate: 1, useBias: false }));
  model.add(tf.layers.reLU());
  model.add(tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dropout({ rate: 0.2 }));
  model.add(tf.layers.dense({ units: 32, activation: 'elu' }));
  model.add(tf.layers.dense({ units: 3 }));
  model.add(tf.layers.activation({ activation: 'softmax' }));
  model.summary();

  model.compile({ optimizer: tf.train.adam(0.003), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const history = await model.fit(train.xs, train.ys, {
    epochs: 8,
    batchSize: 32,
    validationSplit: 0.15,
    shuffle: true,
    verbose: 0,
    callbacks: [
      tf.callbacks.earlyStopping({ monitor: 'val_acc', patience: 3, restoreBestWeights: true }),
      { onEpochEnd: async (epoch, logs) => console.log(`epoch ${epoch + 1}: loss ${logs.loss.toFixed(3)} acc ${logs.acc.toFixed(3)} val_acc ${logs.val_acc.toFixed(3)}`) },
    ],
  });
  const [loss, acc] = model.evaluate(test.xs, test.ys, { batchSize: 64 });
  console.log(`test loss ${loss.dataSync()[0].toFixed(4)}, accuracy ${acc.dataSync()[0].toFixed(4)}`);

  const dir = path.join(os.tmpdir(), `cnn-node-example-${process.pid}`);
  await model.save(`file://${dir}`);
  const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
  const a = model.predict(test.xs).dataSync();
  const b = loaded.predict(test.xs).dataSync();
  const same = a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
  console.log(`reloaded model predicts the same: ${same}`);
  const preds = tf.argMax(loaded.predict(test.xs.slice([0, 0, 0, 0], [5, 16, 16, 1])), -1).dataSync();
  console.log(`first predictions: ${Array.from(preds).join(' ')}`);
  if (acc.dataSync()[0] < 0.8 || !same || history.epoch.length < 1) process.exit(1);
}

main().catch((e) => { console.error(e); process.exit(1); });
