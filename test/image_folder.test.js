// tf.data.imageFolder on a temp folder of PNG and JPEG files the test writes: class names and
// labels, resizing (checked against decodeImage + resizeBilinear), batches, the seeded split,
// fitDataset on it, and the errors.
'use strict';
const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tf = require('..');

/** Class 'left' is bright on the left half, 'right' on the right half; noise from a fixed seed. */
let s = 5;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
function picture(cls, h, w, c) {
  const v = new Int32Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    const bright = (x < w / 2) === (cls === 'left');
    v[(y * w + x) * c + k] = k === 3 ? 255 : Math.round(bright ? 200 + rnd() * 55 : rnd() * 60);
  }
  return new tf.Tensor(v, [h, w, c], 'int32');
}

async function makeFolder(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-imgf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const cls of ['right', 'left']) {
    fs.mkdirSync(path.join(dir, cls, 'more'), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const [h, w] = [[10, 14], [16, 16], [8, 8], [20, 12]][i % 4];
      const c = [3, 1, 4][i % 3];
      const img = picture(cls, h, w, c);
      const sub = i >= 10 ? 'more' : '';
      if (i % 4 === 3 && c !== 4) fs.writeFileSync(path.join(dir, cls, sub, `img${i}.JPG`), await tf.node.encodeJpeg(img, '', 95));
      else fs.writeFileSync(path.join(dir, cls, sub, `img${i}.png`), await tf.node.encodePng(img));
    }
    fs.writeFileSync(path.join(dir, cls, 'notes.txt'), 'not an image');
  }
  fs.writeFileSync(path.join(dir, 'stray.png'), await tf.node.encodePng(picture('left', 4, 4, 3)));
  return dir;
}

t.test('classes, labels, batches and resizing', async (t) => {
  const dir = await makeFolder(t);
  const ds = tf.data.imageFolder(dir, { imageSize: [8, 6], batchSize: 5, seed: 1 });
  t.same(ds.classNames, ['left', 'right'], 'sorted subfolder names');
  t.equal(ds.filePaths.length, 24, '12 images per class, subfolders walked, .txt and top-level files ignored');
  t.equal(ds.size, 5, 'ceil(24 / 5) batches');
  const batches = await ds.toArray();
  t.same(batches.map((b) => b.xs.shape), [[5, 8, 6, 3], [5, 8, 6, 3], [5, 8, 6, 3], [5, 8, 6, 3], [4, 8, 6, 3]]);
  t.ok(batches.every((b) => b.ys.dtype === 'int32' && b.ys.rank === 1));
  const labels = batches.flatMap((b) => Array.from(b.ys.dataSync()));
  t.same(labels.filter((l) => l === 0).length, 12);
  const again = (await ds.toArray()).flatMap((b) => Array.from(b.ys.dataSync()));
  t.notSame(again, labels, 'each pass reshuffles');

  const plain = tf.data.imageFolder(dir, { imageSize: [8, 6], batchSize: null, shuffle: false, labelMode: 'categorical' });
  const first = (await plain.take(1).toArray())[0];
  const file = plain.filePaths[0];
  t.equal(path.relative(dir, file), path.join('left', 'img0.png'), 'unshuffled: class by class, sorted');
  const want = tf.image.resizeBilinear(tf.node.decodeImage(fs.readFileSync(file), 3), [8, 6], false, true);
  t.same(first.xs.shape, [8, 6, 3]);
  t.same(Array.from(first.xs.dataSync()), Array.from(want.dataSync()), 'decodeImage + resizeBilinear (half-pixel centres)');
  t.same(Array.from(first.ys.dataSync()), [1, 0], 'categorical: one-hot');
  const gray = (await tf.data.imageFolder(dir, { imageSize: [4, 4], channels: 1, batchSize: 24 }).toArray())[0];
  t.same(gray.xs.shape, [24, 4, 4, 1]);
  const v = gray.xs.dataSync();
  t.ok(v.every((x) => x >= 0 && x <= 255), 'values in 0..255');
  t.same(tf.data.imageFolder(dir, { classNames: ['right'], batchSize: 4 }).filePaths.length, 12, 'classNames picks subfolders');
  const bin = (await tf.data.imageFolder(dir, { imageSize: [4, 4], labelMode: 'binary', batchSize: 24, shuffle: false }).toArray())[0];
  t.same(bin.ys.shape, [24, 1]);
  t.equal(bin.ys.dtype, 'float32');
  t.same(Array.from(bin.ys.dataSync()), [...new Array(12).fill(0), ...new Array(12).fill(1)], "binary: 0 for 'left', 1 for 'right'");
  const one = (await tf.data.imageFolder(dir, { imageSize: [4, 4], batchSize: null }).take(1).toArray())[0];
  t.same([one.xs.shape, one.ys.shape, one.ys.dtype], [[4, 4, 3], [], 'int32'], 'batchSize null: single elements, scalar int label');
});

t.test('seeded split and fitDataset', async (t) => {
  const dir = await makeFolder(t);
  const opts = { imageSize: [8, 8], channels: 1, labelMode: 'categorical', batchSize: 6, seed: 42, validationSplit: 0.25 };
  const train = tf.data.imageFolder(dir, { ...opts, subset: 'training' });
  const val = tf.data.imageFolder(dir, { ...opts, subset: 'validation' });
  t.equal(train.filePaths.length, 18);
  t.equal(val.filePaths.length, 6);
  t.same([...train.filePaths, ...val.filePaths].sort(), tf.data.imageFolder(dir, { shuffle: false }).filePaths.slice().sort(), 'disjoint, together every file');
  tf.setSeed(3);
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 2, activation: 'softmax' }),
  ] });
  // Dataset transforms work on it: scale to 0..1.
  const scale = ({ xs, ys }) => ({ xs: new tf.Tensor(xs.dataSync().map((v) => v / 255), xs.shape, 'float32'), ys });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const h = await model.fitDataset(train.map(scale), { epochs: 8, validationData: val.map(scale), verbose: 0 });
  t.equal(h.epoch.length, 8);
  t.ok(h.history.loss[7] < h.history.loss[0], `loss falls: ${h.history.loss[0].toFixed(3)} -> ${h.history.loss[7].toFixed(3)}`);
  t.ok(h.history.val_acc.at(-1) >= 0.8, `validation accuracy ${h.history.val_acc.at(-1)}`);
  // int labels with sparseCategoricalCrossentropy, batched by the Dataset instead.
  const sparse = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 1] }), tf.layers.dense({ units: 2, activation: 'softmax' })] });
  sparse.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const ints = tf.data.imageFolder(dir, { ...opts, labelMode: 'int', batchSize: null, subset: 'training' }).map(scale).batch(6);
  const hs = await sparse.fitDataset(ints, { epochs: 6, verbose: 0 });
  t.ok(hs.history.loss[5] < hs.history.loss[0], `sparse labels train: ${hs.history.loss[0].toFixed(3)} -> ${hs.history.loss[5].toFixed(3)}`);
});

t.test('errors name the folder, option or file', async (t) => {
  const dir = await makeFolder(t);
  t.throws(() => tf.data.imageFolder(path.join(dir, 'nope')), /imageFolder: cannot read the folder .*nope/);
  t.throws(() => tf.data.imageFolder(path.join(dir, 'left', 'more')), /has no subfolders/);
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(path.join(empty, 'a'), { recursive: true });
  t.throws(() => tf.data.imageFolder(empty), /found no images \(\.png, \.jpg, \.jpeg\)/);
  t.throws(() => tf.data.imageFolder(dir, { imageSize: [8] }), /imageSize must be \[height, width\]/);
  t.throws(() => tf.data.imageFolder(dir, { channels: 2 }), /channels must be 1 or 3 or 4, received 2/);
  t.throws(() => tf.data.imageFolder(dir, { labelMode: 'sparse' }), /labelMode must be "int" or "categorical" or "binary", received "sparse"/);
  t.throws(() => tf.data.imageFolder(dir, { labelMode: 'binary', classNames: ['left'] }), /labelMode 'binary' needs exactly 2 classes/);
  t.throws(() => tf.data.imageFolder(dir, { validationSplit: 0.2, seed: 1 }), /subset must be 'training' or 'validation'/);
  t.throws(() => tf.data.imageFolder(dir, { validationSplit: 0.2, subset: 'training' }), /give a seed/);
  t.throws(() => tf.data.imageFolder(dir, { subset: 'training' }), /needs validationSplit/);
  t.throws(() => tf.data.imageFolder(dir, { classNames: ['left', 'cow'] }), /classNames "cow" are not subfolders/);
  t.throws(() => tf.data.imageFolder(dir, { batchSize: 0 }), /batchSize must be a positive integer or null/);
  fs.writeFileSync(path.join(dir, 'left', 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nxxxx', 'latin1'));
  const ds = tf.data.imageFolder(dir, { shuffle: false, batchSize: 100 });
  await t.rejects(ds.toArray(), /imageFolder: .*broken\.png: decodePng: invalid or corrupt PNG data/);
});
