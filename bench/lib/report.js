'use strict';
// Turns the raw measurements of bench/run.js into cells, target ratios, a text table and the
// markdown section of bench/RESULTS.md.

const { median } = require('./harness');

const SECTION_BEGIN = '<!-- bench:models begin (written by bench/run.js; edits here are overwritten) -->';
const SECTION_END = '<!-- bench:models end -->';

// ---- summary ------------------------------------------------------------------------------------

/** One (contender, model, mode, nominal batch) cell: medians over rounds, peak RSS over rounds. */
function cellOf(results, contender, model, mode, nominal) {
  const rs = results.filter((r) => r.ok && r.contender === contender && r.model === model && r.mode === mode && r.nominal === nominal);
  if (!rs.length) {
    const failed = results.find((r) => !r.ok && r.contender === contender && r.model === model && r.mode === mode && r.nominal === nominal);
    return failed ? { error: failed.error } : null;
  }
  const cell = {
    batch: rs[0].batch,
    rounds: rs.length,
    imagesPerSec: median(rs.map((r) => r.imagesPerSec)),
    imagesPerSecAll: rs.map((r) => +r.imagesPerSec.toFixed(2)),
    maxRssMB: Math.max(...rs.map((r) => r.maxRssMB)),
    rssStartMB: median(rs.map((r) => r.rssStartMB)),
  };
  if (rs[0].cpuMsPerStep !== undefined) cell.cpuMsPerStep = median(rs.map((r) => r.cpuMsPerStep));
  if (mode === 'fit') {
    cell.loopDelayP99Ms = median(rs.map((r) => r.loopDelayP99Ms));
    cell.loopDelayMaxMs = median(rs.map((r) => r.loopDelayMaxMs));
    cell.loopDelayP99MsWorst = Math.max(...rs.map((r) => r.loopDelayP99Ms));
    cell.loopDelayMaxMsWorst = Math.max(...rs.map((r) => r.loopDelayMaxMs));
  }
  return cell;
}

/** Ratio a/b of two fast contenders: the median over rounds of the ratio within each round. */
function pairedRatio(results, a, b, model, mode, nominal) {
  const ratios = [];
  for (const ra of results) {
    if (!ra.ok || ra.contender !== a || ra.model !== model || ra.mode !== mode || ra.nominal !== nominal) continue;
    const rb = results.find((r) => r.ok && r.contender === b && r.round === ra.round && r.model === model && r.mode === mode && r.nominal === nominal);
    if (rb) ratios.push(ra.imagesPerSec / rb.imagesPerSec);
  }
  return ratios.length ? median(ratios) : null;
}

function summarise({ results, contenders, models, batches, inferBatch, targetBatch, flops, torchSkip }) {
  const cells = {};
  for (const c of contenders) {
    cells[c.id] = {};
    for (const model of models) {
      const f = flops(model);
      const m = (cells[c.id][model] = { train: {}, infer: null, fit: null });
      for (const b of batches) {
        const cell = cellOf(results, c.id, model, 'train', b);
        if (cell && cell.imagesPerSec) cell.gflops = (cell.imagesPerSec * f.train) / 1e9;
        m.train[b] = cell;
      }
      m.infer = cellOf(results, c.id, model, 'infer', inferBatch);
      if (m.infer && m.infer.imagesPerSec) m.infer.gflops = (m.infer.imagesPerSec * f.forward) / 1e9;
      m.fit = cellOf(results, c.id, model, 'fit', targetBatch);
    }
  }
  const sgemm = {};
  for (const t of [1, 2]) {
    const rs = results.filter((r) => r.ok && r.contender === `sgemm-${t}`);
    // the median call, like the models' median step (the best call is kept for reference)
    if (rs.length) sgemm[t] = { gflops: median(rs.map((r) => r.gflopsMedian)), best: Math.max(...rs.map((r) => r.gflops)), size: rs[0].size };
  }

  // Targets (issue 6), all at batch 64 with 2 threads unless said otherwise.
  const B = targetBatch;
  const ips = (id, model, mode) => {
    const m = cells[id] && cells[id][model];
    const c = m && (mode === 'infer' ? m.infer : m.train[B]);
    return c && c.imagesPerSec ? c : null;
  };
  const targets = [];
  const add = (name, value, goal, cmp, detail) => targets.push({ name, value, goal, cmp, pass: value === null ? null : cmp === '>=' ? value >= goal : value <= goal, detail });
  const ratio = (a, b, model, mode) => {
    const ca = ips(a, model, mode);
    const cb = ips(b, model, mode);
    if (!ca || !cb) return null;
    return ca.rounds > 1 && cb.rounds > 1 ? pairedRatio(results, a, b, model, mode, mode === 'infer' ? inferBatch : B) : ca.imagesPerSec / cb.imagesPerSec;
  };
  const trainGoal = { seed: 3, convnet: 1.3 };
  for (const model of models) {
    const why = torchSkip ? 'PyTorch ' + torchSkip : null;
    add(`${model}: training vs PyTorch (2 threads, batch ${B})`, ratio('native-2', 'torch-2', model, 'train'), trainGoal[model] || 1, '>=', why);
  }
  for (const model of models) add(`${model}: inference vs PyTorch (2 threads, batch ${inferBatch})`, ratio('native-2', 'torch-2', model, 'infer'), 1, '>=');
  for (const model of models) {
    const c = ips('js', model, 'train');
    add(`${model}: training, native 2 threads vs our TypeScript backend`, ratio('native-2', 'js', model, 'train'), 30, '>=',
      c && c.batch !== B ? `TS backend measured at batch ${c.batch}` : null);
  }
  for (const model of models) {
    const c = ips('tfjs', model, 'train');
    const note = c && c.batch !== B ? `TF.js measured at batch ${c.batch}` : null;
    const n = ips('native-2', model, 'train');
    add(`${model}: training, native 2 threads vs TF.js cpu`, n && c ? n.imagesPerSec / c.imagesPerSec : null, 100, '>=', note);
  }
  if (models.includes('convnet')) {
    const c = ips('native-2', 'convnet', 'train');
    const s = sgemm[2];
    add(`convnet: training GFLOPS / SGEMM GFLOPS (2 threads)`, c && s ? c.gflops / s.gflops : null, 0.5, '>=',
      c && s ? `${c.gflops.toFixed(1)} / ${s.gflops.toFixed(1)} GFLOPS (sgemm ${s.size}^3, median call)` : null);
  }
  for (const model of models) {
    const a = ips('native-2', model, 'train');
    const b = ips('torch-2', model, 'train');
    add(`${model}: peak RSS training, ours / PyTorch (batch ${B})`, a && b ? a.maxRssMB / b.maxRssMB : null, 1, '<=',
      a && b ? `${a.maxRssMB.toFixed(0)} MB / ${b.maxRssMB.toFixed(0)} MB` : null);
  }
  for (const model of models) {
    const fit = cells['native-2'] && cells['native-2'][model].fit;
    const f = fit && fit.loopDelayP99Ms !== undefined ? fit : null; // a failed run's cell holds only { error }
    add(`${model}: event-loop delay p99 during fit (ms)`, f ? f.loopDelayP99Ms : null, 10, '<=', f ? `worst round ${f.loopDelayP99MsWorst.toFixed(2)} ms` : null);
    add(`${model}: event-loop delay max during fit (ms)`, f ? f.loopDelayMaxMs : null, 50, '<=', f ? `worst round ${f.loopDelayMaxMsWorst.toFixed(2)} ms` : null);
  }
  return { cells, sgemm, targets, flops: Object.fromEntries(models.map((m) => [m, flops(m)])) };
}

// ---- formatting --------------------------------------------------------------------------------------

const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v >= 100 || d === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(d));
const num = (v) => (v === null || v === undefined ? '-' : v >= 1000 ? fmt(v) : v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));

/** Rows of [contender label, train cells..., infer, GFLOPS@B, peak RSS@B]. */
function tableRows(doc, model) {
  const { summary } = doc;
  const batches = Object.keys(Object.values(summary.cells)[0]?.[model]?.train || {}).map(Number);
  const B = 64;
  const header = ['contender', ...batches.map((b) => `train b${b} img/s`), 'infer b256 img/s', `train GFLOPS (b${batches.includes(B) ? B : batches[0]})`, `peak RSS MB (train b${batches.includes(B) ? B : batches[0]})`];
  const rows = [];
  const labels = Object.fromEntries(doc.contenders.map((c) => [c.id, c]));
  for (const id of Object.keys(summary.cells)) {
    const m = summary.cells[id][model];
    const c = labels[id];
    if (c.skip) {
      rows.push([c.label, c.skip, ...Array(header.length - 2).fill('')]);
      continue;
    }
    const show = (cell, nominal) => {
      if (!cell) return 'n/m';
      if (cell.error) return 'failed';
      return num(cell.imagesPerSec) + (nominal && cell.batch !== nominal ? ` (b${cell.batch})` : '');
    };
    const key = batches.includes(B) ? B : batches[0];
    const tb = m.train[key];
    rows.push([
      c.label,
      ...batches.map((b) => show(m.train[b], b)),
      show(m.infer, 256),
      tb && tb.gflops ? num(tb.gflops) : '-',
      tb && tb.maxRssMB ? fmt(tb.maxRssMB) : '-',
    ]);
  }
  return { header, rows };
}

function padTable(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((v, i) => (i === 0 ? String(v).padEnd(w[i]) : String(v).padStart(w[i]))).join('  ');
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

function mdTable(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function targetRows(doc) {
  return doc.summary.targets.map((t) => [
    t.name,
    t.value === null ? '-' : t.value.toFixed(t.value >= 100 ? 0 : 2),
    `${t.cmp} ${t.goal}`,
    t.pass === null ? 'n/m' : t.pass ? 'met' : 'NOT met',
    t.detail || '',
  ]);
}

function text(doc) {
  const out = [];
  const m = doc.machine;
  out.push(`${m.cpu}, ${m.cores} cores; node ${m.node}, TF.js ${m.tfjs || '-'}, PyTorch ${m.torch || 'absent'}; load ${m.loadAvg.join(' ')} -> ${m.loadAvgEnd.join(' ')}`);
  for (const model of Object.keys(doc.summary.flops)) {
    const f = doc.summary.flops[model];
    out.push('');
    out.push(`${model} (${(f.train / 1e6).toFixed(2)} MFLOP per training image, ${(f.forward / 1e6).toFixed(2)} per inference image)`);
    const { header, rows } = tableRows(doc, model);
    out.push(padTable(header, rows));
  }
  const s = doc.summary.sgemm;
  out.push('');
  const sg = (x) => (x ? `${x.gflops.toFixed(1)} (best ${x.best.toFixed(1)})` : '-');
  out.push(`SGEMM ${s[2]?.size || 1024}^3 (addon, median call): ${sg(s[1])} GFLOPS 1 thread, ${sg(s[2])} GFLOPS 2 threads`);
  out.push('');
  out.push(padTable(['target', 'measured', 'goal', '', 'detail'], targetRows(doc)));
  return out.join('\n');
}

function markdown(doc) {
  const m = doc.machine;
  const out = [SECTION_BEGIN, '## Training and inference: cnn-node vs TF.js vs PyTorch', ''];
  out.push(`Measured ${doc.finished.slice(0, 16).replace('T', ' ')} UTC with \`${doc.command}\` (${doc.quick ? 'quick mode: batch 64 only, short timings' : `${doc.rounds} rounds`}); JSON in \`bench/out/\`.`);
  out.push('');
  out.push(`- CPU: ${m.cpu}, ${m.cores} cores, ${m.memGB} GB${m.caches ? `; caches ${m.caches}` : ''}`);
  out.push(`- Load average during the run: ${m.loadAvg.join(' ')} at the start, ${m.loadAvgEnd.join(' ')} at the end (the machine is shared: compare ratios, not absolute figures)${doc.rt ? '; every worker except the event-loop (fit) runs ran under `chrt -f 10` (real-time priority) so that the other jobs did not preempt it' : ''}`);
  out.push(`- ${m.os}; Node ${m.node}; ${m.cxx || 'g++ ?'}; cnn-node ${m.commit || ''}, SGEMM kernel ${m.gemmKernel || '?'}`);
  if (m.addon) out.push(`- Addon: \`${m.addon.file}\`${m.nativePath ? ' (CNN_NATIVE_PATH)' : ''}, built ${m.addon.built.slice(0, 16).replace('T', ' ')} UTC${m.addon.staleSources.length ? `, OLDER than ${m.addon.staleSources.join(', ')}` : ' from the current sources'}`);
  out.push(`- TF.js ${m.tfjs || 'absent'} (\`@tensorflow/tfjs\`, backend "cpu"); PyTorch ${m.torch || 'absent'} (Debian python3-torch, oneDNN)`);
  out.push('');
  for (const model of Object.keys(doc.summary.flops)) {
    const f = doc.summary.flops[model];
    out.push(`### ${model} — ${(f.train / 1e6).toFixed(2)} MFLOP per training image, ${(f.forward / 1e6).toFixed(2)} per inference image`);
    out.push('');
    const { header, rows } = tableRows(doc, model);
    out.push(mdTable(header, rows));
    out.push('');
  }
  const s = doc.summary.sgemm;
  const sg = (x) => (x ? `${x.gflops.toFixed(1)} (best call ${x.best.toFixed(1)})` : '-');
  out.push(`SGEMM reference (the addon's \`sgemm\` on ${s[2]?.size || 1024}³, median call, in the same run): ${sg(s[1])} GFLOPS on 1 thread, ${sg(s[2])} on 2.`);
  out.push('');
  out.push('### Targets (issue 6)');
  out.push('');
  out.push(mdTable(['target', 'measured', 'goal', '', 'detail'], targetRows(doc)));
  out.push('');
  out.push('### How it is measured');
  out.push('');
  out.push('- Random inputs and one-hot labels; Adam (lr 0.001, epsilon 1e-7), categorical cross-entropy, the same layers in every library (NHWC for cnn-node and TF.js, NCHW for PyTorch).');
  out.push('- Training: images/s of `trainOnBatch` (PyTorch: zero_grad, forward, cross-entropy, backward, step, `loss.item()`), from the median step after a warm-up. Inference: `predict` on 256 images (PyTorch: eval mode, no_grad).');
  out.push('- Every measurement runs in its own process (peak RSS = that process\'s `maxRSS`, interpreter included). The fast contenders run back to back for each (model, batch), in an order rotated each round; the table gives the median over rounds, and a ratio between two of them is the median of the per-round ratios. The slow contenders run once: the TypeScript backend after a 1.5 s warm-up, over 3 steps (quick mode: 1 warm-up step, 1 step); TF.js after one warm-up step on 4 images, over 1 step. A figure marked (bN) was measured at batch N because one step at the nominal batch takes minutes; n/m: not measured (TF.js trains the 2-conv net at batch 64 only: one step takes minutes of CPU).');
  out.push('- GFLOPS count the convolutions\' and dense layers\' multiply-adds (2 FLOPs each): forward, weight gradient and input gradient, minus the first layer\'s input gradient that nobody computes. Pooling, activations, loss and optimizer are not counted.');
  out.push('- Event-loop delay: `perf_hooks.monitorEventLoopDelay` (1 ms resolution) while `model.fit` runs one epoch of 40 batches of 64 (native, 2 threads), after a warm-up epoch, at normal priority (so the JS thread competes with the two training threads for the two cores, as in an application).');
  out.push('- TF.js: its `wasm` backend has no gradient for Conv2D, so it cannot train these models, and `@tensorflow/tfjs-node` downloads libtensorflow when it is installed, which fails on a machine without network access; the pure-JS `cpu` backend is the one measured.');
  out.push('- PyTorch uses the thread count of the row (`torch.set_num_threads`); when `/usr/bin/python3` cannot import torch its rows say skipped.');
  out.push(SECTION_END);
  return out.join('\n');
}

/** Writes section into file: replaces the previous one, or goes before the first "## " heading. */
function updateResults(file, section) {
  const fs = require('fs');
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const b = doc.indexOf(SECTION_BEGIN);
  const e = doc.indexOf(SECTION_END);
  if (b >= 0 && e > b) {
    doc = doc.slice(0, b) + section + doc.slice(e + SECTION_END.length);
  } else {
    const h = doc.search(/^## /m);
    doc = h >= 0 ? doc.slice(0, h) + section + '\n\n' + doc.slice(h) : doc.replace(/\s*$/, '\n\n') + section + '\n';
  }
  fs.writeFileSync(file, doc);
}

module.exports = { summarise, text, markdown, updateResults, SECTION_BEGIN, SECTION_END };
