// The official TF.js examples (tensorflow/tfjs-examples), ported in examples/tfjs/ with only the
// import changed (synthetic data where they download), each run in a child process. An example
// whose APIs cnn-node lacks (probed now, from examples/tfjs/manifest.js) or with a known
// behavioural gap (`needs`) still runs, with todo assertions naming exactly what is missing; all
// others must pass.
'use strict';
const t = require('tap');
const path = require('path');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const tf = require('..');
const manifest = require('../examples/tfjs/manifest');
const { missingApis } = require('../examples/tfjs/probe');

const dir = path.join(__dirname, '..', 'examples', 'tfjs');
const TIMEOUT_MS = 180000;

// About twenty child processes each train a model: alone this file takes about a minute and a
// half, but with the whole suite on a shared 2-core machine it can pass tap's 300 s file limit.
t.setTimeout(20 * 60 * 1000);

function runScript(t, e, env = {}) {
  const args = (e.args || []).map((a) => {
    if (a !== '<tmp>') return a;
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `tfjs-example-${e.name}-`));
    t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
    return d;
  });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(dir, `${e.script || e.name}.js`), ...args], { cwd: path.join(__dirname, '..'), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

t.test('the probe reports absent names, and an unbuildable root once', async (t) => {
  t.same(missingApis(tf, ['tf.tensor', 'tf.noSuchOp', 'tensor.reshape', 'tensor.noSuchMethod']), ['tf.noSuchOp', 'tensor.noSuchMethod']);
  const fake = { tensor: () => 1 };
  t.same(missingApis(fake, ['tf.tensor', 'model.fit', 'model.compile', 'dataset.map']), ['model.*', 'dataset.*']);
  t.throws(() => missingApis(tf, ['nope.x']), /unknown root 'nope'/);
});

t.test('every manifest entry has a script and valid probe names', async (t) => {
  for (const e of manifest) {
    t.ok(fs.existsSync(path.join(dir, `${e.script || e.name}.js`)), `${e.script || e.name}.js exists`);
    t.doesNotThrow(() => missingApis(tf, e.apis), `${e.name}: probe names parse`);
  }
});

for (const e of manifest) {
  const missing = missingApis(tf, e.apis);
  const gaps = [...missing, ...(e.needs || [])];
  const todo = gaps.length ? `needs ${gaps.join(', ')}` : false;
  // The script runs either way; for an example with gaps its assertions are todo (reported with
  // the reason, not counted as failures), so a gap shows what breaks without turning CI red.
  const backends = e.jsBackend ? [null, 'js'] : [null];
  for (const backend of backends) {
    const label = `tfjs-examples/${e.name}${backend ? ' on the js backend' : ''}${todo ? ` (${todo})` : ''}`;
    t.test(label, async (t) => {
      const r = await runScript(t, e, backend ? { CNN_BACKEND: backend } : {});
      const tag = e.script || e.name;
      const summary = (r.stdout.match(new RegExp(`^${tag}: .*$`, 'm')) || [`(no summary line; signal ${r.signal})`])[0];
      t.comment(summary);
      t.equal(r.status, 0, `${e.name} exits 0${r.status === 0 ? '' : `: ${r.stderr.split('\n').slice(0, 3).join(' | ')}`}`, { todo });
      t.match(r.stdout, new RegExp(`^${tag}: ok \\(`, 'm'), 'prints its ok summary', { todo });
      if (todo && r.status === 0) t.comment(`${e.name} now runs: drop its \`needs\` entry in examples/tfjs/manifest.js if it has one`);
    });
  }
}
