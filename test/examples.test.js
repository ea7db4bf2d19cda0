// The examples run unchanged (a TF.js-style script with only its import changed).
'use strict';
const t = require('tap');
const { spawnSync } = require('child_process');
const path = require('path');

t.test('examples/tfjs_style.js runs and learns', async (t) => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'examples', 'tfjs_style.js')], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 120000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /reloaded model predicts the same: true/);
  t.match(r.stdout, /test loss [0-9.]+, accuracy/);
});
