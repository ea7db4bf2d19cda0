'use strict';
// Data-parallel fit over Gloo (tf.distributed): with the same seed, N processes with per-rank
// batch B end with the same weights (and logs) as one process with batch N*B, for 2 and 4
// processes on the seed net and a 2-conv net, through a file store and a Redis store; a rank
// killed mid-epoch makes the others fail fast with a clear error; mismatched batch sizes are
// refused. Needs the optional addon (npm run build:gloo); skipped by name without it.
const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const tf = require('..');

const root = path.join(__dirname, '..');
const worker = path.join(__dirname, 'helpers', 'dist_worker.js');
const addon = process.env.CNN_GLOO_PATH || path.join(root, 'build-gloo', 'Release', 'cnn_gloo.node');
const haveAddon = fs.existsSync(addon);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-dist-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

let runs = 0;
/** Starts `world` ranks (or the reference when store is '-'); resolves to their results. */
function launch(net, world, store, batch, extra = [], env = {}) {
  const id = ++runs;
  return Promise.all(Array.from({ length: world }, (_, r) => new Promise((resolve) => {
    const out = path.join(tmp, `run${id}-rank${r}.json`);
    const p = spawn(process.execPath, [worker, net, String(r), String(world), store, String(batch), out, ...extra],
      { env: { ...process.env, CNN_NUM_THREADS: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code, signal) => {
      const res = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : {};
      resolve({ code, signal, stderr: err, ...res });
    });
  })));
}

function maxDiff(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

t.test('without the addon, init says how to get it', { skip: haveAddon ? 'the addon is built here' : false }, async (t) => {
  await t.rejects(tf.distributed.init({ rank: 0, worldSize: 1, store: `file://${tmp}` }), /npm run build:gloo.*libgloo-dev/);
});

t.test('init argument errors', async (t) => {
  await t.rejects(tf.distributed.init({ rank: 0, store: `file://${tmp}` }), /worldSize is not given \(pass \{worldSize\} or set CNN_WORLD_SIZE\)/);
  await t.rejects(tf.distributed.init({ rank: 2, worldSize: 2, store: `file://${tmp}` }), /rank 2 is not in \[0, 2\)/);
  await t.rejects(tf.distributed.init({ rank: 0, worldSize: 2, store: 'ftp://x' }), /store must be 'file:\/\/\/dir' or 'redis:\/\/host:port\[\/prefix\]'/);
  await t.rejects(tf.distributed.init({ rank: 0, worldSize: 2, store: 'file://relative' }), /absolute directory/);
  t.equal(tf.distributed.rank(), 0);
  t.equal(tf.distributed.worldSize(), 1);
  t.notOk(tf.distributed.isInitialized());
  t.throws(() => tf.distributed.barrier(), /call distributed.init\(\) first/);
});

const gloo = haveAddon ? false : 'the optional Gloo addon is not built (npm run build:gloo; apt-get install libgloo-dev)';

for (const net of ['seed', 'conv2']) {
  for (const world of [2, 4]) {
    t.test(`${net} net: ${world} ranks x batch 4 == 1 process x batch ${4 * world} (file store)`, { skip: gloo }, async (t) => {
      const store = fs.mkdtempSync(path.join(tmp, 'store-'));
      const [ref] = await launch(net, 1, '-', 4 * world);
      t.notOk(ref.error, ref.error || 'reference trained');
      const ranks = await launch(net, world, `file://${store}`, 4);
      for (const [r, res] of ranks.entries()) {
        t.equal(res.code, 0, `rank ${r} exits 0 ${res.error || res.stderr.slice(-300)}`);
        if (!res.params) continue;
        t.equal(maxDiff(res.params, ranks[0].params), 0, `rank ${r} holds exactly rank 0's weights`);
      }
      if (!ranks[0].params || !ref.params) return;
      const d = maxDiff(ranks[0].params, ref.params);
      t.ok(d < 2e-5, `weights equal the single process's (max difference ${d.toExponential(2)})`);
      for (const k of ['loss', 'acc', 'val_loss', 'val_acc']) {
        t.ok(maxDiff(ranks[0].history[k], ref.history[k]) < 1e-5, `epoch ${k} logs are the global ones: ${ranks[0].history[k]} vs ${ref.history[k]}`);
      }
      t.match(ranks[0].syncRefused, /allreduceSync: an asynchronous collective is still in flight; await it first/);
      for (const res of ranks) {
        t.ok(maxDiff(res.evaluate, ref.evaluate) < 1e-5, `evaluateAsync averages over the ranks: ${res.evaluate} vs ${ref.evaluate}`);
        t.ok(maxDiff(res.evaluateSync, ref.evaluate) < 1e-5, `evaluate averages over the ranks: ${res.evaluateSync} vs ${ref.evaluate}`);
        t.ok(maxDiff(res.evaluateDataset, ref.evaluate) < 1e-5, `evaluateDataset averages the ranks' datasets: ${res.evaluateDataset} vs ${ref.evaluate}`);
      }
    });
  }
}

const redis = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
t.test('a Redis store', { skip: gloo || (redis ? false : 'redis-server is not installed (apt-get install redis-server)') }, async (t) => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const srv = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  t.teardown(() => srv.kill());
  for (let i = 0; i < 50; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const [ref] = await launch('conv2', 1, '-', 8);
  const ranks = await launch('conv2', 2, `redis://127.0.0.1:${port}/t${process.pid}`, 4);
  t.same(ranks.map((r) => r.code), [0, 0], ranks.map((r) => r.error || '').join(' '));
  if (ranks[0].params) t.ok(maxDiff(ranks[0].params, ref.params) < 2e-5, 'same weights as one process with batch 8');
});

t.test('rank 0 alone writes the callbacks\' files (csvLogger, modelCheckpoint, tensorBoard, backupAndRestore)', { skip: gloo }, async (t) => {
  const store = fs.mkdtempSync(path.join(tmp, 'store-'));
  const dir = fs.mkdtempSync(path.join(tmp, 'writers-'));
  const ranks = await launch('seed', 2, `file://${store}`, 4, ['--writers', dir]);
  t.same(ranks.map((r) => r.code), [0, 0], ranks.map((r) => r.error || r.stderr.slice(-300)).join(' '));
  const rows = fs.readFileSync(path.join(dir, 'log.csv'), 'utf8').trim().split('\n');
  t.equal(rows.length, 3, 'one header and one row per epoch (a second writer would double them)');
  t.match(rows[0], /^epoch,acc,loss/);
  t.ok(fs.existsSync(path.join(dir, 'ckpt-2', 'model.json')), 'the checkpoint of the last epoch');
  t.equal(fs.readdirSync(path.join(dir, 'tb', 'train')).length, 1, 'one TensorBoard event file');
  t.ok(fs.existsSync(path.join(dir, 'backup')), 'the backup');
});

t.test('a rank killed mid-epoch: the other fails fast with a clear error, no hang', { skip: gloo }, async (t) => {
  const store = fs.mkdtempSync(path.join(tmp, 'store-'));
  const t0 = Date.now();
  const [r0, r1] = await launch('seed', 2, `file://${store}`, 4, ['--kill-at-step', '2'], { CNN_TEST_TIMEOUT: '5000' });
  const ms = Date.now() - t0;
  t.equal(r1.signal, 'SIGKILL', 'rank 1 was killed');
  t.equal(r0.code, 3, 'rank 0 fit rejected');
  t.match(r0.error, /fit: the gradient allreduce of step \d+ failed \(a rank stopped, timed out or lost its connection\)/);
  t.ok(ms < 30000, `within the timeout and slack (${ms} ms)`);
});

t.test('a run killed in epoch 2 restarts from the backup of epoch 1 and ends as an uninterrupted run', { skip: gloo }, async (t) => {
  const [ref] = await launch('seed', 1, '-', 8);
  const backup = fs.mkdtempSync(path.join(tmp, 'backup-'));
  const first = await launch('seed', 2, `file://${fs.mkdtempSync(path.join(tmp, 'store-'))}`, 4, ['--backup', backup, 'kill'], { CNN_TEST_TIMEOUT: '5000' });
  t.equal(first[1].signal, 'SIGKILL', 'rank 1 died in epoch 2');
  t.equal(first[0].code, 3, 'rank 0 failed');
  const again = await launch('seed', 2, `file://${fs.mkdtempSync(path.join(tmp, 'store-'))}`, 4, ['--backup', backup]);
  t.same(again.map((r) => r.code), [0, 0], again.map((r) => r.error || '').join(' '));
  if (!again[0].params) return;
  t.same(again[0].history.loss.length, 1, 'the restarted run trained only epoch 2');
  const d = maxDiff(again[0].params, ref.params);
  t.ok(d < 2e-5, `weights equal the uninterrupted single-process run's (max difference ${d.toExponential(2)})`);
});

t.test('fitDataset: each rank reads its own shard; 2 ranks x batch 4 == 1 process x batch 8; uneven lengths stop together', { skip: gloo }, async (t) => {
  const [ref] = await launch('seed', 1, '-', 8, ['--dataset', '48']);
  const ranks = await launch('seed', 2, `file://${fs.mkdtempSync(path.join(tmp, 'store-'))}`, 4, ['--dataset', '48']);
  t.same(ranks.map((r) => r.code), [0, 0], ranks.map((r) => r.error || '').join(' '));
  if (ranks[0].params && ref.params) {
    const d = maxDiff(ranks[0].params, ref.params);
    t.ok(d < 2e-5, `weights equal the single process's (max difference ${d.toExponential(2)})`);
    t.ok(maxDiff(ranks[0].history.loss, ref.history.loss) < 1e-5, 'and the epoch losses');
  }
  // 52 rows: rank 0 reads 7 batches, rank 1 six; both stop after six
  const uneven = await launch('seed', 2, `file://${fs.mkdtempSync(path.join(tmp, 'store-'))}`, 4, ['--dataset', '52']);
  t.same(uneven.map((r) => r.code), [0, 0], uneven.map((r) => r.error || '').join(' '));
  if (uneven[0].params && uneven[1].params) t.equal(maxDiff(uneven[0].params, uneven[1].params), 0, 'the ranks end in step');
});

t.test('mismatched batch sizes are refused before any step', { skip: gloo }, async (t) => {
  // two ranks started by hand with different batch sizes
  const dir = fs.mkdtempSync(path.join(tmp, 'store-'));
  const out = (r) => path.join(tmp, `mismatch-${r}.json`);
  const procs = [4, 8].map((b, r) => new Promise((resolve) => {
    const p = spawn(process.execPath, [worker, 'seed', String(r), '2', `file://${dir}`, String(b), out(r)], { stdio: 'ignore', env: { ...process.env, CNN_NUM_THREADS: '1' } });
    p.on('close', (code) => resolve({ code, ...JSON.parse(fs.readFileSync(out(r), 'utf8')) }));
  }));
  const [a, b] = await Promise.all(procs);
  for (const x of [a, b]) {
    t.equal(x.code, 3);
    t.match(x.error, /fit: the 2 ranks disagree on batchSize \(this rank \d, others from 4 to 8\)/);
  }
});

t.test('engine: forwardBackwardAsync, getGrads, applyGradients(Async) == trainStep (both backends, chain and graph)', async (t) => {
  const backends = ['js'];
  try { tf.setBackend('native'); backends.unshift('native'); } catch { /* js only */ }
  const make = (graph) => {
    tf.setSeed(3);
    if (!graph) {
      return tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, activation: 'relu' }), tf.layers.flatten(),
        tf.layers.dense({ units: 3, activation: 'softmax' })] });
    }
    const x = tf.input({ shape: [6, 6, 1] });
    const c = tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same' }).apply(x);
    const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(tf.layers.flatten().apply(tf.layers.add().apply([c, x])));
    return tf.model({ inputs: x, outputs: out });
  };
  for (const be of backends) {
    tf.setBackend(be);
    for (const graph of [false, true]) {
      const x = tf.randomUniform([5, 6, 6, 1], 0, 1, 'float32', 9);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1], 'int32'), 3).cast('float32');
      const a = make(graph);
      const b = make(graph);
      b.setWeights(a.getWeights());
      for (const m of [a, b]) m.compile({ optimizer: tf.train.adam(0.05, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy' });
      await a.trainOnBatch(x, y);
      await a.trainOnBatch(x, y);
      b.build();
      const net = b.engine.compiled.net;
      const g = new Float32Array(net.paramCount);
      for (let step = 1; step <= 2; step++) {
        await net.forwardBackwardAsync(x.dataSync(), y.dataSync(), null, 5);
        net.getGrads(g);
        if (step === 1) net.applyGradients(g, 0.05, step);
        else await net.applyGradientsAsync(g, 0.05, step);
      }
      t.ok(maxDiff(a.flatParams, b.flatParams) < 1e-6, `${be} ${graph ? 'graph' : 'chain'}: the same weights after two steps`);
      t.throws(() => net.applyGradients(new Float32Array(1), 0.1, 1), /g/, 'a short gradient is refused');
      t.throws(() => net.applyGradients(g, 0.1, 0), /t/, 'and a step below 1');
      await t.rejects(net.applyGradientsAsync(new Float32Array(1), 0.1, 1), /g/, 'async: rejects a short gradient');
      a.dispose();
      b.dispose();
    }
  }
});
