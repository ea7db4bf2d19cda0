'use strict';
// One rank of a data-parallel test run (test/distributed.test.js):
//   node dist_worker.js <net seed|conv2> <rank> <world> <store url|-> <per-rank batch> <out.json> [--kill-at-step K]
// Trains the net on fixed synthetic data with a fixed seed; world 1 with store '-' is the
// single-process reference (no group). Writes the final flat parameters and the history.
const fs = require('fs');
const tf = require('../..');

const [net, rankS, worldS, store, batchS, out, ...rest] = process.argv.slice(2);
const rank = Number(rankS), world = Number(worldS), batch = Number(batchS);
const killAt = rest[0] === '--kill-at-step' ? Number(rest[1]) : -1;
const writers = rest[0] === '--writers' ? rest[1] : null; // a folder every rank names: only rank 0 may write there
const backup = rest[0] === '--backup' ? rest[1] : null; // backupAndRestore there; rank 1 dies in epoch 2 when rest[2] is 'kill'
const killSecond = backup !== null && rest[2] === 'kill';
const datasetRows = rest[0] === '--dataset' ? Number(rest[1]) : 0; // fitDataset on the first N rows, this rank's shard of each global batch

function model() {
  tf.setSeed(11);
  const L = tf.layers;
  const layers = net === 'seed'
    ? [L.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'relu' }), L.maxPooling2d({ poolSize: 2 }), L.flatten(),
      L.dense({ units: 10, activation: 'softmax' })]
    : [L.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 5, padding: 'same', activation: 'relu' }), L.maxPooling2d({ poolSize: 2 }),
      L.conv2d({ filters: 8, kernelSize: 5, padding: 'same', activation: 'relu' }), L.maxPooling2d({ poolSize: 2 }), L.flatten(),
      L.dense({ units: 16, activation: 'relu' }), L.dense({ units: 10, activation: 'softmax' })];
  const m = tf.sequential({ layers });
  m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

(async () => {
  tf.setBackend(process.env.CNN_TEST_BACKEND || 'native');
  tf.setNumThreads(1);
  if (store !== '-') await tf.distributed.init({ rank, worldSize: world, store, timeoutMs: Number(process.env.CNN_TEST_TIMEOUT || 20000) });
  let syncRefused = null;
  if (store !== '-') { // a blocking allreduce is refused while an async one is in flight
    const a = new Float32Array([rank + 1]);
    const pending = tf.distributed.allreduce(a);
    try { tf.distributed.allreduceSync(new Float32Array(1)); } catch (e) { syncRefused = e.message; }
    await pending;
    const b = new Float32Array([rank + 1]);
    tf.distributed.allreduceSync(b, 'max');
    if (a[0] !== (world * (world + 1)) / 2 || b[0] !== world) throw new Error(`allreduce gave ${a[0]}, allreduceSync ${b[0]}`);
  }
  const m = model();
  const n = 52; // not a multiple of the global batch: the last batch is shared unevenly
  const x = tf.randomUniform([n, 12, 12, 1], 0, 1, 'float32', 3);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => (i * 7) % 10), 'int32'), 10).cast('float32');
  let callbacks = killAt >= 0 && rank === 1 ? { onBatchEnd: (b) => { if (b === killAt) process.kill(process.pid, 'SIGKILL'); } } : undefined;
  if (backup) {
    let epoch = 0;
    callbacks = [tf.callbacks.backupAndRestore({ backupDir: backup }), {
      onEpochBegin: (e) => { epoch = e; },
      onBatchEnd: (b) => { if (killSecond && rank === 1 && epoch === 1 && b === 2) process.kill(process.pid, 'SIGKILL'); },
    }];
  }
  if (writers) {
    callbacks = [tf.callbacks.csvLogger(`${writers}/log.csv`), tf.callbacks.modelCheckpoint(`file://${writers}/ckpt-{epoch}`),
      tf.node.tensorBoard(`${writers}/tb`), tf.callbacks.backupAndRestore({ backupDir: `${writers}/backup`, deleteCheckpoint: false })];
  }
  if (datasetRows > 0) {
    const xs = x.arraySync().slice(0, datasetRows);
    const ys = y.arraySync().slice(0, datasetRows);
    const mine = [];
    for (let i = 0; i < datasetRows; i++) if (Math.floor((i % (batch * world)) / batch) === rank) mine.push(i);
    const ds = tf.data.zip({ xs: tf.data.array(mine.map((i) => xs[i])), ys: tf.data.array(mine.map((i) => ys[i])) }).batch(batch);
    const h = await m.fitDataset(ds, { epochs: 2, verbose: 0 });
    fs.writeFileSync(out, JSON.stringify({ params: Array.from(m.flatParams), history: h.history }));
    tf.distributed.destroy();
    return;
  }
  // validation (13 samples: uneven shards) and evaluateAsync are averaged over the ranks
  const xv = x.slice([0], [13]);
  const yv = y.slice([0], [13]);
  const h = await m.fit(x, y, { epochs: 2, batchSize: batch, seed: 5, verbose: 0, callbacks, validationData: [xv, yv] });
  const ev = (await m.evaluateAsync(x, y)).map((t) => t.dataSync()[0]);
  const evSync = m.evaluate(x, y).map((t) => t.dataSync()[0]); // blocking collective under a group
  // evaluateDataset: each rank reads its own rows (i % world == rank); averaged over all of them
  const xs = x.arraySync(), ys = y.arraySync();
  const mine = xs.map((_, i) => i).filter((i) => i % world === rank);
  const ds = tf.data.zip({ xs: tf.data.array(mine.map((i) => xs[i])), ys: tf.data.array(mine.map((i) => ys[i])) }).batch(5);
  const evDs = (await m.evaluateDataset(ds)).map((t) => t.dataSync()[0]);
  fs.writeFileSync(out, JSON.stringify({ params: Array.from(m.flatParams), history: h.history, evaluate: ev, evaluateSync: evSync, evaluateDataset: evDs, syncRefused }));
  tf.distributed.destroy();
})().catch((e) => {
  fs.writeFileSync(out, JSON.stringify({ error: e.message }));
  process.exitCode = 3;
});
