#!/usr/bin/env node
'use strict';
// A/B two builds of the addon on the benchmark workers, interleaved run by run (the machine is
// shared: alternating is the only fair way), for the numbers in a commit message.
//
//   node bench/ab.js A=/path/a/cnn.node B=/path/b/cnn.node [--models seed,convnet] [--threads 1,2]
//                    [--mode train|infer|fit] [--batch 64] [--runs 5] [--measure-ms 1500]
//   node bench/ab.js before=/path/to/old/checkout after=. ...
//
// A build is an addon file (run by this tree's worker and library) or a whole built checkout (a
// directory: its own bench/workers/cnn_node.js, dist/ and build/Release/cnn.node), to compare
// commits whose library and addon changed together.
//
// Prints, per (model, threads), the median over runs of images/s (wall, median step), the best
// step of all runs, the median CPU ms per step (all threads), and B's ratios to A.
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { RESULT_TAG, parseArgs, median } = require('./lib/harness');

const argv = process.argv.slice(2);
const builds = argv.filter((a) => /^[A-Za-z0-9_-]+=/.test(a)).map((a) => {
  const i = a.indexOf('=');
  return { name: a.slice(0, i), file: path.resolve(a.slice(i + 1)) };
});
const o = parseArgs(argv.filter((a) => !/^[A-Za-z0-9_-]+=/.test(a)));
const models = String(o.models || 'seed,convnet').split(',');
const threads = String(o.threads || '1,2').split(',').map(Number);
const mode = o.mode || 'train';
const batch = o.batch || (mode === 'infer' ? 256 : 64);
const runs = o.runs || 5;

function run(build, model, t) {
  const tree = fs.statSync(build.file).isDirectory();
  const worker = tree ? path.join(build.file, 'bench', 'workers', 'cnn_node.js') : path.join(__dirname, 'workers', 'cnn_node.js');
  const env = { ...process.env };
  if (tree) delete env.CNN_NATIVE_PATH;
  else env.CNN_NATIVE_PATH = build.file;
  const args = [worker, '--model', model, '--mode', mode, '--batch', String(batch),
    '--threads', String(t), '--measure-ms', String(o['measure-ms'] || 1500), '--warmup-ms', '300'];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_TAG));
      resolve(line ? JSON.parse(line.slice(RESULT_TAG.length)) : { ok: false });
    });
  });
}

(async () => {
  if (builds.length < 2) throw new Error('usage: node bench/ab.js A=path/cnn.node|checkout B=path/cnn.node|checkout [options]');
  for (const model of models) {
    for (const t of threads) {
      const res = Object.fromEntries(builds.map((b) => [b.name, []]));
      for (let r = 0; r < runs; r++) {
        for (const b of r % 2 ? [...builds].reverse() : builds) res[b.name].push(await run(b, model, t));
      }
      const line = [`${model} ${mode} b${batch} ${t}T:`];
      const base = {};
      for (const b of builds) {
        const ok = res[b.name].filter((x) => x.ok);
        const ips = median(ok.map((x) => x.imagesPerSec));
        const cpu = median(ok.map((x) => x.cpuMsPerStep ?? NaN));
        const rss = Math.max(...ok.map((x) => x.maxRssMB));
        const best = Math.min(...ok.map((x) => x.stepMsMin));
        if (!base.ips) Object.assign(base, { ips, cpu, best });
        line.push(`${b.name} ${ips.toFixed(0)} img/s, best step ${best.toFixed(2)} ms, ${cpu.toFixed(2)} cpu-ms/step, ${rss.toFixed(0)} MB` +
          (b === builds[0] ? '' : ` (x${(ips / base.ips).toFixed(2)} img/s, x${(base.best / best).toFixed(2)} best, x${(base.cpu / cpu).toFixed(2)} cpu)`));
      }
      console.log(line.join(' | '));
    }
  }
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
