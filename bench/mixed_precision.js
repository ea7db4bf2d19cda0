#!/usr/bin/env node
'use strict';
// Mixed precision (bf16) training speed: this library fp32 vs mixed_bfloat16, and PyTorch fp32 vs
// torch.autocast('cpu', dtype=torch.bfloat16), on one model and batch, every contender in its own
// child process, interleaved over rounds (the order rotates each round) against a shared
// machine's noise; the figure per contender is the median over rounds of each run's median step.
//
//   node bench/mixed_precision.js [--model convnet|seed] [--batch 64] [--threads 2] [--rounds 3]
//                                 [--rt] [--mode train|infer]
//   node bench/mixed_precision.js --gemm [--threads 1]   (GFLOPS of sgemm vs each sbgemm path on the
//                                 2-conv net's GEMM shapes, in this process)
//
// Contenders: ours-fp32, ours-bf16 (the CPU's sbgemm path), ours-bf16-rounded (the rounded_sgemm
// path every x86-64 CPU without AVX512-BF16 takes: what an AVX2-only machine runs), torch-fp32,
// torch-bf16. Prints the table and the ratios, writes bench/out/mixed-precision-<model>-<batch>.json.
// --rt runs each worker under `chrt -f 10` as bench/run.js does.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { RESULT_TAG, parseArgs, median } = require('./lib/harness');
const { flops } = require('./lib/models');

const args = parseArgs(process.argv.slice(2));
if (args.gemm) {
  gemmTable(Number(args.threads || 1));
  process.exit(0);
}

/** sgemm vs the sbgemm paths on the 2-conv net's GEMMs (batch 64, one conv tile = 1 image). */
function gemmTable(nthreads) {
  const K = require('../dist/backend').kernels();
  K.setNumThreads(nthreads);
  const shapes = [
    ['conv2 forward (tile)', false, false, 196, 64, 800], ['conv2 weight grad (tile)', true, false, 800, 64, 196],
    ['conv2 input grad (tile)', false, true, 196, 800, 64], ['dense 3136->1024 forward', false, false, 64, 1024, 3136],
    ['dense 3136->1024 weight grad', true, false, 3136, 1024, 64], ['dense 3136->1024 input grad', false, true, 64, 3136, 1024],
    ['square 1024', false, false, 1024, 1024, 1024],
  ];
  const paths = K.bf16Kernels().kernels.filter((k) => k.available && k.name !== 'naive');
  console.log(`GFLOPS, ${nthreads} thread(s), best of 5 timings; sgemm path: ${K.gemmKernels ? K.gemmKernels().activeName : 'auto'}`);
  console.log(`| GEMM (M x N x K) | sgemm | ${paths.map((k) => `sbgemm ${k.name}`).join(' | ')} |`);
  console.log(`| --- | ---: | ${paths.map(() => '---:').join(' | ')} |`);
  for (const [name, ta, tb, M, N, Kd] of shapes) {
    const A = new Float32Array(M * Kd).map(() => Math.random() - 0.5), B = new Float32Array(Kd * N).map(() => Math.random() - 0.5);
    const C = new Float32Array(M * N);
    const lda = ta ? M : Kd, ldb = tb ? Kd : N;
    const time = (f) => {
      for (let i = 0; i < 3; i++) f(ta, tb, M, N, Kd, 1, A, lda, B, ldb, 0, C, N);
      const reps = Math.max(1, Math.round(3e8 / (M * N * Kd)));
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < reps; i++) f(ta, tb, M, N, Kd, 1, A, lda, B, ldb, 0, C, N);
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9 / reps);
      }
      return ((2 * M * N * Kd) / best / 1e9).toFixed(1);
    };
    const cells = [time(K.sgemm)];
    for (const k of paths) {
      K.setBf16Kernel(k.id);
      cells.push(time(K.sbgemm));
    }
    K.setBf16Kernel(0);
    console.log(`| ${name} (${M} x ${N} x ${Kd}) | ${cells.join(' | ')} |`);
  }
}
const model = args.model || 'convnet';
const batch = Number(args.batch || 64);
const threads = Number(args.threads || 2);
const rounds = Number(args.rounds || 3);
const mode = args.mode || 'train';
const rt = !!args.rt && spawnSync('chrt', ['-f', '10', 'true']).status === 0;
const PYTHON = '/usr/bin/python3';
const timing = ['--warmup-ms', '600', '--warmup-steps', '3', '--measure-ms', '2500', '--min-steps', '5'];
const common = ['--model', model, '--mode', mode, '--batch', String(batch), '--threads', String(threads), ...timing];
const node = (extra) => [process.execPath, path.join(__dirname, 'workers', 'cnn_node.js'), '--backend', 'native', ...common, ...extra];
const torch = (extra) => [PYTHON, path.join(__dirname, 'pytorch_bench.py'), ...common, ...extra];

const CONTENDERS = [
  { id: 'ours-fp32', label: 'cnn-node float32', cmd: node(['--dtype', 'float32']) },
  { id: 'ours-bf16', label: 'cnn-node mixed_bfloat16', cmd: node(['--dtype', 'mixed_bfloat16']) },
  { id: 'ours-bf16-rounded', label: 'cnn-node mixed_bfloat16, rounded_sgemm path', cmd: node(['--dtype', 'mixed_bfloat16', '--bf16-kernel', 'rounded_sgemm']) },
  { id: 'torch-fp32', label: 'PyTorch float32', cmd: torch([]) },
  { id: 'torch-bf16', label: 'PyTorch autocast bf16', cmd: torch(['--autocast', 'bf16']) },
];

function runOne(c) {
  const cmd = rt ? ['chrt', '-f', '10', ...c.cmd] : c.cmd;
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 10 * 60 * 1000, env: process.env });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith(RESULT_TAG));
  if (!line) return { ok: false, error: (r.stderr || r.error || 'no result').toString().trim().split('\n').pop() };
  return JSON.parse(line.slice(RESULT_TAG.length));
}

function cpuModel() {
  const m = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  const flags = /flags\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  const has = (f) => (flags ? flags[1].split(' ').includes(f) : false);
  return { model: m ? m[1] : os.cpus()[0].model, avx512_bf16: has('avx512_bf16'), amx_bf16: has('amx_bf16'), avx2: has('avx2') };
}

const runs = Object.fromEntries(CONTENDERS.map((c) => [c.id, []]));
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < CONTENDERS.length; i++) {
    const c = CONTENDERS[(i + r) % CONTENDERS.length];
    const res = runOne(c);
    runs[c.id].push(res);
    process.stderr.write(`round ${r + 1} ${c.id}: ${res.ok ? `${res.imagesPerSec.toFixed(1)} img/s` : `failed: ${res.error}`}\n`);
  }
}

const f = flops(model)[mode === 'train' ? 'train' : 'forward'];
const summary = {};
for (const c of CONTENDERS) {
  const ok = runs[c.id].filter((x) => x.ok);
  summary[c.id] = ok.length ? { label: c.label, imagesPerSec: median(ok.map((x) => x.imagesPerSec)), gflops: (median(ok.map((x) => x.imagesPerSec)) * f) / 1e9, runs: ok.length } : { label: c.label, error: runs[c.id][0].error };
}
const ratio = (a, b) => (summary[a].imagesPerSec && summary[b].imagesPerSec ? summary[a].imagesPerSec / summary[b].imagesPerSec : null);
const ratios = {
  'ours-bf16 / torch-bf16': ratio('ours-bf16', 'torch-bf16'),
  'ours-bf16 / ours-fp32': ratio('ours-bf16', 'ours-fp32'),
  'ours-bf16-rounded / ours-fp32': ratio('ours-bf16-rounded', 'ours-fp32'),
  'torch-bf16 / torch-fp32': ratio('torch-bf16', 'torch-fp32'),
  'ours-fp32 / torch-fp32': ratio('ours-fp32', 'torch-fp32'),
};
const cpu = cpuModel();
console.log(`${model} ${mode}, batch ${batch}, ${threads} threads, ${rounds} rounds${rt ? ', chrt -f 10' : ''}; CPU ${cpu.model} (avx512_bf16 ${cpu.avx512_bf16}, amx_bf16 ${cpu.amx_bf16})`);
console.log('| contender | img/s (median of rounds) | GFLOPS |');
console.log('| --- | ---: | ---: |');
for (const c of CONTENDERS) {
  const s = summary[c.id];
  console.log(s.error ? `| ${s.label} | failed: ${s.error} | |` : `| ${s.label} | ${s.imagesPerSec.toFixed(1)} | ${s.gflops.toFixed(1)} |`);
}
for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v === null ? 'n/a' : `${v.toFixed(2)}x`}`);
const out = path.join(__dirname, 'out', `mixed-precision-${model}-${mode}-${batch}.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), command: `node bench/mixed_precision.js ${process.argv.slice(2).join(' ')}`.trim(), cpu, model, mode, batch, threads, rounds, rt, summary, ratios, runs }, null, 1));
console.log(`(${out})`);
