'use strict';
// Worker: TensorFlow.js (@tensorflow/tfjs) on its pure-JS "cpu" backend, same models and modes as
// bench/workers/cnn_node.js (train: trainOnBatch with Adam; infer: predict).
//   node bench/workers/tfjs.js --model seed|convnet --mode train|infer --batch B [timing options]
//        [--warmup-batch W]   warm up with one step on W images instead of warm-up steps at B
// Its "wasm" backend has no gradients for Conv2D (it cannot train a CNN) and tfjs-node downloads
// libtensorflow at install time (it fails offline), so "cpu" is the backend measured here.
const { parseArgs, timeSteps, summarise, rssMB, runWorker } = require('../lib/harness');
const { MODELS, INPUT, CLASSES, randomData, randomLabels } = require('../lib/models');

const opts = parseArgs(process.argv.slice(2));

function build(tf, name) {
  const model = tf.sequential();
  MODELS[name].forEach((l, i) => {
    const first = i === 0 ? { inputShape: INPUT } : {};
    if (l.type === 'conv') model.add(tf.layers.conv2d({ filters: l.filters, kernelSize: l.kernel, padding: l.padding, activation: l.act, ...first }));
    else if (l.type === 'pool') model.add(tf.layers.maxPooling2d({ poolSize: l.size }));
    else if (l.type === 'flatten') model.add(tf.layers.flatten());
    else if (l.type === 'dense') model.add(tf.layers.dense({ units: l.units, activation: l.act, ...first }));
  });
  return model;
}

async function main() {
  const rss0 = rssMB();
  // tfjs greets Node users on the console; keep stdout for the result line
  const log = console.log;
  console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
  const tf = require('@tensorflow/tfjs');
  console.log = log;
  await tf.setBackend('cpu');
  await tf.ready();
  const B = opts.batch;
  const model = build(tf, opts.model);
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
  const rssBase = rssMB();
  const timing = { warmupMs: opts['warmup-ms'], measureMs: opts['measure-ms'], minSteps: opts['min-steps'], warmupSteps: opts['warmup-steps'] };
  for (const k of Object.keys(timing)) if (timing[k] === undefined) delete timing[k];
  const info = { backend: `tfjs-${tf.getBackend()}`, version: tf.version.tfjs, threads: 1, rssStartMB: rss0, rssModelMB: rssBase };
  const x = tf.tensor4d(randomData(B * 784), [B, ...INPUT]);
  const wb = opts['warmup-batch'];
  if (wb && wb !== B) {
    // one step on a few images warms the kernels up; the measured steps then skip the warm-up
    const xw = tf.tensor4d(randomData(wb * 784), [wb, ...INPUT]);
    if (opts.mode === 'train') await model.trainOnBatch(xw, tf.tensor2d(randomLabels(wb).onehot, [wb, CLASSES]));
    else model.predict(xw).dataSync();
    timing.warmupSteps = 0;
    timing.warmupMs = 0;
  }
  if (opts.mode === 'train') {
    const y = tf.tensor2d(randomLabels(B).onehot, [B, CLASSES]);
    const times = await timeSteps(() => model.trainOnBatch(x, y), timing);
    return { ...info, ...summarise(times, B), tensorsLeft: tf.memory().numTensors };
  }
  if (opts.mode === 'infer') {
    const times = await timeSteps(() => {
      const out = model.predict(x, { batchSize: B });
      out.dataSync();
      out.dispose();
    }, timing);
    return { ...info, ...summarise(times, B) };
  }
  throw new Error(`unknown mode ${opts.mode}`);
}

runWorker(main);
