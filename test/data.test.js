// Data: IDX reading and writing, the MNIST / Fashion-MNIST loaders and their search order, the
// bundled sample, streamed batches, and a mutation fuzz of the IDX parser.
'use strict';
const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { execFileSync } = require('child_process');
const data = require('../dist/data');
const { findDataDir } = require('../dist/data/mnist');
const { Random } = require('../dist/random');

const { parseIdx, loadIdx, encodeIdx, saveIdx, readIdxHeader, idxBatches } = data;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-data-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
let tmpCount = 0;
const tmpDir = () => {
  const d = path.join(tmp, `d${tmpCount++}`);
  fs.mkdirSync(d);
  return d;
};

/** The message of the Error fn throws (fails the test if it returns or throws a non-Error). */
function errorOf(t, fn) {
  try {
    fn();
  } catch (e) {
    t.ok(e instanceof Error, 'throws an Error');
    return e.message;
  }
  t.fail('expected an Error');
  return '';
}

/** Writes a small MNIST-like set into dir: n images of h x w, label = index % 10, pixel 0 = index. */
function writeSet(dir, prefix, n, opts = {}) {
  const h = opts.h ?? 28;
  const w = opts.w ?? 28;
  const px = new Uint8Array(n * h * w);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h * w; j++) px[i * h * w + j] = (i * 7 + j) & 255;
    px[i * h * w] = i & 255;
  }
  const labels = Uint8Array.from({ length: opts.nLabels ?? n }, (_, i) => opts.label?.(i) ?? i % 10);
  const ext = opts.gzip === false ? '' : '.gz';
  const sep = opts.dotted ? '.' : '-';
  saveIdx(path.join(dir, `${prefix}-images${sep}idx3-ubyte${ext}`), { dtype: 'uint8', shape: [n, h, w], data: px });
  saveIdx(path.join(dir, `${prefix}-labels${sep}idx1-ubyte${ext}`), { dtype: 'uint8', shape: [labels.length], data: labels });
}

function writeDataset(dir, opts = {}) {
  writeSet(dir, 'train', opts.nTrain ?? 30, opts);
  writeSet(dir, 't10k', opts.nTest ?? 20, opts);
  return dir;
}

// ---------------------------------------------------------------------------------------------
t.test('IDX bytes are big-endian with the documented header', async (t) => {
  const bytes = encodeIdx({ dtype: 'int16', shape: [2], data: new Int16Array([0x0102, -2]) });
  t.same([...bytes], [0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe]);
  const hand = Buffer.from([0, 0, 0x0d, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x3f, 0x80, 0, 0, 0xc0, 0x20, 0, 0]);
  const f = parseIdx(hand, 'hand.idx');
  t.equal(f.dtype, 'float32');
  t.same(f.shape, [1, 2]);
  t.ok(f.data instanceof Float32Array);
  t.same([...f.data], [1, -2.5]);
  const u = parseIdx(Buffer.from([0, 0, 8, 1, 0, 0, 0, 3, 0, 128, 255]));
  t.ok(u.data instanceof Uint8Array);
  t.same([...u.data], [0, 128, 255]);
});

t.test('IDX round trips for every type code, raw and gzipped, in memory and on disk', async (t) => {
  const cases = [
    ['uint8', Uint8Array, [0, 1, 127, 128, 255, 42]],
    ['int8', Int8Array, [-128, -1, 0, 1, 127, 5]],
    ['int16', Int16Array, [-32768, -1, 0, 1, 32767, 258]],
    ['int32', Int32Array, [-2147483648, -1, 0, 1, 2147483647, 65536]],
    ['float32', Float32Array, [-1.5, 0, 3.25, 1e-30, -3.4e38, Math.fround(Math.PI)]],
    ['float64', Float64Array, [-1.5, 0, Math.PI, 1e-300, -1.7e308, Number.MIN_VALUE]],
  ];
  for (const [dtype, Ctor, values] of cases) {
    const idx = { dtype, shape: [2, 3], data: Ctor.from(values) };
    for (const gzip of [false, true]) {
      const bytes = encodeIdx(idx, { gzip });
      t.equal(data.isGzip(bytes), gzip, `${dtype} gzip=${gzip}: compressed only when asked`);
      const back = parseIdx(bytes, 'x');
      t.equal(back.dtype, dtype);
      t.same(back.shape, [2, 3]);
      t.ok(back.data instanceof Ctor, `${dtype}: ${Ctor.name}`);
      t.same([...back.data], [...idx.data], `${dtype} gzip=${gzip} values`);
      const file = path.join(tmp, `rt-${dtype}${gzip ? '.gz' : ''}`);
      saveIdx(file, idx); // gzip from the name
      const loaded = loadIdx(file);
      t.same([...loaded.data], [...idx.data], `${dtype} gzip=${gzip} on disk`);
      t.equal(readIdxHeader(file).gzip, gzip);
    }
  }
  // gzip is detected from the content, not the name
  const odd = path.join(tmp, 'gz-without-extension');
  fs.writeFileSync(odd, encodeIdx({ dtype: 'uint8', shape: [3], data: Uint8Array.from([1, 2, 3]) }, { gzip: true }));
  t.same([...loadIdx(odd).data], [1, 2, 3]);
  const plain = path.join(tmp, 'plain.gz');
  fs.writeFileSync(plain, encodeIdx({ dtype: 'uint8', shape: [2], data: Uint8Array.from([9, 8]) }));
  t.same([...loadIdx(plain).data], [9, 8]);
  // rank 0 and zero-size shapes
  t.same([...parseIdx(Buffer.from([0, 0, 8, 0, 7])).data], [7]);
  t.same(parseIdx(encodeIdx({ dtype: 'int32', shape: [0, 5], data: new Int32Array(0) })).shape, [0, 5]);
  // a gzip file of several members is one stream
  const whole = encodeIdx({ dtype: 'uint8', shape: [4], data: Uint8Array.from([1, 2, 3, 4]) });
  const twoMembers = Buffer.concat([zlib.gzipSync(whole.subarray(0, 6)), zlib.gzipSync(whole.subarray(6))]);
  t.same([...parseIdx(twoMembers).data], [1, 2, 3, 4]);
});

t.test('IDX errors name the file and the defect', async (t) => {
  const good = encodeIdx({ dtype: 'uint8', shape: [2, 3], data: Uint8Array.from([1, 2, 3, 4, 5, 6]) });
  const gz = (b) => zlib.gzipSync(b);
  const cases = [
    ['empty', Buffer.alloc(0), /f\.idx: file is empty/],
    ['empty gzip', gz(Buffer.alloc(0)), /f\.idx: file is empty/],
    ['bad magic', Buffer.from([1, 2, 8, 1, 0, 0, 0, 1, 0]), /f\.idx: bad magic number 0x01 0x02/],
    ['bad magic gzipped', gz(Buffer.from('PK\x03\x04 a zip file')), /f\.idx: bad magic number 0x50 0x4b/],
    ['unknown type', Buffer.from([0, 0, 0x0a, 1, 0, 0, 0, 1, 0]), /f\.idx: unknown IDX type code 0x0a/],
    ['short header', Buffer.from([0, 0, 8]), /f\.idx: truncated IDX header/],
    ['header cut in dims', Buffer.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), /f\.idx: truncated IDX header: 3 dimensions need 16 bytes/],
    ['truncated data', good.subarray(0, good.length - 2), /f\.idx: truncated IDX file: shape \[2, 3\] \(uint8\) needs 6 data bytes, file has 4/],
    ['truncated gzipped data', gz(good.subarray(0, good.length - 1)), /f\.idx: truncated IDX file: .*needs 6 data bytes, file has 5/],
    ['truncated gzip stream', gz(good).subarray(0, 20), /f\.idx: corrupt or truncated gzip data/],
    ['trailing data', Buffer.concat([good, Buffer.from([9, 9, 9])]), /f\.idx: 3 bytes of trailing data after the 6 bytes/],
    ['trailing gzipped data', gz(Buffer.concat([good, Buffer.from([9])])), /f\.idx: (1 byte of )?trailing data after the 6 bytes/],
    ['huge dims', Buffer.from([0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 2]), /f\.idx: IDX dimensions \[4294967295, 4294967295, 2\] hold more than 2147483647 values/],
    ['huge dims gzipped', gz(Buffer.from([0, 0, 0x0e, 2, 0, 1, 0, 0, 0, 1, 0, 0, 1, 2, 3])), /f\.idx: IDX dimensions \[65536, 65536\] hold more than/],
    ['dims beyond the data', Buffer.from([0, 0, 0x0c, 1, 0x10, 0, 0, 0, 1, 2, 3, 4]), /f\.idx: truncated IDX file: shape \[268435456\] \(int32\) needs 1073741824 data bytes, file has 4/],
  ];
  for (const [what, bytes, re] of cases) {
    t.match(errorOf(t, () => parseIdx(bytes, 'f.idx')), re, what);
  }
  // the same through the file API
  const file = path.join(tmp, 'trunc.idx');
  fs.writeFileSync(file, good.subarray(0, 13));
  t.match(errorOf(t, () => loadIdx(file)), new RegExp(`${file.replace(/[.]/g, '\\.')}: truncated IDX file`));
  t.match(errorOf(t, () => readIdxHeader(file)), /truncated IDX file/);
  t.match(errorOf(t, () => loadIdx(path.join(tmp, 'nope.idx'))), /nope\.idx: cannot read IDX file \(ENOENT\)/);
  // a huge header is refused before anything big is allocated
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 50; i++) {
    errorOf(t, () => parseIdx(Buffer.from([0, 0, 0x0e, 1, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]), 'big'));
  }
  t.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no big allocation');
});

// ---------------------------------------------------------------------------------------------
t.test('the loader reads a folder in any of the accepted spellings', async (t) => {
  for (const [gzip, dotted] of [[true, false], [false, false], [true, true], [false, true]]) {
    const dir = writeDataset(tmpDir(), { gzip, dotted });
    const d = data.fashionMnist({ dir });
    t.equal(d.dir, path.resolve(dir), `gzip=${gzip} dotted=${dotted}`);
    t.same(d.train.xs.shape, [30, 28, 28, 1]);
    t.same(d.train.ys.shape, [30, 10]);
    t.same(d.test.xs.shape, [20, 28, 28, 1]);
    t.equal(d.train.xs.dtype, 'float32');
    t.equal(d.train.xs.values[784 * 3], Math.fround(3 / 255), 'pixels scaled by 1/255');
    t.same([...d.train.ys.values.slice(20, 30)], [0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 'one-hot label 2');
  }
  const dir = writeDataset(tmpDir());
  const ints = data.mnist({ dir, labels: 'int', limit: 12 });
  t.equal(ints.train.ys.dtype, 'int32');
  t.same(ints.train.ys.shape, [12]);
  t.same([...ints.train.ys.values], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  t.same(ints.test.xs.shape, [12, 28, 28, 1]);
  t.match(errorOf(t, () => data.fashionMnist({ dir, labels: 'sparse' })), /labels must be 'onehot' or 'int'/);
  t.match(errorOf(t, () => data.fashionMnist({ dir, limit: -1 })), /limit must be a non-negative integer/);
  t.same(data.FASHION_MNIST_CLASSES, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  t.same(data.MNIST_CLASSES, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
});

t.test('the loader checks counts, sizes and labels', async (t) => {
  const mismatch = tmpDir();
  writeDataset(mismatch);
  writeSet(mismatch, 'train', 30, { nLabels: 29 });
  t.match(
    errorOf(t, () => data.fashionMnist({ dir: mismatch })),
    /image and label counts differ: .*train-images-idx3-ubyte\.gz holds 30 images but .*train-labels-idx1-ubyte\.gz holds 29 labels/,
  );
  const small = tmpDir();
  writeDataset(small, { h: 14, w: 14 });
  t.match(errorOf(t, () => data.fashionMnist({ dir: small })), /expected images of shape \[n, 28, 28\], found \[30, 14, 14\]/);
  const badLabel = tmpDir();
  writeDataset(badLabel, { label: (i) => (i === 7 ? 10 : 1) });
  t.match(errorOf(t, () => data.fashionMnist({ dir: badLabel })), /label 10 at index 7 is outside \[0, 10\)/);
  // loadIdxPair reads any size of image, for evaluate / predict on other IDX files
  const pair = data.loadIdxPair(path.join(small, 't10k-images-idx3-ubyte.gz'), path.join(small, 't10k-labels-idx1-ubyte.gz'), { labels: 'int' });
  t.same(pair.xs.shape, [20, 14, 14, 1]);
});

t.test('the loader looks in dir, then the environment variable, then the system folder', async (t) => {
  const saved = { f: process.env.CNN_FASHION_MNIST_DIR, m: process.env.CNN_MNIST_DIR };
  t.teardown(() => {
    for (const [k, v] of [['CNN_FASHION_MNIST_DIR', saved.f], ['CNN_MNIST_DIR', saved.m]]) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const a = writeDataset(tmpDir(), { nTrain: 11 });
  const b = writeDataset(tmpDir(), { nTrain: 12 });
  const empty = tmpDir();
  const partial = tmpDir();
  writeSet(partial, 'train', 5);

  process.env.CNN_MNIST_DIR = b;
  t.equal(data.mnist({ dir: a }).train.xs.shape[0], 11, 'dir comes first');
  t.equal(data.mnist({ dir: empty }).train.xs.shape[0], 12, 'then the environment variable');
  t.equal(data.mnist({}).dir, path.resolve(b));
  t.equal(data.mnist({ dir: partial }).dir, path.resolve(b), 'a folder missing a file is skipped');

  process.env.CNN_MNIST_DIR = path.join(tmp, 'does-not-exist');
  const msg = errorOf(t, () => data.mnist({ dir: partial }));
  t.match(msg, /^mnist: cannot find the data set\. Looked in:/);
  t.match(msg, new RegExp(`${partial}.*\\(dir option\\): missing t10k-images-idx3-ubyte\\[\\.gz\\], t10k-labels-idx1-ubyte\\[\\.gz\\]`));
  t.match(msg, /does-not-exist \(\$CNN_MNIST_DIR\): no such folder/);
  t.match(msg, /\/usr\/share\/datasets\/mnist/);
  t.match(msg, /--data DIR/);

  // Fashion-MNIST names its Debian package (system folder replaced so the test runs anywhere)
  const spec = {
    fn: 'fashionMnist',
    envVar: 'CNN_FASHION_MNIST_DIR',
    systemDir: path.join(tmp, 'no-system-folder'),
    debPackage: 'dataset-fashion-mnist',
    classes: data.FASHION_MNIST_CLASSES,
  };
  delete process.env.CNN_FASHION_MNIST_DIR;
  const fmsg = errorOf(t, () => findDataDir(spec, empty));
  t.match(fmsg, /fashionMnist: cannot find the data set/);
  t.match(fmsg, new RegExp(`${empty} \\(dir option\\): missing train-images-idx3-ubyte\\[\\.gz\\]`));
  t.match(fmsg, /no-system-folder \(package dataset-fashion-mnist\): no such folder/);
  t.match(fmsg, /apt-get install dataset-fashion-mnist/);
  t.match(fmsg, /--data DIR/);
  process.env.CNN_FASHION_MNIST_DIR = a;
  t.equal(findDataDir(spec, empty).dir, path.resolve(a));
  if (fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')) {
    delete process.env.CNN_FASHION_MNIST_DIR;
    t.equal(findDataDir({ ...spec, systemDir: '/usr/share/datasets/fashion-mnist' }).dir, '/usr/share/datasets/fashion-mnist');
  }
});

// ---------------------------------------------------------------------------------------------
t.test('the bundled sample: 6,000 + 1,000 images, stratified, scaled to [0, 1]', async (t) => {
  const dir = data.bundledSampleDir();
  t.equal(dir, path.resolve(__dirname, '..', 'data', 'fashion-mnist-sample'));
  const d = data.fashionMnist({ dir, labels: 'int' });
  t.same(d.train.xs.shape, [6000, 28, 28, 1]);
  t.same(d.test.xs.shape, [1000, 28, 28, 1]);
  for (const [split, per] of [['train', 600], ['test', 100]]) {
    const counts = new Array(10).fill(0);
    for (const c of d[split].ys.values) counts[c]++;
    t.same(counts, new Array(10).fill(per), `${split}: ${per} per class`);
    const x = d[split].xs.values;
    let lo = Infinity;
    let hi = -Infinity;
    let offGrid = 0;
    for (let i = 0; i < x.length; i++) {
      lo = Math.min(lo, x[i]);
      hi = Math.max(hi, x[i]);
      if (Math.abs(x[i] * 255 - Math.round(x[i] * 255)) > 1e-4) offGrid++;
    }
    t.equal(lo, 0);
    t.equal(hi, 1);
    t.equal(offGrid, 0, 'every value is k/255');
  }
  const onehot = data.fashionMnist({ dir, limit: 50 });
  t.same(onehot.train.ys.shape, [50, 10]);
  const sums = new Set();
  for (let i = 0; i < 50; i++) sums.add(onehot.train.ys.values.slice(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0));
  t.same([...sums], [1]);
});

const FULL = '/usr/share/datasets/fashion-mnist';
t.test('make-sample reproduces the committed sample byte for byte', { skip: !fs.existsSync(path.join(FULL, 'train-images-idx3-ubyte.gz')) && 'full data set not installed' }, async (t) => {
  const out = tmpDir();
  execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'make-sample.js'), '--src', FULL, '--out', out]);
  for (const f of fs.readdirSync(data.bundledSampleDir())) {
    t.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(data.bundledSampleDir(), f))), f);
  }
});

// ---------------------------------------------------------------------------------------------
/** n records whose 2x2 image encodes the index (bytes: i & 255, i >> 8, 7, 9) and label i % 10. */
function writeIndexed(dir, n, { gzipImages, gzipLabels }) {
  const px = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) px.set([i & 255, i >> 8, 7, 9], i * 4);
  const img = path.join(dir, `img${gzipImages ? '.gz' : ''}`);
  const lab = path.join(dir, `lab${gzipLabels ? '.gz' : ''}`);
  saveIdx(img, { dtype: 'uint8', shape: [n, 2, 2], data: px });
  saveIdx(lab, { dtype: 'uint8', shape: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
  return [img, lab];
}

/** Every batch of one epoch: the record indices in order, and the batch sizes. */
async function epochOf(t, ds, labels = 'onehot') {
  const order = [];
  const sizes = [];
  for await (const { xs, ys } of ds) {
    const b = xs.shape[0];
    sizes.push(b);
    t.same(xs.shape.slice(1), [2, 2, 1]);
    for (let i = 0; i < b; i++) {
      const x = xs.values.subarray(i * 4, i * 4 + 4);
      const idx = Math.round(x[0] * 255) + 256 * Math.round(x[1] * 255);
      const label = labels === 'int' ? ys.values[i] : ys.values.subarray(i * 10, i * 10 + 10).indexOf(1);
      if (label !== idx % 10 || Math.abs(x[2] - 7 / 255) > 1e-7) t.fail(`record ${idx}: label ${label} or pixels wrong`);
      order.push(idx);
    }
  }
  return { order, sizes };
}

const isPermutation = (order, n) => order.length === n && new Set(order).size === n && order.every((i) => i >= 0 && i < n);

t.test('streamed batches: every record once per epoch, in batches of the right size', async (t) => {
  const n = 523;
  for (const [gzipImages, gzipLabels] of [[false, false], [true, true], [true, false]]) {
    const [img, lab] = writeIndexed(tmpDir(), n, { gzipImages, gzipLabels });
    const what = `images ${gzipImages ? 'gz' : 'raw'}, labels ${gzipLabels ? 'gz' : 'raw'}`;
    const plain = idxBatches(img, lab, { batchSize: 50 });
    t.equal(plain.size, n);
    t.equal(plain.batchesPerEpoch, 11);
    t.same(plain.imageShape, [2, 2, 1]);
    const e0 = await epochOf(t, plain);
    t.same(e0.order, Array.from({ length: n }, (_, i) => i), `${what}: in order without shuffle`);
    t.same(e0.sizes, [...new Array(10).fill(50), 23]);

    const shuffled = idxBatches(img, lab, { batchSize: 64, shuffle: true, seed: 5, labels: 'int' });
    const e1 = await epochOf(t, shuffled, 'int');
    const e2 = await epochOf(t, shuffled, 'int');
    t.ok(isPermutation(e1.order, n) && isPermutation(e2.order, n), `${what}: each epoch a permutation`);
    t.notSame(e1.order, e2.order, 'a new order each epoch');
    t.same(e1.sizes, [...new Array(8).fill(64), 11]);
    const again = await epochOf(t, idxBatches(img, lab, { batchSize: 64, shuffle: true, seed: 5, labels: 'int' }), 'int');
    t.same(again.order, e1.order, 'the seed fixes the order');

    const dropped = await epochOf(t, idxBatches(img, lab, { batchSize: 100, shuffle: true, seed: 1, dropRemainder: true }));
    t.same(dropped.sizes, [100, 100, 100, 100, 100]);
    t.equal(new Set(dropped.order).size, 500);

    // TF.js-style: dataset.iterator() then next()
    const it = await plain.iterator();
    const first = await it.next();
    t.same(first.value.xs.shape, [50, 2, 2, 1]);
    await it.return();
  }
});

t.test('gzipped streams shuffle within their window', async (t) => {
  const n = 400;
  const [img, lab] = writeIndexed(tmpDir(), n, { gzipImages: true, gzipLabels: true });
  const w = 16;
  const { order } = await epochOf(t, idxBatches(img, lab, { batchSize: 8, shuffle: true, seed: 3, shuffleBuffer: w }));
  t.ok(isPermutation(order, n));
  // a record can come out at most w places earlier than its place in the file
  t.ok(order.every((rec, pos) => rec - pos <= w), 'window bound');
  t.ok(order.some((rec, pos) => rec !== pos), 'mixed');
  const full = await epochOf(t, idxBatches(img, lab, { batchSize: 8, shuffle: true, seed: 3, shuffleBuffer: 100000 }));
  t.ok(full.order.some((rec, pos) => rec - pos > 3 * w), 'a window as large as the data mixes it all');
});

t.test('streamed batches of the bundled sample and their errors', async (t) => {
  const dir = data.bundledSampleDir();
  const ds = idxBatches(path.join(dir, 'train-images-idx3-ubyte.gz'), path.join(dir, 'train-labels-idx1-ubyte.gz'), {
    batchSize: 256,
    shuffle: true,
    seed: 9,
  });
  const counts = new Array(10).fill(0);
  let seen = 0;
  for await (const { xs, ys } of ds) {
    seen += xs.shape[0];
    t.equal(xs.shape[1] * xs.shape[2], 784);
    for (let i = 0; i < ys.values.length; i++) if (ys.values[i] === 1) counts[i % 10]++;
  }
  t.equal(seen, 6000);
  t.same(counts, new Array(10).fill(600));

  // stopping early closes the files and a new epoch starts afresh
  let batches = 0;
  for await (const b of ds) if (++batches === 2 && b) break;
  t.equal(batches, 2);

  const d = tmpDir();
  const [img, lab] = writeIndexed(d, 100, { gzipImages: true, gzipLabels: false });
  const [, lab2] = writeIndexed(tmpDir(), 99, { gzipImages: false, gzipLabels: false });
  t.match(errorOf(t, () => idxBatches(img, lab2)), /image and label counts differ: .*img\.gz holds 100 images but .*lab holds 99 labels/);
  t.match(errorOf(t, () => idxBatches(img, lab, { batchSize: 0 })), /batchSize must be a positive integer/);
  t.match(errorOf(t, () => idxBatches(lab, lab)), /expected images of shape/);
  t.match(errorOf(t, () => idxBatches(img, img)), /expected labels of shape \[n\]/);

  // a gzipped file cut short is reported when the stream reaches the cut
  const whole = fs.readFileSync(img);
  const cut = path.join(d, 'cut.gz');
  fs.writeFileSync(cut, zlib.gzipSync(zlib.gunzipSync(whole).subarray(0, 16 + 4 * 60)));
  const truncated = idxBatches(cut, lab, { batchSize: 32 }); // the header still says 100
  await t.rejects(epochOf(t, truncated), /cut\.gz: truncated IDX file/);
  const broken = path.join(d, 'broken.gz');
  fs.writeFileSync(broken, whole.subarray(0, whole.length - 30));
  await t.rejects(epochOf(t, idxBatches(broken, lab)), /broken\.gz: (corrupt or truncated gzip data|truncated IDX file)/);
  const longer = path.join(d, 'longer.gz');
  fs.writeFileSync(longer, zlib.gzipSync(Buffer.concat([zlib.gunzipSync(whole), Buffer.from([1, 2, 3])])));
  await t.rejects(epochOf(t, idxBatches(longer, lab)), /longer\.gz: trailing data/);
  const badLabels = path.join(d, 'bad-labels');
  saveIdx(badLabels, { dtype: 'uint8', shape: [100], data: new Uint8Array(100).fill(12) });
  await t.rejects(epochOf(t, idxBatches(img, badLabels)), /bad-labels: label 12 is outside \[0, 10\)/);
});

// ---------------------------------------------------------------------------------------------
t.test('mutation fuzz: parseIdx parses or throws an Error, never hangs or allocates absurdly', async (t) => {
  const rng = new Random(1234);
  const seeds = [
    encodeIdx({ dtype: 'int16', shape: [5, 4, 3], data: Int16Array.from({ length: 60 }, (_, i) => i * 37 - 900) }),
    encodeIdx({ dtype: 'uint8', shape: [6, 7, 7], data: Uint8Array.from({ length: 294 }, (_, i) => (i * 13) & 255) }),
    encodeIdx({ dtype: 'float64', shape: [9], data: Float64Array.from({ length: 9 }, (_, i) => i / 3) }, { gzip: true }),
    encodeIdx({ dtype: 'uint8', shape: [6, 7, 7], data: new Uint8Array(294) }, { gzip: true }),
  ];
  let parsed = 0;
  let errors = 0;
  const start = Date.now();
  const before = process.memoryUsage().arrayBuffers;
  for (let iter = 0; iter < 400; iter++) {
    const src = seeds[iter % seeds.length];
    let buf = Buffer.from(src);
    const kind = rng.int(4);
    if (kind === 0) {
      for (let k = 1 + rng.int(3); k > 0; k--) buf[rng.int(buf.length)] ^= 1 << rng.int(8); // bit flips
    } else if (kind === 1) {
      buf = buf.subarray(0, rng.int(buf.length)); // truncation
    } else if (kind === 2) {
      buf = Buffer.concat([buf, Buffer.from(Array.from({ length: 1 + rng.int(8) }, () => rng.int(256)))]); // garbage
    } else {
      const at = rng.int(Math.min(buf.length, 24)); // random bytes in the header
      for (let k = 0; k < 4 && at + k < buf.length; k++) buf[at + k] = rng.int(256);
    }
    try {
      const r = parseIdx(buf, 'fuzz');
      const count = r.shape.reduce((a, b) => a * b, 1);
      if (r.data.length !== count) t.fail(`iteration ${iter}: ${r.data.length} values for shape [${r.shape}]`);
      parsed++;
    } catch (e) {
      if (!(e instanceof Error) || !/fuzz/.test(e.message)) t.fail(`iteration ${iter}: ${e}`);
      errors++;
    }
  }
  t.equal(parsed + errors, 400);
  t.ok(errors > 100, `most mutations are caught (${errors} errors, ${parsed} parsed)`);
  t.ok(Date.now() - start < 10000, 'fast');
  t.ok(process.memoryUsage().arrayBuffers - before < 256 << 20, 'no absurd allocation');
});
