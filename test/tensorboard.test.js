// TensorBoard event files read back by an independent reader: TFRecord framing with a bitwise
// CRC-32C (not the library's table), Event protos decoded by protobufjs from a schema written
// here; summaryFileWriter and the tensorBoard callback's train/ and val/ layout and tag names.
'use strict';
const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const protobuf = require('protobufjs');
const tf = require('..');
const { quadrants, seedModel } = require('./helpers/toy');

const SCHEMA = `syntax = "proto3";
message HistogramProto { double min = 1; double max = 2; double num = 3; double sum = 4; double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true]; repeated double bucket = 7 [packed = true]; }
message Value { string tag = 1; float simple_value = 2; HistogramProto histo = 5; }
message Summary { repeated Value value = 1; }
message Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }`;
const Event = protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('Event');

function crc32cBitwise(bytes) {
  let c = ~0 >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  return (~c) >>> 0;
}
const masked = (bytes) => {
  const c = crc32cBitwise(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
};

/** Every record of an event file, CRCs checked, decoded into plain objects. */
function readEvents(t, file) {
  const buf = fs.readFileSync(file);
  const events = [];
  let o = 0;
  while (o < buf.length) {
    t.ok(o + 12 <= buf.length, 'record header complete');
    const len = Number(buf.readBigUInt64LE(o));
    t.equal(buf.readUInt32LE(o + 8), masked(buf.subarray(o, o + 8)), 'length CRC');
    const data = buf.subarray(o + 12, o + 12 + len);
    t.equal(buf.readUInt32LE(o + 12 + len), masked(data), 'data CRC');
    events.push(Event.toObject(Event.decode(data), { longs: Number, defaults: true }));
    o += 16 + len;
  }
  t.equal(o, buf.length, 'no trailing bytes');
  return events;
}
const eventFiles = (dir) => fs.readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.')).map((f) => path.join(dir, f));
const scalars = (events) => events.filter((e) => e.summary && e.summary.value.length).map((e) => ({ tag: e.summary.value[0].tag, step: e.step, v: e.summary.value[0].simple_value }));

t.test('CRC-32C matches the published check value', async (t) => {
  t.equal(crc32cBitwise(Buffer.from('123456789')), 0xe3069283, 'test reader CRC');
});

t.test('summaryFileWriter writes a readable event file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-tb-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const w = tf.node.summaryFileWriter(dir);
  t.equal(tf.node.summaryFileWriter(dir), w, 'one writer per folder');
  for (let i = 0; i < 25; i++) w.scalar('loss', 1 / (i + 1), i);
  w.scalar('acc', tf.scalar(0.75), 100);
  w.histogram('weights', tf.tensor1d([0, 1, 1, 2, 3, 3, 3]), 7, 3);
  w.flush();
  const files = eventFiles(dir);
  t.equal(files.length, 1);
  t.match(path.basename(files[0]), new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${os.hostname().replace(/[.]/g, '\\.')}\\.v2$`));
  const ev = readEvents(t, files[0]);
  t.equal(ev[0].file_version, 'brain.Event:2', 'first event: file_version');
  t.ok(Math.abs(ev[0].wall_time - Date.now() / 1000) < 60, 'wall_time in seconds');
  const s = scalars(ev.slice(1, 27));
  t.same(s.map((x) => x.step), [...Array(25).keys(), 100]);
  t.ok(s.slice(0, 25).every((x, i) => Math.abs(x.v - Math.fround(1 / (i + 1))) === 0), 'float32 simple_value');
  t.same(s[25], { tag: 'acc', step: 100, v: 0.75 });
  const h = ev[27].summary.value[0];
  t.equal(h.tag, 'weights');
  t.equal(ev[27].step, 7);
  t.same({ min: h.histo.min, max: h.histo.max, num: h.histo.num, sum: h.histo.sum, sum_squares: h.histo.sum_squares }, { min: 0, max: 3, num: 7, sum: 13, sum_squares: 33 });
  t.same(h.histo.bucket_limit, [1, 2, 3]);
  t.same(h.histo.bucket, [1, 2, 4]);
  t.throws(() => w.scalar('', 1, 0), /name must be a non-empty string/);
  t.throws(() => w.scalar('x', 1, 1.5), /step must be an integer/);
  t.throws(() => w.scalar('x', tf.tensor1d([1, 2]), 1), /value must be a scalar/);
  t.throws(() => w.scalar('x', '1', 1), /value must be a number or a scalar tensor/);
});

t.test('records still queued are written when the process exits', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-tb-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { spawnSync } = require('child_process');
  const r = spawnSync(process.execPath, ['-e', `const tf = require(${JSON.stringify(path.join(__dirname, '..'))}); const w = tf.node.summaryFileWriter(${JSON.stringify(dir)}); w.scalar('a', 1, 0); w.scalar('a', 2, 1);`], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const s = scalars(readEvents(t, eventFiles(dir)[0]));
  t.same(s, [{ tag: 'a', step: 0, v: 1 }, { tag: 'a', step: 1, v: 2 }]);
});

t.test('tensorBoard callback: train/ and val/ folders, epoch_ and batch_ tags as tfjs-node', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-tb-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { x, y } = quadrants(64, 5);
  const model = seedModel();
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['acc'] });
  const h = await model.fit(x, y, { epochs: 3, batchSize: 16, validationSplit: 0.25, verbose: 0, seed: 1, callbacks: [tf.node.tensorBoard(dir, { updateFreq: 'batch', histogramFreq: 2 })] });
  const train = eventFiles(path.join(dir, 'train'));
  const val = eventFiles(path.join(dir, 'val'));
  t.equal(train.length, 1);
  t.equal(val.length, 1);
  const ts = scalars(readEvents(t, train[0]).filter((e) => e.summary && 'simple_value' in e.summary.value[0] && !e.summary.value[0].histo));
  const epochLoss = ts.filter((s) => s.tag === 'epoch_loss');
  t.same(epochLoss.map((s) => s.step), [1, 2, 3], 'epoch_loss at steps 1..3');
  t.same(epochLoss.map((s) => s.v), h.history.loss.map(Math.fround), 'epoch_loss values are the History');
  t.same(ts.filter((s) => s.tag === 'epoch_acc').map((s) => s.v), h.history.acc.map(Math.fround));
  const batchLoss = ts.filter((s) => s.tag === 'batch_loss');
  t.same(batchLoss.map((s) => s.step), Array.from({ length: 9 }, (_, i) => i + 1), 'batch_loss at batches seen 1..9 (3 per epoch)');
  t.notOk(ts.some((s) => s.tag === 'batch_batch' || s.tag === 'batch_size'), 'batch and size are not logged');
  const vs = scalars(readEvents(t, val[0]));
  t.same(vs.filter((s) => s.tag === 'epoch_loss').map((s) => s.v), h.history.val_loss.map(Math.fround), 'val/ epoch_loss is val_loss');
  t.same([...new Set(vs.map((s) => s.tag))].sort(), ['epoch_acc', 'epoch_loss']);
  const histos = readEvents(t, train[0]).filter((e) => e.summary && e.summary.value.length && e.summary.value[0].histo);
  const tags = [...new Set(histos.map((e) => e.summary.value[0].tag))];
  t.equal(tags.length, 4, 'one histogram per weight (2 layers x kernel, bias)');
  t.same([...new Set(histos.map((e) => e.step))], [0, 2], 'histograms at epochs 0 and 2 (histogramFreq 2)');
  t.throws(() => tf.node.tensorBoard(dir, { updateFreq: 'step' }), /updateFreq must be 'batch' or 'epoch', received "step"/);
  t.throws(() => tf.node.tensorBoard(dir, { histogramFreq: -1 }), /histogramFreq must be a non-negative integer/);
});
