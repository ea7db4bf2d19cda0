'use strict';
// One definition per kernel family, used by both the gradient checks and the native-vs-js
// agreement test (tinygrad's helper_test_op idea: a test case is one line of configuration).
//
// An op is { name, wrt, make(rng) -> inputs, setup(K, T) -> state, forward(K, T, s), backward(K, T, s, dy) }:
//   inputs T: {name: Float32Array | Int32Array}, drawn from a seeded rng;
//   forward returns the differentiable output (Float32Array, or a number for losses) and may
//     leave extra results (argmax masks, batch statistics) in s.extra;
//   backward returns {inputName: gradient of sum(dy * output)} (dy null for losses).
// Every output buffer starts as NaN, so a kernel that leaves part of one unwritten is caught.

const { nanArray, requireDist } = require('./common');

const { Act, Padding, LossKind } = requireDist('backend/types');

const ACTS_NEEDING_INPUT = new Set([Act.Gelu, Act.Swish]);

function actName(act, alpha) {
  return act === Act.Linear ? '' : ` ${Act[act]}${alpha ? `(${alpha})` : ''}`;
}

// ---- conv2d -----------------------------------------------------------------------------------

/**
 * cfg: {N,H,W,C,KH,KW,OC, S:[SH,SW]=[1,1], D:[DH,DW]=[1,1], pad:'valid'|'same', bias=true,
 *       act=Linear, alpha=0, naive=false}
 */
function conv(cfg) {
  const { N, H, W, C, KH, KW, OC } = cfg;
  const [SH, SW] = cfg.S ?? [1, 1];
  const [DH, DW] = cfg.D ?? [1, 1];
  const pad = cfg.pad ?? 'valid';
  const bias = cfg.bias ?? true;
  const act = cfg.act ?? Act.Linear;
  const alpha = cfg.alpha ?? 0;
  const naive = !!cfg.naive;
  return {
    name: `conv2d${naive ? '(naive)' : ''} N${N} ${H}x${W}x${C} k${KH}x${KW}->${OC} s${SH},${SW} d${DH},${DW} ${pad}${bias ? ' bias' : ''}${actName(act, alpha)}`,
    wrt: bias ? ['inp', 'weight', 'bias'] : ['inp', 'weight'],
    make: (rng) => ({
      inp: rng.randn(N * H * W * C),
      weight: rng.randn(KH * KW * C * OC, 1 / Math.sqrt(KH * KW * C)),
      ...(bias ? { bias: rng.randn(OC) } : {}),
    }),
    setup(K) {
      const d = K.conv2dDims(N, H, W, C, KH, KW, OC, SH, SW, DH, DW, Padding[pad === 'same' ? 'Same' : 'Valid']);
      const colSize = K.conv2dColSize(d);
      const P = d.N * d.OH * d.OW;
      return { d, P, col: colSize ? nanArray(colSize) : null, dcol: colSize ? nanArray(colSize) : null, pre: null, extra: { dims: d } };
    },
    forward(K, T, s) {
      const out = nanArray(s.P * OC);
      const b = T.bias ?? null;
      const run = (o, a) => (naive ? K.conv2dForwardNaive(o, T.inp, T.weight, b, s.d, a, alpha)
        : K.conv2dForward(o, s.col, T.inp, T.weight, b, s.d, a, alpha));
      if (act !== Act.Linear) {
        s.pre = nanArray(s.P * OC);
        run(s.pre, Act.Linear);
      }
      run(out, act);
      s.out = out;
      return out;
    },
    backward(K, T, s, dy) {
      const dpre = act === Act.Linear ? dy : preActGrad(K, dy, s.pre, s.out, s.P, OC, act, alpha);
      const g = { inp: nanArray(T.inp.length), weight: nanArray(T.weight.length), ...(bias ? { bias: nanArray(OC) } : {}) };
      if (naive) K.conv2dBackwardNaive(g.inp, g.weight, g.bias ?? null, dpre, T.inp, T.weight, s.d);
      else K.conv2dBackward(g.inp, g.weight, g.bias ?? null, s.dcol, dpre, s.col, T.inp, T.weight, s.d);
      return g;
    },
  };
}

function preActGrad(K, dy, pre, out, rows, cols, act, alpha) {
  const dpre = nanArray(dy.length);
  K.activationBackward(dpre, dy, ACTS_NEEDING_INPUT.has(act) ? pre : null, out, rows, cols, act, alpha);
  return dpre;
}

// ---- dense ------------------------------------------------------------------------------------

/** cfg: {N, IN, UNITS, bias=true, act=Linear, alpha=0} */
function dense(cfg) {
  const { N, IN, UNITS } = cfg;
  const bias = cfg.bias ?? true;
  const act = cfg.act ?? Act.Linear;
  const alpha = cfg.alpha ?? 0;
  return {
    name: `dense N${N} ${IN}->${UNITS}${bias ? ' bias' : ''}${actName(act, alpha)}`,
    wrt: bias ? ['inp', 'weight', 'bias'] : ['inp', 'weight'],
    make: (rng) => ({
      inp: rng.randn(N * IN),
      weight: rng.randn(IN * UNITS, 1 / Math.sqrt(IN)),
      ...(bias ? { bias: rng.randn(UNITS) } : {}),
    }),
    setup: () => ({ extra: {} }),
    forward(K, T, s) {
      const out = nanArray(N * UNITS);
      if (act !== Act.Linear) {
        s.pre = nanArray(N * UNITS);
        K.denseForward(s.pre, T.inp, T.weight, T.bias ?? null, N, IN, UNITS, Act.Linear, 0);
      }
      K.denseForward(out, T.inp, T.weight, T.bias ?? null, N, IN, UNITS, act, alpha);
      s.out = out;
      return out;
    },
    backward(K, T, s, dy) {
      const dpre = act === Act.Linear ? dy : preActGrad(K, dy, s.pre, s.out, N, UNITS, act, alpha);
      const g = { inp: nanArray(N * IN), weight: nanArray(IN * UNITS), ...(bias ? { bias: nanArray(UNITS) } : {}) };
      K.denseBackward(g.inp, g.weight, g.bias ?? null, dpre, T.inp, T.weight, N, IN, UNITS);
      return g;
    },
  };
}

// ---- pooling ----------------------------------------------------------------------------------

/**
 * kind: 'max' | 'avg'; cfg: {N,H,W,C,PH,PW, S:[SH,SW]=[PH,PW], pad, ties=false}
 * ties: inputs are small integers, so windows hold equal values (first in row-major order wins).
 */
function pool(kind, cfg) {
  const { N, H, W, C, PH, PW } = cfg;
  const [SH, SW] = cfg.S ?? [PH, PW];
  const pad = cfg.pad ?? 'valid';
  return {
    name: `${kind}pool2d N${N} ${H}x${W}x${C} p${PH}x${PW} s${SH},${SW} ${pad}${cfg.ties ? ' ties' : ''}`,
    wrt: ['inp'],
    make: (rng) => ({ inp: cfg.ties ? rng.randInts(N * H * W * C, -1, 1) : rng.randn(N * H * W * C) }),
    setup(K) {
      const d = K.pool2dDims(N, H, W, C, PH, PW, SH, SW, Padding[pad === 'same' ? 'Same' : 'Valid']);
      return { d, extra: { dims: d } };
    },
    forward(K, T, s) {
      const out = nanArray(N * s.d.OH * s.d.OW * C);
      if (kind === 'max') {
        s.argmax = new Int32Array(out.length).fill(-7);
        K.maxPool2dForward(out, s.argmax, T.inp, s.d);
        s.extra.argmax = s.argmax;
      } else {
        K.avgPool2dForward(out, T.inp, s.d);
      }
      return out;
    },
    backward(K, T, s, dy) {
      const dinp = nanArray(T.inp.length);
      if (kind === 'max') K.maxPool2dBackward(dinp, dy, s.argmax, s.d);
      else K.avgPool2dBackward(dinp, dy, s.d);
      return { inp: dinp };
    },
  };
}

/** kind: 'max' | 'avg'; cfg: {N, HW, C, ties=false} */
function globalPool(kind, cfg) {
  const { N, HW, C } = cfg;
  return {
    name: `global${kind}pool N${N} HW${HW} C${C}${cfg.ties ? ' ties' : ''}`,
    wrt: ['inp'],
    make: (rng) => ({ inp: cfg.ties ? rng.randInts(N * HW * C, 0, 1) : rng.randn(N * HW * C) }),
    setup: () => ({ extra: {} }),
    forward(K, T, s) {
      const out = nanArray(N * C);
      if (kind === 'max') {
        s.argmax = new Int32Array(N * C).fill(-7);
        K.globalMaxPoolForward(out, s.argmax, T.inp, N, HW, C);
        s.extra.argmax = s.argmax;
      } else {
        K.globalAvgPoolForward(out, T.inp, N, HW, C);
      }
      return out;
    },
    backward(K, T, s, dy) {
      const dinp = nanArray(T.inp.length);
      if (kind === 'max') K.globalMaxPoolBackward(dinp, dy, s.argmax, N, HW, C);
      else K.globalAvgPoolBackward(dinp, dy, N, HW, C);
      return { inp: dinp };
    },
  };
}

// ---- activations ------------------------------------------------------------------------------

/** act: Act value; cfg: {rows=4, cols=6, scale=2.5, inplace=false} */
function activation(act, alpha = 0, cfg = {}) {
  const rows = cfg.rows ?? 4;
  const cols = cfg.cols ?? 6;
  const scale = cfg.scale ?? 2.5;
  return {
    name: `activation ${Act[act]}${alpha ? `(${alpha})` : ''} ${rows}x${cols}${cfg.inplace ? ' in-place' : ''}`,
    wrt: ['x'],
    make: (rng) => ({ x: rng.randn(rows * cols, scale) }),
    setup: () => ({ extra: {} }),
    forward(K, T, s) {
      let y;
      if (cfg.inplace) {
        y = Float32Array.from(T.x);
        K.activationForward(y, y, rows, cols, act, alpha);
      } else {
        y = nanArray(rows * cols);
        K.activationForward(y, T.x, rows, cols, act, alpha);
      }
      s.y = y;
      return y;
    },
    backward(K, T, s, dy) {
      const x = ACTS_NEEDING_INPUT.has(act) ? T.x : null;
      let dx;
      if (cfg.inplace) {
        dx = Float32Array.from(dy);
        K.activationBackward(dx, dx, x, s.y, rows, cols, act, alpha);
      } else {
        dx = nanArray(rows * cols);
        K.activationBackward(dx, dy, x, s.y, rows, cols, act, alpha);
      }
      return { x: dx };
    },
  };
}

// ---- losses -----------------------------------------------------------------------------------

/**
 * kind: 'softmaxCE' (fused, gradient w.r.t. logits) | 'cce' (on probabilities) | 'bce' | 'mse' | 'mae'
 * cfg: {N, D, sparse=false, smoothing=0, fromLogits=false, sw=false, soft=false, extreme=false}
 */
function loss(kind, cfg) {
  const { N, D } = cfg;
  const sparse = !!cfg.sparse;
  const smoothing = cfg.smoothing ?? 0;
  const fromLogits = !!cfg.fromLogits;
  const name = `loss ${kind}${sparse ? ' sparse' : ''}${fromLogits ? ' fromLogits' : ''} N${N} D${D}` +
    `${smoothing ? ` smoothing ${smoothing}` : ''}${cfg.sw ? ' sw' : ''}${cfg.soft ? ' soft' : ''}${cfg.extreme ? ' extreme' : ''}`;
  return {
    name,
    wrt: ['pred'],
    make(rng) {
      let pred;
      if (kind === 'softmaxCE' || (kind === 'bce' && fromLogits)) pred = rng.randn(N * D, 2);
      else if (kind === 'cce') pred = rng.rand(N * D, 0.1, 1);
      else if (kind === 'bce') pred = rng.rand(N * D, 0.1, 0.9);
      else pred = rng.randn(N * D);
      let labels;
      if (sparse) {
        labels = Int32Array.from({ length: N }, () => rng.int(0, D - 1));
      } else if (kind === 'softmaxCE' || kind === 'cce') {
        labels = new Float32Array(N * D);
        for (let i = 0; i < N; i++) {
          if (cfg.soft) {
            const row = rng.rand(D, 0.1, 1);
            const s = row.reduce((p, q) => p + q, 0);
            for (let j = 0; j < D; j++) labels[i * D + j] = row[j] / s;
          } else {
            labels[i * D + rng.int(0, D - 1)] = 1;
          }
        }
      } else if (kind === 'bce') {
        labels = cfg.soft ? rng.rand(N * D) : rng.randInts(N * D, 0, 1);
      } else {
        labels = rng.randn(N * D);
      }
      if (cfg.extreme) {
        // Saturated inputs: probabilities at exactly 0 and 1 (clipped), logits far out (overflow).
        const edge = kind === 'cce' || (kind === 'bce' && !fromLogits) ? [0, 1, 1e-9, 1 - 1e-8] : [-90, 90, 30, -30];
        for (let i = 0; i < pred.length; i += 2) pred[i] = edge[(i / 2) % edge.length];
      }
      const T = { pred, labels };
      if (cfg.sw) {
        T.sw = rng.rand(N, 0, 2);
        T.sw[0] = 0;
      }
      return T;
    },
    setup: () => ({ extra: {} }),
    forward(K, T, s) {
      return run(K, T, s, null);
    },
    backward(K, T, s) {
      const dpred = nanArray(N * D);
      s.extra.lossWithGrad = run(K, T, s, dpred);
      return { pred: dpred };
    },
  };

  function run(K, T, s, dpred) {
    const sw = T.sw ?? null;
    switch (kind) {
      case 'softmaxCE': {
        const probs = nanArray(N * D);
        K.softmaxRows(probs, T.pred, N, D);
        s.extra.probs = probs;
        return sparse ? K.sparseSoftmaxCrossentropy(dpred, probs, T.labels, sw, N, D, smoothing)
          : K.softmaxCrossentropy(dpred, probs, T.labels, sw, N, D, smoothing);
      }
      case 'cce':
        return sparse ? K.sparseCategoricalCrossentropy(dpred, T.pred, T.labels, sw, N, D, smoothing)
          : K.categoricalCrossentropy(dpred, T.pred, T.labels, sw, N, D, smoothing);
      case 'bce':
        return K.binaryCrossentropy(dpred, T.pred, T.labels, sw, N, D, fromLogits, smoothing);
      case 'mse':
        return K.meanSquaredError(dpred, T.pred, T.labels, sw, N, D);
      case 'mae':
        return K.meanAbsoluteError(dpred, T.pred, T.labels, sw, N, D);
      default:
        throw new Error(`unknown loss ${kind}`);
    }
  }
}

// ---- dropout (a fixed mask: the rng is reseeded before every forward) ---------------------------

/** cfg: {n, rate, seed} */
function dropout(cfg) {
  const { n, rate, seed } = cfg;
  return {
    name: `dropout n${n} rate ${rate} seed ${seed}`,
    wrt: ['inp'],
    make: (rng) => ({ inp: rng.randn(n) }),
    setup: () => ({ extra: {} }),
    forward(K, T, s) {
      const rngState = new Uint32Array(4);
      K.rngSeed(rngState, seed);
      s.extra.seeded = Uint32Array.from(rngState);
      const out = nanArray(n);
      s.mask = nanArray(n);
      K.dropoutForward(out, s.mask, T.inp, n, rate, rngState);
      s.extra.mask = s.mask;
      s.extra.rngAfter = rngState;
      return out;
    },
    backward(K, T, s, dy) {
      const dinp = nanArray(n);
      K.dropoutBackward(dinp, dy, s.mask, n);
      return { inp: dinp };
    },
  };
}

// ---- batch normalisation, training mode -------------------------------------------------------

/** cfg: {rows, C, momentum=0.99, eps=1e-3} */
function batchnorm(cfg) {
  const { rows, C } = cfg;
  const momentum = cfg.momentum ?? 0.99;
  const eps = cfg.eps ?? 1e-3;
  return {
    name: `batchnorm rows${rows} C${C} momentum ${momentum} eps ${eps}`,
    wrt: ['inp', 'gamma', 'beta'],
    make(rng) {
      const inp = rng.randn(rows * C, 2);
      for (let i = 0; i < inp.length; i++) inp[i] += (i % C) - 1; // per-channel offsets
      return {
        inp, gamma: rng.rand(C, 0.5, 1.5), beta: rng.randn(C),
        movingMean: rng.randn(C), movingVar: rng.rand(C, 0.5, 2),
      };
    },
    setup: () => ({ extra: {} }),
    forward(K, T, s) {
      const out = nanArray(rows * C);
      s.xhat = nanArray(rows * C);
      s.invstd = nanArray(C);
      const mean = nanArray(C);
      const mm = Float32Array.from(T.movingMean);
      const mv = Float32Array.from(T.movingVar);
      K.batchnormForwardTrain(out, s.xhat, mean, s.invstd, mm, mv, T.inp, T.gamma, T.beta, rows, C, momentum, eps);
      const infer = nanArray(rows * C);
      K.batchnormForwardInfer(infer, T.inp, T.gamma, T.beta, T.movingMean, T.movingVar, rows, C, eps);
      Object.assign(s.extra, { xhat: s.xhat, invstd: s.invstd, mean, movingMean: mm, movingVar: mv, infer });
      return out;
    },
    backward(K, T, s, dy) {
      const g = { inp: nanArray(rows * C), gamma: nanArray(C), beta: nanArray(C) };
      K.batchnormBackward(g.inp, g.gamma, g.beta, dy, s.xhat, s.invstd, T.gamma, rows, C);
      return g;
    },
  };
}

/** Runs an op once on a backend: forward, extras and backward with a given dy. */
function runOp(op, K, T, dy) {
  const s = op.setup(K, T);
  const out = op.forward(K, T, s);
  const grads = op.backward(K, T, s, typeof out === 'number' ? null : dy);
  return { out, extra: s.extra, grads };
}

module.exports = {
  Act, Padding, LossKind, ACTS_NEEDING_INPUT,
  conv, dense, pool, globalPool, activation, loss, dropout, batchnorm, runOp,
};
