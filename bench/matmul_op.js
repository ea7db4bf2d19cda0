#!/usr/bin/env node
'use strict';
// tf.matMul (the op path: argument checks, the output buffer, the tensor) against the addon's
// sgemm kernel called straight on preallocated buffers, for the same shapes, interleaved call by
// call in one process (the machine is shared: only ratios measured side by side mean anything).
// The op runs as a user writes it: a fresh product each call, disposed after use.
//
//   node bench/matmul_op.js [--threads 1,2] [--rounds 5] [--measure-ms 800]
//
// Prints, per shape and thread count, the median GFLOPS of each and op / kernel (target >= 0.9).
const os = require('os');
const { parseArgs, median } = require('./lib/harness');
const tf = require('..');
const { GemmKernel } = require('../dist/backend/types');

const args = parseArgs(process.argv.slice(2));
const threadList = String(args.threads || '1,2').split(',').map(Number);
const rounds = Number(args.rounds || 5);
const measureMs = Number(args['measure-ms'] || 800);
// square, and the GEMMs of the 2-conv net's second convolution (im2col rows x K x OC) and its Dense
const shapes = [
  [512, 512, 512], [1024, 1024, 1024], [3136, 64, 800], [196, 64, 1600], [64, 1024, 3136],
];

tf.setBackend('native');

function rand(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.5;
  return a;
}

function timeIt(fn) {
  fn();
  const times = [];
  const t0 = Date.now();
  while (times.length < 3 || Date.now() - t0 < measureMs) {
    const s = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return median(times);
}

function main() {
  const native = require('../dist/backend').kernels();
  console.log(`tf.matMul vs the sgemm kernel, ${os.cpus()[0].model}, kernel ${GemmKernel[native.gemmKernel()]}, ` +
    `median of ${rounds} interleaved rounds, load ${os.loadavg()[0].toFixed(1)}`);
  console.log('| M x K x N | threads | kernel GFLOPS | tf.matMul GFLOPS | op / kernel |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [M, K, N] of shapes) {
    const av = rand(M * K);
    const bv = rand(K * N);
    const a = tf.tensor2d(av, [M, K]);
    const b = tf.tensor2d(bv, [K, N]);
    const c = new Float32Array(M * N);
    const flop = 2 * M * N * K;
    for (const t of threadList) {
      tf.setNumThreads(t);
      const kern = [];
      const op = [];
      for (let r = 0; r < rounds; r++) {
        kern.push(timeIt(() => native.sgemm(false, false, M, N, K, 1, av, K, bv, N, 0, c, N)));
        op.push(timeIt(() => tf.matMul(a, b).dispose()));
      }
      const gk = flop / median(kern) / 1e6;
      const go = flop / median(op) / 1e6;
      console.log(`| ${M} x ${K} x ${N} | ${t} | ${gk.toFixed(1)} | ${go.toFixed(1)} | ${(go / gk).toFixed(2)} |`);
    }
    a.dispose();
    b.dispose();
  }
}

main();
