#!/usr/bin/env node
// Per-op benchmark: conv2d forward / weight gradient / input gradient, pooling and dense on the two
// reference nets' shapes at batch 64, native (1 and 2 threads) vs the TypeScript backend, with the
// conv GFLOPS next to the SGEMM of the same product (M = N*OH*OW, K = KH*KW*C, N = OC).
// Usage: node bench/ops.js [--quick] [--no-results]     (after npm run build:ts)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { backendKernels } = require('../dist/backend');
const { Padding, Act } = require('../dist/backend/types');

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const B = 64;

// name, input H, W, C, kernel, filters, padding
const CONVS = [
  ['seed conv1 3x3 1->32', 28, 28, 1, 3, 32, Padding.Valid],
  ['convnet conv1 5x5 1->32 same', 28, 28, 1, 5, 32, Padding.Same],
  ['convnet conv2 5x5 32->64 same', 14, 14, 32, 5, 64, Padding.Same],
];
const POOLS = [['seed pool 26x26x32', 26, 26, 32], ['convnet pool2 14x14x64', 14, 14, 64]];
const DENSES = [['seed dense 5408->10', 5408, 10], ['convnet dense 3136->1024', 3136, 1024], ['convnet dense 1024->10', 1024, 10]];

function rand(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 4294967296 - 0.5; }
  return a;
}

/** Best time in ms of fn over repetitions filling at least minMs (and at least minReps). */
function time(fn, minMs, minReps = 2) {
  fn();
  let best = Infinity;
  let total = 0;
  let reps = 0;
  while (reps < minReps || total < minMs) {
    const t0 = process.hrtime.bigint();
    fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    best = Math.min(best, ms);
    total += ms;
    reps++;
  }
  return best;
}

function measure(k, threads, budget) {
  if (k.name === 'native') k.setNumThreads(threads);
  const rows = [];
  for (const [name, H, W, C, ks, OC, pad] of CONVS) {
    const d = k.conv2dDims(B, H, W, C, ks, ks, OC, 1, 1, 1, 1, pad);
    const P = B * d.OH * d.OW, K = ks * ks * C;
    const inp = rand(B * H * W * C, 1), w = rand(K * OC, 2), bias = rand(OC, 3);
    const out = new Float32Array(P * OC), col = new Float32Array(k.conv2dColSize(d)), dcol = new Float32Array(col.length);
    const dout = rand(P * OC, 4), dw = new Float32Array(K * OC), db = new Float32Array(OC), dinp = new Float32Array(inp.length);
    const flop = 2 * P * K * OC;
    const fwd = time(() => k.conv2dForward(out, col, inp, w, bias, d, Act.Relu, 0), budget);
    const bwdW = time(() => k.conv2dBackward(null, dw, db, dcol, dout, col, inp, w, d), budget);
    const bwdAll = time(() => k.conv2dBackward(dinp, dw, db, dcol, dout, col, inp, w, d), budget);
    const C2 = new Float32Array(P * OC);
    const gemm = time(() => k.sgemm(false, false, P, OC, K, 1, col.length ? col : inp, K, w, OC, 0, C2, OC), budget);
    rows.push({ op: `${name}: forward`, ms: fwd, gflops: flop / fwd / 1e6, gemmGflops: flop / gemm / 1e6 });
    rows.push({ op: `${name}: weight+bias gradient`, ms: bwdW, gflops: flop / bwdW / 1e6 });
    rows.push({ op: `${name}: all gradients`, ms: bwdAll, gflops: (2 * flop) / bwdAll / 1e6 });
  }
  for (const [name, H, W, C] of POOLS) {
    const d = k.pool2dDims(B, H, W, C, 2, 2, 2, 2, Padding.Valid);
    const inp = rand(B * H * W * C, 5), out = new Float32Array(B * d.OH * d.OW * C), am = new Int32Array(out.length), dinp = new Float32Array(inp.length);
    rows.push({ op: `${name}: max forward`, ms: time(() => k.maxPool2dForward(out, am, inp, d), budget / 4) });
    rows.push({ op: `${name}: max backward`, ms: time(() => k.maxPool2dBackward(dinp, out, am, d), budget / 4) });
  }
  for (const [name, IN, U] of DENSES) {
    const inp = rand(B * IN, 6), w = rand(IN * U, 7), bias = rand(U, 8), out = new Float32Array(B * U);
    const dw = new Float32Array(IN * U), db = new Float32Array(U), dinp = new Float32Array(B * IN);
    const flop = 2 * B * IN * U;
    const f = time(() => k.denseForward(out, inp, w, bias, B, IN, U, Act.Relu, 0), budget / 2);
    const b = time(() => k.denseBackward(dinp, dw, db, out, inp, w, B, IN, U), budget / 2);
    rows.push({ op: `${name}: forward`, ms: f, gflops: flop / f / 1e6 });
    rows.push({ op: `${name}: all gradients`, ms: b, gflops: (2 * flop) / b / 1e6 });
  }
  return rows;
}

function main() {
  const nat = backendKernels('native');
  const js = backendKernels('js');
  const budget = quick ? 150 : 600;
  const n1 = measure(nat, 1, budget);
  const n2 = measure(nat, 2, budget);
  const j = measure(js, 1, quick ? 1 : 200);
  const f = (v, d = 2) => (v === undefined ? '' : v.toFixed(d));
  const header = ['op (batch 64)', 'native 2t ms', 'GFLOPS', 'SGEMM same product', 'conv/SGEMM', 'native 1t ms', 'TS backend ms', 'native 2t / TS'];
  const rows = n2.map((r, i) => [r.op, f(r.ms), f(r.gflops, 1), f(r.gemmGflops, 1), r.gemmGflops ? `${((100 * r.gflops) / r.gemmGflops).toFixed(0)}%` : '',
    f(n1[i].ms), f(j[i].ms, 1), `${(j[i].ms / r.ms).toFixed(0)}x`]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  const cpu = os.cpus()[0].model;
  const outDir = path.join(__dirname, 'out');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'ops-latest.json'), JSON.stringify({ date: new Date().toISOString(), cpu, quick, native1: n1, native2: n2, js: j }, null, 1));
  if (args.has('--no-results')) return;
  const md = [
    '<!-- ops:begin -->',
    '## Per-op kernels (issue 3)',
    '',
    `Command: \`node bench/ops.js${quick ? ' --quick' : ''}\` (after \`npm run build:ts\`), ${new Date().toISOString().slice(0, 10)}, ${cpu}, ${os.cpus().length} cores, Node ${process.version}.`,
    'Best of repeated runs; conv GFLOPS count 2·P·K·OC per product (forward: 1 product, weight+bias gradient: 1, all gradients: 2). "SGEMM same product" runs the library\'s own sgemm on the forward product\'s shape in the same process.',
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '<!-- ops:end -->',
  ].join('\n');
  const file = path.join(__dirname, 'RESULTS.md');
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const b = doc.indexOf('<!-- ops:begin -->');
  const e = doc.indexOf('<!-- ops:end -->');
  doc = b >= 0 && e > b ? doc.slice(0, b) + md + doc.slice(e + '<!-- ops:end -->'.length) : doc.replace(/\s*$/, '\n\n') + md + '\n';
  fs.writeFileSync(file, doc);
}

main();
