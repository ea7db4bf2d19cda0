#!/usr/bin/env node
'use strict';
// ResNet-20 (CIFAR-shaped, 32x32x3, bench/lib/models.js resnet20) training images/s, cnn-node's
// native backend against PyTorch CPU with the same net (bench/pytorch_bench.py --model resnet20),
// each measurement in its own child process, interleaved over rounds against the noise of a
// shared machine; prints the medians and their ratio.
//
//   node bench/resnet20.js [--batch 64] [--threads 2] [--rounds 3] [--measure-ms 3000]
//   node bench/resnet20.js --worker --batch 64 --threads 2   (one cnn-node measurement)
//
// A step is one Adam step on one batch (trainOnBatch: forward, cross-entropy, backward, update,
// the loss read back), as PyTorch's step (zero_grad, forward, loss, backward, step, loss.item()).
const { spawnSync } = require('child_process');
const os = require('os');
const path = require('path');
const { parseArgs, median, RESULT_TAG } = require('./lib/harness');
const { resnet20, resnet20Flops } = require('./lib/models');

const args = parseArgs(process.argv.slice(2));
const batch = Number(args.batch || 64);
const threads = Number(args.threads || 2);
const measureMs = Number(args['measure-ms'] || 3000);

async function worker() {
  const tf = require('..');
  tf.setBackend('native');
  tf.setNumThreads(threads);
  tf.setSeed(0);
  const m = resnet20(tf);
  m.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 1, 'float32', 1);
  const idx = Array.from({ length: batch }, (_, i) => (i * 7) % 10);
  const y = tf.cast(tf.oneHot(tf.tensor1d(idx, 'int32'), 10), 'float32');
  const step = () => m.trainOnBatch(x, y);
  const t0 = Date.now();
  for (let i = 0; (i < 2 || Date.now() - t0 < 500); i++) await step();
  const times = [];
  const c0 = process.cpuUsage();
  const m0 = Date.now();
  while (times.length < 3 || Date.now() - m0 < measureMs) {
    const s = process.hrtime.bigint();
    await step();
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  const cpu = process.cpuUsage(c0);
  const med = median(times);
  const out = { ok: true, backend: 'cnn-node native', threads, steps: times.length, stepMsMedian: med, stepMsMin: Math.min(...times),
    imagesPerSec: (batch * 1000) / med, cpuMsPerStep: (cpu.user + cpu.system) / 1000 / times.length };
  process.stdout.write(`${RESULT_TAG}${JSON.stringify(out)}\n`);
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith(RESULT_TAG));
  if (!line) throw new Error(`${cmd} ${argv.join(' ')} failed: ${(r.stderr || r.stdout || '').slice(-500)}`);
  return JSON.parse(line.slice(RESULT_TAG.length));
}

function main() {
  const rounds = Number(args.rounds || 3);
  const ours = [];
  const torch = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(run(process.execPath, [__filename, '--worker', '--batch', String(batch), '--threads', String(threads), '--measure-ms', String(measureMs)]));
    torch.push(run('/usr/bin/python3', [path.join(__dirname, 'pytorch_bench.py'), '--model', 'resnet20', '--mode', 'train', '--batch', String(batch),
      '--threads', String(threads), '--warmup-ms', '500', '--warmup-steps', '2', '--measure-ms', String(measureMs), '--min-steps', '3']));
    process.stderr.write(`round ${r + 1}: cnn-node ${ours[r].imagesPerSec.toFixed(1)} img/s, PyTorch ${torch[r].imagesPerSec.toFixed(1)} img/s\n`);
  }
  const a = median(ours.map((o) => o.imagesPerSec));
  const b = median(torch.map((o) => o.imagesPerSec));
  // images per CPU-second: the figure that survives a loaded machine (wall time does not)
  const perCpu = (o) => (batch * 1000) / o.cpuMsPerStep;
  const ac = median(ours.map(perCpu));
  const bc = median(torch.map(perCpu));
  const gflop = (resnet20Flops() * 3 * a) / 1e9;
  console.log(`ResNet-20 training, batch ${batch}, ${threads} threads, ${os.cpus()[0].model}, median of ${rounds} interleaved rounds, load ${os.loadavg()[0].toFixed(1)}`);
  console.log(`  cnn-node native      ${a.toFixed(1)} images/s, ${ac.toFixed(1)} images per CPU-second (~${gflop.toFixed(1)} GFLOP/s at 3x the forward FLOPs)`);
  console.log(`  PyTorch ${torch[0].version} CPU  ${b.toFixed(1)} images/s, ${bc.toFixed(1)} images per CPU-second`);
  console.log(`  ratio                ${(a / b).toFixed(2)}x wall, ${(ac / bc).toFixed(2)}x CPU`);
}

if (args.worker) worker().catch((e) => { process.stdout.write(`${RESULT_TAG}${JSON.stringify({ ok: false, error: String(e) })}\n`); process.exit(1); });
else main();
