#!/usr/bin/env node
'use strict';
// Data-parallel training over Gloo (tf.distributed), on one machine: the allreduce's throughput
// for several buffer sizes (the 2-conv net's gradient among them), and training images/s of the
// 2-conv net with 1, 2 and 4 processes (one thread each, per-rank batch 64) with the share of a
// step spent in the gradient allreduce. Needs the optional addon (npm run build:gloo).
//
//   node bench/distributed.js [--sizes 262144,3274634,8388608] [--steps 12] [--procs 1,2,4] [--rounds 3]
//   node bench/distributed.js --worker allreduce|train ...   (one rank; internal)
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs, median, RESULT_TAG } = require('./lib/harness');

const args = parseArgs(process.argv.slice(2));

async function workerAllreduce() {
  const tf = require('..');
  await tf.distributed.init({ rank: Number(args.rank), worldSize: Number(args.world), store: args.store });
  const out = {};
  for (const n of String(args.sizes).split(',').map(Number)) {
    const a = new Float32Array(n).fill(1);
    for (let i = 0; i < 3; i++) await tf.distributed.allreduce(a, 'sum');
    const times = [];
    const t0 = Date.now();
    for (;;) { // the loop ends only on rank 0's word: a local condition would put the ranks out of step
      const s = process.hrtime.bigint();
      await tf.distributed.allreduce(a, 'sum');
      times.push(Number(process.hrtime.bigint() - s) / 1e6);
      // every rank must run the same number of collectives: rank 0 decides when to stop
      const flag = new Float32Array([Date.now() - t0 >= 1500 && times.length >= 5 ? 1 : 0]);
      await tf.distributed.broadcast(flag, 0);
      if (flag[0] === 1) break;
    }
    out[n] = median(times);
  }
  tf.distributed.destroy();
  if (Number(args.rank) === 0) process.stdout.write(`${RESULT_TAG}${JSON.stringify(out)}\n`);
}

function convnet(tf) {
  const L = tf.layers;
  return tf.sequential({ layers: [
    L.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 5, padding: 'same', activation: 'relu' }), L.maxPooling2d({ poolSize: 2 }),
    L.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }), L.maxPooling2d({ poolSize: 2 }), L.flatten(),
    L.dense({ units: 1024, activation: 'relu' }), L.dense({ units: 10, activation: 'softmax' }),
  ] });
}

async function workerTrain() {
  const tf = require('..');
  tf.setNumThreads(1);
  const world = Number(args.world);
  if (world > 1) await tf.distributed.init({ rank: Number(args.rank), worldSize: world, store: args.store });
  tf.setSeed(1);
  const m = convnet(tf);
  m.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
  const B = 64;
  const steps = Number(args.steps);
  const n = B * world * steps;
  const x = tf.randomUniform([n, 28, 28, 1], 0, 1, 'float32', 2);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 10), 'int32'), 10).cast('float32');
  await m.fit(x.slice([0], [B * world * 2]), y.slice([0], [B * world * 2]), { epochs: 1, batchSize: B, verbose: 0 }); // warm up
  const t0 = Date.now();
  await m.fit(x, y, { epochs: 1, batchSize: B, verbose: 0, seed: 3 });
  const ms = Date.now() - t0;
  // the allreduce alone, on the gradient's size (+1: the sample count), as many times as steps
  let comm = 0;
  if (world > 1) {
    const g = new Float32Array(m.countParams() + 1);
    const c0 = Date.now();
    for (let i = 0; i < steps; i++) await tf.distributed.allreduce(g, 'sum');
    comm = Date.now() - c0;
    tf.distributed.destroy();
  }
  if (Number(args.rank) === 0) {
    process.stdout.write(`${RESULT_TAG}${JSON.stringify({ imagesPerSec: (n * 1000) / ms, stepMs: ms / steps, commMsPerStep: comm / steps, params: m.countParams() })}\n`);
  }
}

function runRanks(kind, world, extra) {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-bench-dist-'));
  return Promise.all(Array.from({ length: world }, (_, r) => new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, '--worker', kind, '--rank', String(r), '--world', String(world), '--store', `file://${store}`, ...extra],
      { env: { ...process.env, CNN_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${kind} rank ${r} exited ${code}`));
      const line = out.split('\n').find((l) => l.startsWith(RESULT_TAG));
      resolve(line ? JSON.parse(line.slice(RESULT_TAG.length)) : null);
    });
  }))).then((rs) => rs[0]).finally(() => fs.rmSync(store, { recursive: true, force: true }));
}

/** build-gloo/Release/bench_allreduce (npm run build:gloo): the same allreduce without Node; null when missing. */
function nativeAllreduce(sizes) {
  const bin = path.join(__dirname, '..', 'build-gloo', 'Release', 'bench_allreduce');
  if (!fs.existsSync(bin)) return Promise.resolve(null);
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-bench-gloo-'));
  return Promise.all([0, 1].map((r) => new Promise((resolve, reject) => {
    const p = spawn(bin, [String(r), '2', store, sizes], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench_allreduce rank ${r} exited ${code}`))));
  }))).then(([out]) => Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ').map(Number)))).finally(() => fs.rmSync(store, { recursive: true, force: true }));
}

async function main() {
  const sizes = String(args.sizes || '262144,3274634,8388608');
  const steps = String(args.steps || 12);
  const procs = String(args.procs || '1,2,4').split(',').map(Number);
  console.log(`tf.distributed on ${os.cpus()[0].model}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}; Gloo over TCP on loopback`);
  const ar = await runRanks('allreduce', 2, ['--sizes', sizes]);
  const native = await nativeAllreduce(sizes);
  console.log('\n| floats (MB) | tf.distributed.allreduce ms, 2 ranks | GB/s (algorithm = bus for 2 ranks) | the same Gloo allreduce from C++ ms | GB/s | Node / C++ time |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [n, ms] of Object.entries(ar)) {
    const bytes = Number(n) * 4;
    const gbs = (t) => (bytes / (t / 1000) / 1e9).toFixed(2);
    const c = native ? native[n] : undefined;
    console.log(`| ${n} (${(bytes / 1e6).toFixed(1)}) | ${ms.toFixed(2)} | ${gbs(ms)} | ${c ? c.toFixed(2) : 'n/a'} | ${c ? gbs(c) : 'n/a'} | ${c ? (ms / c).toFixed(2) : 'n/a'} |`);
  }
  const rounds = Number(args.rounds || 3);
  console.log(`\nmedian of ${rounds} interleaved rounds, ${steps} steps of batch 64 per rank each`);
  console.log('\n| processes (1 thread each) | 2-conv net images/s | vs 1 process | step ms | allreduce ms per step | communication share |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  const res = Object.fromEntries(procs.map((w) => [w, []]));
  for (let k = 0; k < rounds; k++) for (const w of procs) res[w].push(await runRanks('train', w, ['--steps', steps]));
  let base = 0;
  for (const w of procs) {
    // the round with the median images/s (the machine is shared: single runs swing)
    const sorted = res[w].slice().sort((a, b) => a.imagesPerSec - b.imagesPerSec);
    const r = sorted[Math.floor(sorted.length / 2)];
    if (w === 1) base = r.imagesPerSec;
    console.log(`| ${w} | ${r.imagesPerSec.toFixed(0)} | ${(r.imagesPerSec / base).toFixed(2)}x | ${r.stepMs.toFixed(1)} | ${r.commMsPerStep.toFixed(1)} | ` +
      `${w > 1 ? `${((100 * r.commMsPerStep) / r.stepMs).toFixed(0)}%` : '-'} |`);
  }
}

if (args.worker === 'allreduce') workerAllreduce().catch((e) => { console.error(e.message); process.exit(1); });
else if (args.worker === 'train') workerTrain().catch((e) => { console.error(e.message); process.exit(1); });
else main().catch((e) => { console.error(e.message); process.exit(1); });
