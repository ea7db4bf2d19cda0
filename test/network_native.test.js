'use strict';
// The native training engine (native/engine/network.h) through createNetwork: gradients against
// central differences, training, the optimizer slot layout, inference, async steps, the busy /
// disposed rules, and spec validation.
const t = require('tap');
const path = require('path');
const { Worker } = require('worker_threads');
const { backendKernels } = require('../dist/backend');

const k = backendKernels('native');
const L = { Conv2D: 0, Dense: 1, MaxPool2D: 2, AvgPool2D: 3, GlobalAvgPool2D: 4, GlobalMaxPool2D: 5, Flatten: 6, Dropout: 7, BatchNorm: 8, Activation: 9 };
const ACT = { Linear: 0, Relu: 1, Sigmoid: 5, Tanh: 6, Gelu: 8, Swish: 9, Softmax: 10 };
const LOSS = { CCE: 0, SCCE: 1, BCE: 2, MSE: 3, MAE: 4 };
const OPT = { Sgd: 0, Momentum: 1, Adam: 2, AdamW: 3, RMSprop: 4, Adagrad: 5 };

// ---- helpers ------------------------------------------------------------------------------------

function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
function randArr(n, seed, lo = -1, hi = 1) {
  const r = lcg(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}
function maxDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// Vars laid out one after another from a list of [size, trainable].
function layoutVars(list) {
  let off = 0;
  return list.map(([size, trainable]) => {
    const v = { offset: off, size, trainable };
    off += size;
    return v;
  });
}

// conv(3x3, 3 filters, relu) -> maxpool 2x2 -> flatten -> dense(4, softmax), input 6x6x2.
// Vars: conv kernel 54, conv bias 3, dense kernel 48, dense bias 4 (109 floats).
function tinySpec(o = {}) {
  const tr = o.trainable ?? [true, true, true, true];
  const vars = layoutVars([[54, tr[0]], [3, tr[1]], [48, tr[2]], [4, tr[3]]]);
  return {
    layers: [
      { kind: L.Conv2D, in: [6, 6, 2], out: [4, 4, 3], kh: 3, kw: 3, filters: 3, act: ACT.Relu, kernel: 0, bias: 54 },
      { kind: L.MaxPool2D, in: [4, 4, 3], out: [2, 2, 3], kh: 2, kw: 2, sh: 2, sw: 2 },
      { kind: L.Flatten, in: [2, 2, 3], out: [1, 1, 12] },
      { kind: L.Dense, in: [1, 1, 12], out: [1, 1, 4], units: 4, act: o.lastAct ?? ACT.Softmax, kernel: 57, bias: 105 },
    ],
    vars,
    loss: o.loss ?? LOSS.CCE,
    fromLogits: o.fromLogits ?? false,
    labelSmoothing: o.labelSmoothing ?? 0,
    opt: o.opt ?? { kind: OPT.Adam },
    seed: o.seed ?? 1,
  };
}
function tinyParams(seed = 3) {
  const p = randArr(109, seed, -0.5, 0.5);
  return p;
}
function slotsFor(spec) {
  const n = k.optimizerSlotCount(spec.opt.kind);
  return new Float32Array(spec.vars.reduce((s, v) => s + (v.trainable ? v.size * n : 0), 0));
}
function oneHot(labels, D) {
  const y = new Float32Array(labels.length * D);
  labels.forEach((c, i) => { y[i * D + c] = 1; });
  return y;
}

// Checks grads[idx] against central differences of lossAt() w.r.t. params[idx]. Float32 noise and
// kinks (relu at 0, a max changing winner) are handled as caffe does: a coordinate whose one-sided
// slopes disagree is a kink; it passes when the analytic value lies between them.
function checkGrads(t, name, params, grads, lossAt, idx, h = 1e-2, tol = 2e-2) {
  let checked = 0, kinks = 0, worst = 0;
  const L0 = lossAt();
  for (const i of idx) {
    const p0 = params[i];
    params[i] = p0 + h; const hp = params[i] - p0; const lp = lossAt();
    params[i] = p0 - h; const hm = p0 - params[i]; const lm = lossAt();
    params[i] = p0;
    const num = (lp - lm) / (hp + hm);
    const right = (lp - L0) / hp, left = (L0 - lm) / hm;
    const a = grads[i];
    const err = Math.abs(a - num) / Math.max(Math.abs(a), Math.abs(num), 1);
    if (Math.abs(right - left) / Math.max(Math.abs(right), Math.abs(left), 1) > tol) {
      kinks++;
      const lo = Math.min(left, right) - tol, hi = Math.max(left, right) + tol;
      if (!(a >= lo && a <= hi)) { t.fail(`${name}: param ${i} at a kink: analytic ${a} outside [${left}, ${right}]`); return; }
      continue;
    }
    checked++;
    worst = Math.max(worst, err);
    if (err > tol) { t.fail(`${name}: param ${i}: analytic ${a} vs numeric ${num} (err ${err.toExponential(2)})`); return; }
  }
  t.ok(checked >= idx.length / 2, `${name}: ${checked} params checked, ${kinks} kinks, max err ${worst.toExponential(2)}`);
}
function sampleIdx(n, count, seed) {
  const r = lcg(seed);
  const s = new Set();
  while (s.size < Math.min(count, n)) s.add(Math.floor(r() * n));
  return [...s].sort((a, b) => a - b);
}

// Toy problem: 6x6x2 images, class c = the bright quadrant (plus noise).
function toyData(n, seed) {
  const r = lcg(seed);
  const x = new Float32Array(n * 72);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 4);
    labels[i] = c;
    for (let h = 0; h < 6; h++) for (let w = 0; w < 6; w++) for (let ch = 0; ch < 2; ch++) {
      const q = (h >= 3 ? 2 : 0) + (w >= 3 ? 1 : 0);
      x[i * 72 + (h * 6 + w) * 2 + ch] = (q === c ? 1 : 0) + 0.3 * (r() - 0.5);
    }
  }
  return { x, labels, y: oneHot(labels, 4) };
}

// ---- gradients ----------------------------------------------------------------------------------

t.test('tiny conv net: forwardBackward gradients match central differences', async (t) => {
  const { x, labels, y } = toyData(8, 11);
  const sw = randArr(8, 12, 0.5, 1.5);
  const cases = [
    ['softmax + CCE (fused)', tinySpec(), y, null],
    ['softmax + CCE, sample weights, smoothing', tinySpec({ labelSmoothing: 0.1 }), y, sw],
    ['softmax + sparse CCE (fused)', tinySpec({ loss: LOSS.SCCE }), labels, null],
    ['logits + CCE fromLogits', tinySpec({ lastAct: ACT.Linear, fromLogits: true }), y, null],
    ['sigmoid + CCE on probabilities', tinySpec({ lastAct: ACT.Sigmoid }), y, null],
    ['sigmoid + BCE', tinySpec({ lastAct: ACT.Sigmoid, loss: LOSS.BCE }), y, sw],
    ['tanh + MSE', tinySpec({ lastAct: ACT.Tanh, loss: LOSS.MSE }), y, null],
  ];
  for (const [name, spec, labelsArg, w] of cases) {
    const params = tinyParams();
    const net = k.createNetwork(spec, params, slotsFor(spec));
    const loss = net.forwardBackward(x, labelsArg, w, 8);
    t.ok(Number.isFinite(loss) && loss > 0, `${name}: loss ${loss.toFixed(4)}`);
    const grads = new Float32Array(net.paramCount);
    net.getGrads(grads);
    checkGrads(t, name, params, grads, () => net.forwardBackward(x, labelsArg, w, 8), sampleIdx(109, 40, 5));
    // evaluate (inference) gives the same loss: no dropout, no batch norm here
    const out = new Float32Array(8 * 4);
    t.ok(Math.abs(net.evaluate(out, x, labelsArg, w, 8) - loss) < 1e-6, `${name}: evaluate loss = training loss`);
    net.dispose();
  }
});

// bn -> conv(same, gelu) -> dropout -> avgpool -> tanh -> dense(swish, on the last axis) ->
// global avg pool -> dense(sigmoid) with BCE. Each loss evaluation uses a fresh network with the
// same seed, so dropout draws the same mask.
t.test('every layer kind: gradients match central differences', async (t) => {
  const vars = layoutVars([
    [2, true], [2, true], [2, false], [2, false],  // bn gamma, beta, moving mean, moving var
    [54, true], [3, true],                          // conv 3x3x2x3
    [15, true], [5, true],                          // dense 3 -> 5
    [10, true], [2, true],                          // dense 5 -> 2
  ]);
  const o = vars.map((v) => v.offset);
  const spec = {
    layers: [
      { kind: L.BatchNorm, in: [4, 4, 2], out: [4, 4, 2], gamma: o[0], beta: o[1], movingMean: o[2], movingVar: o[3], momentum: 0.9, eps: 1e-3 },
      { kind: L.Conv2D, in: [4, 4, 2], out: [4, 4, 3], kh: 3, kw: 3, filters: 3, padding: 1, act: ACT.Gelu, kernel: o[4], bias: o[5] },
      { kind: L.Dropout, in: [4, 4, 3], out: [4, 4, 3], rate: 0.25 },
      { kind: L.AvgPool2D, in: [4, 4, 3], out: [2, 2, 3], kh: 2, kw: 2, sh: 2, sw: 2 },
      { kind: L.Activation, in: [2, 2, 3], out: [2, 2, 3], act: ACT.Tanh },
      { kind: L.Dense, in: [2, 2, 3], out: [2, 2, 5], units: 5, act: ACT.Swish, kernel: o[6], bias: o[7] },
      { kind: L.GlobalAvgPool2D, in: [2, 2, 5], out: [1, 1, 5] },
      { kind: L.Dense, in: [1, 1, 5], out: [1, 1, 2], units: 2, act: ACT.Sigmoid, kernel: o[8], bias: o[9] },
    ],
    vars, loss: LOSS.BCE, opt: { kind: OPT.Sgd }, seed: 99,
  };
  const params = randArr(97, 21, -0.6, 0.6);
  params.fill(1, o[0], o[0] + 2);  // gamma
  params.fill(1, o[3], o[3] + 2);  // moving var
  const n = 6;
  const x = randArr(n * 32, 22, -1, 2);
  const y = randArr(n * 2, 23, 0, 1).map((v) => (v > 0.5 ? 1 : 0));
  const lossAt = () => {
    const net = k.createNetwork(spec, params, new Float32Array(0));
    const l = net.forwardBackward(x, y, null, n);
    net.dispose();
    return l;
  };
  const net = k.createNetwork(spec, params, new Float32Array(0));
  net.forwardBackward(x, y, null, n);
  const grads = new Float32Array(97);
  net.getGrads(grads);
  t.equal(maxDiff(grads.subarray(o[2], o[2] + 4), [0, 0, 0, 0]), 0, 'moving statistics get no gradient');
  const trainable = [];
  vars.forEach((v) => { if (v.trainable) for (let i = 0; i < v.size; i++) trainable.push(v.offset + i); });
  const idx = sampleIdx(trainable.length, 45, 7).map((j) => trainable[j]);
  checkGrads(t, 'bn/conv/dropout/avgpool/act/dense/gap/dense', params, grads, lossAt, idx);

  // a global max pool and mean absolute error
  const spec2 = {
    layers: [
      { kind: L.Conv2D, in: [4, 4, 2], out: [2, 2, 3], kh: 3, kw: 3, sh: 2, sw: 2, filters: 3, padding: 1, act: ACT.Tanh, kernel: 0, bias: 54 },
      { kind: L.GlobalMaxPool2D, in: [2, 2, 3], out: [1, 1, 3] },
      { kind: L.Dense, in: [1, 1, 3], out: [1, 1, 2], units: 2, kernel: 57 },
    ],
    vars: layoutVars([[54, true], [3, true], [6, true]]), loss: LOSS.MAE, opt: { kind: OPT.Sgd },
  };
  const p2 = randArr(63, 31, -0.5, 0.5);
  const net2 = k.createNetwork(spec2, p2, new Float32Array(0));
  const y2 = randArr(n * 2, 32, 2, 3);  // far from the outputs: no |x| kink
  net2.forwardBackward(x, y2, null, n);
  const g2 = new Float32Array(63);
  net2.getGrads(g2);
  checkGrads(t, 'strided same conv / global max pool / MAE', p2, g2, () => net2.forwardBackward(x, y2, null, n), sampleIdx(63, 30, 8));
});

// ---- training -----------------------------------------------------------------------------------

t.test('trainStep reduces the loss on a learnable toy problem, with every optimizer', async (t) => {
  const { x, labels, y } = toyData(64, 41);
  const opts = [
    { kind: OPT.Sgd }, { kind: OPT.Momentum, momentum: 0.9 }, { kind: OPT.Momentum, momentum: 0.9, nesterov: true },
    { kind: OPT.Adam }, { kind: OPT.AdamW, weightDecay: 0.01 }, { kind: OPT.RMSprop, rho: 0.9 },
    { kind: OPT.RMSprop, rho: 0.9, momentum: 0.5, centered: true }, { kind: OPT.Adagrad }, { kind: OPT.Adam, clipNorm: 0.5, clipValue: 0.1 },
  ];
  const lrs = [0.5, 0.05, 0.05, 0.02, 0.02, 0.01, 0.005, 0.2, 0.02];
  opts.forEach((opt, j) => {
    const spec = tinySpec({ opt, loss: LOSS.SCCE });
    const params = tinyParams();
    const slots = slotsFor(spec);
    if (opt.kind === OPT.Adagrad) slots.fill(0.1);
    const net = k.createNetwork(spec, params, slots);
    const first = net.trainStep(x, labels, null, 64, lrs[j], 1);
    let last = first;
    for (let s = 2; s <= 60; s++) last = net.trainStep(x, labels, null, 64, lrs[j], s);
    t.ok(last < first * 0.5, `${JSON.stringify(opt)}: loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    net.dispose();
  });
  // predictions are right after training (dense labels this time)
  const spec = tinySpec();
  const net = k.createNetwork(spec, tinyParams(), slotsFor(spec));
  for (let s = 1; s <= 80; s++) net.trainStep(x, y, null, 64, 0.02, s);
  const out = new Float32Array(64 * 4);
  net.predict(out, x, 64);
  let right = 0;
  for (let i = 0; i < 64; i++) {
    const row = Array.from(out.subarray(i * 4, i * 4 + 4));
    if (row.indexOf(Math.max(...row)) === labels[i]) right++;
  }
  t.ok(right >= 60, `accuracy ${right}/64`);
});

t.test('update semantics: SGD step, Adam slot layout, frozen variables', async (t) => {
  const { x, y } = toyData(5, 51);
  // SGD: params -= lr * grads
  let spec = tinySpec({ opt: { kind: OPT.Sgd } });
  let params = tinyParams();
  let net = k.createNetwork(spec, params, slotsFor(spec));
  t.equal(net.slotCount, 0, 'sgd has no slots');
  net.forwardBackward(x, y, null, 5);
  const g = new Float32Array(109);
  net.getGrads(g);
  const before = params.slice();
  net.trainStep(x, y, null, 5, 0.1, 1);
  t.ok(maxDiff(params, Array.from(before, (w, i) => Math.fround(w - Math.fround(Math.fround(0.1) * g[i])))) === 0, 'w -= lr * g exactly');

  // Adam with the conv bias frozen: slots = [m, v] per trainable var, in vars order
  spec = tinySpec({ opt: { kind: OPT.Adam, beta1: 0.8, beta2: 0.9 }, trainable: [true, false, true, true] });
  params = tinyParams();
  const slots = slotsFor(spec);
  t.equal(slots.length, 2 * (54 + 48 + 4));
  net = k.createNetwork(spec, params, slots);
  t.equal(net.slotCount, slots.length, 'slotCount');
  t.equal(net.paramCount, 109, 'paramCount');
  t.equal(net.inSize, 72, 'inSize');
  t.equal(net.outSize, 4, 'outSize');
  net.forwardBackward(x, y, null, 5);
  net.getGrads(g);
  t.same(Array.from(g.subarray(54, 57)), [0, 0, 0], 'frozen bias: zero gradient');
  const frozen = params.slice(54, 57);
  net.trainStep(x, y, null, 5, 0.01, 1);
  t.same(Array.from(params.subarray(54, 57)), Array.from(frozen), 'frozen bias unchanged');
  // var 0 (conv kernel, 54): m at 0, v at 54; var 2 (dense kernel, 48): m at 108, v at 156; var 3: 204, 208
  const expect = [[0, 54, 0], [108, 48, 57], [204, 4, 105]];
  for (const [base, size, off] of expect) {
    const m = Array.from(g.subarray(off, off + size), (v) => 0.2 * v);
    const v = Array.from(g.subarray(off, off + size), (v) => 0.1 * v * v);
    t.ok(maxDiff(slots.subarray(base, base + size), m) < 1e-6, `m of the var at ${off} starts at slot ${base}`);
    t.ok(maxDiff(slots.subarray(base + size, base + 2 * size), v) < 1e-7, `v of the var at ${off} starts at slot ${base + size}`);
  }
  net.dispose();
});

t.test('dropout masks are deterministic from the seed', async (t) => {
  const vars = layoutVars([[72 * 4, true], [4, true]]);
  const spec = (seed) => ({
    layers: [
      { kind: L.Dropout, in: [6, 6, 2], out: [6, 6, 2], rate: 0.5 },
      { kind: L.Flatten, in: [6, 6, 2], out: [1, 1, 72] },
      { kind: L.Dense, in: [1, 1, 72], out: [1, 1, 4], units: 4, act: ACT.Softmax, kernel: 0, bias: 288 },
    ],
    vars, loss: LOSS.CCE, opt: { kind: OPT.Sgd }, seed,
  });
  const { x, y } = toyData(16, 61);
  const run = (seed) => {
    const p = randArr(292, 62, -0.1, 0.1);
    const net = k.createNetwork(spec(seed), p, new Float32Array(0));
    const losses = [1, 2, 3].map((s) => net.trainStep(x, y, null, 16, 0.1, s));
    const out = new Float32Array(16 * 4);
    net.predict(out, x, 16);
    return { p, losses, out };
  };
  const a = run(5), b = run(5), c = run(6);
  t.equal(maxDiff(a.p, b.p), 0, 'same seed: identical parameters after 3 steps');
  t.same(a.losses, b.losses, 'same seed: identical losses');
  t.ok(maxDiff(a.p, c.p) > 0, 'another seed: other masks');
  t.not(a.losses[0], a.losses[1], 'masks change between steps');
});

t.test('batch norm: moving statistics follow the batch, inference uses them', async (t) => {
  const vars = layoutVars([[3, true], [3, true], [3, false], [3, false]]);
  const spec = {
    layers: [{ kind: L.BatchNorm, in: [2, 2, 3], out: [2, 2, 3], gamma: 0, beta: 3, movingMean: 6, movingVar: 9, momentum: 0.8, eps: 1e-3 }],
    vars, loss: LOSS.MSE, opt: { kind: OPT.Sgd },
  };
  const params = new Float32Array([1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  const net = k.createNetwork(spec, params, new Float32Array(0));
  const n = 5, x = randArr(n * 12, 71, 0, 4);
  net.forwardBackward(x, new Float32Array(n * 12), null, n);
  for (let c = 0; c < 3; c++) {
    let mean = 0, v = 0;
    for (let r = 0; r < n * 4; r++) mean += x[r * 3 + c] / (n * 4);
    for (let r = 0; r < n * 4; r++) v += (x[r * 3 + c] - mean) ** 2 / (n * 4);
    t.ok(Math.abs(params[6 + c] - 0.2 * mean) < 1e-5, `moving mean ${c}`);
    t.ok(Math.abs(params[9 + c] - (0.8 + 0.2 * v)) < 1e-5, `moving var ${c}`);
  }
  const out = new Float32Array(n * 12);
  net.predict(out, x, n);
  const ref = Array.from(x, (v, i) => (v - params[6 + (i % 3)]) / Math.sqrt(params[9 + (i % 3)] + 1e-3));
  t.ok(maxDiff(out, ref) < 1e-5, 'predict normalises with the moving statistics');
});

t.test('predict: chunked, any batch size, same as the training forward', async (t) => {
  const spec = tinySpec();
  const params = tinyParams();
  const net = k.createNetwork(spec, params, slotsFor(spec));
  const { x, y } = toyData(600, 81);
  const all = new Float32Array(600 * 4);
  net.predict(all, x, 600);
  const one = new Float32Array(4);
  let worst = 0;
  for (const i of [0, 1, 255, 256, 257, 599]) {
    net.predict(one, x.subarray(i * 72), 1);
    worst = Math.max(worst, maxDiff(one, all.subarray(i * 4, i * 4 + 4)));
  }
  t.ok(worst < 1e-6, `per-sample predictions equal the batch's (${worst})`);
  net.forwardBackward(x.subarray(0, 10 * 72), y.subarray(0, 40), null, 10);
  const out = new Float32Array(40);
  net.getOutput(out);
  t.ok(maxDiff(out, all.subarray(0, 40)) < 1e-6, 'getOutput = predict for a net without dropout / BN');
  // a bigger training batch after a smaller one regrows the arena; smaller reuses it
  t.ok(Number.isFinite(net.forwardBackward(x, y, null, 600)), 'batch of 600');
  t.ok(Number.isFinite(net.forwardBackward(x, y, null, 3)), 'then a batch of 3');
  const out3 = new Float32Array(12);
  net.getOutput(out3);
  t.ok(maxDiff(out3, all.subarray(0, 12)) < 1e-6, 'getOutput has the last batch');
});

// ---- async, busy, disposed --------------------------------------------------------------------------

function bigSpec() {
  // conv(3x3, 16, relu) on 16x16x4 -> global avg pool -> dense(10, softmax)
  return {
    layers: [
      { kind: L.Conv2D, in: [16, 16, 4], out: [16, 16, 16], kh: 3, kw: 3, filters: 16, padding: 1, act: ACT.Relu, kernel: 0, bias: 576 },
      { kind: L.GlobalAvgPool2D, in: [16, 16, 16], out: [1, 1, 16] },
      { kind: L.Dense, in: [1, 1, 16], out: [1, 1, 10], units: 10, act: ACT.Softmax, kernel: 592, bias: 752 },
    ],
    vars: layoutVars([[576, true], [16, true], [160, true], [10, true]]),
    loss: LOSS.SCCE, opt: { kind: OPT.Adam }, seed: 3,
  };
}

t.test('trainStepAsync: same result as trainStep, event loop runs meanwhile', async (t) => {
  const spec = bigSpec();
  const n = 256;
  const x = randArr(n * 1024, 91);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const p0 = randArr(762, 92, -0.2, 0.2);
  const pa = p0.slice(), pb = p0.slice();
  const sa = slotsFor(spec), sb = slotsFor(spec);
  const a = k.createNetwork(spec, pa, sa), b = k.createNetwork(spec, pb, sb);
  const la = a.trainStep(x, labels, null, n, 0.01, 1);
  let ticks = 0;
  let running = true;
  const tick = () => { if (running) { ticks++; setImmediate(tick); } };
  setImmediate(tick);
  const pending = b.trainStepAsync(x, labels, null, n, 0.01, 1);
  t.type(pending, Promise, 'returns a promise');
  // busy while it runs
  t.throws(() => b.trainStep(x, labels, null, n, 0.01, 2), /network is busy/, 'sync call while busy throws');
  t.throws(() => b.getGrads(new Float32Array(762)), /network is busy/);
  t.throws(() => b.dispose(), /network is busy/, 'dispose while busy throws');
  await t.rejects(b.predictAsync(new Float32Array(n * 10), x, n), /network is busy/, 'async call while busy rejects');
  const lb = await pending;
  running = false;
  t.ok(ticks > 0, `event loop turned ${ticks} times during the step`);
  t.equal(lb, la, 'same loss as the sync step');
  t.equal(maxDiff(pa, pb), 0, 'same parameters');
  t.equal(maxDiff(sa, sb), 0, 'same slots');
  const oa = new Float32Array(n * 10), ob = new Float32Array(n * 10);
  a.getOutput(oa);
  b.getOutput(ob);
  t.equal(maxDiff(oa, ob), 0, 'getOutput after the async step');
  // predictAsync
  const pa2 = new Float32Array(n * 10), pb2 = new Float32Array(n * 10);
  a.predict(pa2, x, n);
  await b.predictAsync(pb2, x, n);
  t.equal(maxDiff(pa2, pb2), 0, 'predictAsync = predict');
  // errors reject, with the engine's kind of error
  await t.rejects(b.trainStepAsync(x, new Int32Array(n).fill(10), null, n, 0.01, 2), { name: 'RangeError', message: /labels\[0\] = 10/ });
  await t.rejects(b.trainStepAsync(x.subarray(0, 5), labels, null, n, 0.01, 2), { name: 'TypeError', message: /x has 5 elements/ });
  t.ok(Number.isFinite(await b.trainStepAsync(x, labels, null, n, 0.01, 2)), 'usable again after rejections');
  a.dispose();
  b.dispose();
});

t.test('dispose: later calls throw "network was disposed"', async (t) => {
  const spec = tinySpec();
  const net = k.createNetwork(spec, tinyParams(), slotsFor(spec));
  const { x, y } = toyData(2, 1);
  net.dispose();
  t.throws(() => net.trainStep(x, y, null, 2, 0.1, 1), /network was disposed/);
  t.throws(() => net.forwardBackward(x, y, null, 2), /network was disposed/);
  t.throws(() => net.predict(new Float32Array(8), x, 2), /network was disposed/);
  t.throws(() => net.getGrads(new Float32Array(109)), /network was disposed/);
  t.throws(() => net.dispose(), /network was disposed/);
  await t.rejects(net.trainStepAsync(x, y, null, 2, 0.1, 1), /network was disposed/);
  await t.rejects(net.predictAsync(new Float32Array(8), x, 2), /network was disposed/);
});

t.test('networks that are garbage collected free themselves', async (t) => {
  // Short-lived networks holding arenas of ~10 MB each, never disposed: the finalizer frees them.
  const spec = bigSpec();
  const x = randArr(32 * 1024, 3);
  const labels = new Int32Array(32);
  for (let i = 0; i < 20; i++) {
    const net = k.createNetwork(spec, randArr(762, i), slotsFor(spec));
    net.forwardBackward(x, labels, null, 32);
  }
  t.pass('created and dropped 20 networks');
});

t.test('the addon loads and trains in a worker thread', async (t) => {
  const code = `
    const { parentPort } = require('worker_threads');
    const k = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'backend'))}).backendKernels('native');
    const spec = ${JSON.stringify(tinySpec({ opt: { kind: 0 } }))};
    const net = k.createNetwork(spec, new Float32Array(109).fill(0.1), new Float32Array(0));
    net.trainStepAsync(new Float32Array(72), new Float32Array([1, 0, 0, 0]), null, 1, 0.1, 1)
      .then((loss) => parentPort.postMessage(loss));
  `;
  const loss = await new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', resolve);
    w.once('error', reject);
  });
  t.ok(Math.abs(loss - Math.log(4)) < 1e-5, `loss of a uniform prediction is log 4 (${loss})`);
});

// ---- validation -------------------------------------------------------------------------------------

t.test('spec validation and argument errors', async (t) => {
  const p = tinyParams();
  const mk = (edit) => {
    const s = tinySpec();
    edit(s);
    return () => k.createNetwork(s, p, new Float32Array(1000));
  };
  t.throws(mk((s) => { delete s.layers[3].units; }), { name: 'TypeError', message: /createNetwork: layers\[3\]\.units must be a positive integer/ });
  t.throws(mk((s) => { s.layers[0].in = [6, 6]; }), { name: 'TypeError', message: /layers\[0\]\.in must be an array of 3 positive integers/ });
  t.throws(mk((s) => { s.layers[1].kind = 42; }), { name: 'TypeError', message: /layers\[1\]\.kind/ });
  t.throws(mk((s) => { s.layers[1].kh = 1.5; }), { name: 'TypeError', message: /layers\[1\]\.kh must be a positive integer/ });
  t.throws(mk((s) => { s.vars[0].trainable = 'yes'; }), { name: 'TypeError', message: /vars\[0\]\.trainable must be a boolean/ });
  t.throws(mk((s) => { s.opt = null; }), { name: 'TypeError', message: /spec\.opt must be an object/ });
  t.throws(mk((s) => { s.layers = 3; }), { name: 'TypeError', message: /spec\.layers must be an array/ });
  t.throws(mk((s) => { s.layers[3].in = [1, 1, 11]; }), /layers\[3\] \(Dense\): in \[1, 1, 11\] does not match the previous layer's out \[1, 1, 12\]/);
  t.throws(mk((s) => { s.layers[0].out = [5, 5, 3]; s.layers[1].in = [5, 5, 3]; }), /layers\[0\] \(Conv2D\): out must be \[4, 4, 3\]/);
  t.throws(mk((s) => { s.layers[1].kh = 7; }), /layers\[1\] \(MaxPool2D\): the pool window does not fit/);
  t.throws(mk((s) => { s.layers[3].kernel = 60; }), /layers\[3\] \(Dense\): kernel \[60, 108\) is not inside one of the vars/);
  t.throws(mk((s) => { s.layers[3].kernel = 0; s.vars = [{ offset: 0, size: 109, trainable: true }]; }), /overlaps/);
  t.throws(mk((s) => { s.layers.pop(); s.layers.pop(); }), /categorical losses need a \[1, 1, classes\] output/);
  t.throws(mk((s) => { s.layers = [s.layers[2]]; s.layers[0].in = [6, 6, 2]; s.layers[0].out = [1, 1, 72]; }), /only Flatten/);
  t.throws(mk((s) => { s.layers = []; }), /no layers/);
  t.throws(() => k.createNetwork(tinySpec(), new Float32Array(100), slotsFor(tinySpec())), /params has 100 elements, the vars need 109/);
  t.throws(() => k.createNetwork(tinySpec(), p, new Float32Array(5)), /slots has 5 elements, the optimizer needs 218/);
  t.throws(() => k.createNetwork(tinySpec(), [1, 2], new Float32Array(218)), /params must be a Float32Array/);
  t.throws(() => k.optimizerSlotCount(9), { name: 'RangeError' });
  t.same([0, 1, 2, 3, 4, 5].map((i) => k.optimizerSlotCount(i)), [0, 1, 2, 2, 3, 1], 'slot counts');

  const spec = tinySpec({ loss: LOSS.SCCE });
  const net = k.createNetwork(spec, p, slotsFor(spec));
  const x = new Float32Array(72 * 2);
  t.throws(() => net.trainStep(x, new Int32Array([0, 4]), null, 2, 0.1, 1), { name: 'RangeError', message: /labels\[1\] = 4 is not a class index in \[0, 4\)/ });
  t.throws(() => net.trainStep(x, new Float32Array(8), null, 2, 0.1, 1), { name: 'TypeError', message: /y must be an Int32Array/ });
  t.throws(() => net.trainStep(x, new Int32Array(2), null, 3, 0.1, 1), /x has 144 elements, needs at least 216/);
  t.throws(() => net.trainStep(x, new Int32Array(2), new Float32Array(1), 2, 0.1, 1), /sw has 1 elements/);
  t.throws(() => net.trainStep(x, new Int32Array(2), null, 2, 0.1, 0), { name: 'RangeError', message: /t must be an integer/ });
  t.throws(() => net.trainStep(x, new Int32Array(2), null, 0, 0.1, 1), { name: 'RangeError', message: /n must be an integer/ });
  t.throws(() => net.predict(new Float32Array(7), x, 2), /out has 7 elements, needs at least 8/);
  t.throws(() => net.getOutput(new Float32Array(8)), /no forwardBackward or trainStep has run yet/);
  net.forwardBackward(x, new Int32Array(2), null, 2);
  t.throws(() => net.getOutput(new Float32Array(7)), /dst has 7 elements, needs at least 8/);
  t.throws(() => net.getGrads(new Float32Array(108)), /dst has 108 elements, needs at least 109/);
});
