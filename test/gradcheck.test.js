'use strict';
// Numeric gradient checks of every kernel's backward against its own forward, on both backends.
// One line per case: the op definitions live in test/helpers/ops.js, the checker in
// test/helpers/gradcheck.js (central differences, caffe-style relative error, kink guard).

const t = require('tap');
const { loadBackends, makeRng } = require('./helpers/common');
const { gradcheck } = require('./helpers/gradcheck');
const { Act, conv, dense, pool, globalPool, activation, loss, dropout, batchnorm } = require('./helpers/ops');

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
