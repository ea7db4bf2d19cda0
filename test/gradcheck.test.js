'use strict';
// Numeric gradient checks of every kernel's backward against its own forward, on both backends.
// One line per case: the op definitions live in test/helpers/ops.js, the checker in
// test/helpers/gradcheck.js (central differences, caffe-style relative error, kink guard).

const t = require('tap');
const { loadBackends, makeRng, requireDist } = require('./helpers/common');
const { gradcheck } = require('./helpers/gradcheck');
const { Act, conv, dense, pool, globalPool, activation, loss, dropout, batchnorm } = require('./helpers/ops');
const { buildSpec, initParams, netData } = require('./helpers/network');
const { LossKind, OptimizerKind, Padding } = requireDist('backend/types');

// Losses have gradients of order 1/N: a smaller floor keeps the relative check meaningful.
// Probability inputs get a smaller step (log is curved near 0).
const LOSS = { floor: 1e-2 };
const PROB = { floor: 1e-2, eps: 1e-3 };

const CASES = [
  // conv2d: strides, valid / TF-same (asymmetric) padding, dilation, rectangular and pointwise kernels
  [conv({ N: 2, H: 5, W: 5, C: 3, KH: 3, KW: 3, OC: 4, pad: 'valid' })],
  [conv({ N: 2, H: 6, W: 6, C: 2, KH: 3, KW: 3, OC: 3, S: [2, 2], pad: 'same' })],
  [conv({ N: 2, H: 7, W: 7, C: 2, KH: 3, KW: 3, OC: 3, S: [2, 2], pad: 'same', bias: false })],
  [conv({ N: 3, H: 6, W: 5, C: 2, KH: 3, KW: 1, OC: 2, pad: 'same' })],
  [conv({ N: 2, H: 5, W: 6, C: 2, KH: 1, KW: 3, OC: 3, S: [1, 2], pad: 'valid' })],
  [conv({ N: 2, H: 8, W: 7, C: 2, KH: 2, KW: 3, OC: 2, S: [3, 3], pad: 'same' })],
  [conv({ N: 2, H: 9, W: 8, C: 2, KH: 3, KW: 3, OC: 2, D: [2, 2], pad: 'same' })],
  [conv({ N: 2, H: 9, W: 7, C: 2, KH: 3, KW: 2, OC: 2, S: [2, 1], D: [2, 1], pad: 'valid' })],
  [conv({ N: 2, H: 4, W: 5, C: 3, KH: 1, KW: 1, OC: 4, pad: 'valid' })],
  [conv({ N: 2, H: 4, W: 5, C: 3, KH: 1, KW: 1, OC: 4, pad: 'same', bias: false })],
  [conv({ N: 2, H: 7, W: 6, C: 2, KH: 1, KW: 1, OC: 3, S: [2, 2], pad: 'valid' })],
  [conv({ N: 2, H: 3, W: 3, C: 2, KH: 5, KW: 5, OC: 2, pad: 'same' })],
  [conv({ N: 2, H: 5, W: 5, C: 2, KH: 3, KW: 3, OC: 3, pad: 'same', act: Act.Tanh })],
  [conv({ N: 2, H: 5, W: 5, C: 2, KH: 3, KW: 3, OC: 3, S: [2, 2], pad: 'same', act: Act.Gelu })],
  [conv({ N: 2, H: 4, W: 4, C: 2, KH: 2, KW: 2, OC: 4, pad: 'valid', act: Act.Softmax })],
  [conv({ N: 2, H: 5, W: 5, C: 2, KH: 3, KW: 3, OC: 3, pad: 'same', act: Act.Relu })],
  [conv({ N: 2, H: 6, W: 6, C: 2, KH: 3, KW: 3, OC: 3, S: [2, 2], pad: 'same', naive: true })],
  [conv({ N: 2, H: 9, W: 8, C: 2, KH: 3, KW: 2, OC: 2, D: [2, 2], pad: 'same', naive: true })],
  [conv({ N: 2, H: 4, W: 5, C: 3, KH: 1, KW: 1, OC: 4, pad: 'valid', naive: true, act: Act.Swish })],

  // dense
  [dense({ N: 3, IN: 5, UNITS: 4 })],
  [dense({ N: 2, IN: 7, UNITS: 3, bias: false })],
  [dense({ N: 4, IN: 6, UNITS: 5, act: Act.Sigmoid })],
  [dense({ N: 3, IN: 4, UNITS: 6, act: Act.Softmax })],
  [dense({ N: 2, IN: 9, UNITS: 3, act: Act.Elu, alpha: 1 })],

  // pooling: valid / same (padded windows), overlapping windows, rectangular windows
  [pool('max', { N: 2, H: 6, W: 6, C: 2, PH: 2, PW: 2, pad: 'valid' })],
  [pool('max', { N: 2, H: 7, W: 7, C: 2, PH: 2, PW: 2, pad: 'same' })],
  [pool('max', { N: 2, H: 7, W: 6, C: 2, PH: 3, PW: 3, S: [2, 2], pad: 'same' })],
  [pool('max', { N: 2, H: 5, W: 8, C: 2, PH: 3, PW: 2, S: [1, 3], pad: 'same' })],
  [pool('avg', { N: 2, H: 6, W: 6, C: 2, PH: 2, PW: 2, pad: 'valid' })],
  [pool('avg', { N: 2, H: 7, W: 7, C: 2, PH: 2, PW: 2, pad: 'same' })],
  [pool('avg', { N: 2, H: 7, W: 6, C: 2, PH: 3, PW: 3, S: [2, 2], pad: 'same' })],
  [pool('avg', { N: 2, H: 5, W: 8, C: 2, PH: 3, PW: 2, S: [1, 3], pad: 'same' })],
  [globalPool('avg', { N: 2, HW: 9, C: 3 })],
  [globalPool('max', { N: 2, HW: 9, C: 3 })],

  // activations, each on its own
  [activation(Act.Linear)],
  [activation(Act.Relu)],
  [activation(Act.LeakyRelu, 0.2)],
  [activation(Act.Elu, 1)],
  [activation(Act.Elu, 0.5)],
  [activation(Act.Selu)],
  [activation(Act.Sigmoid)],
  [activation(Act.Tanh)],
  [activation(Act.Softplus)],
  [activation(Act.Gelu)],
  [activation(Act.Swish)],
  [activation(Act.Softmax)],
  [activation(Act.Relu6, 0, { scale: 5 })],
  [activation(Act.Sigmoid, 0, { inplace: true })],
  [activation(Act.Gelu, 0, { inplace: true })],
  [activation(Act.Softmax, 0, { inplace: true, rows: 3, cols: 5 })],

  // losses
  [loss('softmaxCE', { N: 4, D: 5 }), LOSS],
  [loss('softmaxCE', { N: 3, D: 6, smoothing: 0.1, soft: true }), LOSS],
  [loss('softmaxCE', { N: 5, D: 4, sw: true }), LOSS],
  [loss('softmaxCE', { N: 4, D: 5, sparse: true }), LOSS],
  [loss('softmaxCE', { N: 4, D: 5, sparse: true, smoothing: 0.2, sw: true }), LOSS],
  [loss('cce', { N: 4, D: 5 }), PROB],
  [loss('cce', { N: 3, D: 4, smoothing: 0.1, sw: true, soft: true }), PROB],
  [loss('cce', { N: 4, D: 5, sparse: true }), PROB],
  [loss('cce', { N: 4, D: 3, sparse: true, smoothing: 0.1, sw: true }), PROB],
  [loss('bce', { N: 4, D: 3 }), PROB],
  [loss('bce', { N: 3, D: 4, smoothing: 0.1, sw: true, soft: true }), PROB],
  [loss('bce', { N: 4, D: 3, fromLogits: true }), LOSS],
  [loss('bce', { N: 3, D: 2, fromLogits: true, smoothing: 0.2, sw: true, soft: true }), LOSS],
  [loss('mse', { N: 4, D: 3 }), LOSS],
  [loss('mse', { N: 3, D: 5, sw: true }), LOSS],
  [loss('mae', { N: 4, D: 3 }), LOSS],
  [loss('mae', { N: 3, D: 5, sw: true }), LOSS],

  // dropout with a fixed mask, batch normalisation (training mode)
  [dropout({ n: 40, rate: 0.3, seed: 7 })],
  [dropout({ n: 25, rate: 0.5, seed: 123 })],
  [batchnorm({ rows: 12, C: 3 })],
  [batchnorm({ rows: 30, C: 4, momentum: 0.9, eps: 1e-5 })],
];

const { backends } = loadBackends();

for (const { name, K, skip } of backends) {
  t.test(`gradcheck on ${name} backend`, { skip }, async (t) => {
    for (const [op, opts] of CASES) {
      t.test(op.name, async (t) => {
        const T = op.make(makeRng(op.name));
        const s = op.setup(K, T);
        gradcheck(t, {
          name: op.name,
          inputs: T,
          wrt: op.wrt,
          forward: () => op.forward(K, T, s),
          backward: (dy) => op.backward(K, T, s, dy),
          ...opts,
        });
      });
    }
  });
}

// Whole networks: the engine's gradient (forwardBackward + getGrads) against numeric differences
// of its own loss w.r.t. the parameters. No dropout here (each call draws a new mask); batchnorm
// runs in training mode, which is deterministic.
const NETWORKS = [
  {
    name: 'network conv(same,relu)-bn-maxpool-conv(tanh)-flatten-dense(softmax), CCE + smoothing',
    input: [6, 6, 2], n: 4, classes: 3,
    layers: [{ conv: 3, k: [3, 3], pad: Padding.Same, act: Act.Relu }, { bn: true }, { maxpool: [2, 2] },
             { conv: 2, k: [2, 2], act: Act.Tanh }, { flatten: true }, { dense: 3, act: Act.Softmax }],
    rest: { loss: LossKind.CategoricalCrossentropy, labelSmoothing: 0.1, opt: { kind: OptimizerKind.Sgd }, seed: 1 },
  },
  {
    name: 'network conv(s2,same)-avgpool(same)-activation(elu)-gap-dense, sparse CE from logits, sample weights',
    input: [7, 7, 2], n: 3, classes: 4, sparse: true, sw: true,
    layers: [{ conv: 3, k: [3, 3], s: [2, 2], pad: Padding.Same }, { avgpool: [3, 3], s: [2, 2], pad: Padding.Same },
             { act: Act.Elu, alpha: 1 }, { gap: true }, { dense: 4 }],
    rest: { loss: LossKind.SparseCategoricalCrossentropy, fromLogits: true, opt: { kind: OptimizerKind.Sgd }, seed: 1 },
  },
  {
    name: 'network conv(dilated)-gmp-dense(gelu)-bn-dense(sigmoid), BCE',
    input: [6, 6, 2], n: 4, classes: 2, multiLabel: true,
    layers: [{ conv: 3, k: [2, 2], d: [2, 2], bias: false }, { gmp: true }, { dense: 5, act: Act.Gelu }, { bn: true },
             { dense: 2, act: Act.Sigmoid }],
    rest: { loss: LossKind.BinaryCrossentropy, opt: { kind: OptimizerKind.Sgd }, seed: 1 },
  },
  {
    name: 'network dense(swish)-dense, MSE',
    input: [1, 1, 5], n: 4, classes: 2, regression: true,
    layers: [{ dense: 6, act: Act.Swish }, { dense: 2 }],
    rest: { loss: LossKind.MeanSquaredError, opt: { kind: OptimizerKind.Sgd }, seed: 1 },
  },
];

for (const { name, K, skip } of backends) {
  t.test(`network gradcheck on ${name} backend`, { skip }, async (t) => {
    for (const cfg of NETWORKS) {
      t.test(cfg.name, async (t) => {
        const rng = makeRng(cfg.name);
        const { spec, paramCount } = buildSpec(cfg.input, cfg.layers, cfg.rest);
        const params = initParams(spec, paramCount, rng);
        const net = K.createNetwork(spec, params, new Float32Array(0));
        const { x, y, sw } = netData(cfg, rng);
        const grads = new Float32Array(paramCount);
        // Only trainable variables get a gradient: check each one as its own tensor.
        const inputs = {};
        for (const [i, v] of spec.vars.entries()) if (v.trainable) inputs[`var${i}`] = params.subarray(v.offset, v.offset + v.size);
        gradcheck(t, {
          name: cfg.name,
          inputs,
          forward: () => net.forwardBackward(x, y, sw, cfg.n),
          backward: () => {
            net.forwardBackward(x, y, sw, cfg.n);
            net.getGrads(grads);
            const g = {};
            for (const [i, v] of spec.vars.entries()) if (v.trainable) g[`var${i}`] = grads.subarray(v.offset, v.offset + v.size);
            return g;
          },
          floor: 1e-2,
          samples: 12,
        });
        net.dispose();
      });
    }
  });
}
