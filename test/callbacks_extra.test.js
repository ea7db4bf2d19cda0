// callbacks.csvLogger (Keras CSVLogger layout) and callbacks.backupAndRestore: a fit interrupted
// at epoch 2 (a callback throws, or the signal aborts mid-epoch) and run again ends with the same
// weights, bit for bit, as an uninterrupted fit with the same seeds.
'use strict';
const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tf = require('..');
const { quadrants, seedModel } = require('./helpers/toy');

const tmp = (t) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-cb-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
};
const data = quadrants(96, 9);
function freshModel(optimizer = 'adam') {
  tf.setSeed(1234);
  const m = seedModel();
  m.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['acc'] });
  return m;
}
const FIT = { epochs: 5, batchSize: 16, seed: 77, verbose: 0 };
const flat = (m) => m.getWeights().flatMap((w) => Array.from(w.dataSync()));

t.test('csvLogger writes epoch + sorted keys, one row per epoch; append continues', async (t) => {
  const file = path.join(tmp(t), 'log.csv');
  const m = freshModel();
  const h = await m.fit(data.x, data.y, { ...FIT, epochs: 3, validationSplit: 0.25, callbacks: [tf.callbacks.csvLogger(file)] });
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  t.equal(lines[0], 'epoch,acc,loss,val_acc,val_loss');
  t.equal(lines.length, 4);
  lines.slice(1).forEach((l, e) => {
    const f = l.split(',');
    t.equal(f[0], String(e));
    t.same(f.slice(1).map(Number), [h.history.acc[e], h.history.loss[e], h.history.val_acc[e], h.history.val_loss[e]], `epoch ${e} values`);
  });
  await m.fit(data.x, data.y, { ...FIT, epochs: 2, callbacks: [tf.callbacks.csvLogger(file, { append: true })] });
  const more = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  t.equal(more.length, 6, 'two rows appended, no second header');
  t.same(more.slice(4).map((l) => l.split(',')[0]), ['0', '1']);
  t.equal(more[4].split(',').length, 3, 'the appending fit writes its own keys (no validation: acc, loss), as Keras does');
  await m.fit(data.x, data.y, { ...FIT, epochs: 1, callbacks: [tf.callbacks.csvLogger(file, { separator: ';' })] });
  const semi = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  t.equal(semi[0], 'epoch;acc;loss', 'no append: the file starts over');
  t.equal(semi.length, 2);
  t.throws(() => tf.callbacks.csvLogger(''), /csvLogger: filename must be a non-empty string/);
  t.throws(() => tf.callbacks.csvLogger(file, { separator: '' }), /separator must be a non-empty string/);
  t.throws(() => tf.callbacks.csvLogger(file, { append: 'yes' }), /append must be a boolean/);
});

t.test('backupAndRestore resumes an interrupted fit with identical final weights', async (t) => {
  const ref = freshModel();
  const hr = await ref.fit(data.x, data.y, FIT);
  const want = flat(ref);

  // 1. A callback throws at the end of epoch 2 (after the backup of epoch 2 was written).
  const dir = path.join(tmp(t), 'backup');
  const a = freshModel();
  const crash = { onEpochEnd: (e) => { if (e === 2) throw new Error('simulated crash'); } };
  await t.rejects(a.fit(data.x, data.y, { ...FIT, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir }), crash] }), /simulated crash/);
  t.same(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).epoch, 2, 'backup of epoch 2 kept after the crash');
  t.same(fs.readdirSync(dir).sort(), ['model-2.bin', 'state.json'], 'only the latest model file, no temp files');
  const b = freshModel(); // "a new process": same architecture and seeds
  const bk = tf.callbacks.backupAndRestore({ backupDir: dir });
  const hb = await b.fit(data.x, data.y, { ...FIT, callbacks: [bk] });
  t.equal(bk.resumedAt, 3);
  t.same(hb.epoch, [3, 4], 'History holds only the epochs run');
  t.same(hb.history.loss, hr.history.loss.slice(3), 'same losses as the uninterrupted fit');
  t.same(flat(b), want, 'same final weights, bit for bit');
  t.notOk(fs.existsSync(dir), 'backup deleted when fit finishes');

  // 2. The signal aborts in the middle of epoch 2: that partial epoch is not backed up.
  const c = freshModel();
  const ac = new AbortController();
  let epoch = 0;
  const stopper = { onEpochBegin: (e) => { epoch = e; }, onBatchEnd: (s) => { if (epoch === 2 && s === 1) ac.abort(); } };
  await c.fit(data.x, data.y, { ...FIT, signal: ac.signal, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir }), stopper] });
  t.same(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).epoch, 1, 'aborted: backup of epoch 1 kept');
  const d = freshModel();
  const hd = await d.fit(data.x, data.y, { ...FIT, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir, deleteCheckpoint: false })] });
  t.same(hd.epoch, [2, 3, 4]);
  t.same(flat(d), want, 'same final weights after an abort and resume');
  t.same(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).epoch, 4, 'deleteCheckpoint false keeps the last backup');

  // 3. A backup with every epoch done: fit runs nothing more.
  const e = freshModel();
  const he = await e.fit(data.x, data.y, { ...FIT, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir, deleteCheckpoint: false })] });
  t.same(he.epoch, []);
  t.same(flat(e), want);
});

t.test('backupAndRestore refuses bad arguments and foreign backups', async (t) => {
  t.throws(() => tf.callbacks.backupAndRestore(), /backupAndRestore: expected \{backupDir: 'folder'\}/);
  t.throws(() => tf.callbacks.backupAndRestore({}), /backupDir must be a non-empty string/);
  t.throws(() => tf.callbacks.backupAndRestore({ backupDir: 'x', saveFreq: 10 }), /saveFreq must be 'epoch'/);
  t.throws(() => tf.callbacks.backupAndRestore({ backupDir: 'x', deleteCheckpoint: 1 }), /deleteCheckpoint must be a boolean/);
  t.ok(tf.callbacks.backupAndRestore({ backup_dir: 'x', delete_checkpoint: false }).deleteCheckpoint === false, 'Keras spellings');
  const dir = path.join(tmp(t), 'b');
  const a = freshModel();
  await t.rejects(a.fit(data.x, data.y, { ...FIT, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir }), { onEpochEnd: () => { throw new Error('stop'); } }] }), /stop/);
  const sgd = freshModel('sgd');
  await t.rejects(sgd.fit(data.x, data.y, { ...FIT, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir })] }), /backupAndRestore: .*model-0\.bin: the backup was made with Adam, this model is compiled with SGD/);
  const other = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [12, 12, 1] }), tf.layers.dense({ units: 4, activation: 'softmax' })] });
  other.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  await t.rejects(other.fit(data.x, data.y, { ...FIT, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir })] }), /model-0\.bin does not fit this model/);
  fs.writeFileSync(path.join(dir, 'state.json'), '{"epoch": 1}');
  await t.rejects(freshModel().fit(data.x, data.y, { ...FIT, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir })] }), /state\.json is not a backup state written by this library/);
});

t.test('backupAndRestore resumes fitDataset too', async (t) => {
  const batches = [];
  for (let i = 0; i < 96; i += 32) batches.push({ xs: data.x.sliceRows ? data.x.sliceRows(i, 32) : data.x.slice([i], [32]), ys: data.y.sliceRows ? data.y.sliceRows(i, 32) : data.y.slice([i], [32]) });
  const ds = tf.data.array(batches);
  const ref = freshModel();
  await ref.fitDataset(ds, { epochs: 4, verbose: 0 });
  const dir = path.join(tmp(t), 'bd');
  const a = freshModel();
  await t.rejects(a.fitDataset(ds, { epochs: 4, verbose: 0, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir }), { onEpochEnd: (e) => { if (e === 1) throw new Error('crash'); } }] }), /crash/);
  const b = freshModel();
  const h = await b.fitDataset(ds, { epochs: 4, verbose: 0, callbacks: [tf.callbacks.backupAndRestore({ backupDir: dir })] });
  t.same(h.epoch, [2, 3]);
  t.same(flat(b), flat(ref), 'same final weights');
});
