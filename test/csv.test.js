// tf.data.csv: RFC 4180 parsing (quotes, escaped quotes, line breaks in fields, CRLF), headers,
// label columns, missing values, file:// URLs / paths / http URLs, against @tensorflow/tfjs where
// its line-based reader applies; streaming (a FIFO proves no whole-file read), TF.js-worded
// errors, and a CSV -> fitDataset pipeline.
'use strict';
const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const v8 = require('v8');
const vm = require('vm');
const { execFileSync } = require('child_process');
const { pathToFileURL } = require('url');
const tf = require('..');
const tfjs = require('@tensorflow/tfjs');
const { CsvParser } = require('../dist/data/csv_parse');

tfjs.setBackend('cpu');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-csv-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
let count = 0;
function file(text) {
  const p = path.join(tmp, `f${count++}.csv`);
  fs.writeFileSync(p, text);
  return p;
}
const url = (p) => pathToFileURL(p).href;

t.test('parser: RFC 4180 fields, records and line numbers', async (t) => {
  const parse = (text, opts, chunk = 0) => {
    const p = new CsvParser(opts);
    const out = [];
    if (chunk) for (let i = 0; i < text.length; i += chunk) out.push(...p.push(text.slice(i, i + chunk)));
    else out.push(...p.push(text));
    out.push(...p.end());
    return out;
  };
  const cases = [
    ['plain', 'a,b\n1,2\n', [['a', 'b'], ['1', '2']]],
    ['no final line break', 'a,b\n1,2', [['a', 'b'], ['1', '2']]],
    ['CRLF', 'a,b\r\n1,2\r\n', [['a', 'b'], ['1', '2']]],
    ['empty fields', ',a,,\n', [['', 'a', '', '']]],
    ['quoted delimiter', '"a,b",c\n', [['a,b', 'c']]],
    ['escaped quote', '"say ""hi""",x\n', [['say "hi"', 'x']]],
    ['line break in a quoted field', '"one\ntwo",3\r\n4,5\n', [['one\ntwo', '3'], ['4', '5']]],
    ['CRLF inside quotes is data', '"a\r\nb",c\n', [['a\r\nb', 'c']]],
    ['empty quoted field', '"",x\n', [['', 'x']]],
    ['quoted last field at the end', 'x,"y"', [['x', 'y']]],
    ['empty lines are skipped', '\n\na\n\n\nb\n', [['a'], ['b']]],
    ['quote inside an unquoted field is data', 'a"b,c\n', [['a"b', 'c']]],
    ['another delimiter', 'a;b;"c;d"\n', [['a', 'b', 'c;d']], { delimiter: ';' }],
    ['tab delimiter', 'a\tb\n', [['a', 'b']], { delimiter: '\t' }],
    ['whitespace runs', '  a   b\t c  \n1 2 3\n', [['a', 'b', 'c'], ['1', '2', '3']], { delimWhitespace: true }],
    ['unicode', 'é,"ü,ß"\n日本,語\n', [['é', 'ü,ß'], ['日本', '語']]],
  ];
  for (const [name, text, want, opts] of cases) {
    t.same(parse(text, opts).map((r) => r.fields), want, name);
    for (const chunk of [1, 2, 3]) t.same(parse(text, opts, chunk).map((r) => r.fields), want, `${name} (fed ${chunk} chars at a time)`);
  }
  t.same(parse('a\n"x\ny"\nb\n').map((r) => r.line), [1, 2, 4], 'records know the line they start on');
  t.throws(() => parse('a,"open\nb,c\n'), /unterminated quoted field: the quote opened on line 1 is never closed/);
});

const IRIS = 'sepal,petal,"kind"\n5.1,1.4,0\n4.9,1.5,1\r\n6.3,6.0,2\n';

t.test('rows as tfjs gives them: header, label columns, dtypes, defaults', async (t) => {
  const p = file(IRIS + '5.0,,1\n');
  const configs = [
    {},
    { columnConfigs: { kind: { isLabel: true } } },
    { columnConfigs: { kind: { isLabel: true, dtype: 'int32' }, petal: { default: -1 } } },
    { columnConfigs: { kind: { isLabel: true } }, configuredColumnsOnly: true },
    { columnConfigs: { sepal: { dtype: 'int32' } } },
    { columnConfigs: { kind: { dtype: 'bool' } } },
    { hasHeader: false, columnNames: ['a', 'b', 'c'] },
    { columnNames: ['x', 'y', 'z'] },
  ];
  for (const config of configs) {
    const ours = tf.data.csv(url(p), config);
    const theirs = tfjs.data.csv(url(p), config);
    const name = JSON.stringify(config);
    t.same(await ours.columnNames(), await theirs.columnNames(), `${name}: columnNames()`);
    t.same(await ours.toArray(), await theirs.toArray(), `${name}: rows`);
  }
  t.same(
    await tf.data.csv(url(p), { columnConfigs: { kind: { isLabel: true } } }).take(1).toArray(),
    [{ xs: { sepal: 5.1, petal: 1.4 }, ys: { kind: 0 } }],
    'a label column makes {xs, ys}',
  );
  const rows = await tf.data.csv(p).toArray();
  t.same(rows[3], { sepal: 5, petal: undefined, kind: 1 }, 'an empty value without default is undefined (TF.js)');
});

t.test('sources: paths, file:// URLs, URL objects, http', async (t) => {
  const p = file(IRIS);
  const want = await tf.data.csv(p).toArray();
  t.equal(want.length, 3);
  t.same(await tf.data.csv(url(p)).toArray(), want, 'file:// URL string');
  t.same(await tf.data.csv(new URL(url(p))).toArray(), want, 'URL object');
  const rel = path.relative(process.cwd(), p);
  t.same(await tf.data.csv(`file://./${rel}`).toArray(), want, 'file://./relative/path as in TF.js');
  const spaced = path.join(tmp, 'with space.csv');
  fs.writeFileSync(spaced, IRIS);
  t.same(await tf.data.csv(url(spaced)).toArray(), want, 'a percent-encoded file URL (%20)');
  t.same(await tf.data.csv(`file://${spaced}`).toArray(), want, 'file:// + a path with a space');
  const server = http.createServer((req, res) => {
    if (req.url === '/iris.csv') {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(IRIS);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    t.same(await tf.data.csv(`${base}/iris.csv`).toArray(), want, 'http URL');
    await t.rejects(tf.data.csv(`${base}/missing.csv`).toArray(), /tf.data.csv\(\): cannot fetch http:\/\/127.0.0.1:\d+\/missing.csv \(HTTP 404/);
  } finally {
    server.close();
  }
  const bom = file('\ufeffa,b\n1,2\n');
  t.same(await tf.data.csv(bom).toArray(), [{ a: 1, b: 2 }], 'a UTF-8 byte order mark is dropped');
});

t.test('RFC 4180 beyond tfjs: escaped quotes and line breaks inside fields', async (t) => {
  const p = file('id,text,score\r\n1,"He said ""hi""",0.5\r\n2,"two\nlines, and a comma",1.5\r\n3,,\r\n');
  const rows = await tf.data.csv(p, { columnConfigs: { score: { default: 0 } } }).toArray();
  t.same(rows, [
    { id: 1, text: 'He said "hi"', score: 0.5 },
    { id: 2, text: 'two\nlines, and a comma', score: 1.5 },
    { id: 3, text: undefined, score: 0 },
  ]);
  const ws = file('a  b   c\n 1 2  3 \n');
  t.same(await tf.data.csv(ws, { delimWhitespace: true }).toArray(), [{ a: 1, b: 2, c: 3 }], 'delimWhitespace');
  const semi = file('a;b\n1;"2;3"\n');
  t.same(await tf.data.csv(semi, { delimiter: ';' }).toArray(), [{ a: 1, b: '2;3' }], 'delimiter');
});

t.test('streaming: the first row arrives before the file ends (a FIFO)', async (t) => {
  const fifo = path.join(tmp, 'pipe.csv');
  try {
    execFileSync('mkfifo', [fifo]);
  } catch {
    t.skip('mkfifo is not available');
    return;
  }
  const ds = tf.data.csv(fifo, { hasHeader: false, columnNames: ['a', 'b'] });
  const itP = ds.iterator();
  const w = fs.createWriteStream(fifo);
  w.write('1,2\n');
  const it = await itP;
  const first = await Promise.race([it.next(), new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
  t.same(first, { value: { a: 1, b: 2 }, done: false }, 'read while the writer still holds the pipe open');
  w.end('3,4\n');
  t.same(await it.toArray(), [{ a: 3, b: 4 }]);
});

function gcNow() {
  if (typeof global.gc === 'function') return global.gc();
  v8.setFlagsFromString('--expose-gc');
  vm.runInNewContext('gc')();
}

t.test('a large file streams in bounded memory', { timeout: 180000 }, async (t) => {
  const p = path.join(tmp, 'big.csv');
  const fd = fs.openSync(p, 'w');
  fs.writeSync(fd, 'x0,x1,x2,x3,label\n');
  const line = '0.25,0.5,0.75,1,"2"\n';
  for (let i = 0; i < 10; i++) fs.writeSync(fd, line.repeat(10000)); // 100,000 rows, 2 MB
  fs.closeSync(fd);
  gcNow();
  const before = process.memoryUsage().heapUsed;
  let n = 0;
  let peak = 0;
  await tf.data.csv(p, { columnConfigs: { label: { isLabel: true } } }).forEachAsync(() => {
    if (++n % 25000 === 0) {
      gcNow();
      peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
  });
  t.equal(n, 100000);
  // holding the rows would take some 15 MB of heap (two objects per row); one chunk's records are a few MB
  t.ok(peak < 8 * 2 ** 20, `live heap above the start stayed under 8 MB (peak ${(peak / 2 ** 20).toFixed(2)} MB) over 100k rows`);
  const it = await tf.data.csv(p).iterator();
  await it.next();
  await it.return();
  t.same(await it.next(), { value: null, done: true }, 'return() closes a pass early');
});

t.test('errors, worded like TF.js', async (t) => {
  const p = file(IRIS);
  const both = async (name, config, re, f = file(IRIS)) => {
    await t.rejects(tf.data.csv(url(f), config).toArray(), re, `${name} (ours)`);
    await t.rejects(tfjs.data.csv(url(f), config).toArray(), re, `${name} (tfjs)`);
  };
  await both('a columnConfigs key that is no column', { columnConfigs: { nope: { isLabel: true } } }, /The key "nope" provided in columnConfigs does not match any of the column names \(sepal,petal,kind\)/);
  await both('columnNames of another length', { columnNames: ['a', 'b'] }, /The length of provided columnNames \(2\) does not match the length of the header line read from file \(3\)/);
  await both('duplicate names', {}, /Duplicate column names found: a/, file('a,b,a\n1,2,3\n'));
  await both('a short row', {}, /Invalid row in csv file. Should have 3 elements in a row, but got/, file('a,b,c\n1,2\n'));
  await both('an empty required column', { columnConfigs: { b: { required: true } } }, /Required column b is empty in this line/, file('a,b\n1,\n'));
  await both('an empty label', { columnConfigs: { b: { isLabel: true } } }, /Required column b is empty in this line/, file('a,b\n1,\n'));
  await both('an empty file', {}, /No data was found for CSV parsing/, file(''));
  await t.rejects(tf.data.csv(file('a,b\n1,2\n3\n')).toArray(), /Should have 2 elements in a row, but got 1: 3 \(.*, line 3\)/, 'the line is named');
  await t.rejects(tf.data.csv(file('a,b\n1,x\n'), { columnConfigs: { b: { dtype: 'float32' } } }).toArray(), /Column b \(dtype float32\) has a value that is not a number: "x" \(.*, line 2\)/);
  await t.rejects(tf.data.csv(path.join(tmp, 'missing.csv')).toArray(), /tf.data.csv\(\): cannot read .*missing.csv \(ENOENT/);
  await t.rejects(tf.data.csv(file('a,b\n"1,2\n')).toArray(), /tf.data.csv\(\): .*: unterminated quoted field: the quote opened on line 2/);
  t.throws(() => tf.data.csv(p, { hasHeader: false }), /Column names must be provided if there is no header line/);
  t.throws(() => tf.data.csv(p, { delimWhitespace: true, delimiter: ',' }), /Delimiter should not be provided when delimWhitespace is true/);
  t.throws(() => tf.data.csv(p, { delimiter: ',,' }), /tf.data.csv\(\): delimiter must be one character/);
  t.throws(() => tf.data.csv(p, { header: true }), /tf.data.csv\(\): unknown option "header"/);
  t.throws(() => tf.data.csv(p, { columnConfigs: { a: { dtype: 'float64' } } }), /columnConfigs.a.dtype must be one of 'float32', 'int32', 'bool', 'string'/);
  t.throws(() => tf.data.csv(p, { columnConfigs: { a: { label: true } } }), /columnConfigs.a: unknown option "label"/);
  t.throws(() => tf.data.csv(42), /tf.data.csv\(\): source must be a file path or a file:\/\/, http:\/\/ or https:\/\/ URL, received 42/);
  t.throws(() => tf.data.csv('ftp://x/y.csv'), /unsupported URL "ftp:\/\/x\/y.csv"/);
  t.throws(() => tf.data.csv(p, { configuredColumnsOnly: true }), /configuredColumnsOnly needs columnConfigs/);
});

t.test('csv -> map -> batch -> fitDataset (the tfjs-examples iris pattern)', async (t) => {
  const rows = [];
  for (let i = 0; i < 60; i++) {
    const k = i % 3;
    rows.push(`${(k + 0.1 * (i % 5)).toFixed(2)},${(2 - k + 0.05 * (i % 7)).toFixed(2)},${k}`);
  }
  const p = file('a,b,species\n' + rows.join('\n') + '\n');
  const ds = tf.data
    .csv(url(p), { columnConfigs: { species: { isLabel: true } } })
    .map(({ xs, ys }) => ({ xs: Object.values(xs), ys: [0, 1, 2].map((c) => (c === ys.species ? 1 : 0)) }))
    .shuffle(60, 1)
    .batch(10);
  tf.setSeed(1);
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 8, activation: 'relu', inputShape: [2] }), tf.layers.dense({ units: 3, activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const h = await model.fitDataset(ds, { epochs: 30, verbose: 0 });
  t.ok(h.history.loss[29] < h.history.loss[0] * 0.5, `loss fell from ${h.history.loss[0].toFixed(3)} to ${h.history.loss[29].toFixed(3)}`);
  const [, acc] = await model.evaluateDataset(ds);
  t.ok(acc.dataSync()[0] > 0.9, `accuracy ${acc.dataSync()[0]}`);
});
