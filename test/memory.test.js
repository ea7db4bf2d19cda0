'use strict';
// Resource use: no memory growth across 100 epochs on one model; native memory released by
// dispose(), and by the Network objects' finalizer when the user forgets to dispose (with and
// without an explicit gc: the binding tells V8 how much native memory a network holds, so the
// garbage collector runs when it grows). Each group runs in a fresh child process (--expose-gc) so
// that its RSS is its own. Bounds are generous; bench/ records the exact figures.

const path = require('path');
const { isolated } = require('./helpers/isolate');

const ROOT = path.join(__dirname, '..');
const MB = 2 ** 20;

function usage() {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return { rss: m.rss / MB, heap: m.heapUsed / MB, buffers: m.arrayBuffers / MB };
}
const fmt = (x) => x.toFixed(1);
const tick = () => new Promise((r) => setImmediate(r));

async function epochsGroup(a, backend) {
  const tf = require(ROOT);
  tf.setBackend(backend);
  tf.setSeed(3);
  const { quadrants, seedModel } = require('./helpers/toy');
  const { x, y } = quadrants(256, 1);
  const m = seedModel();
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const args = { batchSize: 32, verbose: 0, validationSplit: 0.25 };
  await m.fit(x, y, { ...args, epochs: 5 });
  const u0 = usage();
  a.case(`${backend}: one fit of 100 epochs`);
  const h = await m.fit(x, y, { ...args, epochs: 100 });
  const u1 = usage();
  a.ok(h.history.loss.length === 100 && h.history.loss.every(Number.isFinite), '100 epochs trained');
  a.comment(`RSS ${fmt(u0.rss)} -> ${fmt(u1.rss)} MB, JS heap ${fmt(u0.heap)} -> ${fmt(u1.heap)} MB, ArrayBuffers ${fmt(u0.buffers)} -> ${fmt(u1.buffers)} MB`);
  a.ok(u1.rss - u0.rss < 40, `RSS grew ${fmt(u1.rss - u0.rss)} MB (bound 40)`);
  a.ok(u1.heap - u0.heap < 8, `JS heap grew ${fmt(u1.heap - u0.heap)} MB (bound 8)`);
  a.ok(u1.buffers - u0.buffers < 4, `ArrayBuffers grew ${fmt(u1.buffers - u0.buffers)} MB (bound 4)`);
  a.case(`${backend}: 100 fit calls of one epoch, with predict and evaluate`);
  for (let i = 0; i < 100; i++) {
    await m.fit(x, y, { ...args, epochs: 1 });
    m.predict(x);
    await m.evaluateAsync(x, y);
  }
  const u2 = usage();
  a.comment(`RSS ${fmt(u1.rss)} -> ${fmt(u2.rss)} MB, JS heap ${fmt(u1.heap)} -> ${fmt(u2.heap)} MB`);
  a.ok(u2.rss - u1.rss < 40, `RSS grew ${fmt(u2.rss - u1.rss)} MB (bound 40)`);
  a.ok(u2.heap - u1.heap < 8, `JS heap grew ${fmt(u2.heap - u1.heap)} MB (bound 8)`);
}

/**
 * Creates, trains and predicts with `count` models whose native arenas are ~60 MB each, releasing
 * each one by `how`: 'dispose', 'gc' (forgotten, explicit gc) or 'forget' (forgotten, no gc call).
 * Returns the RSS growth after the first model and the peak and final growth.
 */
async function churn(how, count) {
  const tf = require(ROOT);
  tf.setBackend('native');
  const n = 64;
  const x = tf.randomUniform([n, 48, 48, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor(Array.from({ length: n }, (_, i) => i % 10), [n], 'int32'), 10);
  const make = () => {
    const m = tf.sequential({ layers: [
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [48, 48, 3] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ] });
    m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    return m;
  };
  const r0 = usage().rss;
  let first = 0;
  let peak = 0;
  for (let i = 0; i < count; i++) {
    let m = make();
    await m.trainOnBatch(x, y);
    m.predict(x);
    if (i === 0) first = process.memoryUsage().rss / MB - r0;
    if (how === 'dispose') m.dispose();
    m = null;
    if (how === 'gc') global.gc();
    await tick();
    peak = Math.max(peak, process.memoryUsage().rss / MB - r0);
  }
  for (let i = 0; i < 3; i++) {
    global.gc();
    await tick();
  }
  return { first, peak, final: process.memoryUsage().rss / MB - r0 };
}

async function churnGroup(a, how, peakFactor) {
  let native = true;
  try {
    require(path.join(ROOT, 'dist', 'backend')).backendKernels('native');
  } catch {
    native = false;
  }
  if (!native) {
    a.skip('native addon unavailable');
    return;
  }
  const count = 14;
  a.case(`${count} models, ${how}`);
  const r = await churn(how, count);
  a.comment(`one model: ${fmt(r.first)} MB; peak growth ${fmt(r.peak)} MB; after a final gc ${fmt(r.final)} MB`);
  a.ok(r.first > 20, `a model's native buffers are large enough to see (${fmt(r.first)} MB)`);
  a.ok(r.peak < peakFactor * r.first, `peak growth ${fmt(r.peak)} MB stays below ${peakFactor} models' worth (a leak would reach ${count})`);
  a.ok(r.final < 3 * r.first, `after a final gc ${fmt(r.final)} MB stays below 3 models' worth`);
}

isolated(__filename, {
  '100 epochs (native)': (a) => epochsGroup(a, 'native'),
  '100 epochs (js)': (a) => epochsGroup(a, 'js'),
  'dispose() frees native memory': (a) => churnGroup(a, 'dispose', 3),
  'forgotten models are freed by the finalizer (explicit gc)': (a) => churnGroup(a, 'gc', 4),
  'forgotten models are freed by the finalizer (no gc call)': (a) => churnGroup(a, 'forget', 7),
}, { execArgv: ['--expose-gc'], timeoutMs: 60000 });
