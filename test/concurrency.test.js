// Several models training at once in one process, and the API inside worker_threads.
'use strict';
const t = require('tap');
const path = require('path');
const { Worker } = require('worker_threads');
const tf = require('..');
const { quadrants, seedModel } = require('./helpers/toy');

let native = true;
try { tf.setBackend('native'); } catch { native = false; }

async function trainOne(seed, data) {
  tf.setSeed(seed);
  const m = seedModel();
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return { m, run: () => m.fit(data.x, data.y, { epochs: 2, batchSize: 16, verbose: 0, seed }) };
}

t.test('two models train concurrently without interfering', async (t) => {
  const data = quadrants(128, 21);
  const a = await trainOne(1, data);
  const b = await trainOne(2, data);
  await Promise.all([a.run(), b.run()]);
  const ref1 = await trainOne(1, data);
  await ref1.run();
  const ref2 = await trainOne(2, data);
  await ref2.run();
  const same = (x, y) => x.getWeights().every((w, i) => {
    const u = w.dataSync(), v = y.getWeights()[i].dataSync();
    return u.every((e, k) => Math.abs(e - v[k]) < 1e-6);
  });
  t.ok(same(a.m, ref1.m), 'model A matches its solo run');
  t.ok(same(b.m, ref2.m), 'model B matches its solo run');
});

t.test('predictAsync while fit runs is queued between steps', async (t) => {
  const data = quadrants(256, 4);
  tf.setSeed(9);
  const m = seedModel();
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const fit = m.fit(data.x, data.y, { epochs: 2, batchSize: 8, verbose: 0 });
  const preds = [];
  for (let i = 0; i < 5; i++) preds.push(m.predictAsync(data.x));
  const results = await Promise.all(preds);
  await fit;
  t.ok(results.every((p) => p.shape[0] === 256), 'predictions completed during training');
  t.throws(() => m.setWeights(m.getWeights().slice(1)), /the model has 4 weights/);
});

t.test('the API works inside worker_threads', { skip: !native && 'native unavailable' }, async (t) => {
  const code = `
    const { parentPort } = require('worker_threads');
    const tf = require(${JSON.stringify(path.join(__dirname, '..'))});
    const { quadrants, seedModel } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'toy.js'))});
    (async () => {
      tf.setSeed(5);
      const { x, y } = quadrants(200, 6);
      const m = seedModel();
      m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const h = await m.fit(x, y, { epochs: 4, batchSize: 16, verbose: 0 });
      parentPort.postMessage({ backend: tf.getBackend(), acc: h.history.acc[3] });
    })().catch((e) => parentPort.postMessage({ error: e.message }));`;
  const run = () => new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', resolve);
    w.once('error', reject);
  });
  const [r1, r2] = await Promise.all([run(), run()]);
  for (const r of [r1, r2]) {
    t.notOk(r.error, r.error);
    t.equal(r.backend, 'native');
    t.ok(r.acc > 0.6, `accuracy in the worker: ${r.acc}`);
  }
});

t.test('transferring a model buffer while a step runs never detaches the engine memory', async (t) => {
  const data = quadrants(256, 5);
  tf.setSeed(11);
  const m = seedModel();
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const params = m.flatParams;
  const n = params.length;
  let attempts = 0, refused = 0;
  const { port1, port2 } = new MessageChannel();
  // Node 20 copies an untransferable buffer named in a transfer list; Node >= 21 throws DataCloneError.
  const attempt = (f) => {
    attempts++;
    try { f(); } catch (e) { if (e.name !== 'DataCloneError') throw e; refused++; }
  };
  const transfer = () => {
    attempt(() => structuredClone(params.buffer, { transfer: [params.buffer] }));
    attempt(() => port1.postMessage(params.buffer, [params.buffer]));
  };
  // fit awaits each step, which runs on a worker thread: an immediate queued at batch begin runs
  // while that step is in flight.
  const onBatchBegin = async () => { setImmediate(transfer); };
  await m.fit(data.x, data.y, { epochs: 2, batchSize: 32, verbose: 0, seed: 11, callbacks: { onBatchBegin } });
  await new Promise((r) => setImmediate(r));
  port1.close();
  port2.close();
  t.ok(attempts >= 16, `${attempts} transfers were attempted during the steps (${refused} refused by this Node, the rest copied)`);
  t.equal(params.length, n, 'the params buffer is still attached');
  t.ok(m.flatParams === params && params.every(Number.isFinite), 'the model trains on the same, finite params');
  const loss = m.evaluate(data.x, data.y); // one tensor: compiled without metrics
  t.ok(Number.isFinite(loss.dataSync()[0]), 'the model still evaluates');
});
