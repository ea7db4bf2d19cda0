#!/usr/bin/env node
// Tensor-op benchmark (issue 15): the hot elementwise ops and reductions of lib/ops on large
// float32 tensors, as cnn-node ops on the native backend (whole op: allocation + kernel), the
// native kernel alone into a reused output, the same ops kept in TypeScript, and TF.js 4.22 cpu;
// each as GB/s of the bytes the op must move (inputs read + output written), next to the memory
// bandwidth measured in the same run (a parallel memcpy over the same pool).
// Usage: node bench/tensor_ops.js [--quick] [--threads N]   (after npm run build:ts; the addon
// with the tensor-op kernels, e.g. CNN_NATIVE_PATH=build-h3/Release/cnn.node)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const tf = require('..');
const { backendKernels } = require('../dist/backend');
const hot = require('../dist/ops/hot');

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const ti = argv.indexOf('--threads');
const threads = ti >= 0 ? Number(argv[ti + 1]) : Math.min(os.cpus().length, 2);

process.env.TF_CPP_MIN_LOG_LEVEL = '3';
const tfjs = require('@tensorflow/tfjs');
tfjs.setBackend('cpu');

const K = backendKernels('native');
if (typeof K.tensorBinary !== 'function') {
  console.error('bench/tensor_ops.js: the loaded addon has no tensor-op kernels; build it (npx cmake-js compile --out build-h3) and set CNN_NATIVE_PATH');
  process.exit(2);
}
tf.setBackend('native');
tf.setNumThreads(threads);

function rand(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = (s / 4294967296) * 4 - 2; }
  return a;
}

/** Median ms of fn over enough repetitions to fill minMs (at least 5), after two warm-ups. */
function time(fn, minMs) {
  fn(); fn();
  const ts = [];
  let total = 0;
  while (ts.length < 5 || total < minMs) {
    const t0 = process.hrtime.bigint();
    fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    ts.push(ms);
    total += ms;
  }
  ts.sort((p, q) => p - q);
  return ts[ts.length >> 1];
}

const N = quick ? 1 << 20 : 1 << 24; // elements (4 MiB or 64 MiB per float32 tensor: the full run is past the caches)
const ROWS = 1024;
const minMs = quick ? 150 : 600;

const xa = rand(N, 1), xb = rand(N, 2), row = rand(N / ROWS, 3);
const ours = { a: tf.tensor(xa, [ROWS, N / ROWS]), b: tf.tensor(xb, [ROWS, N / ROWS]), row: tf.tensor(row, [N / ROWS]) };
const theirs = { a: tfjs.tensor(xa, [ROWS, N / ROWS]), b: tfjs.tensor(xb, [ROWS, N / ROWS]), row: tfjs.tensor(row, [N / ROWS]) };
const out = new Float32Array(N), red = new Float32Array(ROWS);

// name, bytes per element moved, op(lib, tensors), the kernel alone
const OPS = [
  ['add (same shape)', 12, (L, x) => L.add(x.a, x.b), () => K.tensorBinary(0, out, xa, xb, 0, N, 0)],
  ['mul by a scalar', 8, (L, x) => L.mul(x.a, 1.5), () => K.tensorBinary(2, out, xa, new Float32Array([1.5]), 2, N, 0)],
  ['sub a row (broadcast)', 8, (L, x) => L.sub(x.a, x.row), () => K.tensorBinary(1, out, xa, row, 4, N, N / ROWS)],
  ['maximum (same shape)', 12, (L, x) => L.maximum(x.a, x.b), () => K.tensorBinary(5, out, xa, xb, 0, N, 0)],
  ['relu', 8, (L, x) => L.relu(x.a), () => K.tensorUnary(3, out, xa, N)],
  ['sqrt(abs)', 16, (L, x) => L.sqrt(L.abs(x.a)), () => { K.tensorUnary(0, out, xa, N); K.tensorUnary(4, out, out, N); }],
  ['exp', 8, (L, x) => L.exp(x.a), () => K.tensorUnary(5, out, xa, N)],
  ['sum (all)', 4, (L, x) => L.sum(x.a), () => K.tensorReduce(0, red, xa, 1, N)],
  ['mean over the last axis', 4, (L, x) => L.mean(x.a, -1), () => K.tensorReduce(1, red, xa, ROWS, N / ROWS)],
  ['max over the last axis', 4, (L, x) => L.max(x.a, -1), () => K.tensorReduce(2, red, xa, ROWS, N / ROWS)],
];

const copyDst = new Float32Array(N);
const copyMs = () => time(() => K.tensorCopy(copyDst, xa, N), minMs);
const gbs = (bytes, ms) => bytes / ms / 1e6;

const bw0 = gbs(8 * N, copyMs());
const rows = [];
for (const [name, bpe, op, kernel] of OPS) {
  const bytes = bpe * N;
  const nat = time(() => tf.tidy(() => op(tf, ours)).dispose(), minMs);
  const ker = time(kernel, minMs);
  hot.setHotOps(false);
  const ts = time(() => tf.tidy(() => op(tf, ours)).dispose(), quick ? minMs / 3 : minMs / 2);
  hot.setHotOps(true);
  const tj = time(() => tfjs.tidy(() => op(tfjs, theirs)).dispose(), quick ? minMs / 3 : minMs / 2);
  rows.push({ name, bytes, nat, ker, ts, tj });
}
const bw1 = gbs(8 * N, copyMs());
const bw = Math.max(bw0, bw1);

const cpu = (() => {
  try { return (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || os.cpus()[0].model; } catch { return os.cpus()[0].model; }
})();
const f = (v) => v.toFixed(1);
const lines = [];
lines.push(`CPU: ${cpu}; ${threads} thread(s); Node ${process.version}; tensors of ${N} float32 (${(4 * N / 2 ** 20).toFixed(0)} MiB), rows ${ROWS} x ${N / ROWS}; load average ${os.loadavg()[0].toFixed(1)}`);
lines.push(`Memory bandwidth (parallel memcpy, ${threads} thread(s), read + write bytes): ${f(bw0)} GB/s before, ${f(bw1)} GB/s after the ops; the ratios below use ${f(bw)} GB/s.`);
lines.push('');
lines.push('| op | cnn-node native op ms (GB/s) | kernel alone ms (GB/s) | bandwidth / op GB/s | cnn-node TypeScript ms | TF.js cpu ms | native op vs TF.js |');
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  lines.push(`| ${r.name} | ${r.nat.toFixed(2)} (${f(gbs(r.bytes, r.nat))}) | ${r.ker.toFixed(2)} (${f(gbs(r.bytes, r.ker))}) | ${(bw / gbs(r.bytes, r.nat)).toFixed(2)}x | ${r.ts.toFixed(2)} | ${r.tj.toFixed(2)} | ${(r.tj / r.nat).toFixed(1)}x faster |`);
}
console.log(lines.join('\n'));
