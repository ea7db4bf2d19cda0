'use strict';
// The native addon and the pure TypeScript backend must compute the same thing: every kernel on
// the same inputs (one line per case), the integer masks exactly (pooling ties, overlapping and
// padded windows), the dropout stream bit for bit, and whole networks trained for 5 steps.

const t = require('tap');
const { loadBackends, makeRng, compare, assertClose, fmt, nanArray, requireDist } = require('./helpers/common');
const ops = require('./helpers/ops');
const { buildSpec, initParams, netData } = require('./helpers/network');

const { Act, conv, dense, pool, globalPool, activation, loss, dropout, batchnorm, runOp } = ops;
const { OptimizerKind, LossKind, Padding } = requireDist('backend/types');
const { Random } = requireDist('random');

const RTOL = 1e-4;
const { backends } = loadBackends();
const js = backends[0].K;
const native = backends[1].K;
const skip = backends[1].skip;

// ---- kernels ------------------------------------------------------------------------------------

const OP_CASES = [
  conv({ N: 2, H: 5, W: 5, C: 3, KH: 3, KW: 3, OC: 4, pad: 'valid' }),
  conv({ N: 2, H: 7, W: 7, C: 2, KH: 3, KW: 3, OC: 3, S: [2, 2], pad: 'same', bias: false }),
  conv({ N: 3, H: 6, W: 5, C: 2, KH: 3, KW: 1, OC: 2, pad: 'same', act: Act.Relu }),
  conv({ N: 2, H: 8, W: 7, C: 2, KH: 2, KW: 3, OC: 2, S: [3, 3], pad: 'same', act: Act.LeakyRelu, alpha: 0.2 }),
  conv({ N: 2, H: 9, W: 8, C: 2, KH: 3, KW: 3, OC: 2, D: [2, 2], pad: 'same', act: Act.Selu }),
  conv({ N: 2, H: 9, W: 7, C: 2, KH: 3, KW: 2, OC: 2, S: [2, 1], D: [2, 1], pad: 'valid' }),
  conv({ N: 2, H: 4, W: 5, C: 3, KH: 1, KW: 1, OC: 4, pad: 'valid', act: Act.Sigmoid }),
  conv({ N: 2, H: 7, W: 6, C: 2, KH: 1, KW: 1, OC: 3, S: [2, 2], pad: 'same' }),
  conv({ N: 2, H: 3, W: 3, C: 2, KH: 5, KW: 5, OC: 2, pad: 'same', act: Act.Softmax }),
  conv({ N: 2, H: 16, W: 16, C: 8, KH: 3, KW: 3, OC: 16, pad: 'same', act: Act.Relu6 }), // GEMM-sized
  conv({ N: 4, H: 12, W: 12, C: 16, KH: 1, KW: 1, OC: 24, pad: 'valid', act: Act.Gelu }), // pointwise GEMM
  conv({ N: 2, H: 11, W: 13, C: 5, KH: 5, KW: 5, OC: 7, S: [2, 2], pad: 'same', act: Act.Swish }),
  conv({ N: 2, H: 9, W: 8, C: 2, KH: 3, KW: 3, OC: 2, D: [2, 2], pad: 'same', naive: true, act: Act.Elu, alpha: 0.7 }),
  conv({ N: 2, H: 16, W: 16, C: 8, KH: 3, KW: 3, OC: 16, pad: 'same', naive: true }),
  dense({ N: 3, IN: 5, UNITS: 4, act: Act.Tanh }),
  dense({ N: 2, IN: 7, UNITS: 3, bias: false, act: Act.Softplus }),
  dense({ N: 64, IN: 300, UNITS: 70, act: Act.Relu }), // GEMM-sized, odd edges
  dense({ N: 5, IN: 33, UNITS: 10, act: Act.Softmax }),
  pool('max', { N: 2, H: 6, W: 6, C: 2, PH: 2, PW: 2, pad: 'valid', ties: true }),
  pool('max', { N: 2, H: 7, W: 7, C: 3, PH: 2, PW: 2, pad: 'same', ties: true }),
  pool('max', { N: 2, H: 7, W: 6, C: 2, PH: 3, PW: 3, S: [2, 2], pad: 'same', ties: true }), // overlapping
  pool('max', { N: 2, H: 5, W: 8, C: 2, PH: 3, PW: 2, S: [1, 3], pad: 'same', ties: true }),
  pool('max', { N: 2, H: 7, W: 6, C: 2, PH: 3, PW: 3, S: [1, 1], pad: 'same' }),
  pool('max', { N: 1, H: 2, W: 2, C: 1, PH: 3, PW: 3, S: [2, 2], pad: 'same', ties: true }), // window > image
  pool('avg', { N: 2, H: 6, W: 6, C: 2, PH: 2, PW: 2, pad: 'valid' }),
  pool('avg', { N: 2, H: 7, W: 7, C: 3, PH: 2, PW: 2, pad: 'same' }),
  pool('avg', { N: 2, H: 7, W: 6, C: 2, PH: 3, PW: 3, S: [2, 2], pad: 'same' }),
  pool('avg', { N: 2, H: 5, W: 8, C: 2, PH: 3, PW: 2, S: [1, 3], pad: 'same' }),
  pool('avg', { N: 1, H: 2, W: 2, C: 1, PH: 3, PW: 3, S: [2, 2], pad: 'same' }),
  globalPool('avg', { N: 2, HW: 9, C: 3 }),
  globalPool('max', { N: 2, HW: 9, C: 3, ties: true }),
  globalPool('max', { N: 3, HW: 25, C: 4 }),
  ...[Act.Linear, Act.Relu, Act.Selu, Act.Sigmoid, Act.Tanh, Act.Softplus, Act.Gelu, Act.Swish, Act.Softmax]
    .map((a) => activation(a, 0, { scale: 4 })),
  activation(Act.LeakyRelu, 0.2, { scale: 4 }),
  activation(Act.Elu, 1, { scale: 4 }),
  activation(Act.Elu, 0.5, { scale: 4 }),
  activation(Act.Relu6, 0, { scale: 6 }),
  activation(Act.Softplus, 0, { scale: 40 }), // far tails
  activation(Act.Sigmoid, 0, { scale: 40 }),
  [activation(Act.Softmax, 0, { scale: 60, rows: 3, cols: 9 }), { atol: 1e-7 }], // saturated: dx is all cancellation
  activation(Act.Swish, 0, { inplace: true }),
  activation(Act.Gelu, 0, { inplace: true, scale: 8 }),
  loss('softmaxCE', { N: 4, D: 5 }),
  loss('softmaxCE', { N: 3, D: 6, smoothing: 0.1, soft: true, sw: true }),
  loss('softmaxCE', { N: 4, D: 5, sparse: true, smoothing: 0.2, sw: true }),
  loss('softmaxCE', { N: 4, D: 5, extreme: true }),
  loss('softmaxCE', { N: 4, D: 5, sparse: true, extreme: true }),
  loss('cce', { N: 4, D: 5 }),
  loss('cce', { N: 3, D: 4, smoothing: 0.1, sw: true, soft: true }),
  loss('cce', { N: 4, D: 3, sparse: true, smoothing: 0.1, sw: true }),
  loss('cce', { N: 4, D: 5, extreme: true }),
  loss('cce', { N: 4, D: 5, sparse: true, extreme: true }),
  loss('bce', { N: 4, D: 3 }),
  loss('bce', { N: 3, D: 4, smoothing: 0.1, sw: true, soft: true }),
  loss('bce', { N: 4, D: 4, extreme: true }),
  loss('bce', { N: 4, D: 3, fromLogits: true, smoothing: 0.2, sw: true }),
  loss('bce', { N: 4, D: 4, fromLogits: true, extreme: true }),
  loss('mse', { N: 3, D: 5, sw: true }),
  loss('mae', { N: 3, D: 5, sw: true }),
  dropout({ n: 40, rate: 0.3, seed: 7 }),
  dropout({ n: 1000, rate: 0.5, seed: 0 }),
  dropout({ n: 33, rate: 0, seed: 42 }),
  batchnorm({ rows: 12, C: 3 }),
  batchnorm({ rows: 200, C: 7, momentum: 0.9, eps: 1e-5 }),
  // Big enough for the native thread pool to split the work, and odd sizes at the edges.
  conv({ N: 3, H: 10, W: 10, C: 16, KH: 5, KW: 5, OC: 33, pad: 'same' }), // K = 400 > one KC block
  conv({ N: 1, H: 1, W: 1, C: 1, KH: 1, KW: 1, OC: 1, pad: 'valid' }),
  dense({ N: 1, IN: 1, UNITS: 1 }),
  dense({ N: 1, IN: 513, UNITS: 17, act: Act.Sigmoid }),
  activation(Act.Gelu, 0, { rows: 512, cols: 128 }),
  activation(Act.Softmax, 0, { rows: 1024, cols: 64 }),
  activation(Act.Softmax, 0, { rows: 5, cols: 1 }),
  pool('max', { N: 4, H: 32, W: 32, C: 16, PH: 3, PW: 3, S: [2, 2], pad: 'same', ties: true }),
  pool('avg', { N: 4, H: 32, W: 32, C: 16, PH: 3, PW: 3, S: [2, 2], pad: 'same' }),
  globalPool('avg', { N: 8, HW: 1024, C: 16 }),
  globalPool('max', { N: 8, HW: 1024, C: 16, ties: true }),
  globalPool('max', { N: 2, HW: 1, C: 3 }),
  loss('softmaxCE', { N: 2048, D: 10, sw: true }),
  loss('cce', { N: 1, D: 1 }),
  loss('bce', { N: 1, D: 1, fromLogits: true }),
  dropout({ n: 100000, rate: 0.2, seed: 11 }),
  dropout({ n: 1000, rate: 0.99, seed: 12 }),
  batchnorm({ rows: 8192, C: 8 }),
  batchnorm({ rows: 1, C: 4 }),
];

/** Extras compared bit for bit; everything else to RTOL. */
const EXACT = new Set(['argmax', 'seeded', 'rngAfter']);

// ---- whole networks ------------------------------------------------------------------------------

const NETWORKS = [
  {
    name: 'conv-bn-maxpool-conv-dropout-flatten-dense(softmax), CCE + smoothing, Adam',
    input: [8, 8, 2], n: 6, sizes: [6, 3, 6, 1, 4], classes: 5, sparse: false,
    layers: [{ conv: 4, k: [3, 3], pad: Padding.Same, act: Act.Relu }, { bn: true, momentum: 0.9 }, { maxpool: [2, 2] },
             { conv: 3, k: [3, 3], act: Act.Tanh }, { dropout: 0.25 }, { flatten: true }, { dense: 5, act: Act.Softmax }],
    rest: { loss: LossKind.CategoricalCrossentropy, labelSmoothing: 0.1, opt: { kind: OptimizerKind.Adam, beta1: 0.9, beta2: 0.999, eps: 1e-7 }, seed: 1234 },
    lr: 0.01,
  },
  {
    name: 'strided conv-avgpool(same)-bn-gap-dense(linear), sparse CE from logits, centered RMSprop, sample weights',
    input: [9, 9, 3], n: 5, classes: 4, sparse: true, sw: true,
    layers: [{ conv: 6, k: [3, 3], s: [2, 2], pad: Padding.Same, act: Act.Elu, alpha: 1 },
             { avgpool: [3, 3], s: [2, 2], pad: Padding.Same }, { bn: true }, { gap: true }, { dense: 4 }],
    rest: { loss: LossKind.SparseCategoricalCrossentropy, fromLogits: true,
            opt: { kind: OptimizerKind.RMSprop, rho: 0.9, momentum: 0.5, eps: 1e-7, centered: true }, seed: 99 },
    lr: 0.005,
  },
  {
    name: 'dilated conv (frozen)-activation-gmp-dropout-dense(sigmoid), BCE, Nesterov momentum + clipnorm',
    input: [7, 7, 2], n: 4, classes: 3, multiLabel: true, frozen: [0],
    layers: [{ conv: 5, k: [3, 3], d: [2, 2], pad: Padding.Same, bias: false }, { act: Act.LeakyRelu, alpha: 0.2 },
             { gmp: true }, { dropout: 0.4 }, { dense: 3, act: Act.Sigmoid }],
    rest: { loss: LossKind.BinaryCrossentropy, opt: { kind: OptimizerKind.Momentum, momentum: 0.9, nesterov: true, clipNorm: 0.5 }, seed: 5 },
    lr: 0.05,
  },
  {
    name: 'dense on (1,1,F) with bn and dropout, MSE, AdamW + clipvalue',
    input: [1, 1, 10], n: 8, sizes: [8, 8, 2, 9, 5], classes: 3, regression: true,
    layers: [{ dense: 16, act: Act.Gelu }, { bn: true, momentum: 0.8 }, { dropout: 0.2 }, { dense: 8, act: Act.Swish }, { dense: 3 }],
    rest: { loss: LossKind.MeanSquaredError, opt: { kind: OptimizerKind.AdamW, beta1: 0.9, beta2: 0.99, eps: 1e-7, weightDecay: 0.01, clipValue: 0.1 }, seed: 77 },
    lr: 0.01,
  },
  {
    name: 'conv(1x1)-maxpool(same)-flatten-dense(softmax), sparse CCE, Adagrad',
    input: [5, 5, 3], n: 4, classes: 3, sparse: true,
    layers: [{ conv: 4, k: [1, 1], act: Act.Relu }, { maxpool: [2, 2], pad: Padding.Same }, { flatten: true }, { dense: 3, act: Act.Softmax }],
    rest: { loss: LossKind.SparseCategoricalCrossentropy, opt: { kind: OptimizerKind.Adagrad, eps: 1e-7 }, seed: 3 },
    lr: 0.1,
  },
];

/** Trains one network for 5 steps on a backend (async: trainStepAsync / predictAsync); returns everything observable. */
async function trainNetwork(K, cfg, async = false) {
  const rng = makeRng(cfg.name);
  const { spec, paramCount } = buildSpec(cfg.input, cfg.layers, cfg.rest);
  for (const i of cfg.frozen ?? []) spec.vars[i].trainable = false; // a frozen layer: no gradient, no update
  const params = initParams(spec, paramCount, rng);
  const params0 = params.slice();
  const slotCount = spec.vars.filter((v) => v.trainable).reduce((s, v) => s + v.size, 0) * K.optimizerSlotCount(spec.opt.kind);
  const slots = new Float32Array(slotCount);
  if (spec.opt.kind === OptimizerKind.Adagrad) slots.fill(0.1); // TF.js initialAccumulatorValue
  const net = K.createNetwork(spec, params, slots);
  // Batch sizes may change between steps (cfg.sizes): buffers sized for one n must serve another.
  const batches = (cfg.sizes ?? [cfg.n, cfg.n, cfg.n, cfg.n, cfg.n]).map((n) => netData(cfg, rng, n));
  const losses = [];
  for (let step = 1; step <= 5; step++) {
    const { x, y, sw, n } = batches[step - 1];
    losses.push(async ? await net.trainStepAsync(x, y, sw, n, cfg.lr, step) : net.trainStep(x, y, sw, n, cfg.lr, step));
  }
  const output = nanArray(batches[4].n * net.outSize);
  net.getOutput(output);
  const grads = new Float32Array(paramCount);
  net.getGrads(grads);
  const { x, y, sw, n } = batches[0];
  const fbLoss = net.forwardBackward(x, y, sw, n);
  const fbGrads = new Float32Array(paramCount);
  net.getGrads(fbGrads);
  const predicted = nanArray(n * net.outSize);
  if (async) await net.predictAsync(predicted, x, n);
  else net.predict(predicted, x, n);
  const evaluated = nanArray(n * net.outSize);
  const evalLoss = net.evaluate(evaluated, x, y, sw, n);
  const sizes = Int32Array.of(net.inSize, net.outSize, net.paramCount, net.slotCount);
  net.dispose();
  // Only the trainable ranges of a gradient buffer are meaningful.
  const mask = (g) => {
    const m = new Float32Array(g.length);
    for (const v of spec.vars) if (v.trainable) m.set(g.subarray(v.offset, v.offset + v.size), v.offset);
    return m;
  };
  const frozenMoved = (cfg.frozen ?? []).some((i) => {
    const v = spec.vars[i];
    return params.subarray(v.offset, v.offset + v.size).some((x, j) => x !== params0[v.offset + j]);
  });
  return { losses: Float32Array.from(losses), params, slots, frozenMoved: frozenMoved ? 1 : 0, output, grads: mask(grads), fbLoss, fbGrads: mask(fbGrads),
           predicted, evaluated, evalLoss, sizes, expectedSizes: Int32Array.of(net.inSize, net.outSize, paramCount, slotCount) };
}

// ---- comparison --------------------------------------------------------------------------------

/** Walks two result trees (typed arrays, numbers, dims objects) and compares leaf by leaf. */
function compareTrees(t, actual, expected, path, opts = {}) {
  if (expected === null || expected === undefined) {
    t.equal(actual, expected, `${path || 'value'} is ${expected}`);
    return;
  }
  if (typeof expected === 'number' || ArrayBuffer.isView(expected)) {
    const key = path.split('.').pop();
    const exact = EXACT.has(key) || expected instanceof Int32Array || expected instanceof Uint32Array;
    assertClose(t, actual, expected, `${path}${exact ? ' (exact)' : ''}`, { rtol: RTOL, ...opts, exact });
    return;
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null) {
      t.fail(`${path}: expected an object, got ${actual}`);
      return;
    }
    for (const k of Object.keys(expected)) compareTrees(t, actual[k], expected[k], path ? `${path}.${k}` : k, opts);
  }
}

// ---- tests ---------------------------------------------------------------------------------------

t.test('native vs js: kernels', { skip }, async (t) => {
  for (const entry of OP_CASES) {
    const [op, opts] = Array.isArray(entry) ? entry : [entry, {}];
    await t.test(op.name, async (t) => {
      const rng = makeRng(op.name);
      const T = op.make(rng);
      const copy = () => Object.fromEntries(Object.entries(T).map(([k, v]) => [k, v.slice()]));
      // dy drawn once, from the js forward's output size.
      const probe = op.setup(js, copy());
      const y = op.forward(js, copy(), probe);
      const dy = typeof y === 'number' ? null : rng.randn(y.length);
      const a = runOp(op, js, copy(), dy);
      const b = runOp(op, native, copy(), dy);
      compareTrees(t, b, a, '', opts);
    });
  }
});

t.test('native vs js: sgemm, every transpose and edge', { skip }, async (t) => {
  // Edges of the 6x16 micro-tile and of the MC / KC / NC blocks (168 / 256 / 4080 on Haswell-like sizes).
  const shapes = [[1, 1, 1], [7, 5, 3], [6, 16, 8], [13, 17, 19], [37, 53, 29], [100, 70, 300], [200, 33, 5],
                  [173, 20, 530], [7, 4100, 3]];
  for (const [M, N, Kd] of shapes) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      for (const [alpha, beta] of [[1, 0], [0.5, 1], [-1.5, 0.25]]) {
        const rng = makeRng(`${M} ${N} ${Kd} ${tA} ${tB} ${alpha} ${beta}`);
        // Leading dimensions larger than the rows: the kernels must honour lda / ldb / ldc.
        const lda = (tA ? M : Kd) + 3;
        const ldb = (tB ? Kd : N) + 1;
        const ldc = N + 2;
        const A = rng.randn((tA ? Kd : M) * lda);
        const B = rng.randn((tB ? N : Kd) * ldb);
        const C0 = rng.randn(M * ldc);
        const run = (K, fn) => {
          const C = C0.slice();
          K[fn](tA, tB, M, N, Kd, alpha, A, lda, B, ldb, beta, C, ldc);
          return C;
        };
        const ref = run(js, 'sgemmNaive');
        const label = `${M}x${N}x${Kd} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} alpha ${alpha} beta ${beta}`;
        const r1 = compare(run(native, 'sgemm'), ref, { rtol: RTOL });
        const r2 = compare(run(js, 'sgemm'), ref, { rtol: RTOL });
        const r3 = compare(run(native, 'sgemmNaive'), ref, { rtol: RTOL });
        t.ok(r1.ok && r2.ok && r3.ok, `${label}: native sgemm ${fmt(r1.maxerr)}, js sgemm ${fmt(r2.maxerr)}, native naive ${fmt(r3.maxerr)}`);
      }
    }
  }
});

t.test('sgemm: beta = 0 never reads C (NaN stays out), K = 0 scales C, empty shapes are no-ops', async (t) => {
  const { GemmKernel } = requireDist('backend/types');
  const rng = makeRng('sgemm contract');
  const [M, N, Kd] = [13, 37, 21];
  const A = rng.randn(M * Kd);
  const B = rng.randn(Kd * N);
  const ref = new Float32Array(M * N);
  js.sgemmNaive(false, false, M, N, Kd, 1, A, Kd, B, N, 0, ref, N);
  const runs = [['js sgemm', js, 'sgemm'], ['js sgemmNaive', js, 'sgemmNaive']];
  if (!skip) {
    runs.push(['native sgemmNaive', native, 'sgemmNaive']);
    for (const k of [GemmKernel.Avx2Fma, GemmKernel.Portable, GemmKernel.Naive]) runs.push([`native sgemm ${GemmKernel[k]}`, native, 'sgemm', k]);
  }
  const kernel0 = skip ? 0 : native.gemmKernel();
  try {
    for (const [label, K, fn, k] of runs) {
      if (k !== undefined && !K.setGemmKernel(k)) continue;
      const C = new Float32Array(M * N).fill(NaN);
      K[fn](false, false, M, N, Kd, 1, A, Kd, B, N, 0, C, N);
      assertClose(t, C, ref, `${label}: beta 0 over a NaN-filled C`, { rtol: RTOL });
      const C2 = Float32Array.from(ref);
      K[fn](false, false, M, N, 0, 1, A, Kd, B, N, 0.5, C2, N);
      assertClose(t, C2, ref.map((v) => v * 0.5), `${label}: K = 0 gives beta * C`, { rtol: 1e-7 });
      const C3 = Float32Array.from(ref);
      K[fn](false, false, 0, N, Kd, 1, A, Kd, B, N, 0, C3, N);
      K[fn](false, false, M, 0, Kd, 1, A, Kd, B, N, 0, C3, N);
      t.same(C3, ref, `${label}: M = 0 and N = 0 leave C alone`);
    }
  } finally {
    if (!skip) native.setGemmKernel(kernel0);
  }
});

t.test('native vs js: optimizers and clipping, 3 steps', { skip }, async (t) => {
  // n = 70001 reaches the native thread pool (chunks of at least 2^15 elements).
  const BIG = new Set(['adam', 'rmsprop centered momentum', 'adagrad', 'nesterov', 'clipByNorm (clips)']);
  for (const n of [50, 70001]) {
    const cases = [
      ['sgd', (K, w, S, g) => K.sgdUpdate(w, g, n, 0.1)],
      ['momentum', (K, w, S, g) => K.momentumUpdate(w, S.a, g, n, 0.05, 0.9, false)],
      ['nesterov', (K, w, S, g) => K.momentumUpdate(w, S.a, g, n, 0.05, 0.9, true)],
      ['adam', (K, w, S, g, step) => K.adamUpdate(w, S.a, S.b, g, n, 0.01, 0.9, 0.999, 1e-7, step)],
      ['adamw', (K, w, S, g, step) => K.adamwUpdate(w, S.a, S.b, g, n, 0.01, 0.9, 0.999, 1e-7, 0.05, step)],
      ['rmsprop', (K, w, S, g) => K.rmspropUpdate(w, S.a, S.b, null, g, n, 0.01, 0.9, 0, 1e-7, false)],
      ['rmsprop centered momentum', (K, w, S, g) => K.rmspropUpdate(w, S.a, S.b, S.c, g, n, 0.01, 0.9, 0.9, 1e-7, true)],
      ['adagrad', (K, w, S, g) => K.adagradUpdate(w, S.a, g, n, 0.05, 1e-7)],
      ['clipByValue', (K, w, S, g) => { K.clipByValue(g, n, 0.3); w.set(g); }],
      ['clipByNorm (clips)', (K, w, S, g) => { K.clipByNorm(g, n, 1); w.set(g); }],
      ['clipByNorm (no-op)', (K, w, S, g) => { K.clipByNorm(g, n, 1e3); w.set(g); }],
      ['clipByNorm (zero gradient)', (K, w, S, g) => { g.fill(0); K.clipByNorm(g, n, 1); w.set(g); }],
    ];
    for (const [name, step] of cases) {
      if (n > 50 && !BIG.has(name)) continue;
      const run = (K) => {
        const rng = makeRng(name);
        const w = rng.randn(n);
        const S = { a: name === 'adagrad' ? new Float32Array(n).fill(0.1) : new Float32Array(n), b: new Float32Array(n), c: new Float32Array(n) };
        for (let s = 1; s <= 3; s++) step(K, w, S, rng.randn(n), s);
        return { w, ...S };
      };
      compareTrees(t, run(native), run(js), `${name} n=${n}`);
    }
  }
});

t.test('native vs js: dims, col sizes, softmax rows, rng', { skip }, async (t) => {
  const rng = makeRng('dims');
  for (let i = 0; i < 60; i++) {
    const H = rng.int(1, 12);
    const W = rng.int(1, 12);
    const KH = rng.int(1, 5);
    const KW = rng.int(1, 5);
    const SH = rng.int(1, 3);
    const SW = rng.int(1, 3);
    const DH = rng.int(1, 2);
    const DW = rng.int(1, 2);
    const pad = i % 2 ? Padding.Same : Padding.Valid;
    if (pad === Padding.Valid && ((KH - 1) * DH + 1 > H || (KW - 1) * DW + 1 > W)) continue;
    const a = js.conv2dDims(2, H, W, 3, KH, KW, 4, SH, SW, DH, DW, pad);
    const b = native.conv2dDims(2, H, W, 3, KH, KW, 4, SH, SW, DH, DW, pad);
    t.same(b, a, `conv2dDims ${H}x${W} k${KH}x${KW} s${SH},${SW} d${DH},${DW} ${Padding[pad]}`);
    t.equal(native.conv2dColSize(b), js.conv2dColSize(a), '  conv2dColSize');
    if (pad === Padding.Valid && (KH > H || KW > W)) continue;
    t.same(native.pool2dDims(2, H, W, 3, KH, KW, SH, SW, pad), js.pool2dDims(2, H, W, 3, KH, KW, SH, SW, pad),
      `pool2dDims ${H}x${W} p${KH}x${KW} s${SH},${SW} ${Padding[pad]}`);
  }
  const logits = Float32Array.of(1000, 999, -1000, 0, 0, 0, 88, 89, -3, 1e-3, 2e-3, 3e-3);
  const pa = nanArray(12);
  const pb = nanArray(12);
  js.softmaxRows(pa, logits, 4, 3);
  native.softmaxRows(pb, logits, 4, 3);
  assertClose(t, pb, pa, 'softmaxRows with huge logits', { rtol: RTOL });
  t.ok(pa.every(Number.isFinite), 'softmaxRows finite on huge logits');
  for (const seed of [0, 1, 0xffffffff, 123456789]) {
    const sa = new Uint32Array(4);
    const sb = new Uint32Array(4);
    js.rngSeed(sa, seed);
    native.rngSeed(sb, seed);
    t.same(Array.from(sb), Array.from(sa), `rngSeed(${seed}) state`);
  }
});

// Independent references for what both backends must agree on: the dropout stream and max-pool ties.
for (const { name, K, skip: why } of backends) {
  t.test(`${name}: dropout mask is the documented xoshiro128** stream`, { skip: why }, async (t) => {
    for (const [seed, rate, n] of [[7, 0.3, 64], [0, 0.5, 100], [4294967295, 0.9, 50]]) {
      const ref = new Random(seed); // lib/random.ts: the same generator, seeded the same way
      const expected = Float32Array.from({ length: n }, () => ((ref.nextU32() >>> 8) / 16777216 >= Math.fround(rate) ? 1 / (1 - rate) : 0));
      const state = new Uint32Array(4);
      K.rngSeed(state, seed);
      const mask = nanArray(n);
      const out = nanArray(n);
      K.dropoutForward(out, mask, new Float32Array(n).fill(2), n, rate, state);
      assertClose(t, mask, expected, `seed ${seed} rate ${rate}: mask`, { rtol: 1e-6 });
      assertClose(t, out, expected.map((v) => 2 * v), `seed ${seed} rate ${rate}: out = inp * mask`, { rtol: 1e-6 });
    }
  });

  t.test(`${name}: max-pool ties go to the first element in row-major window order`, { skip: why }, async (t) => {
    for (const [H, W, C, P, S, pad] of [[6, 6, 2, 2, 2, Padding.Valid], [7, 7, 3, 3, 2, Padding.Same], [5, 8, 2, 2, 1, Padding.Same], [2, 2, 1, 3, 2, Padding.Same]]) {
      const rng = makeRng(`ties ${H} ${W}`);
      const inp = rng.randInts(2 * H * W * C, 0, 1);
      const d = K.pool2dDims(2, H, W, C, P, P, S, S, pad);
      const out = nanArray(2 * d.OH * d.OW * C);
      const argmax = new Int32Array(out.length).fill(-7);
      K.maxPool2dForward(out, argmax, inp, d);
      t.same(Array.from(argmax), Array.from(refArgmax(inp, d)), `${H}x${W}x${C} p${P} s${S} ${Padding[pad]}`);
    }
  });
}

/** Reference argmax: first maximum in row-major window order, padded pixels skipped. */
function refArgmax(inp, d) {
  const out = new Int32Array(d.N * d.OH * d.OW * d.C);
  let o = 0;
  for (let n = 0; n < d.N; n++) {
    for (let oh = 0; oh < d.OH; oh++) {
      for (let ow = 0; ow < d.OW; ow++) {
        for (let c = 0; c < d.C; c++) {
          let best = -Infinity;
          let arg = -1;
          for (let ph = 0; ph < d.PH; ph++) {
            for (let pw = 0; pw < d.PW; pw++) {
              const h = oh * d.SH - d.PT + ph;
              const w = ow * d.SW - d.PL + pw;
              if (h < 0 || h >= d.H || w < 0 || w >= d.W) continue;
              const v = inp[((n * d.H + h) * d.W + w) * d.C + c];
              if (v > best) {
                best = v;
                arg = (h * d.W + w) * d.C + c;
              }
            }
          }
          out[o++] = arg;
        }
      }
    }
  }
  return out;
}

t.test('native vs js: whole networks, 5 training steps', { skip }, async (t) => {
  for (const cfg of NETWORKS) {
    await t.test(cfg.name, async (t) => {
      const a = await trainNetwork(js, cfg);
      const b = await trainNetwork(native, cfg);
      t.same(Array.from(a.sizes), Array.from(a.expectedSizes), 'js sizes (in, out, params, slots)');
      t.same(Array.from(b.sizes), Array.from(a.expectedSizes), 'native sizes (in, out, params, slots)');
      t.comment(`losses js     ${Array.from(a.losses, (v) => v.toFixed(6)).join(' ')}`);
      t.comment(`losses native ${Array.from(b.losses, (v) => v.toFixed(6)).join(' ')}`);
      t.ok(a.losses.every(Number.isFinite), 'losses are finite');
      t.equal(a.frozenMoved, 0, 'js: frozen variables unchanged');
      t.equal(b.frozenMoved, 0, 'native: frozen variables unchanged');
      const { sizes, expectedSizes, slots, ...rest } = a; // eslint-disable-line no-unused-vars
      compareTrees(t, b, rest, '');
      // Adam's v and RMSprop's ms are squared gradients: twice the gradients' relative drift.
      compareTrees(t, b.slots, slots, 'slots', { rtol: 2 * RTOL });
    });
  }
});

t.test('native: every GEMM kernel and thread count agrees with js', { skip }, async (t) => {
  const { GemmKernel } = requireDist('backend/types');
  const cases = [
    conv({ N: 2, H: 16, W: 16, C: 8, KH: 3, KW: 3, OC: 16, pad: 'same' }),
    conv({ N: 4, H: 12, W: 12, C: 16, KH: 1, KW: 1, OC: 24, pad: 'valid' }),
    dense({ N: 64, IN: 300, UNITS: 70 }),
  ];
  const threads0 = native.getNumThreads();
  const kernel0 = native.gemmKernel();
  try {
    for (const op of cases) {
      const rng = makeRng(op.name);
      const T = op.make(rng);
      const copy = () => Object.fromEntries(Object.entries(T).map(([k, v]) => [k, v.slice()]));
      const probe = op.setup(js, copy());
      const dy = rng.randn(op.forward(js, copy(), probe).length);
      const ref = runOp(op, js, copy(), dy);
      for (const k of [GemmKernel.Auto, GemmKernel.Avx2Fma, GemmKernel.Portable, GemmKernel.Naive]) {
        if (!native.setGemmKernel(k)) {
          t.comment(`${GemmKernel[k]} cannot run on this CPU, skipped`);
          continue;
        }
        for (const threads of [1, 2, 3]) {
          native.setNumThreads(threads);
          const got = runOp(op, native, copy(), dy);
          const r = [compare(got.out, ref.out, { rtol: RTOL }), ...Object.keys(ref.grads).map((g) => compare(got.grads[g], ref.grads[g], { rtol: RTOL }))];
          t.ok(r.every((x) => x.ok), `${op.name}, ${GemmKernel[k]} GEMM, ${threads} threads: max rel ${fmt(Math.max(...r.map((x) => x.maxerr)))}`);
        }
      }
    }
  } finally {
    native.setGemmKernel(kernel0);
    native.setNumThreads(threads0);
  }
});

for (const { name, K, skip: why } of backends) {
  t.test(`${name}: trainStepAsync / predictAsync give the same as the sync calls`, { skip: why }, async (t) => {
    const cfg = NETWORKS[0];
    const a = await trainNetwork(K, cfg, false);
    const b = await trainNetwork(K, cfg, true);
    compareTrees(t, b, a, '');
  });
}

t.test('native vs js: oversized or holed network specs are refused with the same error', { skip }, async (t) => {
  const { spec, paramCount } = buildSpec([6, 6, 2], [{ conv: 3, k: [3, 3], act: 1 }, { maxpool: [2, 2] }, { flatten: true }, { dense: 4, act: 10 }],
    { loss: 0, opt: { kind: 0 } });
  const cases = [
    ['input of more than INT_MAX values', (s) => { s.layers[0].in = [65536, 65536, 1]; }],
    ['output of more than INT_MAX values', (s) => { s.layers[3].out = [46341, 46341, 2]; }],
    ['conv kernel above 2^53 values', (s) => { Object.assign(s.layers[0], { kh: 2 ** 30, kw: 2 ** 30, padding: 1 }); }],
    ['conv im2col above INT_MAX per sample', (s) => { Object.assign(s.layers[0], { in: [1024, 1024, 2], out: [1024, 1024, 3], kh: 64, kw: 64, padding: 1 }); }],
    ['a hole in a shape', (s) => { s.layers[0].in = [6, , 2]; }, 'TypeError'], // eslint-disable-line no-sparse-arrays
    ['dense kernel above 2^53 values', (s) => { Object.assign(s.layers[3], { in: [1, 1, 2 ** 30], units: 2 ** 30, out: [1, 1, 2 ** 30] }); }],
  ];
  for (const [label, edit, type = 'RangeError'] of cases) {
    const s = JSON.parse(JSON.stringify(spec));
    edit(s);
    const err = (K) => {
      try { K.createNetwork(s, new Float32Array(paramCount), new Float32Array(0)); } catch (e) { return `${e.name}: ${e.message}`; }
      return 'accepted';
    };
    const a = err(js), b = err(native);
    t.equal(a, b, `${label}: ${b}`);
    t.match(b, new RegExp(`^${type}: createNetwork: `), `${label} is a ${type}`);
  }
});

t.test('native vs js: optimizer updates refuse arrays that share memory, with the same error', { skip }, async (t) => {
  const n = 16;
  const buf = new Float32Array(4 * n + 8);
  const at = (i) => buf.subarray(i, i + n);
  const cases = [
    ['sgd, g inside w', (K) => K.sgdUpdate(at(0), at(3), n, 0.1), /sgdUpdate: w and g share memory/],
    ['momentum, v is w', (K) => K.momentumUpdate(at(0), at(0), at(2 * n), n, 0.1, 0.9, false), /momentumUpdate: w and v share memory/],
    ['adam, m and v overlap', (K) => K.adamUpdate(at(0), at(n), at(2 * n - 1), at(3 * n), n, 0.01, 0.9, 0.999, 1e-7, 1), /adamUpdate: m and v share memory/],
    ['adamw, g overlaps w', (K) => K.adamwUpdate(at(8), at(n + 8), at(2 * n + 8), at(0), n, 0.01, 0.9, 0.999, 1e-7, 0.01, 1), /adamwUpdate: w and g share memory/],
    ['rmsprop centered, mg overlaps mom', (K) => K.rmspropUpdate(at(0), at(n), at(2 * n), at(2 * n + 4), at(3 * n + 8), n, 0.01, 0.9, 0, 1e-7, true), /rmspropUpdate: mom and mg share memory/],
    ['adagrad, acc is g', (K) => K.adagradUpdate(at(0), at(n), at(n), n, 0.01, 1e-7), /adagradUpdate: acc and g share memory/],
  ];
  for (const [label, call, re] of cases) {
    const msg = (K) => { try { call(K); return 'accepted'; } catch (e) { return e.message; } };
    const a = msg(js), b = msg(native);
    t.equal(a, b, `${label}: same message on both backends`);
    t.match(b, re, label);
  }
  // neighbours that only touch, and an unused mg, are fine
  const ok = (K) => {
    K.adamUpdate(at(0), at(n), at(2 * n), at(3 * n), n, 0.01, 0.9, 0.999, 1e-7, 1);
    K.rmspropUpdate(at(0), at(n), at(2 * n), at(0), at(3 * n), n, 0.01, 0.9, 0, 1e-7, false);
    return true;
  };
  t.ok(ok(js) && ok(native), 'adjacent arrays and the unused mg of plain RMSprop are accepted');
});

t.test('native vs js: resizable params or slots are refused with the same error', { skip }, async (t) => {
  const { spec, paramCount } = buildSpec([6, 6, 2], [{ conv: 3, k: [3, 3], act: 1 }, { maxpool: [2, 2] }, { flatten: true }, { dense: 4, act: 10 }],
    { loss: 0, opt: { kind: 0 } });
  const resizable = (n) => new Float32Array(new ArrayBuffer(n * 4, { maxByteLength: n * 8 }));
  for (const [label, args] of [['params', () => [resizable(paramCount), new Float32Array(0)]], ['slots', () => [new Float32Array(paramCount), resizable(4)]]]) {
    const msg = (K) => { try { K.createNetwork(spec, ...args()).dispose(); return 'accepted'; } catch (e) { return `${e.name}: ${e.message}`; } };
    const a = msg(js), b = msg(native);
    t.equal(a, b, `${label}: ${b}`);
    t.match(b, new RegExp(`^TypeError: createNetwork: ${label} must not be backed by a resizable ArrayBuffer`));
  }
});
