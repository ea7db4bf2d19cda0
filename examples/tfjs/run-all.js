// Runs every ported TF.js example (or the ones named) and prints a Markdown status table:
//   node examples/tfjs/run-all.js [--tfjs] [name ...]
// --tfjs runs the ports against @tensorflow/tfjs instead (a check that each port is valid TF.js;
// without --logDir, as tf.node.tensorBoard is tfjs-node's).
// Exit code 1 when an example whose APIs are all present fails. The CI check is
// test/tfjs_examples.test.js; this is the same run as a table for README.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');
const manifest = require('./manifest');
const { missingApis } = require('./probe');
const { tmpDir } = require('./harness');

const args = process.argv.slice(2);
const useTfjs = args.includes('--tfjs');
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !manifest.some((e) => e.name === n));
if (unknown.length) {
  console.error(`run-all: unknown example(s) ${unknown.join(', ')}; known: ${manifest.map((e) => e.name).join(', ')}`);
  process.exit(2);
}
const tf = useTfjs ? require(require.resolve('@tensorflow/tfjs', { paths: [path.join(__dirname, '..', '..')] })) : require('../..');

let failed = false;
const rows = [];
for (const e of manifest.filter((m) => !names.length || names.includes(m.name))) {
  const gaps = [...missingApis(tf, e.apis), ...(useTfjs ? [] : e.needs || [])];
  const pre = useTfjs ? ['-r', path.join(__dirname, 'with-tfjs.js')] : [];
  const t0 = Date.now();
  const script = e.script || e.name;
  const scriptArgs = (e.args || []).map((a) => (a === '<tmp>' ? tmpDir(e.name) : a))
    .filter((a, i, all) => !(useTfjs && (a === '--logDir' || all[i - 1] === '--logDir')));
  const r = spawnSync(process.execPath, [...pre, path.join(__dirname, `${script}.js`), ...scriptArgs], { encoding: 'utf8', timeout: 900000 });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const ok = r.status === 0;
  if (!ok && !gaps.length) failed = true;
  const line = (r.stdout.match(new RegExp(`^${script}: .*$`, 'm')) || [`${e.name}: no summary (exit ${r.status}, signal ${r.signal})`])[0];
  const status = ok ? (gaps.length ? `runs (listed gaps: ${gaps.join(', ')})` : 'runs') : gaps.length ? `needs ${gaps.join(', ')}` : `FAILS: ${line}`;
  rows.push(`| ${e.name} | ${e.exercises} | ${status} |`);
  console.error(`${line} [${secs} s]`);
}
console.log('| example | what it exercises | status |');
console.log('| --- | --- | --- |');
console.log(rows.join('\n'));
process.exitCode = failed ? 1 : 0;
