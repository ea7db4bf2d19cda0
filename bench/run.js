#!/usr/bin/env node
'use strict';
// `npm run bench`: every contender side by side on the two reference models, each measurement in
// its own child process (so its peak RSS is its own), interleaved and repeated against the noise
// of a shared machine. Writes a table on stdout, bench/out/bench-<time>.json (+ latest.json) and
// the "Training and inference" section of bench/RESULTS.md.
//
//   node bench/run.js [--quick] [--rounds N] [--models seed,convnet] [--batches 32,64,128]
//                     [--only native-1,native-2,js,tfjs,torch-1,torch-2] [--no-results] [--keep-going] [--rt]
//   node bench/run.js --report bench/out/bench-<time>.json   (table and RESULTS.md again from a saved run)
//
// --rt runs every worker under `chrt -f 10` (real-time FIFO priority, root only), so that the other
// jobs of a shared machine do not preempt the measurements; every contender gets the same. The fit
// runs that measure the event-loop delay keep the normal priority.
//
// Contenders: this library's native backend with 1 and 2 threads, its pure-TypeScript backend,
// TF.js (@tensorflow/tfjs, "cpu" backend) and PyTorch CPU (bench/pytorch_bench.py, when
// /usr/bin/python3 can import torch). The method is written out in bench/RESULTS.md.
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { RESULT_TAG, parseArgs, median } = require('./lib/harness');
const { flops } = require('./lib/models');
const report = require('./lib/report');

const ROOT = path.resolve(__dirname, '..');
const OUT_DIR = path.join(__dirname, 'out');
const PYTHON = '/usr/bin/python3';
const INFER_BATCH = 256;
const TARGET_BATCH = 64;

const args = parseArgs(process.argv.slice(2));
const quick = !!args.quick;
const list = (v, def) => (v === undefined || v === true ? def : String(v).split(',').map((s) => s.trim()).filter(Boolean));
const models = list(args.models, ['seed', 'convnet']);
const batches = list(args.batches, quick ? [String(TARGET_BATCH)] : ['32', '64', '128']).map(Number);
const rounds = Number(args.rounds || (quick ? 1 : 3));
const rt = !!args.rt && spawnSync('chrt', ['-f', '10', 'true']).status === 0;
if (args.rt && !rt) process.stderr.write('bench: --rt ignored: `chrt -f 10` is not available or not permitted here\n');

// ---- contenders ---------------------------------------------------------------------------------

const torch = detectTorch();
const nodeWorker = (file) => [process.execPath, path.join(__dirname, 'workers', file)];

/**
 * Each contender: how to start its worker and how long to measure. "Slow" ones (a step takes
 * seconds to minutes) run once, in the first round, with the fewest steps; their batch for a
 * given (model, mode) can be reduced (it is shown next to the figure).
 */
const fastTiming = quick
  ? { 'warmup-ms': 100, 'warmup-steps': 2, 'measure-ms': 400, 'min-steps': 3 }
  : { 'warmup-ms': 400, 'warmup-steps': 3, 'measure-ms': 2000, 'min-steps': 5 };
const slowTiming = { 'warmup-ms': 0, 'warmup-steps': 1, 'measure-ms': 0, 'min-steps': quick ? 1 : 2 };
const CONTENDERS = [
  { id: 'native-1', label: 'cnn-node native, 1 thread', cmd: [...nodeWorker('cnn_node.js'), '--backend', 'native', '--threads', '1'], timing: fastTiming, threads: 1 },
  { id: 'native-2', label: 'cnn-node native, 2 threads', cmd: [...nodeWorker('cnn_node.js'), '--backend', 'native', '--threads', '2'], timing: fastTiming, threads: 2 },
  { id: 'torch-1', label: 'PyTorch CPU, 1 thread', cmd: [PYTHON, path.join(__dirname, 'pytorch_bench.py'), '--threads', '1'], timing: fastTiming, threads: 1, skip: torch.skip },
  { id: 'torch-2', label: 'PyTorch CPU, 2 threads', cmd: [PYTHON, path.join(__dirname, 'pytorch_bench.py'), '--threads', '2'], timing: fastTiming, threads: 2, skip: torch.skip },
  {
    id: 'js', label: 'cnn-node TypeScript backend', cmd: [...nodeWorker('cnn_node.js'), '--backend', 'js'], slow: true, threads: 1,
    // V8 needs more than one warm-up step to optimise the kernels of a small net: warm up by time
    timing: quick ? slowTiming : { 'warmup-ms': 1500, 'warmup-steps': 1, 'measure-ms': 1500, 'min-steps': 3 },
    // a convnet step takes seconds: in the quick run, batch 16
    batchFor: (model, mode, b) => (quick && model === 'convnet' ? 16 : b),
  },
  {
    id: 'tfjs', label: 'TF.js 4 cpu backend', cmd: [...nodeWorker('tfjs.js')], timing: { ...slowTiming, 'min-steps': 1, 'warmup-batch': 4 }, slow: true, threads: 1,
    // one convnet training step at batch 64 takes minutes of CPU: batch 64 only (quick: tiny batches)
    batchFor: (model, mode, b) => {
      if (quick) return model === 'convnet' ? (mode === 'train' ? 2 : 8) : mode === 'train' ? 16 : 64;
      if (model === 'convnet' && mode === 'train') return b === TARGET_BATCH ? b : null;
      return b;
    },
  },
];
const only = list(args.only, null);
const contenders = CONTENDERS.filter((c) => !only || only.includes(c.id));

function detectTorch() {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60000 });
  if (r.status === 0) return { version: r.stdout.trim(), skip: null };
  const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop();
  return { version: null, skip: `skipped: ${PYTHON} cannot import torch (${why}); apt-get install python3-torch` };
}

// ---- jobs -------------------------------------------------------------------------------------

/** The measurements of one round: per model, each training batch then inference, all contenders
 * back to back (rotated each round) so that they share the machine's state of the moment. */
function roundJobs(round) {
  const jobs = [];
  const rot = (arr) => arr.map((_, i) => arr[(i + round) % arr.length]);
  for (const model of models) {
    const configs = [...batches.map((b) => ({ mode: 'train', batch: b })), { mode: 'infer', batch: INFER_BATCH }];
    for (const cfg of configs) {
      for (const c of rot(contenders)) {
        if (c.skip || (c.slow && round > 0)) continue;
        const batch = c.batchFor ? c.batchFor(model, cfg.mode, cfg.batch) : cfg.batch;
        if (batch === null) continue;
        jobs.push({ contender: c, model, mode: cfg.mode, batch, nominal: cfg.batch });
      }
    }
    // the event loop while fit runs, native with 2 threads
    const n2 = contenders.find((c) => c.id === 'native-2');
    if (n2) jobs.push({ contender: n2, model, mode: 'fit', batch: TARGET_BATCH, nominal: TARGET_BATCH, extra: ['--fit-steps', quick ? '10' : '40'] });
  }
  const n = contenders.find((c) => c.id === 'native-2') || contenders.find((c) => c.id === 'native-1');
  if (n) for (const t of [1, 2]) jobs.push({ contender: { ...n, id: `sgemm-${t}` }, mode: 'sgemm', batch: 0, nominal: 0, extra: ['--threads', String(t), '--min-steps', quick ? '6' : '12'] });
  return jobs;
}

function runJob(job) {
  const c = job.contender;
  const timing = Object.entries(c.timing).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const argv = [...c.cmd.slice(1), ...(job.model ? ['--model', job.model] : []), '--mode', job.mode, '--batch', String(job.batch), ...timing, ...(job.extra || [])];
  return new Promise((resolve) => {
    const t0 = Date.now();
    // fit keeps the normal priority: its event-loop delay is about sharing the CPUs with the
    // training threads as an application does (real-time FIFO threads would not share them)
    const [exe, ...rest] = rt && job.mode !== 'fit' ? ['chrt', '-f', '10', c.cmd[0], ...argv] : [c.cmd[0], ...argv];
    const p = spawn(exe, rest, { cwd: ROOT, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30 * 60 * 1000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').reverse().find((l) => l.startsWith(RESULT_TAG));
      let r;
      try {
        r = line ? JSON.parse(line.slice(RESULT_TAG.length)) : null;
      } catch {
        r = null;
      }
      if (!r) r = { ok: false, error: `no result (exit ${code}${signal ? ', ' + signal : ''}): ${err.trim().split('\n').slice(-2).join(' | ')}` };
      r.wallMs = Date.now() - t0;
      resolve(r);
    });
  });
}

// ---- machine -------------------------------------------------------------------------------------

function machine() {
  const sh = (cmd, a) => {
    const r = spawnSync(cmd, a, { encoding: 'utf8', cwd: ROOT });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  let cpu = os.cpus()[0]?.model || 'unknown';
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const flags = (info.match(/^flags\s*:(.*)$/m) || [])[1] || '';
    const isa = ['avx2', 'fma', 'avx512f'].filter((f) => flags.split(/\s+/).includes(f));
    const fam = info.match(/^cpu family\s*:\s*(\d+)/m);
    const mod = info.match(/^model\s*:\s*(\d+)/m);
    cpu += ` (family ${fam ? fam[1] : '?'} model ${mod ? mod[1] : '?'}; ${isa.join(', ')})`;
  } catch { /* not Linux */ }
  const caches = sh('sh', ['-c', "lscpu | grep -E '^(L1d|L2|L3)' | sed 's/  */ /g' | paste -sd ';'"]);
  let tfjs = null;
  try {
    tfjs = require(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs', 'package.json')).version;
  } catch { /* absent */ }
  let gemmKernel = null;
  try {
    const k = require(path.join(ROOT, 'dist', 'backend')).kernels();
    if (k.name === 'native') gemmKernel = ['auto', 'avx2-fma 6x16', 'portable', 'naive', 'avx512 8x32'][k.gemmKernel()] || String(k.gemmKernel());
  } catch { /* reported by the workers */ }
  // the addon the workers load (the loader's first existing candidate), and whether it is older
  // than the native sources (a stale build would measure old code)
  let addon = null;
  try {
    const file = require(path.join(ROOT, 'dist', 'backend', 'native')).nativeCandidates().find((f) => fs.existsSync(f));
    if (file) {
      const built = fs.statSync(file).mtimeMs;
      const list = fs.readFileSync(path.join(ROOT, 'native', 'sources.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      const dirs = ['native/kernels', 'native/kernels/gemm', 'native/engine', 'native/binding'];
      const headers = dirs.flatMap((d) => fs.readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.h')).map((f) => `${d}/${f}`));
      const newer = [...list, ...headers].filter((f) => fs.existsSync(path.join(ROOT, f)) && fs.statSync(path.join(ROOT, f)).mtimeMs > built);
      addon = { file: path.relative(ROOT, file), built: new Date(built).toISOString(), staleSources: newer };
      if (newer.length) process.stderr.write(`bench: WARNING: ${addon.file} is older than ${newer.join(', ')}: rebuild it (npm run build:native, or cmake-js into your CNN_NATIVE_PATH dir)\n`);
    }
  } catch { /* reported by the workers */ }
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['status', '--porcelain', '--', 'native', 'lib', 'bench']);
  return {
    cpu,
    cores: os.cpus().length,
    caches,
    memGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    cxx: (sh('g++', ['--version']) || '').split('\n')[0] || null,
    tfjs,
    torch: torch.version,
    gemmKernel,
    nativePath: process.env.CNN_NATIVE_PATH || null,
    addon,
    commit: commit ? commit + (dirty ? ' (with uncommitted changes)' : '') : null,
    loadAvg: os.loadavg().map((v) => +v.toFixed(2)),
  };
}

// ---- main -----------------------------------------------------------------------------------------

async function main() {
  if (typeof args.report === 'string') {  // re-render a saved run
    const doc = JSON.parse(fs.readFileSync(path.resolve(args.report), 'utf8'));
    process.stdout.write(report.text(doc) + '\n');
    if (!args['no-results']) report.updateResults(path.join(__dirname, 'RESULTS.md'), report.markdown(doc));
    return;
  }
  const started = new Date();
  const m = machine();
  const command = `node bench/run.js ${process.argv.slice(2).join(' ')}`.trim();
  process.stderr.write(`bench: ${m.cpu}, ${m.cores} cores, load ${m.loadAvg.join(' ')}; ${rounds} round(s), models ${models.join(',')}, batches ${batches.join(',')}\n`);
  for (const c of contenders) if (c.skip) process.stderr.write(`bench: ${c.label}: ${c.skip}\n`);
  const results = [];
  for (let round = 0; round < rounds; round++) {
    const jobs = roundJobs(round);
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i];
      const tag = `[round ${round + 1}/${rounds} ${i + 1}/${jobs.length}] ${j.contender.id} ${j.model || ''} ${j.mode} b${j.batch}`;
      process.stderr.write(`${tag} ...`);
      const r = await runJob(j);
      process.stderr.write(r.ok ? ` ${r.gflops ? r.gflops.toFixed(1) + ' GFLOPS' : r.imagesPerSec.toFixed(1) + ' img/s'} (${(r.wallMs / 1000).toFixed(1)} s)\n` : ` FAILED: ${r.error}\n`);
      if (!r.ok && !args['keep-going'] && !j.contender.slow) process.exitCode = 1;
      results.push({ round, contender: j.contender.id, model: j.model || null, mode: j.mode, batch: j.batch, nominal: j.nominal, ...r });
    }
  }
  m.loadAvgEnd = os.loadavg().map((v) => +v.toFixed(2));
  const summary = report.summarise({ results, contenders, models, batches, inferBatch: INFER_BATCH, targetBatch: TARGET_BATCH, flops, torchSkip: torch.skip });
  const contenderInfo = contenders.map(({ id, label, skip, slow, threads }) => ({ id, label, skip: skip || null, slow: !!slow, threads }));
  const doc = { started: started.toISOString(), finished: new Date().toISOString(), command, quick, rounds, rt, machine: m, contenders: contenderInfo, summary, results };

  process.stdout.write(report.text(doc) + '\n');
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const file = path.join(OUT_DIR, `bench-${stamp}${quick ? '-quick' : ''}.json`);
  fs.writeFileSync(file, JSON.stringify(doc, null, 1));
  fs.writeFileSync(path.join(OUT_DIR, 'latest.json'), JSON.stringify(doc, null, 1));
  process.stderr.write(`bench: wrote ${path.relative(ROOT, file)}\n`);
  if (!args['no-results']) {
    const md = path.join(__dirname, 'RESULTS.md');
    report.updateResults(md, report.markdown(doc));
    process.stderr.write(`bench: updated ${path.relative(ROOT, md)}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.stack || e}\n`);
  process.exit(1);
});
