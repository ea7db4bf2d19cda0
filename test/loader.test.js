// The loader: native when the addon loads, the js backend with one clear warning when it does not.
'use strict';
const t = require('tap');
const { spawnSync } = require('child_process');
const path = require('path');
const fs = require('fs');

const root = path.join(__dirname, '..');
const hasBuild = fs.existsSync(path.join(root, 'build', 'Release', 'cnn.node')) || !!process.env.CNN_NATIVE_PATH;

const cleanEnv = { ...process.env };
delete cleanEnv.NODE_NO_WARNINGS;
delete cleanEnv.NODE_OPTIONS;

function run(code, env) {
  return spawnSync(process.execPath, ['-e', code], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
}

t.test('the built addon loads as the native backend', { skip: !hasBuild && 'no native build' }, async (t) => {
  const r = run("const tf = require('.'); console.log(tf.getBackend());", {});
  t.equal(r.stdout.trim(), 'native', r.stderr);
  t.notMatch(r.stderr, /CNN_NO_NATIVE/);
});

t.test('with no addon anywhere: js backend, exactly one warning', async (t) => {
  const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'cnn-loader-'));
  fs.cpSync(path.join(root, 'dist'), path.join(tmp, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(tmp, 'package.json'));
  const r = spawnSync(process.execPath, ['-e', "const tf = require('.'); console.log(tf.getBackend()); tf.getBackend(); tf.matMul(tf.tensor2d([[1]]), tf.tensor2d([[2]]));"],
    { cwd: tmp, env: { ...cleanEnv, CNN_NATIVE_PATH: '' }, encoding: 'utf8' });
  t.equal(r.stdout.trim(), 'js');
  const warnings = r.stderr.match(/CNN_NO_NATIVE/g) || [];
  t.equal(warnings.length, 1, 'one warning');
  t.match(r.stderr, /npm rebuild cnn-node/);
  t.match(r.stderr, /allowScripts/);
  const r2 = spawnSync(process.execPath, ['-e', "const tf = require('.'); try { tf.setBackend('native') } catch (e) { console.log(e.message.split('\\n')[0]) }"],
    { cwd: tmp, env: { ...process.env, CNN_NATIVE_PATH: '' }, encoding: 'utf8' });
  t.match(r2.stdout, /native addon could not be loaded/);
  fs.rmSync(tmp, { recursive: true, force: true });
});

t.test('CNN_BACKEND=js selects the js backend without a warning', async (t) => {
  const r = run("console.log(require('.').getBackend())", { CNN_BACKEND: 'js' });
  t.equal(r.stdout.trim(), 'js');
  t.notMatch(r.stderr, /CNN_NO_NATIVE/);
});

t.test('setBackend rejects unknown names', async (t) => {
  const tf = require('..');
  t.throws(() => tf.setBackend('gpu'), /expected 'native' or 'js'/);
});

t.test('ESM and CJS entry points share one module', async (t) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', "import * as tf from 'cnn-node'; import def from 'cnn-node'; console.log(typeof tf.sequential, typeof tf.layers.conv2d, def.getBackend === tf.getBackend)"],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
  t.equal(r.stdout.trim(), 'function function true', r.stderr);
});

t.test('both build systems compile the same source list', async (t) => {
  const list = fs.readFileSync(path.join(root, 'native', 'sources.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const f of list) t.ok(fs.existsSync(path.join(root, f)), `${f} exists`);
  const gyp = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8');
  t.match(gyp, /native-sources\.js/);
  const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  t.match(cmake, /native\/sources\.txt/);
  // native/distributed/ is the optional Gloo addon (scripts/build-gloo.js), never in the main addon
  const all = fs.readdirSync(path.join(root, 'native'), { recursive: true }).filter((f) => f.endsWith('.cc')).map((f) => `native/${f}`)
    .filter((f) => !f.startsWith('native/distributed/'));
  t.same(all.sort(), [...list].sort(), 'every .cc file of the main addon is in the list');
  t.notOk(list.some((f) => f.startsWith('native/distributed/')), 'the Gloo addon stays out of the main addon');
});
