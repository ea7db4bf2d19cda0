// The main job: `cnn-node train` on the bundled sample (1 epoch) must learn, and write the model
// and a report with its plots; evaluate / predict load the saved model; bad flags exit 2.
'use strict';
const t = require('tap');
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const run = (args) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 240000 });

t.test('train on the bundled sample, then evaluate and predict', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-cli-'));
  const r = run(['train', '--epochs', '1', '--out', out, '--seed', '3', '--quiet']);
  t.equal(r.status, 0, r.stderr);
  const m = /Test accuracy: ([0-9.]+)/.exec(r.stdout);
  t.ok(m, 'prints the test accuracy');
  const acc = Number(m && m[1]);
  t.ok(acc > 0.7, `test accuracy ${acc} beats the 0.70 floor after one epoch`);
  t.match(r.stdout, /Training throughput: \d+ images\/s/);
  t.match(r.stdout, /Ankle boot/, 'confusion matrix with class names');
  t.match(r.stdout, /Report: .*report\.html/);
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  t.match(html, /<svg/, 'report holds inline SVG');
  t.ok((html.match(/<svg/g) || []).length >= 3, 'curves, heat map and filters');
  t.match(html, /T-shirt\/top/);
  t.ok(fs.existsSync(path.join(out, 'model', 'model.json')), 'model saved');

  const e = run(['evaluate', '--model-dir', path.join(out, 'model')]);
  t.equal(e.status, 0, e.stderr);
  const em = /Test accuracy: ([0-9.]+)/.exec(e.stdout);
  t.ok(em && Math.abs(Number(em[1]) - acc) < 1e-9, `evaluate reproduces the accuracy: ${em && em[1]}`);

  const p = run(['predict', '--model-dir', path.join(out, 'model'), '--images', path.join(root, 'data', 'fashion-mnist-sample', 't10k-images-idx3-ubyte.gz'), '--count', '3']);
  t.equal(p.status, 0, p.stderr);
  t.equal(p.stdout.trim().split('\n').length, 3);
  fs.rmSync(out, { recursive: true, force: true });
});

t.test('bad flags get a usage message and exit code 2', async (t) => {
  for (const args of [['train', '--epochs', '0'], ['train', '--bogus'], ['fly'], [], ['train', '--model', 'nope'], ['train', '--backend', 'gpu'], ['evaluate'],
    ['train', '--learning-rate', '0'], ['train', '--learning-rate', 'fast'], ['train', '--early-stopping=-1'], ['train', '--early-stopping', '1.5'],
    ['train', '--early-stopping', '2', '--validation-split', '0']]) {
    const r = run(args);
    t.equal(r.status, 2, `${args.join(' ')} -> exit 2`);
    t.match(r.stderr, /Usage: cnn-node/);
  }
  const missing = run(['train', '--data', '/nonexistent-dir', '--epochs', '1']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /nonexistent-dir/);
});

t.test('--early-stopping keeps the best epoch by validation accuracy; --learning-rate reaches Adam', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-cli-'));
  const r = run(['train', '--epochs', '3', '--limit', '1500', '--early-stopping', '0', '--learning-rate', '0.002', '--out', out, '--quiet']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /learning rate: 0\.002, early stopping: patience 0 on val_acc/);
  const m = /Early stopping: (?:stopped after epoch (\d)|ran all 3 epochs); kept the weights of epoch (\d) \(validation accuracy ([0-9.]+)\)/.exec(r.stdout);
  t.ok(m, 'says which epoch it kept');
  if (m) t.ok(Number(m[2]) <= (m[1] ? Number(m[1]) : 3), 'the kept epoch is one that ran');
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'model', 'model.json'), 'utf8'));
  t.ok(cfg.modelTopology, 'the kept model is saved');
  t.match(fs.readFileSync(path.join(out, 'report.html'), 'utf8'), /early stopping/);
  fs.rmSync(out, { recursive: true, force: true });
});

t.test('a graph (functional) model.json trains, evaluates and predicts through the CLI', async (t) => {
  const tf = require('..');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-cli-graph-'));
  const x = tf.input({ shape: [28, 28, 1], name: 'image' });
  const c1 = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
  const c2 = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same' }).apply(c1);
  const res = tf.layers.activation({ activation: 'relu' }).apply(tf.layers.add().apply([c1, c2]));
  const pooled = tf.layers.maxPooling2d({ poolSize: 2 }).apply(res);
  const probs = tf.layers.dense({ units: 10, activation: 'softmax' }).apply(tf.layers.flatten().apply(pooled));
  await tf.model({ inputs: x, outputs: probs }).save(`file://${dir}/spec`);
  t.equal(JSON.parse(fs.readFileSync(path.join(dir, 'spec', 'model.json'), 'utf8')).modelTopology.model_config?.class_name ??
    JSON.parse(fs.readFileSync(path.join(dir, 'spec', 'model.json'), 'utf8')).modelTopology.class_name, 'Model', 'a TF.js Model file');
  const out = path.join(dir, 'out');
  const r = run(['train', '--model', path.join(dir, 'spec', 'model.json'), '--epochs', '1', '--limit', '600', '--out', out, '--quiet']);
  t.equal(r.status, 0, r.stderr);
  const m = /Test accuracy: ([0-9.]+)/.exec(r.stdout);
  t.ok(m && Number(m[1]) > 0.3, `the residual net learns: ${m && m[1]}`);
  const e = run(['evaluate', '--model-dir', path.join(out, 'model')]);
  t.equal(e.status, 0, e.stderr);
  const em = /Test accuracy: ([0-9.]+)/.exec(e.stdout);
  // train's --limit cuts the test split too; evaluate reads all of it
  t.ok(em && Number(em[1]) > 0.3, `the saved graph model evaluates: ${em && em[1]}`);
  const p = run(['predict', '--model-dir', path.join(out, 'model'), '--images', path.join(root, 'data', 'fashion-mnist-sample', 't10k-images-idx3-ubyte.gz'), '--count', '2']);
  t.equal(p.status, 0, p.stderr);
  t.equal(p.stdout.trim().split('\n').length, 2);
  fs.rmSync(dir, { recursive: true, force: true });
});

const glooBuilt = fs.existsSync(process.env.CNN_GLOO_PATH || path.join(root, 'build-gloo', 'Release', 'cnn_gloo.node'));
t.test('train --workers 2: data-parallel in two local processes, rank 0 reports', { skip: glooBuilt ? false : 'the optional Gloo addon is not built (npm run build:gloo)' }, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-cli-dp-'));
  const r = run(['train', '--workers', '2', '--epochs', '1', '--out', out, '--quiet']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /data-parallel: 2 ranks \(batch 32 each, 64 per step\)/);
  const m = /Test accuracy: ([0-9.]+)/.exec(r.stdout);
  t.ok(m && Number(m[1]) > 0.6, `one epoch at 64 per step learns: ${m && m[1]}`);
  t.equal((r.stdout.match(/Test accuracy/g) || []).length, 1, 'one report, from rank 0');
  t.ok(fs.existsSync(path.join(out, 'model', 'model.json')), 'rank 0 saved the model');
  fs.rmSync(out, { recursive: true, force: true });
});

t.test('a partial set of --rank / --world-size / --store is a usage error', async (t) => {
  const r = run(['train', '--rank', '0', '--epochs', '1']);
  t.equal(r.status, 2);
  t.match(r.stderr, /needs all of --rank, --world-size and --store/);
  const w = run(['train', '--workers', '0']);
  t.equal(w.status, 2);
  t.match(w.stderr, /--workers must be an integer >= 1/);
});
