'use strict';
// Both backends against the PyTorch-made fixtures (test/fixtures/kernels.bin, made by
// test/fixtures/make_fixtures.py): every tensor is compared with a relative tolerance of 1e-4
// (values below 1% of a tensor's largest are compared absolutely at that scale; a case may carry
// a looser config.rtol when float32 itself cannot do better) and its maxdiff is printed, llm.c
// style. Argmax masks must match exactly.

const t = require('tap');
const { loadBackends, compare, fmt, nanArray, requireDist } = require('./helpers/common');
const { readFixtures, DEFAULT_FILE } = require('./helpers/fixtures');
const { Act, Padding, LossKind, ACTS_NEEDING_INPUT } = require('./helpers/ops');
const { buildSpec } = require('./helpers/network');
const { OptimizerKind } = requireDist('backend/types');

const RTOL = 1e-4;
const cases = readFixtures(DEFAULT_FILE);
const { backends } = loadBackends();

const pad = (p) => (p === 'same' ? Padding.Same : Padding.Valid);
const orNull = (x) => x ?? null;

/** Each runner returns {tensorName: [actual, opts?]} to compare with the fixture's tensors. */
const RUNNERS = {
  conv2d(K, c, f) {
    const d = K.conv2dDims(c.N, c.H, c.W, c.C, c.KH, c.KW, c.OC, c.SH, c.SW, c.DH, c.DW, pad(c.pad));
    const dims = Int32Array.of(d.OH, d.OW, d.PT, d.PL);
    const dimsRef = Int32Array.of(c.OH, c.OW, c.PT, c.PL);
    const act = Act[c.act];
    const colSize = K.conv2dColSize(d);
    const col = colSize ? nanArray(colSize) : null;
    const dcol = colSize ? nanArray(colSize) : null;
    const out = nanArray(f.out.length);
    const outNaive = nanArray(f.out.length);
    K.conv2dForward(out, col, f.inp, f.weight, orNull(f.bias), d, act, c.alpha);
    K.conv2dForwardNaive(outNaive, f.inp, f.weight, orNull(f.bias), d, act, c.alpha);
    const g = grads(f, ['dinp', 'dweight', 'dbias']);
    K.conv2dBackward(g.dinp, g.dweight, orNull(g.dbias), dcol, f.dout, col, f.inp, f.weight, d);
    const n = grads(f, ['dinp', 'dweight', 'dbias']);
    K.conv2dBackwardNaive(n.dinp, n.dweight, orNull(n.dbias), f.dout, f.inp, f.weight, d);
    const r = { 'dims (OH,OW,PT,PL)': [dims, { exact: true }, dimsRef], out: [out], 'out (naive)': [outNaive, {}, f.out] };
    for (const k of Object.keys(g)) {
      r[k] = [g[k]];
      r[`${k} (naive)`] = [n[k], {}, f[k]];
    }
    return r;
  },

  dense(K, c, f) {
    const out = nanArray(f.out.length);
    K.denseForward(out, f.inp, f.weight, orNull(f.bias), c.N, c.IN, c.UNITS, Act[c.act], c.alpha);
    const g = grads(f, ['dinp', 'dweight', 'dbias']);
    K.denseBackward(g.dinp, g.dweight, orNull(g.dbias), f.dout, f.inp, f.weight, c.N, c.IN, c.UNITS);
    return { out: [out], ...wrap(g) };
  },

  maxpool2d(K, c, f) {
    const d = poolDims(K, c);
    const out = nanArray(f.out.length);
    const argmax = new Int32Array(f.argmax.length).fill(-7);
    K.maxPool2dForward(out, argmax, f.inp, d);
    const dinp = nanArray(f.dinp.length);
    K.maxPool2dBackward(dinp, f.dout, argmax, d);
    return { out: [out], argmax: [argmax, { exact: true }], dinp: [dinp] };
  },

  avgpool2d(K, c, f) {
    const d = poolDims(K, c);
    const out = nanArray(f.out.length);
    K.avgPool2dForward(out, f.inp, d);
    const dinp = nanArray(f.dinp.length);
    K.avgPool2dBackward(dinp, f.dout, d);
    return { out: [out], dinp: [dinp] };
  },

  global_avgpool(K, c, f) {
    const out = nanArray(f.out.length);
    K.globalAvgPoolForward(out, f.inp, c.N, c.HW, c.C);
    const dinp = nanArray(f.dinp.length);
    K.globalAvgPoolBackward(dinp, f.dout, c.N, c.HW, c.C);
    return { out: [out], dinp: [dinp] };
  },

  global_maxpool(K, c, f) {
    const out = nanArray(f.out.length);
    const argmax = new Int32Array(f.argmax.length).fill(-7);
    K.globalMaxPoolForward(out, argmax, f.inp, c.N, c.HW, c.C);
    const dinp = nanArray(f.dinp.length);
    K.globalMaxPoolBackward(dinp, f.dout, argmax, c.N, c.HW, c.C);
    return { out: [out], argmax: [argmax, { exact: true }], dinp: [dinp] };
  },

  activation(K, c, f) {
    const act = Act[c.act];
    const y = nanArray(f.y.length);
    K.activationForward(y, f.x, c.rows, c.cols, act, c.alpha);
    const dx = nanArray(f.dx.length);
    K.activationBackward(dx, f.dy, ACTS_NEEDING_INPUT.has(act) ? f.x : null, f.y, c.rows, c.cols, act, c.alpha);
    return { y: [y], dx: [dx] };
  },

  softmax_ce(K, c, f) {
    const probs = nanArray(f.probs.length);
    K.softmaxRows(probs, f.logits, c.N, c.D);
    const dlogits = nanArray(f.dlogits.length);
    const fn = c.sparse ? 'sparseSoftmaxCrossentropy' : 'softmaxCrossentropy';
    const loss = K[fn](dlogits, probs, f.labels, orNull(f.sw), c.N, c.D, c.smoothing);
    const lossOnly = K[fn](null, probs, f.labels, orNull(f.sw), c.N, c.D, c.smoothing);
    return { probs: [probs], loss: [[loss]], 'loss (no grad)': [[lossOnly], {}, f.loss], dlogits: [dlogits] };
  },

  cce(K, c, f) {
    const fn = c.sparse ? 'sparseCategoricalCrossentropy' : 'categoricalCrossentropy';
    return lossResult(f, (dpred) => K[fn](dpred, f.pred, f.labels, orNull(f.sw), c.N, c.D, c.smoothing));
  },
  bce(K, c, f) {
    return lossResult(f, (dpred) => K.binaryCrossentropy(dpred, f.pred, f.labels, orNull(f.sw), c.N, c.D, c.fromLogits, c.smoothing));
  },
  mse(K, c, f) {
    return lossResult(f, (dpred) => K.meanSquaredError(dpred, f.pred, f.labels, orNull(f.sw), c.N, c.D));
  },
  mae(K, c, f) {
    return lossResult(f, (dpred) => K.meanAbsoluteError(dpred, f.pred, f.labels, orNull(f.sw), c.N, c.D));
  },

  batchnorm(K, c, f) {
    const n = f.inp.length;
    const out = nanArray(n);
    const xhat = nanArray(n);
    const mean = nanArray(c.C);
    const invstd = nanArray(c.C);
    const mm = Float32Array.from(f.movingMean);
    const mv = Float32Array.from(f.movingVar);
    K.batchnormForwardTrain(out, xhat, mean, invstd, mm, mv, f.inp, f.gamma, f.beta, c.rows, c.C, c.momentum, c.eps);
    const outInfer = nanArray(n);
    K.batchnormForwardInfer(outInfer, f.inp, f.gamma, f.beta, f.movingMean, f.movingVar, c.rows, c.C, c.eps);
    const g = grads(f, ['dinp', 'dgamma', 'dbeta']);
    K.batchnormBackward(g.dinp, g.dgamma, g.dbeta, f.dout, xhat, invstd, f.gamma, c.rows, c.C);
    return {
      out: [out], xhat: [xhat], mean: [mean], invstd: [invstd], movingMeanOut: [mm], movingVarOut: [mv],
      outInfer: [outInfer], ...wrap(g),
    };
  },

  optimizer(K, c, f) {
    const n = c.n;
    const w = Float32Array.from(f.w0);
    const slot = (s) => (f[`${s}0`] ? Float32Array.from(f[`${s}0`]) : null);
    const S = { v: slot('v'), m: slot('m'), ms: slot('ms'), mom: slot('mom'), mg: slot('mg'), acc: slot('acc') };
    const r = {};
    for (let step = 1; step <= 3; step++) {
      const g = f.g.slice((step - 1) * n, step * n);
      switch (c.opt) {
        case 'sgd': K.sgdUpdate(w, g, n, c.lr); break;
        case 'momentum': K.momentumUpdate(w, S.v, g, n, c.lr, c.momentum, c.nesterov); break;
        case 'adam': K.adamUpdate(w, S.m, S.v, g, n, c.lr, c.beta1, c.beta2, c.eps, step); break;
        case 'adamw': K.adamwUpdate(w, S.m, S.v, g, n, c.lr, c.beta1, c.beta2, c.eps, c.weightDecay, step); break;
        case 'rmsprop':
          K.rmspropUpdate(w, S.ms, S.mom, c.centered ? S.mg : null, g, n, c.lr, c.rho, c.momentum, c.eps, c.centered);
          break;
        case 'adagrad': K.adagradUpdate(w, S.acc, g, n, c.lr, c.eps); break;
        default: throw new Error(`unknown optimizer ${c.opt}`);
      }
      r[`w${step}`] = [Float32Array.from(w)];
    }
    for (const s of Object.keys(S)) {
      if (S[s] && !(s === 'mg' && !c.centered)) r[`${s}3`] = [S[s]];
    }
    return r;
  },

  /** A whole network trained for c.steps steps: the losses and the final parameters (incl. BN moving stats). */
  network(K, c, f) {
    const layers = c.layers.map((L) => ({
      ...L,
      ...(L.pad ? { pad: pad(L.pad) } : {}),
      ...(L.act ? { act: Act[L.act] } : {}),
    }));
    const { kind, lr, ...opt } = c.opt;
    const rest = {
      loss: NET_LOSS[c.loss], fromLogits: c.fromLogits, labelSmoothing: c.labelSmoothing, seed: 0,
      opt: { ...opt, kind: NET_OPT[kind] },
    };
    const { spec, paramCount } = buildSpec(c.input, layers, rest);
    if (paramCount !== f.params0.length) throw new Error(`spec has ${paramCount} params, fixture ${f.params0.length}`);
    const params = Float32Array.from(f.params0);
    const trainable = spec.vars.filter((v) => v.trainable).reduce((s, v) => s + v.size, 0);
    const slots = new Float32Array(trainable * K.optimizerSlotCount(spec.opt.kind)).fill(opt.initialAccumulator ?? 0);
    const net = K.createNetwork(spec, params, slots);
    const inSize = f.x.length / c.steps;
    const ySize = f.y.length / c.steps;
    const losses = new Float32Array(c.steps);
    for (let step = 1; step <= c.steps; step++) {
      const x = f.x.slice((step - 1) * inSize, step * inSize);
      const y = f.y.slice((step - 1) * ySize, step * ySize);
      losses[step - 1] = net.trainStep(x, y, null, c.n, lr, step);
    }
    net.dispose();
    return { losses: [losses], params: [params] };
  },

  clip(K, c, f) {
    const g = Float32Array.from(f.g);
    if (c.mode === 'value') K.clipByValue(g, c.n, c.clip);
    else K.clipByNorm(g, c.n, c.clip);
    return { out: [g] };
  },
};

const NET_LOSS = {
  cce: LossKind.CategoricalCrossentropy, sparse: LossKind.SparseCategoricalCrossentropy,
  bce: LossKind.BinaryCrossentropy, mse: LossKind.MeanSquaredError,
};
const NET_OPT = {
  sgd: OptimizerKind.Sgd, momentum: OptimizerKind.Momentum, adam: OptimizerKind.Adam, adamw: OptimizerKind.AdamW,
  rmsprop: OptimizerKind.RMSprop, adagrad: OptimizerKind.Adagrad,
};

function poolDims(K, c) {
  return K.pool2dDims(c.N, c.H, c.W, c.C, c.PH, c.PW, c.SH, c.SW, pad(c.pad));
}

/** NaN-filled buffers for the gradient tensors the fixture holds. */
function grads(f, names) {
  const g = {};
  for (const k of names) if (f[k]) g[k] = nanArray(f[k].length);
  return g;
}

function wrap(g) {
  const r = {};
  for (const k of Object.keys(g)) r[k] = [g[k]];
  return r;
}

function lossResult(f, run) {
  const dpred = nanArray(f.dpred.length);
  const loss = run(dpred);
  const lossOnly = run(null);
  return { loss: [[loss]], 'loss (no grad)': [[lossOnly], {}, f.loss], dpred: [dpred] };
}

t.test('fixture file', async (t) => {
  t.ok(cases.length > 100, `${cases.length} cases in ${DEFAULT_FILE}`);
  const kinds = new Set(cases.map((c) => c.kind));
  for (const k of kinds) t.ok(RUNNERS[k], `runner for kind ${k}`);
});

for (const { name, K, skip } of backends) {
  t.test(`${name} backend vs PyTorch`, { skip }, async (t) => {
    const worstByKind = {};
    for (const fx of cases) {
      await t.test(fx.name, async (t) => {
        const results = RUNNERS[fx.kind](K, fx.config, fx.t);
        for (const [tensor, [actual, opts = {}, expected = fx.t[tensor]]] of Object.entries(results)) {
          if (!expected) {
            t.fail(`fixture has no tensor ${tensor}`);
            continue;
          }
          const r = compare(actual, expected, { rtol: fx.config.rtol ?? RTOL, ...opts });
          const line = `${tensor}: maxdiff ${fmt(r.maxdiff)} rel ${fmt(r.maxerr)}`;
          t.comment(line);
          const where = !r.ok && r.worst >= 0 ? ` (at [${r.worst}]: ${actual[r.worst]} vs ${expected[r.worst]})` : '';
          t.ok(r.ok, line + where + (r.why ? ` ${r.why}` : ''));
          const w = (worstByKind[fx.kind] ??= { maxdiff: 0, maxerr: 0 });
          if (!opts.exact && Number.isFinite(r.maxerr)) {
            w.maxdiff = Math.max(w.maxdiff, r.maxdiff);
            w.maxerr = Math.max(w.maxerr, r.maxerr);
          }
        }
      });
    }
    t.comment(`${name} vs PyTorch, worst per kind:`);
    for (const [k, w] of Object.entries(worstByKind)) {
      t.comment(`  ${k.padEnd(15)} maxdiff ${fmt(w.maxdiff)}  rel ${fmt(w.maxerr)}`);
    }
  });
}
