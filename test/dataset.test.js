// tf.data: the Dataset transforms against @tensorflow/tfjs (same elements, order, shapes and
// sizes), generator re-iteration, seeded shuffles, buffer bounds, disposal, TF.js-style errors,
// subclassing, and fitDataset / evaluateDataset consuming datasets with bounded memory.
'use strict';
const t = require('tap');
const v8 = require('v8');
const vm = require('vm');
const tf = require('..');
const tfjs = require('@tensorflow/tfjs');
const { Random } = require('../dist/random');

tfjs.setBackend('cpu');

/** A comparable plain form of an element: tensors become {shape, dtype, values}. */
function plain(x, lib) {
  if (x instanceof lib.Tensor) return { shape: x.shape.slice(), dtype: x.dtype, values: Array.from(x.dataSync()) };
  if (Array.isArray(x)) return x.map((e) => plain(e, lib));
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v, lib)]));
  return x;
}

/** Both libraries, each as { data, tensor, Tensor }. */
const LIBS = {
  ours: { data: tf.data, tensor: tf.tensor, Tensor: tf.Tensor },
  tfjs: { data: tfjs.data, tensor: tfjs.tensor, Tensor: tfjs.Tensor },
};

const range = (n, f = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

// Each case builds the same pipeline from either library. `sizeDiffers` marks a case where
// tfjs's `size` disagrees with its own elements (we report the count the pass yields).
const CASES = [
  ['array of numbers', (L) => L.data.array([1, 2, 3])],
  ['array of objects', (L) => L.data.array([{ a: 1, b: [1, 2] }, { a: 2, b: [3, 4] }])],
  ['array of tensors', (L) => L.data.array([L.tensor([1, 2]), L.tensor([3, 4])])],
  ['map', (L) => L.data.array(range(5)).map((x) => x * 2)],
  ['map to {xs, ys}', (L) => L.data.array(range(4)).map((x) => ({ xs: [x, x + 1], ys: x % 2 }))],
  ['filter', (L) => L.data.array(range(10)).filter((x) => x % 3 === 0)],
  ['mapAsync', (L) => L.data.array(range(4)).mapAsync(async (x) => x + 10)],
  ['batch numbers', (L) => L.data.array(range(7)).batch(3)],
  ['batch without the small last batch', (L) => L.data.array(range(7)).batch(3, false)],
  ['batch larger than the data', (L) => L.data.array(range(3)).batch(10)],
  ['batch larger than the data, no small last', (L) => L.data.array(range(3)).batch(10, false)],
  ['batch tensors', (L) => L.data.array(range(5, (i) => L.tensor([[i, -i]]))).batch(2)],
  ['batch {xs: tensor, ys: number}', (L) => L.data.array(range(5, (i) => ({ xs: L.tensor([i, i * 2, i * 3]), ys: i }))).batch(2)],
  ['batch nested number arrays', (L) => L.data.array([[[1, 2]], [[3, 4]], [[5, 6]]]).batch(2)],
  ['batch nested objects', (L) => L.data.array(range(4, (i) => ({ a: { b: L.tensor([i]), c: i }, d: [i, i] }))).batch(3)],
  ['batch int32 tensors', (L) => L.data.array(range(3, (i) => L.tensor([i, i + 1], [2], 'int32'))).batch(2)],
  ['batch booleans (bool dtype)', (L) => L.data.array([true, false, true]).batch(2)],
  ['batch bool tensors', (L) => L.data.array([L.tensor([true, false], [2], 'bool'), L.tensor([false, true], [2], 'bool')]).batch(2)],
  ['batch scalar tensors', (L) => L.data.array([L.tensor(1), L.tensor(2), L.tensor(3)]).batch(2)],
  ['batch typed-array rows', (L) => L.data.array([new Float32Array([1, 2]), new Float32Array([3, 4])]).batch(2)],
  ['batch integer typed-array rows (int32)', (L) => L.data.array([new Uint8Array([1, 2]), new Uint8Array([3, 4]), new Uint8Array([5, 6])]).batch(2)],
  ['take(0)', (L) => L.data.array(range(5)).take(0)],
  ['take(2)', (L) => L.data.array(range(5)).take(2)],
  ['take(100)', (L) => L.data.array(range(5)).take(100)],
  ['take(-1) is everything', (L) => L.data.array(range(5)).take(-1), { sizeDiffers: true }],
  ['skip(0)', (L) => L.data.array(range(5)).skip(0)],
  ['skip(2)', (L) => L.data.array(range(5)).skip(2)],
  ['skip(100)', (L) => L.data.array(range(5)).skip(100)],
  ['repeat(0)', (L) => L.data.array(range(3)).repeat(0)],
  ['repeat(1)', (L) => L.data.array(range(3)).repeat(1)],
  ['repeat(3)', (L) => L.data.array(range(3)).repeat(3)],
  ['repeat() then take', (L) => L.data.array(range(3)).repeat().take(7)],
  ['repeat then batch across passes', (L) => L.data.array(range(3)).repeat(3).batch(4)],
  ['concatenate', (L) => L.data.array([1, 2]).concatenate(L.data.array([3, 4, 5]))],
  ['prefetch(1)', (L) => L.data.array(range(5)).prefetch(1)],
  ['prefetch larger than the data', (L) => L.data.array(range(5)).map((x) => x + 1).prefetch(20)],
  ['zip array', (L) => L.data.zip([L.data.array([1, 2, 3]), L.data.array([{ a: 4 }, { a: 5 }, { a: 6 }])])],
  ['zip object, shortest wins', (L) => L.data.zip({ x: L.data.array([1, 2, 3]), y: L.data.array([4, 5]) })],
  ['zip nested', (L) => L.data.zip({ xs: [L.data.array([1, 2]), L.data.array([3, 4])], ys: L.data.array([5, 6]) })],
  ['zip {xs, ys} then batch', (L) => L.data.zip({ xs: L.data.array(range(5, (i) => [i, i])), ys: L.data.array(range(5)) }).batch(2)],
  ['sync generator', (L) => L.data.generator(function* () { for (let i = 0; i < 4; i++) yield { v: i }; })],
  ['async generator, batched', (L) => L.data.generator(async function* () { for (let i = 0; i < 5; i++) yield [i, i * i]; }).batch(2)],
  ['a long chain', (L) =>
    L.data.array(range(20)).filter((x) => x % 2 === 0).skip(1).map((x) => ({ xs: [x, x + 1], ys: x % 3 })).take(7).batch(3).prefetch(2)],
];

t.test('transforms give the elements, order, shapes and sizes of tfjs', async (t) => {
  for (const [name, build, opts = {}] of CASES) {
    const ours = build(LIBS.ours);
    const theirs = build(LIBS.tfjs);
    const a = plain(await ours.toArray(), LIBS.ours);
    const b = plain(await theirs.toArray(), LIBS.tfjs);
    t.same(a, b, `${name}: same elements`);
    if (!opts.sizeDiffers) t.equal(ours.size, theirs.size, `${name}: same size (${theirs.size})`);
    else t.equal(ours.size, a.length, `${name}: size is the element count`);
    t.same(plain(await ours.toArray(), LIBS.ours), a, `${name}: a second pass gives the same`);
  }
});

t.test('300 random pipelines give the elements and sizes of tfjs', async (t) => {
  const gen = new Random(12345);
  const rng = () => gen.uniform();
  const int = (n) => Math.floor(rng() * n);
  const ops = [
    () => ({ name: 'map', f: (d) => d.map((x) => x * 2 + 1) }),
    () => { const k = 2 + int(3); return { name: `filter(%${k})`, f: (d) => d.filter((x) => x % k !== 0) }; },
    () => { const k = int(12); return { name: `take(${k})`, f: (d) => d.take(k) }; },
    () => { const k = int(12); return { name: `skip(${k})`, f: (d) => d.skip(k) }; },
    () => { const k = int(4); return { name: `repeat(${k})`, f: (d) => d.repeat(k) }; },
    () => { const m = int(5); return { name: `concatenate(${m})`, f: (d, L) => d.concatenate(L.data.array(range(m, (i) => 100 + i))) }; },
    () => { const k = 1 + int(4); return { name: `prefetch(${k})`, f: (d) => d.prefetch(k) }; },
    () => ({ name: 'zip-sum', f: (d, L) => L.data.zip([d, L.data.array(range(8))]).map(([a, b]) => a + b) }),
  ];
  let mismatches = 0;
  for (let c = 0; c < 300; c++) {
    const n = int(10);
    const chain = range(1 + int(5), () => ops[int(ops.length)]());
    const b = int(3) === 0 ? null : { size: 1 + int(4), small: int(2) === 0 };
    const build = (L) => {
      let d = L.data.array(range(n));
      for (const op of chain) d = op.f(d, L);
      return b ? d.batch(b.size, b.small) : d;
    };
    const name = `array(${n}).${chain.map((o) => o.name).join('.')}${b ? `.batch(${b.size}, ${b.small})` : ''}`;
    const ours = build(LIBS.ours);
    const theirs = build(LIBS.tfjs);
    const a = plain(await ours.toArray(), LIBS.ours);
    const e = plain(await theirs.toArray(), LIBS.tfjs);
    // tfjs's zip reports a number even when a part's size is unknown (null); ours says null
    const sizeOk = ours.size === theirs.size || (ours.size === null && chain.some((o) => o.name === 'zip-sum'));
    if (JSON.stringify(a) !== JSON.stringify(e) || !sizeOk) {
      mismatches++;
      t.same({ elements: a, size: ours.size }, { elements: e, size: theirs.size }, name);
    }
  }
  t.equal(mismatches, 0, '300 pipelines, no mismatch');
});

t.test('sizes', async (t) => {
  const d = tf.data.array(range(10));
  t.equal(d.size, 10);
  t.equal(d.batch(3).size, 4);
  t.equal(d.batch(3, false).size, 3);
  t.equal(d.repeat().size, Infinity);
  t.equal(d.repeat().take(5).size, 5);
  t.equal(d.filter(() => true).size, null);
  t.equal(d.repeat().filter(() => true).size, Infinity);
  t.equal(tf.data.generator(function* () {}).size, null);
  t.equal(d.concatenate(tf.data.generator(function* () {})).size, null);
  t.equal(tf.data.zip([d, d.take(4)]).size, 4);
  t.equal(d.skip(-1).size, 0, 'skip(-1) skips everything (as TF.js documents)');
  t.same(await d.skip(-1).toArray(), [], 'and yields nothing');
  t.equal(d.take(-1).size, 10, 'take(-1) takes everything');
  t.equal(tf.data.array([]).repeat().size, 0, 'repeating nothing is nothing');
  t.same(await tf.data.array([]).repeat().toArray(), [], 'and ends');
  t.same(await tf.data.generator(function* () {}).repeat().toArray(), [], 'an empty generator repeated forever ends too');
});

t.test('generator: the function is called again for every pass', async (t) => {
  let calls = 0;
  const ds = tf.data.generator(function* () {
    calls++;
    for (let i = 0; i < 3; i++) yield i;
  });
  t.same(await ds.toArray(), [0, 1, 2]);
  t.same(await ds.toArray(), [0, 1, 2]);
  t.equal(calls, 2);
  const it1 = await ds.iterator();
  const it2 = await ds.iterator();
  t.same((await it1.next()).value, 0);
  t.same((await it1.next()).value, 1);
  t.same((await it2.next()).value, 0, 'passes are independent');
  t.same(await it1.toArray(), [2], 'toArray gives the rest of a pass');
  t.same(await it1.next(), { value: null, done: true }, 'done is {value: null, done: true} as in TF.js');
  const seen = [];
  for await (const x of ds.map((v) => v * 10)) seen.push(x);
  t.same(seen, [0, 10, 20], 'for await over a dataset');
  const it = await ds.iterator();
  const got = [];
  for await (const x of it) got.push(x);
  t.same(got, [0, 1, 2], 'for await over an iterator');
  for (const src of [ds, tf.data.array([0, 1, 2])]) {
    const early = await src.map((v) => v).iterator();
    for await (const x of early) if (x === 0) break;
    t.same(await early.next(), { value: null, done: true }, 'breaking out of for await closes the pass');
  }
  // a function returning a plain iterator object works too (tfjs-examples do this)
  const counter = tf.data.generator(() => {
    let i = 0;
    return { next: () => (i < 2 ? { value: i++, done: false } : { value: undefined, done: true }) };
  });
  t.same(await counter.toArray(), [0, 1]);
  let k = 0;
  t.same(await tf.data.func(() => (k < 3 ? { value: k++, done: false } : { value: null, done: true })).toArray(), [0, 1, 2], 'tf.data.func');
});

t.test('shuffle: seeded, a permutation, bounded window', async (t) => {
  const n = 50;
  const src = tf.data.array(range(n));
  const a = await src.shuffle(n, 7).toArray();
  const b = await src.shuffle(n, 7).toArray();
  t.same(a, b, 'the same seed gives the same order');
  t.same(a.slice().sort((x, y) => x - y), range(n), 'a permutation');
  t.not(a.join(), range(n).join(), 'and not the identity');
  t.not((await src.shuffle(n, 8).toArray()).join(), a.join(), 'another seed, another order');
  t.same(await src.shuffle(n, 'seven').toArray(), await src.shuffle(n, 'seven').toArray(), 'string seeds as in TF.js');

  const re = src.shuffle(n, 3);
  const p1 = await re.toArray();
  const p2 = await re.toArray();
  t.not(p1.join(), p2.join(), 'reshuffleEachIteration (default): every pass differs');
  t.same([await src.shuffle(n, 3).toArray(), await src.shuffle(n, 3).toArray()].map(String), [p1, p1].map(String), 'pass k is reproducible from the seed');
  const fixed = src.shuffle(n, 3, false);
  t.same(await fixed.toArray(), await fixed.toArray(), 'reshuffleEachIteration false: every pass the same');

  // window: an element leaves at most bufferSize - 1 places early
  const w = 5;
  const out = await src.shuffle(w, 11).toArray();
  t.ok(out.every((v, i) => v <= i + w - 1), `with bufferSize ${w} no element comes out more than ${w - 1} places early`);

  // bounded: the shuffle reads at most bufferSize elements ahead
  let pulled = 0;
  const gen = tf.data.generator(function* () {
    for (let i = 0; i < 1000; i++) {
      pulled++;
      yield i;
    }
  });
  const it = await gen.shuffle(10, 1).iterator();
  await it.next();
  t.ok(pulled <= 11, `one output pulled ${pulled} elements (buffer 10)`);
  tf.setSeed(5);
  const s1 = await src.shuffle(n).toArray();
  tf.setSeed(5);
  t.same(await src.shuffle(n).toArray(), s1, 'without a seed, setSeed makes it reproducible');
});

t.test('prefetch reads ahead, within its buffer', async (t) => {
  let pulled = 0;
  const ds = tf.data.generator(async function* () {
    for (let i = 0; i < 100; i++) {
      pulled++;
      yield i;
    }
  }).prefetch(4);
  const it = await ds.iterator();
  t.same((await it.next()).value, 0);
  await new Promise((r) => setTimeout(r, 10));
  t.ok(pulled >= 2 && pulled <= 6, `read ahead ${pulled} elements with a buffer of 4`);
  t.same((await it.toArray()).length, 99, 'then the rest, in order');
  const parallel = await tf.data.array(range(10)).prefetch(3).iterator();
  const rs = await Promise.all(range(12, () => parallel.next()));
  t.same(rs.map((r) => r.value), [...range(10), null, null], 'overlapping next() calls resolve in order');
});

t.test('tensors a stage drops are disposed; array() sources stay intact', async (t) => {
  const srcT = [tf.tensor([1]), tf.tensor([2]), tf.tensor([3])];
  const mapped = await tf.data.array(srcT).map((x) => tf.tensor([x.dataSync()[0] * 2])).toArray();
  t.same(mapped.map((x) => x.dataSync()[0]), [2, 4, 6]);
  t.ok(srcT.every((x) => !x.isDisposed), 'array() hands out clones, so the source survives');
  const made = [];
  const gen = () => tf.data.generator(function* () {
    for (let i = 0; i < 4; i++) {
      const x = tf.tensor([i]);
      made.push(x);
      yield { x, keep: i };
    }
  });
  made.length = 0;
  await gen().filter((e) => e.keep % 2 === 0).toArray();
  t.same(made.map((x) => x.isDisposed), [false, true, false, true], 'filter disposes the rejected elements');
  made.length = 0;
  await gen().skip(3).toArray();
  t.same(made.map((x) => x.isDisposed), [true, true, true, false], 'skip disposes the skipped');
  made.length = 0;
  const kept = await gen().map((e) => ({ x: e.x })).toArray();
  t.ok(made.every((x) => !x.isDisposed) && kept[0].x === made[0], 'map keeps the tensors the result holds');
  made.length = 0;
  await gen().map((e) => e.keep).toArray();
  t.ok(made.every((x) => x.isDisposed), 'map disposes the inputs the result drops');
  made.length = 0;
  const batches = await gen().batch(2).toArray();
  t.ok(made.every((x) => x.isDisposed), 'batch disposes the rows it stacked');
  t.same(batches[1].x.shape, [2, 1]);
  t.ok(batches.every((b) => !b.x.isDisposed), 'and keeps the batches');
  const before = tf.memory().numTensors;
  await tf.data.array(range(20)).map((x) => tf.tensor([x]).reshape([1, 1]).reshape([1])).batch(5).forEachAsync(() => {});
  t.equal(tf.memory().numTensors, before, 'map runs in tidy (its intermediates go), forEachAsync disposes what it saw: no tensor is left');
});

t.test('Dataset can be subclassed or built from any iterator', async (t) => {
  const { Dataset, iteratorFrom } = tf.data;
  class Squares extends Dataset {
    constructor(n) {
      super();
      this.n = n;
      this.size = n;
    }
    async iterator() {
      const n = this.n;
      return iteratorFrom((async function* () {
        for (let i = 0; i < n; i++) yield { xs: tf.tensor([i]), ys: i * i };
      })());
    }
  }
  const sq = new Squares(5);
  t.ok(sq instanceof Dataset);
  const b = await sq.batch(2).toArray();
  t.same(b.map((e) => e.xs.shape), [[2, 1], [2, 1], [1, 1]]);
  t.same(b.map((e) => Array.from(e.ys.dataSync())), [[0, 1], [4, 9], [16]]);
  t.equal(sq.batch(2).size, 3, 'transforms see the subclass size');
  class Raw extends Dataset {
    async iterator() {
      return (function* () { yield 1; yield 2; yield 3; })(); // a plain generator object, not a LazyIterator
    }
  }
  t.same(await new Raw().toArray(), [1, 2, 3], 'a subclass may return any JS iterator');
  t.same(await new Raw().batch(2).toArray().then((b) => b.map((x) => Array.from(x.dataSync()))), [[1, 2], [3]]);
  t.same(await Dataset.fromIterator(() => [3, 2, 1], 3).map((x) => -x).toArray(), [-3, -2, -1], 'fromIterator(() => iterable)');
  t.same(await Dataset.fromIterator(async function* () { yield 1; yield 2; }).repeat(2).toArray(), [1, 2, 1, 2], 'fromIterator(async generator function)');
});

t.test('errors: clear, and worded like TF.js where TF.js has them', async (t) => {
  const d = tf.data.array([1, 2, 3]);
  const both = (name, f, re) => {
    t.throws(() => f(LIBS.ours), re, `${name} (ours)`);
    t.throws(() => f(LIBS.tfjs), re, `${name} (tfjs)`);
  };
  both('batch(0)', (L) => L.data.array([1]).batch(0), /batchSize needs to be positive, but it is\s+0/);
  both('batch(-2)', (L) => L.data.array([1]).batch(-2), /batchSize needs to be positive/);
  both('prefetch()', (L) => L.data.array([1]).prefetch(), /`Dataset.prefetch\(\)` requires bufferSize to be specified/);
  both('shuffle()', (L) => L.data.array([1]).shuffle(), /`Dataset.shuffle\(\)` requires bufferSize to be specified/);
  both('zip(3)', (L) => L.data.zip(3), /The argument to zip\(\) must be an object or array/);
  t.throws(() => tf.data.zip([d, 3]), /Leaves of the structure passed to zip\(\) must be Datasets, not primitives/, 'zip of a number leaf');
  await t.rejects(tfjs.data.zip([tfjs.data.array([1]), 3]).toArray(), /Leaves of the structure passed to zip\(\) must be Datasets, not primitives/, 'tfjs says the same (at iteration)');
  await t.rejects(d.repeat().toArray(), /Can not convert infinite data stream to array/);
  await t.rejects(tfjs.data.array([1]).repeat().toArray(), /Can not convert infinite data stream to array/);
  t.throws(() => d.batch(1.5), /Dataset.batch\(\): batchSize must be an integer, received 1.5/);
  t.throws(() => d.prefetch(0), /Dataset.prefetch\(\): bufferSize must be a positive integer, received 0/);
  t.throws(() => d.shuffle(2.5), /Dataset.shuffle\(\): bufferSize must be a positive integer/);
  t.throws(() => d.shuffle(2, {}), /Dataset.shuffle\(\): seed must be a number or a string/);
  t.throws(() => d.map(3), { name: 'TypeError', message: /Dataset.map\(\): transform must be a function, received 3/ });
  t.throws(() => d.mapAsync(null), /Dataset.mapAsync\(\): transform must be a function, received null/);
  t.throws(() => d.filter('x'), /Dataset.filter\(\): predicate must be a function, received "x"/);
  t.throws(() => d.take('2'), /Dataset.take\(\): count must be an integer, received "2"/);
  t.throws(() => d.skip(1.5), /Dataset.skip\(\): count must be an integer, received 1.5/);
  t.throws(() => d.repeat(NaN), /Dataset.repeat\(\): count must be an integer/);
  t.throws(() => d.concatenate([4]), /Dataset.concatenate\(\): expected a Dataset, received array\(1\)/);
  t.throws(() => tf.data.generator(5), /tf.data.generator\(\): the argument must be a function, received 5/);
  t.throws(() => tf.data.array('abc'), /tf.data.array\(\): items must be an array/);
  await t.rejects(tf.data.generator(() => 5).toArray(), /tf.data.generator\(\): the function must return an iterator/);
  await t.rejects(d.map((x) => Promise.resolve(x)).toArray(), /Dataset.map\(\): the transform returned a Promise; use mapAsync\(\)/);
  await t.rejects(tf.data.generator(function* () { yield 1; throw new Error('boom'); }).toArray(), /Error thrown while iterating through a dataset: boom/);
  await t.rejects(tf.data.array([tf.tensor([1, 2]), tf.tensor([1, 2, 3])]).batch(2).toArray(), /Dataset.batch\(\): element 1 has shape \[3\] but element 0 has \[2\]/);
  await t.rejects(tf.data.array([{ xs: tf.tensor([1]) }, { xs: 2 }]).batch(2).toArray(), /Dataset.batch\(\): element 1 at xs is 2 but element 0 is a Tensor/);
  await t.rejects(tf.data.array([{ a: 1 }, { b: 2 }]).batch(2).toArray(), /Dataset.batch\(\): element 1 has no a/);
  await t.rejects(tf.data.array(['x', 'y']).batch(2).toArray(), /Dataset.batch\(\): cannot batch strings/);
  await t.rejects(tf.data.array([{ v: undefined }]).batch(1).toArray(), /Dataset.batch\(\): element 0 at v is undefined; cannot batch missing values/);
  await t.rejects(tf.data.array([[1, 2], [3]]).batch(2).toArray(), /Dataset.batch\(\): cannot batch the nested arrays/);
  await t.rejects(tf.data.array([tf.tensor([1]), tf.tensor([1], [1], 'int32')]).batch(2).toArray(), /element 1 has dtype int32 but element 0 has float32/);
});

// ------------------------------------------------------------------ training

function tinyModel(lib = tf, seed = 1) {
  if (lib === tf) tf.setSeed(seed);
  const m = lib.sequential({ layers: [lib.layers.dense({ units: 3, activation: 'softmax', inputShape: [4], kernelInitializer: 'ones', biasInitializer: 'zeros' })] });
  m.compile({ optimizer: lib.train.sgd(0.1), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

/** Example i: 4 features, a one-hot label of 3 classes. */
const feat = (i) => [((i * 7) % 5) / 5, (i % 3) / 3, ((i * 3) % 4) / 4, 1];
const label = (i) => [0, 1, 2].map((c) => (c === (i * 7) % 3 ? 1 : 0));

t.test('fitDataset trains on tf.data pipelines like fit on the same batches', async (t) => {
  const n = 24;
  const ds = (L) => L.data.zip({ xs: L.data.array(range(n, feat)), ys: L.data.array(range(n, label)) }).batch(8);
  const m1 = tinyModel();
  const h = await m1.fitDataset(ds(LIBS.ours), { epochs: 3, verbose: 0 });
  t.same(h.epoch, [0, 1, 2]);
  const m2 = tinyModel();
  const x = tf.tensor(range(n, feat));
  const y = tf.tensor(range(n, label));
  const h2 = await m2.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
  for (let e = 0; e < 3; e++) t.ok(Math.abs(h.history.loss[e] - h2.history.loss[e]) < 1e-6, `epoch ${e}: loss ${h.history.loss[e]} as fit's ${h2.history.loss[e]}`);
  t.same(m1.getWeights().map((w) => Array.from(w.dataSync())), m2.getWeights().map((w) => Array.from(w.dataSync())), 'same weights');

  // tfjs, same model and data: same losses (float32 rounding apart)
  const mt = tinyModel(tfjs);
  const ht = await mt.fitDataset(ds(LIBS.tfjs), { epochs: 3, verbose: 0 });
  for (let e = 0; e < 3; e++) t.ok(Math.abs(h.history.loss[e] - ht.history.loss[e]) < 1e-4, `epoch ${e}: loss as tfjs (${ht.history.loss[e]})`);

  // element forms: xs / ys as an array or object of one tensor
  const wrapped = ds(LIBS.ours).map(({ xs, ys }) => ({ xs: [xs], ys: { out: ys } }));
  const m3 = tinyModel();
  const h3 = await m3.fitDataset(wrapped, { epochs: 3, verbose: 0 });
  t.same(h3.history.loss, h.history.loss, 'xs: [tensor], ys: {name: tensor} train the same');
  // int32 features (tf.oneHot in a map, as tfjs-examples/data-generator) train as float32, as TF.js upcasts them
  const ints = tf.data.zip({ xs: tf.data.array(range(n, (i) => tf.tensor(feat(i).map((v) => Math.round(v * 4)), [4], 'int32'))), ys: tf.data.array(range(n, label)) }).batch(8);
  const floats = ints.map(({ xs, ys }) => ({ xs: tf.tensor(Array.from(xs.dataSync()), xs.shape), ys }));
  const hi = await tinyModel().fitDataset(ints, { epochs: 2, verbose: 0 });
  const hf = await tinyModel().fitDataset(floats, { epochs: 2, verbose: 0 });
  t.same(hi.history.loss, hf.history.loss, 'int32 xs train as their float32 values');
  await t.rejects(tinyModel().fitDataset(ds(LIBS.ours).map(({ xs, ys }) => ({ xs: [xs, xs], ys })), { verbose: 0 }), /fitDataset: batch 0: the model has 1 input, but the dataset provides 2 inputs in xs/);
  await t.rejects(tinyModel().fitDataset(ds(LIBS.ours).map(({ xs }) => ({ xs })), { verbose: 0 }), /fitDataset: batch 0: a dataset for fitDataset\(\) is expected to generate objects of the form \{xs: xVal, ys: yVal\}/);
  await t.rejects(tinyModel().fitDataset(ds(LIBS.ours), { verbose: 0, validationSplit: 0.2 }), /validationSplit is not supported by fitDataset\(\)/);
});

t.test('fitDataset consumes iterators as tfjs does (per epoch, or across epochs with batchesPerEpoch)', async (t) => {
  const run = async (L, model, args, batches) => {
    const log = { passes: 0, pulled: 0 };
    const ds = L.data.generator(function* () {
      log.passes++;
      for (let i = 0; i < batches; i++) {
        log.pulled++;
        yield { xs: L.tensor([feat(i), feat(i + 1)]), ys: L.tensor([label(i), label(i + 1)]) };
      }
    });
    const warn = console.warn;
    let warned = 0;
    console.warn = () => warned++;
    let h;
    try {
      h = await model.fitDataset(ds, { verbose: 0, ...args });
    } finally {
      console.warn = warn;
    }
    return { ...log, epochs: h.epoch.length, warned: warned > 0 };
  };
  for (const [name, args, batches] of [
    ['an epoch per pass', { epochs: 3 }, 4],
    ['batchesPerEpoch within one pass', { epochs: 3, batchesPerEpoch: 2 }, 6],
    ['batchesPerEpoch running out', { epochs: 3, batchesPerEpoch: 2 }, 3],
  ]) {
    const ours = await run(LIBS.ours, tinyModel(), args, batches);
    const theirs = await run(LIBS.tfjs, tinyModel(tfjs), args, batches);
    t.same({ passes: ours.passes, pulled: ours.pulled, warned: ours.warned }, { passes: theirs.passes, pulled: theirs.pulled, warned: theirs.warned }, `${name}: the same passes, reads and warning (${JSON.stringify(theirs)})`);
  }
  const stopped = await run(LIBS.ours, tinyModel(), { epochs: 5, batchesPerEpoch: 2 }, 3);
  t.equal(stopped.epochs, 2, 'running out stops training after the partial epoch');

  // the batch read ahead of a stop is disposed: nothing leaks
  const m = tinyModel();
  const before = tf.memory().numTensors;
  const made = [];
  const ds = tf.data.generator(function* () {
    for (let i = 0; i < 6; i++) {
      const b = { xs: tf.tensor([feat(i)]), ys: tf.tensor([label(i)]) };
      made.push(b.xs);
      yield b;
    }
  });
  await m.fitDataset(ds, { epochs: 3, verbose: 0, callbacks: { onBatchEnd: (b) => { if (b === 1) m.stopTraining = true; } } });
  t.equal(made.length, 3, 'stopping after batch 1 read one batch ahead');
  t.ok(made.every((x) => x.isDisposed), 'and disposed it');
  t.equal(tf.memory().numTensors, before, 'no tensor left');
});

t.test('validationData datasets, evaluateDataset and its batches', async (t) => {
  const n = 20;
  const xs = range(n, feat);
  const ys = range(n, label);
  const val = tf.data.zip({ xs: tf.data.array(xs), ys: tf.data.array(ys) }).batch(6);
  const m = tinyModel();
  const h = await m.fitDataset(val, { epochs: 2, verbose: 0, validationData: val });
  t.ok(Number.isFinite(h.history.val_loss[1]) && Number.isFinite(h.history.val_acc[1]), 'val_loss and val_acc logged');
  const [l, a] = await m.evaluateDataset(val);
  const [l2, a2] = m.evaluate(tf.tensor(xs), tf.tensor(ys));
  t.ok(Math.abs(l.dataSync()[0] - l2.dataSync()[0]) < 1e-5, 'evaluateDataset = evaluate on the same data (batch-weighted mean)');
  t.ok(Math.abs(a.dataSync()[0] - a2.dataSync()[0]) < 1e-6);
  t.ok(Math.abs(h.history.val_loss[1] - l.dataSync()[0]) < 1e-5, 'the last val_loss is the final evaluateDataset');
  const [lb] = await m.evaluateDataset(val, { batches: 1 });
  const [lf] = m.evaluate(tf.tensor(xs.slice(0, 6)), tf.tensor(ys.slice(0, 6)));
  t.ok(Math.abs(lb.dataSync()[0] - lf.dataSync()[0]) < 1e-5, 'batches: 1 evaluates the first batch only');
  const warn = console.warn;
  let warned = '';
  console.warn = (s) => (warned = s);
  try {
    await m.evaluateDataset(val, { batches: 10 });
  } finally {
    console.warn = warn;
  }
  t.match(warned, /evaluateDataset: your dataset iterator ran out of data after 4 of the 10 batches/);
  const h2 = await tinyModel().fitDataset(val, { epochs: 1, verbose: 0, validationData: val.repeat(), validationBatches: 2 });
  t.ok(Number.isFinite(h2.history.val_loss[0]), 'validationBatches bounds an endless validation set');
  await t.rejects(m.evaluateDataset(val, { batches: 0 }), /evaluateDataset: batches must be a positive integer, received 0/);
  await t.rejects(m.evaluateDataset(val, { verbose: 1 }), /evaluateDataset: verbose mode is not implemented/);
  await t.rejects(tinyModel().fitDataset(val, { verbose: 0, validationData: val, validationBatches: -1 }), /fitDataset: validationBatches must be a positive integer/);
  await t.rejects(m.evaluateDataset(tf.data.array([])), /evaluateDataset: the dataset yielded no batches/);
});

function gcNow() {
  if (typeof global.gc === 'function') return global.gc();
  v8.setFlagsFromString('--expose-gc');
  vm.runInNewContext('gc')();
}

t.test('memory stays flat while a generator streams many batches through fitDataset', async (t) => {
  const d = 256;
  const bs = 64;
  const batches = 1500; // 1500 x 64 x 256 floats = 98 MB streamed in all
  tf.setSeed(3);
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 4, activation: 'softmax', inputShape: [d] })] });
  m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  let made = 0;
  const ds = tf.data
    .generator(function* () {
      for (let i = 0; i < batches; i++) {
        made++;
        const x = new Float32Array(bs * d).fill(i % 7 / 7);
        const y = new Float32Array(bs * 4);
        for (let r = 0; r < bs; r++) y[r * 4 + (r % 4)] = 1;
        yield { xs: new tf.Tensor(x, [bs, d], 'float32'), ys: new tf.Tensor(y, [bs, 4], 'float32') };
      }
    })
    .prefetch(2);
  const samples = [];
  const tensors = [];
  await m.fitDataset(ds, {
    verbose: 0,
    callbacks: {
      onBatchEnd: async (b) => {
        if (b % 100 === 0) tensors.push(tf.memory().numTensors);
        if (b === 100 || b >= batches - 200 && b % 50 === 0) {
          gcNow();
          await new Promise((r) => setTimeout(r, 5)); // lets freed backing stores go
          gcNow();
          const u = process.memoryUsage();
          samples.push({ b, rss: u.rss, ext: u.arrayBuffers + u.heapUsed });
        }
      },
    },
  });
  t.equal(made, batches);
  const first = samples[0];
  const late = samples.slice(1);
  // a leak grows at every late sample; the smallest of them filters out collector lag
  const growExt = Math.min(...late.map((s) => s.ext - first.ext)) / 2 ** 20;
  const growRss = Math.min(...late.map((s) => s.rss - first.rss)) / 2 ** 20;
  t.ok(growExt < 16, `JS heap + array buffers grew ${growExt.toFixed(1)} MB over ${batches - 100} batches (98 MB streamed)`);
  t.ok(growRss < 48, `RSS grew ${growRss.toFixed(1)} MB`);
  t.ok(Math.max(...tensors) - Math.min(...tensors) <= 8, `tf.memory().numTensors stays flat (${Math.min(...tensors)}..${Math.max(...tensors)}): fitDataset disposes the batches it used, as TF.js does`);
});
