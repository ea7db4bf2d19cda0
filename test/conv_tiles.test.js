'use strict';
// The native engine runs Conv2D layers in tiles of a few samples, in slices of tiles over the
// threads, with a following MaxPool2D fused in (native/engine/conv_tiles.h). Networks big enough
// for several tiles and slices must train exactly like the TypeScript engine (to rounding), and
// give bit-identical results whatever the thread count.

const t = require('tap');
const { loadBackends, makeRng, assertClose } = require('./helpers/common');
const { buildSpec, initParams, netData } = require('./helpers/network');
const { requireDist } = require('./helpers/common');

const { Act, OptimizerKind, LossKind, Padding } = requireDist('backend/types');

const { backends } = loadBackends();
const js = backends[0].K;
const native = backends[1].K;
const skip = backends[1].skip;
const RTOL = 2e-4;

// Adam turns rounding-level gradient differences into lr-sized steps for parameters whose
// gradient is ~0, so the longer comparisons use SGD; the seed-like net trains with Adam.
const adam = { loss: LossKind.CategoricalCrossentropy, opt: { kind: OptimizerKind.Adam, beta1: 0.9, beta2: 0.999, eps: 1e-7 }, seed: 7 };
const sgd = { loss: LossKind.CategoricalCrossentropy, opt: { kind: OptimizerKind.Sgd }, seed: 7 };

const NETWORKS = [
  {
    name: 'seed-like: conv 3x3 relu + maxpool (fused, direct kernel), many tiles and slices',
    input: [28, 28, 1], sizes: [37, 37, 5], classes: 10,
    layers: [{ conv: 32, k: [3, 3], act: Act.Relu }, { maxpool: [2, 2] }, { flatten: true }, { dense: 10, act: Act.Softmax }],
    rest: adam,
  },
  {
    name: 'direct kernels: strided dilated same-padded conv (40 channels), sigmoid, conv on top',
    input: [15, 13, 2], sizes: [11, 11, 11], classes: 3,
    layers: [{ conv: 40, k: [3, 3], s: [2, 2], d: [2, 2], pad: Padding.Same, act: Act.Sigmoid }, { maxpool: [2, 2] },
             { conv: 8, k: [2, 2], act: Act.Tanh }, { flatten: true }, { dense: 3, act: Act.Softmax }],
    rest: sgd,
  },
  {
    name: 'fused direct conv + pool with an uncovered last row / column (13x13 -> 6x6), linear conv',
    input: [15, 15, 1], sizes: [19, 19, 19], classes: 3,
    layers: [{ conv: 16, k: [3, 3], act: Act.Relu }, { maxpool: [2, 2] }, { conv: 8, k: [3, 3], pad: Padding.Same }, { maxpool: [2, 2] },
             { flatten: true }, { dense: 3, act: Act.Softmax }],
    rest: sgd,
  },
  {
    name: 'fused direct conv + "same" pool with clipped windows (13x13 -> 7x7), linear 1x1 conv + 3x3 pool stride 3',
    input: [13, 13, 2], sizes: [17, 17, 17], classes: 3,
    layers: [{ conv: 16, k: [3, 3], pad: Padding.Same, act: Act.Relu }, { maxpool: [2, 2], pad: Padding.Same },
             { conv: 8, k: [1, 1] }, { maxpool: [3, 3], pad: Padding.Same }, { flatten: true }, { dense: 3, act: Act.Softmax }],
    rest: sgd,
  },
  {
    name: 'two conv blocks (same padding, 24 channels), second conv elu unpooled, dense relu',
    input: [16, 16, 3], sizes: [21, 9, 21], classes: 4,
    layers: [{ conv: 24, k: [5, 5], pad: Padding.Same, act: Act.Relu }, { maxpool: [2, 2] },
             { conv: 12, k: [3, 3], pad: Padding.Same, act: Act.Elu, alpha: 1 }, { flatten: true },
             { dense: 16, act: Act.Relu }, { dense: 4, act: Act.Softmax }],
    rest: sgd,
  },
  {
    name: 'conv gelu (keeps its input, not fused) + maxpool, strided conv + overlapping pool (fused)',
    input: [20, 20, 2], sizes: [13, 13, 13], classes: 3,
    layers: [{ conv: 6, k: [3, 3], act: Act.Gelu }, { maxpool: [2, 2] },
             { conv: 8, k: [3, 3], s: [2, 2], pad: Padding.Same, act: Act.LeakyRelu, alpha: 0.1 },
             { maxpool: [3, 3], s: [2, 2], pad: Padding.Same }, { flatten: true }, { dense: 3, act: Act.Softmax }],
    rest: sgd,
  },
  {
    name: 'pointwise conv + maxpool (fused), linear conv, frozen first conv',
    input: [12, 12, 4], sizes: [40, 40, 40], classes: 5, frozen: [0, 1],
    layers: [{ conv: 6, k: [3, 3], pad: Padding.Same, act: Act.Relu }, { conv: 16, k: [1, 1], act: Act.Relu6 }, { maxpool: [2, 2] },
             { conv: 4, k: [3, 3] }, { flatten: true }, { dense: 5, act: Act.Softmax }],
    rest: sgd,
  },
];

function train(K, cfg) {
  const rng = makeRng(cfg.name);
  const { spec, paramCount } = buildSpec(cfg.input, cfg.layers, cfg.rest);
  for (const i of cfg.frozen ?? []) spec.vars[i].trainable = false;
  const params = initParams(spec, paramCount, rng);
  const slotCount = spec.vars.filter((v) => v.trainable).reduce((s, v) => s + v.size, 0) * K.optimizerSlotCount(spec.opt.kind);
  const slots = new Float32Array(slotCount);
  const net = K.createNetwork(spec, params, slots);
  // gradients at the initial parameters (the same on both backends)
  const d0 = netData(cfg, rng, cfg.sizes[0]);
  const loss0 = net.forwardBackward(d0.x, d0.y, null, cfg.sizes[0]);
  const grads0 = new Float32Array(paramCount);
  net.getGrads(grads0);
  const losses = [loss0];
  cfg.sizes.forEach((n, i) => {
    const { x, y, sw } = netData(cfg, rng, n);
    losses.push(net.trainStep(x, y, sw, n, 0.01, i + 1));
  });
  const n = cfg.sizes[0];
  const { x, y } = netData(cfg, rng, n);
  net.forwardBackward(x, y, null, n);
  const grads = new Float32Array(paramCount);
  net.getGrads(grads);
  const predicted = new Float32Array(n * net.outSize);
  net.predict(predicted, x, n);
  net.dispose();
  return { grads0, losses: Float32Array.from(losses), params, grads, predicted };
}

t.test('tiled conv engine: native (1 and 2 threads) vs js', { skip }, async (t) => {
  const threads0 = native.getNumThreads();
  try {
    for (const cfg of NETWORKS) {
      await t.test(cfg.name, async (t) => {
        const ref = train(js, cfg);
        native.setNumThreads(1);
        const one = train(native, cfg);
        native.setNumThreads(2);
        const two = train(native, cfg);
        for (const k of Object.keys(ref)) assertClose(t, one[k], ref[k], `${k} (1 thread vs js)`, { rtol: RTOL });
        for (const k of Object.keys(ref)) assertClose(t, two[k], one[k], `${k} (2 threads vs 1, exact)`, { exact: true });
      });
    }
  } finally {
    native.setNumThreads(threads0);
  }
});

// The direct kernels have AVX-512 twins (the fused conv + 2x2 max pool forward) that do the same
// operations in the same order per channel, so they must give the AVX2 kernels' bits exactly.
// The AVX2 run is a child process with CNN_NO_AVX512=1 (the CPU features are read once per
// process), training the same networks on one thread. Both runs use the AVX2 GEMM kernel (the
// AVX-512 one blocks K differently, so its dense layers round differently), so that the direct
// kernels are the only difference.
const DIRECT = NETWORKS.filter((cfg) => /direct/.test(cfg.name || ''));
const childRun = () => {
  const kernel0 = native.gemmKernel();
  native.setGemmKernel(1); // GemmKernel.Avx2Fma
  try {
    return DIRECT.map((cfg) => {
      native.setNumThreads(1);
      const r = train(native, cfg);
      return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));
    });
  } finally {
    native.setGemmKernel(kernel0);
  }
};
if (process.env.CNN_CONV_TILES_CHILD && !skip) process.stdout.write(`CHILD_RESULT ${JSON.stringify(childRun())}\n`);

const avx512 = !skip && typeof native.cpuHasAvx512 === 'function' && native.cpuHasAvx512();
const why512 = avx512 || skip ? '' : (native.gemmKernels().kernels.find((e) => e.id === 4) || {}).reason || 'no AVX-512';
t.test('direct kernels: the AVX-512 path gives the AVX2 path\'s bits', {
  skip: skip || (process.env.CNN_CONV_TILES_CHILD ? 'child run' : !avx512 && `AVX-512 direct kernels skipped: ${why512} (only the AVX2 path runs here)`),
}, async (t) => {
  const { spawnSync } = require('child_process');
  const r = spawnSync(process.execPath, [__filename], {
    env: { ...process.env, CNN_NO_AVX512: '1', CNN_CONV_TILES_CHILD: '1', TAP: '' }, encoding: 'utf8', maxBuffer: 1 << 28,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('CHILD_RESULT '));
  t.ok(line, `the CNN_NO_AVX512=1 child reported its results (${(r.stderr || '').trim().split('\n').pop() || 'ok'})`);
  if (!line) return;
  const avx2 = JSON.parse(line.slice('CHILD_RESULT '.length));
  const threads0 = native.getNumThreads();
  const mine = childRun();
  native.setNumThreads(threads0);
  DIRECT.forEach((cfg, i) => {
    for (const k of Object.keys(mine[i])) {
      const a = Float32Array.from(mine[i][k]), b = Float32Array.from(avx2[i][k]);
      assertClose(t, a, b, `${cfg.name}: ${k}, AVX-512 vs AVX2 (exact)`, { exact: true });
    }
  });
});
