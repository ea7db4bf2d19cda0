'use strict';
// Mixed precision (bf16): the engine's bf16 training step (ComputeDtype.BFloat16 layers: GEMMs on
// bf16-rounded operands with fp32 accumulation) against the TypeScript twin, on every sbgemm path
// the CPU has; that bf16 really differs from fp32 (and by far more than the backends differ); a
// short bf16 training run whose loss falls; the Keras policy API (tf.mixedPrecision, layer dtype,
// dtypePolicy) and its errors; the layer dtype policy round-tripping through model.json.

const t = require('tap');
const { loadBackends, makeRng, requireDist } = require('./helpers/common');
const { buildSpec, initParams, netData } = require('./helpers/network');

const { Act, ComputeDtype, OptimizerKind, LossKind, Padding, LayerKind } = requireDist('backend/types');
const { backends } = loadBackends();
const js = backends[0].K;
const native = backends[1].K;
const skip = backends[1].skip || (native && typeof native.setBf16Kernel !== 'function' ? 'the native addon has no bf16 kernels' : false);

// [name, input, layers, n]: each takes a different conv path (direct with a fused pool, im2col +
// GEMM with a fused pool, im2col without a pool keeping the pre-activation) and dense layers.
const NETS = [
  ['direct conv C=1 + fused pool, dense softmax', [12, 12, 1],
    [{ conv: 8, k: [3, 3], act: Act.Relu }, { maxpool: [2, 2] }, { flatten: true }, { dense: 5, act: Act.Softmax }], 6],
  ['im2col conv C=6 same + fused pool, dense relu, dense softmax', [8, 8, 6],
    [{ conv: 16, k: [5, 5], pad: Padding.Same, act: Act.Relu }, { maxpool: [2, 2] }, { conv: 8, k: [3, 3], act: Act.Relu },
      { maxpool: [2, 2] }, { flatten: true }, { dense: 40, act: Act.Relu }, { dense: 5, act: Act.Softmax }], 5],
  ['conv gelu (pre kept), 1x1 conv, dense tanh', [7, 7, 4],
    [{ conv: 9, k: [3, 3], act: Act.Gelu }, { conv: 6, k: [1, 1] }, { flatten: true }, { dense: 12, act: Act.Tanh },
      { dense: 5, act: Act.Softmax }], 4],
];

function bf16Spec(spec, dtype = ComputeDtype.BFloat16) {
  return { ...spec, layers: spec.layers.map((L) => (L.kind === LayerKind.Conv2D || L.kind === LayerKind.Dense ? { ...L, dtype } : L)) };
}

/** One forwardBackward, then 3 Adam steps; returns the loss, gradients, and the trained params. */
function run(K, name, input, layers, n, dtype) {
  const rng = makeRng(name);
  const built = buildSpec(input, layers, { loss: LossKind.CategoricalCrossentropy, opt: { kind: OptimizerKind.Adam } });
  const spec = bf16Spec(built.spec, dtype);
  const params = initParams(spec, built.paramCount, rng);
  const slots = new Float32Array(built.paramCount * K.optimizerSlotCount(OptimizerKind.Adam));
  const net = K.createNetwork(spec, params, slots);
  const { x, y } = netData({ input, classes: 5, n }, rng);
  const loss = net.forwardBackward(x, y, null, n);
  const grads = new Float32Array(built.paramCount);
  net.getGrads(grads);
  const losses = [];
  for (let step = 1; step <= 3; step++) losses.push(net.trainStep(x, y, null, n, 1e-3, step));
  const out = new Float32Array(n * net.outSize);
  net.predict(out, x, n);
  net.dispose();
  return { loss, grads, losses, params, out };
}

// max |a - b| over max |b|: a relative error for the whole array.
function rel(a, b) {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / Math.max(m, 1e-30);
}

t.test('bf16 engine step: native (every sbgemm path) vs the TypeScript twin, and vs fp32', { skip }, (tt) => {
  const paths = native.bf16Kernels().kernels;
  const covered = [];
  for (const k of paths) {
    if (k.id === 3) continue;  // naive: too slow to be a path anyone runs; sbgemm tests cover it
    if (!k.available) {
      tt.test(`bf16 engine path ${k.name}`, { skip: `bf16 engine path ${k.name} skipped: ${k.reason}` }, () => {});
      continue;
    }
    native.setBf16Kernel(k.id);
    for (const [name, input, layers, n] of NETS) {
      const nb = run(native, name, input, layers, n, ComputeDtype.BFloat16);
      const jb = run(js, name, input, layers, n, ComputeDtype.BFloat16);
      const jf = run(js, name, input, layers, n, ComputeDtype.Float32);
      const lossDiff = Math.abs(nb.loss - jb.loss) / Math.abs(jb.loss);
      tt.ok(lossDiff < 1e-4, `${k.name} / ${name}: loss ${nb.loss} vs twin ${jb.loss} (rel ${lossDiff.toExponential(1)})`);
      const gTwin = rel(nb.grads, jb.grads), gFp32 = rel(jb.grads, jf.grads);
      tt.ok(gTwin < 1e-4, `${k.name} / ${name}: grads vs twin rel ${gTwin.toExponential(2)}`);
      tt.ok(gFp32 > 4 * gTwin && gFp32 > 1e-4, `${name}: bf16 differs from fp32 (grads rel ${gFp32.toExponential(2)}) far more than the backends do`);
      tt.ok(rel(nb.params, jb.params) < 1e-3, `${k.name} / ${name}: params after 3 Adam steps agree with the twin`);
      tt.ok(rel(nb.out, jb.out) < 1e-3, `${k.name} / ${name}: predict agrees with the twin`);
    }
    covered.push(k.name);
  }
  native.setBf16Kernel(0);
  tt.comment(`bf16 engine paths covered: ${covered.join(', ')}`);
  tt.end();
});

t.test('a bf16 layer spec: dtype is checked like every field', { skip }, (tt) => {
  const built = buildSpec([4, 4, 1], [{ flatten: true }, { dense: 3 }], { loss: LossKind.MeanSquaredError, opt: { kind: OptimizerKind.Sgd } });
  for (const K of [js, native]) {
    const bad = { ...built.spec, layers: [built.spec.layers[0], { ...built.spec.layers[1], dtype: 2 }] };
    tt.throws(() => K.createNetwork(bad, new Float32Array(built.paramCount), new Float32Array(0)),
      { name: 'TypeError', message: 'createNetwork: layers[1].dtype must be an integer in [0, 1], received 2' }, `${K.name}: dtype 2 refused`);
  }
  tt.end();
});

t.test('a short bf16 training run: the loss falls', { skip }, (tt) => {
  const rng = makeRng('falls');
  const input = [10, 10, 1];
  const built = buildSpec(input, [{ conv: 8, k: [3, 3], act: Act.Relu }, { maxpool: [2, 2] }, { flatten: true },
    { dense: 16, act: Act.Relu }, { dense: 2, act: Act.Softmax }], { loss: LossKind.CategoricalCrossentropy, opt: { kind: OptimizerKind.Adam } });
  const spec = bf16Spec(built.spec);
  const params = initParams(spec, built.paramCount, rng);
  const net = native.createNetwork(spec, params, new Float32Array(built.paramCount * 2));
  // class 1: a bright square in the top-left quarter; class 0: noise only
  const n = 32;
  const x = new Float32Array(n * 100), y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    y[i * 2 + c] = 1;
    for (let p = 0; p < 100; p++) x[i * 100 + p] = 0.3 * rng.uniform();
    if (c) for (let r = 1; r < 4; r++) for (let q = 1; q < 4; q++) x[i * 100 + r * 10 + q] += 1;
  }
  const losses = [];
  for (let step = 1; step <= 40; step++) losses.push(net.trainStep(x, y, null, n, 3e-3, step));
  net.dispose();
  tt.ok(losses[39] < 0.5 * losses[0], `loss ${losses[0].toFixed(4)} -> ${losses[39].toFixed(4)} in 40 steps`);
  tt.end();
});

// ---- the policy API -----------------------------------------------------------------------------

const tf = requireDist('index');
const { mixedPrecision } = tf;

t.test('mixedPrecision: policies, the global policy, layer dtype and dtypePolicy', (tt) => {
  tt.teardown(() => mixedPrecision.setGlobalPolicy('float32'));
  tt.equal(mixedPrecision.getGlobalPolicy().name, 'float32', 'the default global policy is float32');
  const before = tf.layers.dense({ units: 2 });
  mixedPrecision.setGlobalPolicy('mixed_bfloat16');
  const p = mixedPrecision.getGlobalPolicy();
  tt.equal(p.name, 'mixed_bfloat16');
  tt.equal(p.computeDtype, 'bfloat16');
  tt.equal(p.variableDtype, 'float32');
  tt.equal(mixedPrecision.globalPolicy(), p, 'globalPolicy() is getGlobalPolicy()');
  tt.equal(String(p), '<DTypePolicy "mixed_bfloat16">');
  const after = tf.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [5, 5, 1] });
  const last = tf.layers.dense({ units: 2, dtype: 'float32' });
  tt.equal(before.dtypePolicy.name, 'float32', 'a layer made before setGlobalPolicy keeps its policy');
  tt.equal(after.dtypePolicy.name, 'mixed_bfloat16', 'a layer made after it takes the global policy');
  tt.equal(last.dtypePolicy.name, 'float32', 'the dtype option overrides the global policy');
  mixedPrecision.setGlobalPolicy(new mixedPrecision.Policy('float32'));
  tt.equal(mixedPrecision.getGlobalPolicy().name, 'float32', 'setGlobalPolicy takes a Policy');
  tt.equal(tf.layers.dense({ units: 2, dtype: new mixedPrecision.DTypePolicy('mixed_bfloat16') }).dtypePolicy.computeDtype, 'bfloat16', 'dtype: a Policy');
  tt.equal(tf.layers.dense({ units: 2, dtype: { className: 'DTypePolicy', config: { name: 'mixed_bfloat16' } } }).dtypePolicy.name, 'mixed_bfloat16', 'dtype: a Keras policy config');
  tt.end();
});

t.test('mixedPrecision: refused policies say why', (tt) => {
  tt.throws(() => mixedPrecision.setGlobalPolicy('mixed_float16'), { message: /^setGlobalPolicy: 'mixed_float16' is not supported: there is no float16 arithmetic in cnn-node; use 'mixed_bfloat16'$/ });
  tt.throws(() => mixedPrecision.setGlobalPolicy('bfloat16'), { message: /'bfloat16' is not supported: variables are always float32/ });
  tt.throws(() => mixedPrecision.setGlobalPolicy('float16'), /'float16' is not supported/);
  tt.throws(() => mixedPrecision.setGlobalPolicy('mixed_bf16'), { message: `setGlobalPolicy: unknown dtype policy "mixed_bf16" (supported: 'float32', 'mixed_bfloat16')` });
  tt.throws(() => mixedPrecision.setGlobalPolicy(16), { name: 'TypeError', message: /setGlobalPolicy: dtype must be 'float32', 'mixed_bfloat16' or a Policy, received 16/ });
  tt.throws(() => tf.layers.dense({ units: 2, dtype: 'mixed_float16' }), { message: /^Dense: 'mixed_float16' is not supported/ });
  tt.throws(() => tf.layers.dense({ units: 2, dtype: { config: {} } }), { name: 'TypeError', message: /^Dense: a dtype policy object must be/ });
  tt.throws(() => new mixedPrecision.Policy('int8'), /^Policy: unknown dtype policy "int8"/);
  tt.equal(mixedPrecision.getGlobalPolicy().name, 'float32', 'a refused policy leaves the global one as it was');
  tt.end();
});

function convnet(dtype, lastDtype) {
  tf.setSeed(7);
  const m = tf.sequential({ layers: [
    tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [10, 10, 1], dtype }),
    tf.layers.maxPooling2d({ poolSize: 2, dtype }),
    tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', dtype }),
    tf.layers.flatten({ dtype }),
    tf.layers.dense({ units: 3, activation: 'softmax', dtype: lastDtype ?? dtype })] });
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return m;
}

function toyData(n) {
  const x = new Float32Array(n * 100), y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    y[i * 3 + (i % 3)] = 1;
    for (let p = 0; p < 100; p++) x[i * 100 + p] = Math.sin(i * 7 + p * (1 + (i % 3)));
  }
  return { x: tf.tensor4d(x, [n, 10, 10, 1]), y: tf.tensor2d(y, [n, 3]) };
}

for (const backend of ['native', 'js']) {
  const why = backend === 'native' ? skip : false;
  t.test(`${backend}: a mixed_bfloat16 model computes in bf16 (close to, not equal to, float32) and trains`, { skip: why }, async (tt) => {
    const prev = tf.getBackend();
    tf.setBackend(backend);
    tt.teardown(() => tf.setBackend(prev));
    const { x, y } = toyData(24);
    const f = convnet('float32'), b = convnet('mixed_bfloat16');
    const pf = f.predict(x).dataSync(), pb = b.predict(x).dataSync();
    const d = pf.reduce((m, v, i) => Math.max(m, Math.abs(v - pb[i])), 0);
    tt.ok(d > 0 && d < 2e-2, `predictions differ by ${d.toExponential(2)}`);
    const h = await b.fit(x, y, { epochs: 8, batchSize: 8, verbose: 0 });
    const L = h.history.loss;
    tt.ok(L[L.length - 1] < L[0], `bf16 fit: loss ${L[0].toFixed(4)} -> ${L[L.length - 1].toFixed(4)}`);
    tt.end();
  });
}

t.test('model.json: the layer dtype policy round-trips (Keras 3 DTypePolicy), Keras 2 / TF.js spellings load', async (tt) => {
  const m = convnet('mixed_bfloat16', 'float32');
  let art = null;
  await m.save(tf.io.withSaveHandler(async (a) => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const layers = art.modelTopology.config.layers;
  const conv = layers.find((l) => l.class_name === 'Conv2D');
  tt.same(conv.config.dtype, { module: 'keras', class_name: 'DTypePolicy', config: { name: 'mixed_bfloat16' }, registered_name: null },
    'a mixed_bfloat16 layer is written as Keras 3 writes its DTypePolicy');
  tt.same(layers.find((l) => l.class_name === 'Flatten').config.dtype.config.name, 'mixed_bfloat16', 'written even without an input shape');
  const dense = layers.find((l) => l.class_name === 'Dense');
  tt.notOk('dtype' in dense.config, 'a float32 layer without an input shape has no dtype key (as TF.js writes it)');
  const back = await tf.loadLayersModel(tf.io.fromMemory(art));
  tt.same(back.layers.map((l) => l.dtypePolicy.name), m.layers.map((l) => l.dtypePolicy.name), 'policies survive save + load');
  const x = toyData(4).x;
  const d = back.predict(x).dataSync().reduce((s, v, i, a) => Math.max(s, Math.abs(v - m.predict(x).dataSync()[i])), 0);
  tt.equal(d, 0, 'the loaded model predicts the same');

  // Keras 2 / TF.js: a plain string, and Keras 2's Policy object
  const edit = (fn) => {
    const a = JSON.parse(JSON.stringify({ ...art, weightData: undefined }));
    a.weightData = art.weightData;
    fn(a.modelTopology.config.layers);
    return a;
  };
  const plain = edit((ls) => { ls.find((l) => l.class_name === 'Conv2D').config.dtype = 'mixed_bfloat16'; });
  tt.equal((await tf.loadLayersModel(tf.io.fromMemory(plain))).layers[0].dtypePolicy.name, 'mixed_bfloat16', "dtype: 'mixed_bfloat16' (a string)");
  const k2 = edit((ls) => { ls.find((l) => l.class_name === 'Conv2D').config.dtype = { class_name: 'Policy', config: { name: 'mixed_bfloat16' } }; });
  tt.equal((await tf.loadLayersModel(tf.io.fromMemory(k2))).layers[0].dtypePolicy.name, 'mixed_bfloat16', 'Keras 2 Policy object');
  const f16 = edit((ls) => { ls.find((l) => l.class_name === 'Conv2D').config.dtype = { class_name: 'DTypePolicy', config: { name: 'mixed_float16' } }; });
  await tt.rejects(tf.loadLayersModel(tf.io.fromMemory(f16)), /dtype "mixed_float16" is not supported \(only float32\): there is no float16 arithmetic in cnn-node; use 'mixed_bfloat16'/, 'mixed_float16 in a file is refused with the reason');
  tt.end();
});
