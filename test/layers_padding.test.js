'use strict';
// ZeroPadding2D (the first registry kind, native/engine/nodes/padding.cc and its TS twin
// lib/backend/js/nodes/padding.ts): forward against TF.js, numeric gradients through it, both
// backends step by step, chain form runs on the graph engine, validation messages.

const t = require('tap');
const tf = require('@tensorflow/tfjs');
const { loadBackends, makeRng } = require('./helpers/common');
const { gradcheck } = require('./helpers/gradcheck');
const { K, GraphBuilder, graphParams, graphBatch } = require('./helpers/graph');

const backends = loadBackends().backends.filter((b) => !b.skip).map((b) => b.K);
const ZeroPadding2D = 19;
const LOSS_MSE = 3;

GraphBuilder.prototype.zeroPad = function zeroPad(id, pad) {
  const [H, W, C] = this.shapes[id];
  return this.node({ kind: ZeroPadding2D, out: [H + pad[0] + pad[1], W + pad[2] + pad[3], C], pad }, [id]);
};

/** conv -> pad -> conv -> gap -> dense (a chain: runs on the graph engine because of the pad). */
function padNet(pad) {
  const b = new GraphBuilder([[5, 4, 2]]);
  const c = b.conv(0, 3, { act: 6 });
  const p = b.zeroPad(c, pad);
  const c2 = b.conv(p, 2, { act: 6 });
  const g = b.gap(c2);
  const o = b.dense(g, 3);
  return b.spec([o], [{ loss: LOSS_MSE }]);
}

function make(k, spec, seed = 1) {
  const params = graphParams(spec, seed);
  return { net: k.createNetwork(spec, params, new Float32Array(params.length * 3)), params };
}

for (const k of backends) {
  t.test(`${k.name}: ZeroPadding2D forward equals tf.layers.zeroPadding2d`, (tt) => {
    for (const pad of [[1, 1, 1, 1], [0, 2, 3, 1], [2, 0, 0, 0]]) {
      const b = new GraphBuilder([[3, 4, 2]]);
      const p = b.zeroPad(0, pad);
      const spec = b.spec([p], [{ loss: LOSS_MSE }]);
      const net = k.createNetwork(spec, new Float32Array(0), new Float32Array(0));
      const n = 2, rng = makeRng(3);
      const x = Float32Array.from({ length: n * 24 }, () => rng.normal());
      const out = new Float32Array(n * spec.layers[0].out.reduce((a, c) => a * c, 1));
      net.predict(out, x, n);
      const want = tf.tidy(() => tf.layers.zeroPadding2d({ padding: [[pad[0], pad[1]], [pad[2], pad[3]]] })
        .apply(tf.tensor4d(x, [n, 3, 4, 2])).dataSync());
      tt.same(Array.from(out), Array.from(want), `pad ${pad}`);
      net.dispose();
    }
    tt.end();
  });

  t.test(`${k.name}: ZeroPadding2D: parameter gradients through it against central differences`, (tt) => {
    const spec = padNet([1, 2, 0, 1]);
    const { net, params } = make(k, spec);
    const n = 3;
    const { xs, ys } = graphBatch(spec, n);
    const grads = new Float32Array(net.paramCount);
    const rep = gradcheck(tt, {
      name: `${k.name} pad`,
      inputs: { params },
      forward: () => net.forwardBackward(xs, ys, null, n),
      backward: () => { net.getGrads(grads); return { params: grads }; },
      eps: 1e-2, tol: 2e-2, samples: 60,
    });
    tt.ok(rep.params.checked > 0, 'some coordinates checked');
    net.dispose();
    tt.end();
  });

  t.test(`${k.name}: ZeroPadding2D: bad specs are refused with the layer named`, (tt) => {
    const b = new GraphBuilder([[3, 3, 1]]);
    b.zeroPad(0, [1, 1, 1, 1]);
    const spec = b.spec([1], [{ loss: LOSS_MSE }]);
    spec.layers[0].out = [5, 4, 1];
    tt.throws(() => k.createNetwork(spec, new Float32Array(0), new Float32Array(0)),
      { message: 'layers[0] (ZeroPadding2D): out must be [5, 5, 1], received [5, 4, 1]' });
    spec.layers[0].pad = [1, 1, -1, 1];
    tt.throws(() => k.createNetwork(spec, new Float32Array(0), new Float32Array(0)),
      { message: 'createNetwork: layers[0].pad[2] must be a non-negative integer, received -1' });
    spec.layers[0].pad = [1, 1, 1, 1];
    spec.layers[0].kind = 1000;
    tt.throws(() => k.createNetwork(spec, new Float32Array(0), new Float32Array(0)), /layers\[0\]\.kind must be an integer/);
    tt.end();
  });
}

function maxRel(a, b) {
  let m = 0, s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m / Math.max(s, 1e-6);
}

if (backends.length === 2) {
  const [A, B] = backends;
  t.test(`${A.name} and ${B.name} agree step by step with ZeroPadding2D`, (tt) => {
    const spec = padNet([2, 1, 1, 0]);
    spec.opt = { kind: 2 };
    const a = make(A, spec), b = make(B, spec);
    const n = 4;
    for (let step = 1; step <= 3; step++) {
      const { xs, ys } = graphBatch(spec, n, 10 + step);
      const la = a.net.trainStep(xs, ys, null, n, 0.01, step);
      const lb = b.net.trainStep(xs, ys, null, n, 0.01, step);
      tt.ok(Math.abs(la - lb) <= 1e-4 * Math.max(1, Math.abs(la)), `step ${step}: loss ${la} vs ${lb}`);
      const ga = new Float32Array(a.net.paramCount), gb = new Float32Array(b.net.paramCount);
      a.net.getGrads(ga);
      b.net.getGrads(gb);
      tt.ok(maxRel(ga, gb) < 1e-3, `step ${step}: gradients (rel ${maxRel(ga, gb)})`);
    }
    for (const m of [a, b]) {
      const bytes = m.net.arenaBytes();
      const { xs, ys } = graphBatch(spec, n, 20);
      m.net.trainStep(xs, ys, null, n, 0.01, 4);
      tt.equal(m.net.arenaBytes(), bytes, 'no allocation after the first batch');
    }
    a.net.dispose();
    b.net.dispose();
    tt.end();
  });
}

// ---- the model side: tf.layers-style class, files both ways, ONNX ---------------------------------

const cnn = require('..');
const ort = require('onnxruntime-node');

function seq(ns, padding) {
  return ns.sequential({
    layers: [
      ns.layers.conv2d({ inputShape: [6, 5, 2], filters: 3, kernelSize: 3, activation: 'relu', name: 'c1' }),
      ns.layers.zeroPadding2d({ padding, name: 'zp' }),
      ns.layers.conv2d({ filters: 2, kernelSize: 2, name: 'c2' }),
      ns.layers.flatten({ name: 'f' }),
      ns.layers.dense({ units: 3, name: 'd' }),
    ],
  });
}

function values(n, seed) {
  const r = makeRng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * 0.5);
}

async function toMemory(m, io) {
  let arts;
  await m.save(io.withSaveHandler(async (a) => { arts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  return arts;
}

const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

for (const backend of cnn.getBackends ? cnn.getBackends() : ['native', 'js']) {
  t.test(`zeroPadding2d in a model (${backend}): shapes, TF.js predictions, files both ways, ONNX`, async (tt) => {
    cnn.setBackend(backend);
    for (const padding of [1, [2, 1], [[1, 0], [0, 2]]]) {
      const m = seq(cnn, padding);
      const tm = seq(tf, padding);
      tt.same(m.layers[1].outputShape, tm.layers[1].outputShape.slice(1), `padding ${JSON.stringify(padding)}: output shape`);
      tm.setWeights(m.getWeights().map((w, i) => tf.tensor(values(w.size, 5 + i), w.shape)));
      m.setWeights(tm.getWeights().map((w) => cnn.tensor(w.dataSync(), w.shape)));
      const x = values(2 * 60, 9);
      const want = tm.predict(tf.tensor(x, [2, 6, 5, 2])).dataSync();
      const got = m.predict(cnn.tensor(x, [2, 6, 5, 2])).values;
      tt.ok(maxDiff(got, want) < 1e-5, `padding ${JSON.stringify(padding)}: predictions equal TF.js (${maxDiff(got, want)})`);
      // cnn-node -> TF.js and back
      const arts = await toMemory(m, cnn.io);
      const zl = arts.modelTopology.config.layers.find((l) => l.class_name === 'ZeroPadding2D');
      tt.same(zl.config.padding, tm.layers[1].getConfig().padding, 'config padding as TF.js writes it');
      const tm2 = await tf.loadLayersModel(tf.io.fromMemory(arts));
      tt.ok(maxDiff(tm2.predict(tf.tensor(x, [2, 6, 5, 2])).dataSync(), got) < 1e-5, 'TF.js loads the file');
      const back = await cnn.loadLayersModel(cnn.io.fromMemory(arts));
      tt.ok(maxDiff(back.predict(cnn.tensor(x, [2, 6, 5, 2])).values, got) === 0, 'cnn-node reloads it exactly');
      // TF.js -> cnn-node
      const tarts = await toMemory(tm, tf.io);
      const fromTf = await cnn.loadLayersModel(cnn.io.fromMemory(tarts));
      tt.ok(maxDiff(fromTf.predict(cnn.tensor(x, [2, 6, 5, 2])).values, want) < 1e-5, 'a TF.js file loads');
      // ONNX in onnxruntime
      const s = await ort.InferenceSession.create(m.toOnnx(), { intraOpNumThreads: 1 });
      const o = await s.run({ input: new ort.Tensor('float32', x, [2, 6, 5, 2]) });
      tt.ok(maxDiff(o.output.data, got) < 1e-4, `ONNX (Pad) in onnxruntime equals predict (${maxDiff(o.output.data, got)})`);
      // trains (graph engine) with a falling loss
      m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
      const y = cnn.tensor(values(6, 3), [2, 3]);
      const h = await m.fit(cnn.tensor(x, [2, 6, 5, 2]), y, { epochs: 5, batchSize: 2, verbose: 0 });
      tt.ok(h.history.loss[4] < h.history.loss[0], `trains: loss ${h.history.loss[0]} -> ${h.history.loss[4]}`);
      for (const q of [m, back, fromTf]) q.dispose();
    }
    tt.end();
  });
}

t.test('zeroPadding2d: bad options are refused naming the layer and the option', (tt) => {
  tt.throws(() => cnn.layers.zeroPadding2d({ padding: -1, name: 'z' }), /zeroPadding2d\(z\): padding must be a non-negative integer/);
  tt.throws(() => cnn.layers.zeroPadding2d({ padding: [1, 2, 3], name: 'z' }), /zeroPadding2d\(z\): padding/);
  tt.throws(() => cnn.layers.zeroPadding2d({ dataFormat: 'channelsFirst', name: 'z' }),
    /zeroPadding2d\(z\): dataFormat 'channelsFirst' is not supported/);
  tt.end();
});

// ---- Cropping2D and UpSampling2D ------------------------------------------------------------------

const Cropping2D = 20, UpSampling2D = 21;

GraphBuilder.prototype.crop = function crop(id, c) {
  const [H, W, C] = this.shapes[id];
  return this.node({ kind: Cropping2D, out: [H - c[0] - c[1], W - c[2] - c[3], C], crop: c }, [id]);
};
GraphBuilder.prototype.up = function up(id, size, interpolation) {
  const [H, W, C] = this.shapes[id];
  return this.node({ kind: UpSampling2D, out: [H * size[0], W * size[1], C], size, interpolation }, [id]);
};

const NODE_CASES = [
  ['Cropping2D [1, 0, 2, 1]', (b, id) => b.crop(id, [1, 0, 2, 1]), (x) => tf.layers.cropping2D({ cropping: [[1, 0], [2, 1]] }).apply(x)],
  ['UpSampling2D nearest [2, 3]', (b, id) => b.up(id, [2, 3], 0), (x) => tf.layers.upSampling2d({ size: [2, 3] }).apply(x)],
  ['UpSampling2D bilinear [2, 2]', (b, id) => b.up(id, [2, 2], 1), (x) => tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(x)],
  ['UpSampling2D bilinear [3, 2]', (b, id) => b.up(id, [3, 2], 1), (x) => tf.layers.upSampling2d({ size: [3, 2], interpolation: 'bilinear' }).apply(x)],
];

for (const k of backends) {
  for (const [name, add, tfOp] of NODE_CASES) {
    t.test(`${k.name}: ${name}: forward equals TF.js, gradients against central differences`, (tt) => {
      const b = new GraphBuilder([[4, 5, 2]]);
      const o = add(b, 0);
      const spec = b.spec([o], [{ loss: LOSS_MSE }]);
      const net = k.createNetwork(spec, new Float32Array(0), new Float32Array(0));
      const n = 2, rng = makeRng(4);
      const x = Float32Array.from({ length: n * 40 }, () => rng.normal());
      const out = new Float32Array(n * spec.layers[0].out.reduce((a, c) => a * c, 1));
      net.predict(out, x, n);
      const want = tf.tidy(() => tfOp(tf.tensor4d(x, [n, 4, 5, 2])).dataSync());
      let worst = 0;
      for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - want[i]));
      tt.ok(out.length === want.length && worst < 1e-6, `forward equals TF.js (max diff ${worst})`);
      net.dispose();

      // gradients through it: conv -> node -> conv -> gap -> dense
      const b2 = new GraphBuilder([[4, 5, 2]]);
      const c = b2.conv(0, 3, { act: 6 });
      const m = add(b2, c);
      const c2 = b2.conv(m, 2, { act: 6 });
      const d = b2.dense(b2.gap(c2), 3);
      const spec2 = b2.spec([d], [{ loss: LOSS_MSE }]);
      const { net: net2, params } = make(k, spec2);
      const { xs, ys } = graphBatch(spec2, 3);
      const grads = new Float32Array(net2.paramCount);
      const rep = gradcheck(tt, {
        name: `${k.name} ${name}`, inputs: { params },
        forward: () => net2.forwardBackward(xs, ys, null, 3),
        backward: () => { net2.getGrads(grads); return { params: grads }; },
        eps: 1e-2, tol: 2e-2, samples: 60,
      });
      tt.ok(rep.params.checked > 0, 'some coordinates checked');
      net2.dispose();
      tt.end();
    });
  }
}

function seq2(ns, mk) {
  return ns.sequential({
    layers: [
      ns.layers.conv2d({ inputShape: [6, 5, 2], filters: 3, kernelSize: 2, activation: 'tanh', name: 'c1' }),
      mk(ns),
      ns.layers.conv2d({ filters: 2, kernelSize: 2, name: 'c2' }),
      ns.layers.flatten({ name: 'f' }),
      ns.layers.dense({ units: 3, name: 'd' }),
    ],
  });
}

const MODEL_CASES = [
  ['cropping2D 1', (ns) => ns.layers.cropping2D({ cropping: 1, name: 'l' })],
  ['cropping2D [[1, 0], [0, 2]]', (ns) => ns.layers.cropping2D({ cropping: [[1, 0], [0, 2]], name: 'l' })],
  ['upSampling2d nearest', (ns) => ns.layers.upSampling2d({ size: [2, 3], name: 'l' })],
  ['upSampling2d bilinear', (ns) => ns.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear', name: 'l' })],
];

for (const backend of ['native', 'js']) {
  t.test(`cropping2D / upSampling2d in a model (${backend}): TF.js predictions, files both ways, ONNX`, async (tt) => {
    cnn.setBackend(backend);
    for (const [what, mk] of MODEL_CASES) {
      const m = seq2(cnn, mk);
      const tm = seq2(tf, mk);
      tt.same(m.layers[1].outputShape, tm.layers[1].outputShape.slice(1), `${what}: output shape`);
      tm.setWeights(m.getWeights().map((w, i) => tf.tensor(values(w.size, 5 + i), w.shape)));
      m.setWeights(tm.getWeights().map((w) => cnn.tensor(w.dataSync(), w.shape)));
      const x = values(2 * 60, 9);
      const want = tm.predict(tf.tensor(x, [2, 6, 5, 2])).dataSync();
      const got = m.predict(cnn.tensor(x, [2, 6, 5, 2])).values;
      tt.ok(maxDiff(got, want) < 1e-5, `${what}: predictions equal TF.js (${maxDiff(got, want)})`);
      const arts = await toMemory(m, cnn.io);
      const tm2 = await tf.loadLayersModel(tf.io.fromMemory(arts));
      tt.ok(maxDiff(tm2.predict(tf.tensor(x, [2, 6, 5, 2])).dataSync(), got) < 1e-5, `${what}: TF.js loads the file`);
      const back = await cnn.loadLayersModel(cnn.io.fromMemory(arts));
      tt.ok(maxDiff(back.predict(cnn.tensor(x, [2, 6, 5, 2])).values, got) === 0, `${what}: cnn-node reloads it exactly`);
      const fromTf = await cnn.loadLayersModel(cnn.io.fromMemory(await toMemory(tm, tf.io)));
      tt.ok(maxDiff(fromTf.predict(cnn.tensor(x, [2, 6, 5, 2])).values, want) < 1e-5, `${what}: a TF.js file loads`);
      const s = await ort.InferenceSession.create(m.toOnnx(), { intraOpNumThreads: 1 });
      const o = await s.run({ input: new ort.Tensor('float32', x, [2, 6, 5, 2]) });
      tt.ok(maxDiff(o.output.data, got) < 1e-4, `${what}: ONNX in onnxruntime equals predict (${maxDiff(o.output.data, got)})`);
      for (const q of [m, back, fromTf]) q.dispose();
    }
    tt.end();
  });
}

t.test('cropping2D / upSampling2d: bad options are refused naming the layer and the option', (tt) => {
  tt.throws(() => cnn.layers.cropping2D({ cropping: [1, -1], name: 'c' }), /cropping2D\(c\): cropping must be/);
  tt.throws(() => cnn.sequential({ layers: [cnn.layers.cropping2D({ inputShape: [4, 4, 1], cropping: 2, name: 'c' })] }).build(),
    /Cropping2D\(c\): cropping .* removes the whole input 4x4/);
  tt.throws(() => cnn.layers.upSampling2d({ size: 0, name: 'u' }), /upSampling2d\(u\): size must be/);
  tt.throws(() => cnn.layers.upSampling2d({ interpolation: 'bicubic', name: 'u' }), /upSampling2d\(u\): interpolation must be 'nearest' or 'bilinear'/);
  tt.throws(() => cnn.layers.upSampling2d({ dataFormat: 'channelsFirst', name: 'u' }), /upSampling2d\(u\): dataFormat/);
  tt.end();
});
