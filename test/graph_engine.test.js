'use strict';
// The graph engine (native/engine/network_graph.cc and its twin lib/backend/js/network_graph.ts),
// table-driven over both backends: numeric gradients of every merge kind and of whole graph nets,
// the backends agreeing step by step, shared layers, several inputs and weighted outputs, the
// liveness plan (arenaBytes), and spec errors with one message on both backends.
const t = require('tap');
const { loadBackends } = require('./helpers/common');
const { gradcheck } = require('./helpers/gradcheck');
const { K, GraphBuilder, graphParams, graphBatch } = require('./helpers/graph');

const backends = loadBackends().backends.filter((b) => !b.skip).map((b) => b.K)
  .filter((k) => !process.env.GRAPH_BACKENDS || process.env.GRAPH_BACKENDS.split(',').includes(k.name));
const ACT = { Linear: 0, Relu: 1, Tanh: 6, Softmax: 10 };
const LOSS = { CCE: 0, SCCE: 1, BCE: 2, MSE: 3 };

// ---- the nets ------------------------------------------------------------------------------------

/** x (1,1,6), y (1,1,6) -> Dense each -> merge -> Dense 3 -> MSE. */
function mergeNet(kind, extra = {}) {
  const b = new GraphBuilder([[1, 1, 6], [1, 1, 6]]);
  const a = b.dense(0, 5, { act: ACT.Tanh });
  const c = b.dense(1, 5, { act: ACT.Tanh });
  const ids = kind === K.Subtract || kind === K.Dot ? [a, c] : [a, c, a];
  const m = b.merge(kind, ids, extra);
  const o = b.dense(m, 3);
  return b.spec([o], [{ loss: LOSS.MSE }]);
}

/** A residual block with batch norm on a conv stem, global pooling, softmax. */
function residualNet() {
  const b = new GraphBuilder([[6, 6, 2]]);
  const s = b.conv(0, 4, { act: ACT.Relu });
  const c1 = b.conv(s, 4, { bias: false }); // (a bias before BN has no gradient: Adam would amplify rounding noise)
  const n1 = b.bn(c1);
  const r1 = b.act(n1, ACT.Relu);
  const c2 = b.conv(r1, 4, { bias: false });
  const n2 = b.bn(c2);
  const add = b.merge(K.Add, [n2, s]);
  const r2 = b.act(add, ACT.Relu);
  const g = b.gap(r2);
  const o = b.dense(g, 3, { act: ACT.Softmax });
  return b.spec([o], [{ loss: LOSS.CCE }]);
}

/** Two inputs: an image branch and a vector branch, concatenated, two weighted outputs. */
function twoInputNet() {
  const b = new GraphBuilder([[4, 4, 3], [1, 1, 5]]);
  const c = b.conv(0, 3, { act: ACT.Relu });
  const p = b.maxpool(c);
  const f = b.flatten(p);
  const d = b.dense(1, 4, { act: ACT.Tanh });
  const cat = b.merge(K.Concatenate, [f, d]);
  const h = b.dense(cat, 6, { act: ACT.Relu });
  const o1 = b.dense(h, 3, { act: ACT.Softmax });
  const o2 = b.dense(h, 2);
  return b.spec([o1, o2], [{ loss: LOSS.SCCE }, { loss: LOSS.MSE, weight: 0.5 }]);
}

/** One Dense applied to two inputs (shared weights), the results added. */
function sharedNet() {
  const b = new GraphBuilder([[1, 1, 4], [1, 1, 4]]);
  const d1 = b.dense(0, 5, { act: ACT.Tanh });
  const d2 = b.dense(1, 5, { act: ACT.Tanh, share: 0 });
  const m = b.merge(K.Add, [d1, d2]);
  const o = b.dense(m, 2);
  return b.spec([o], [{ loss: LOSS.MSE }]);
}

/** Two conv branches concatenated on the channel axis. */
function channelConcatNet() {
  const b = new GraphBuilder([[5, 5, 2]]);
  const a = b.conv(0, 3, { act: ACT.Relu });
  const c = b.conv(0, 2, { k: 1, act: ACT.Tanh });
  const cat = b.merge(K.Concatenate, [a, c], { axis: 2 });
  const g = b.gap(cat);
  const o = b.dense(g, 4);
  return b.spec([o], [{ loss: LOSS.CCE, fromLogits: true }]);
}

/** Concatenation on H and W, a Reshape, Maximum / Minimum / Subtract / Multiply in one net. */
function mixedNet() {
  const b = new GraphBuilder([[4, 4, 2]]);
  const a = b.conv(0, 2, { act: ACT.Tanh });
  const c = b.conv(0, 2, { act: ACT.Tanh });
  const h = b.merge(K.Concatenate, [a, c], { axis: 0 }); // (8, 4, 2)
  const w = b.merge(K.Concatenate, [a, c], { axis: 1 }); // (4, 8, 2)
  const r = b.reshape(w, [8, 4, 2]);
  const mx = b.merge(K.Maximum, [h, r]);
  const mn = b.merge(K.Minimum, [h, r]);
  const sb = b.merge(K.Subtract, [mx, mn]);
  const ml = b.merge(K.Multiply, [sb, h]);
  const f = b.flatten(ml);
  const o = b.dense(f, 3);
  return b.spec([o], [{ loss: LOSS.MSE }]);
}

const NETS = {
  add: () => mergeNet(K.Add),
  subtract: () => mergeNet(K.Subtract),
  multiply: () => mergeNet(K.Multiply),
  average: () => mergeNet(K.Average),
  maximum: () => mergeNet(K.Maximum),
  minimum: () => mergeNet(K.Minimum),
  concatenate: () => mergeNet(K.Concatenate),
  dot: () => mergeNet(K.Dot),
  'dot normalize': () => mergeNet(K.Dot, { normalize: true }),
  residual: residualNet,
  'two inputs': twoInputNet,
  shared: sharedNet,
  'channel concat': channelConcatNet,
  mixed: mixedNet,
};

function make(k, spec, seed = 1) {
  const params = graphParams(spec, seed);
  const slots = new Float32Array(params.length * 3);
  return { net: k.createNetwork(spec, params, slots), params, slots };
}

// ---- numeric gradients ---------------------------------------------------------------------------

for (const k of backends) {
  for (const [name, mk] of Object.entries(NETS)) {
    t.test(`${k.name}: ${name}: parameter gradients against central differences`, (tt) => {
      const spec = mk();
      const { net, params } = make(k, spec);
      const n = 3;
      const { xs, ys } = graphBatch(spec, n);
      const grads = new Float32Array(net.paramCount);
      const trainable = new Float32Array(params.length);
      for (const v of spec.vars) if (v.trainable) trainable.fill(1, v.offset, v.offset + v.size);
      const rep = gradcheck(tt, {
        name: `${k.name} ${name}`,
        inputs: { params },
        forward: () => net.forwardBackward(xs, ys, null, n),
        backward: () => {
          net.getGrads(grads);
          return { params: grads };
        },
        eps: 1e-2, tol: 2e-2, samples: 60,
      });
      tt.ok(rep.params.checked > 0, 'some coordinates checked');
      net.dispose();
      tt.end();
    });
  }
}

// ---- the backends agree --------------------------------------------------------------------------

function maxRel(a, b) {
  let m = 0, s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m / Math.max(s, 1e-6);
}

if (backends.length === 2) {
  const [A, B] = backends;
  for (const [name, mk] of Object.entries(NETS)) {
    t.test(`${A.name} and ${B.name} agree step by step: ${name}`, (tt) => {
      const spec = mk();
      spec.opt = { kind: 2 }; // Adam
      const a = make(A, spec), b = make(B, spec);
      const n = 4;
      for (let step = 1; step <= 3; step++) {
        const { xs, ys, outSizes } = graphBatch(spec, n, 10 + step);
        const la = a.net.trainStep(xs, ys, null, n, 0.01, step);
        const lb = b.net.trainStep(xs, ys, null, n, 0.01, step);
        tt.ok(Math.abs(la - lb) <= 1e-4 * Math.max(1, Math.abs(la)), `step ${step}: loss ${la} vs ${lb}`);
        const ga = new Float32Array(a.net.paramCount), gb = new Float32Array(b.net.paramCount);
        a.net.getGrads(ga);
        b.net.getGrads(gb);
        tt.ok(maxRel(ga, gb) < 1e-3, `step ${step}: gradients (rel ${maxRel(ga, gb)})`);
        const sa = new Float32Array(outSizes.length), sb = new Float32Array(outSizes.length);
        a.net.getLosses(sa);
        b.net.getLosses(sb);
        tt.ok(maxRel(sa, sb) < 1e-4, `step ${step}: per-output losses`);
        const oa = outSizes.map((d) => new Float32Array(n * d)), ob = outSizes.map((d) => new Float32Array(n * d));
        a.net.predict(oa, xs, n);
        b.net.predict(ob, xs, n);
        oa.forEach((o, k2) => tt.ok(maxRel(o, ob[k2]) < 1e-4, `step ${step}: predict output ${k2}`));
      }
      tt.ok(maxRel(a.params, b.params) < 1e-3, 'parameters after three Adam steps');
      a.net.dispose();
      b.net.dispose();
      tt.end();
    });
  }
}

// ---- semantics -----------------------------------------------------------------------------------

for (const k of backends) {
  t.test(`${k.name}: weighted outputs: total = sum of weight * loss, getLosses unweighted`, (tt) => {
    const spec = twoInputNet();
    const { net } = make(k, spec);
    const n = 5;
    const { xs, ys } = graphBatch(spec, n);
    const total = net.forwardBackward(xs, ys, null, n);
    const ls = new Float32Array(2);
    net.getLosses(ls);
    tt.ok(Math.abs(total - (ls[0] + 0.5 * ls[1])) < 1e-5, `${total} = ${ls[0]} + 0.5 * ${ls[1]}`);
    const outs = [new Float32Array(n * 3), new Float32Array(n * 2)];
    const ev = net.evaluate(outs, xs, ys, null, n);
    tt.ok(Number.isFinite(ev), 'evaluate gives a total');
    tt.same(net.outSizes, [3, 2]);
    tt.same(net.inSizes, [48, 5]);
    const o1 = new Float32Array(n * 2);
    net.forwardBackward(xs, ys, null, n);
    net.getOutput(o1, 1);
    tt.ok(o1.some((v) => v !== 0), 'getOutput(dst, 1) gives the second output');
    net.dispose();
    tt.end();
  });

  t.test(`${k.name}: a shared layer's gradient is the sum over its two uses`, (tt) => {
    // d(x1) + d(x2) with x1 = x2 equals 2 d(x): the shared kernel's gradient is twice the gradient
    // of the net that applies one Dense and doubles it.
    const spec = sharedNet();
    const { net, params } = make(k, spec);
    const n = 3;
    const { xs, ys } = graphBatch(spec, n);
    net.forwardBackward([xs[0], xs[0]], ys, null, n);
    const g = new Float32Array(net.paramCount);
    net.getGrads(g);
    const b = new GraphBuilder([[1, 1, 4]]);
    const d = b.dense(0, 5, { act: ACT.Tanh });
    const m = b.merge(K.Add, [d, d]);
    const o = b.dense(m, 2);
    const spec2 = b.spec([o], [{ loss: LOSS.MSE }]);
    const net2 = k.createNetwork(spec2, params.slice(), new Float32Array(0));
    net2.forwardBackward(xs[0], ys[0], null, n);
    const g2 = new Float32Array(net2.paramCount);
    net2.getGrads(g2);
    tt.ok(maxRel(g, g2) < 1e-5, `same gradients (rel ${maxRel(g, g2)})`);
    net.dispose();
    net2.dispose();
    tt.end();
  });

  t.test(`${k.name}: a chain in graph form equals the chain form`, (tt) => {
    const b = new GraphBuilder([[6, 6, 2]]);
    const c = b.conv(0, 3, { act: ACT.Relu });
    const p = b.maxpool(c);
    const f = b.flatten(p);
    const o = b.dense(f, 4, { act: ACT.Softmax });
    const graph = b.spec([o], [{ loss: LOSS.CCE }]);
    const chain = { layers: graph.layers.map(({ inputs, ...L }) => L), vars: graph.vars, loss: LOSS.CCE, opt: { kind: 0 } };
    const weighted = { ...graph, outputLosses: [{ loss: LOSS.CCE, weight: 2 }] }; // runs on the graph engine
    const n = 4;
    const { xs, ys } = graphBatch(graph, n);
    const res = [graph, chain, weighted].map((s) => {
      const { net } = make(k, s);
      const l = net.forwardBackward(xs, ys, null, n);
      const g = new Float32Array(net.paramCount);
      net.getGrads(g);
      const out = new Float32Array(n * 4);
      net.predict(out, xs, n);
      net.dispose();
      return { l, g, out };
    });
    tt.equal(res[0].l, res[1].l, 'graph form = chain form (loss)');
    tt.same(Array.from(res[0].g), Array.from(res[1].g), 'graph form = chain form (gradients)');
    tt.ok(Math.abs(res[2].l - 2 * res[1].l) < 1e-5, 'weight 2 doubles the loss');
    tt.ok(maxRel(res[2].g, res[1].g.map((v) => 2 * v)) < 1e-5, 'and the gradients');
    tt.ok(maxRel(res[2].out, res[1].out) < 1e-6, 'the graph engine predicts as the chain engine');
    tt.end();
  });

  t.test(`${k.name}: liveness: a long chain with skips needs less than all its activations`, (tt) => {
    const b = new GraphBuilder([[8, 8, 4]]);
    let x = b.dense(0, 4);
    let sum = 0;
    for (let i = 0; i < 12; i++) {
      const n1 = b.bn(x);
      const r = b.act(n1, ACT.Relu);
      x = b.merge(K.Add, [r, x]);
    }
    const o = b.dense(b.gap(x), 2);
    const spec = b.spec([o], [{ loss: LOSS.MSE }]);
    for (const L of spec.layers) sum += L.out[0] * L.out[1] * L.out[2];
    const { net } = make(k, spec);
    const n = 8;
    const { xs, ys } = graphBatch(spec, n);
    const out = new Float32Array(n * 2);
    net.predict(out, xs, n);
    const inferBytes = net.arenaBytes();
    tt.ok(inferBytes > 0, `inference arena ${inferBytes} bytes`);
    tt.ok(inferBytes < 0.4 * sum * n * 4, `inference arena below 40% of all activations (${sum * n * 4} bytes)`);
    net.forwardBackward(xs, ys, null, n);
    const both = net.arenaBytes();
    tt.ok(both - inferBytes < sum * n * 4, `training arena ${both - inferBytes} bytes below all activations (${sum * n * 4})`);
    net.forwardBackward(xs, ys, null, n - 2);
    tt.equal(net.arenaBytes(), both, 'no allocation for a smaller batch');
    net.dispose();
    tt.end();
  });

  t.test(`${k.name}: dropout in a graph draws per node in order, inference is the identity`, (tt) => {
    const b = new GraphBuilder([[1, 1, 8]]);
    const d = b.dropout(0, 0.5);
    const e = b.dense(d, 8);
    const m = b.merge(K.Add, [d, e]);
    const spec = b.spec([m], [{ loss: LOSS.MSE }]);
    const { net } = make(k, spec);
    const n = 2;
    const { xs, ys } = graphBatch(spec, n);
    const l = net.forwardBackward(xs, ys, null, n);
    tt.ok(Number.isFinite(l));
    const out = new Float32Array(n * 8);
    net.predict(out, xs, n);
    tt.ok(out.every(Number.isFinite));
    net.dispose();
    tt.end();
  });
}

// ---- errors: one message on both backends ----------------------------------------------------------

const ERRORS = [
  ['a forward reference', (s) => { s.layers[0].inputs = [3]; },
    /layers\[0\] \(Dense\): input id 3 is not a model input or an earlier node's output \(ids 0\.\.1\)/],
  ['a node reading itself (a cycle)', (s) => { s.layers[1].inputs = [3]; },
    /layers\[1\] \(Dense\): input id 3 is not a model input or an earlier node's output \(ids 0\.\.2\)/],
  ['a merge with one input', (s) => { s.layers[2].inputs = [2]; delete s.layers[2].ins; },
    /layers\[2\] \(Add\): a merge takes 2 or more inputs, received 1/],
  ['two ids on a Dense', (s) => { s.layers[0].inputs = [0, 1]; },
    /layers\[0\] \(Dense\): takes 1 input, received 2 ids/],
  ['shape mismatch of an Add', (s) => { s.layers[1].units = 4; s.layers[1].out = [1, 1, 4]; s.layers[2].ins[1] = [1, 1, 4]; },
    /layers\[2\] \(Add\): inputs must have the same shape: input id 2 is \[1, 1, 5\] and input id 3 is \[1, 1, 4\]/],
  ['in not matching its input', (s) => { s.layers[3].in = [1, 1, 6]; },
    /layers\[3\] \(Dense\): in \[1, 1, 6\] does not match the shape \[1, 1, 5\] of input id 4/],
  ['an output that is a model input', (s) => { s.outputs = [1]; },
    /outputs\[0\]: id 1 is not a node's output \(ids 2\.\.5\)/],
  ['an output listed twice', (s) => { s.outputs = [5, 5]; s.outputLosses.push({ loss: 3 }); },
    /outputs\[1\]: id 5 is listed twice/],
  ['losses not matching outputs', (s) => { s.outputLosses.push({ loss: 3 }); },
    /outputLosses: has 2 entries for 1 outputs/],
  ['concatenation off its axis', (s) => { s.layers[2].kind = K.Concatenate; s.layers[2].axis = 0; },
    /layers\[2\] \(Concatenate\): out must be \[2, 1, 5\], received \[1, 1, 5\]/],
  ['a partial parameter overlap', (s) => {
    s.vars = [{ offset: 0, size: 200, trainable: true }];
    s.layers[1].kernel = s.layers[0].kernel + 1;
  },
    /layers\[\d\]: kernel overlaps layers\[\d\]\.kernel/],
];

for (const [what, edit, re] of ERRORS) {
  t.test(`errors: ${what}: the same message on every backend`, (tt) => {
    const msgs = backends.map((k) => {
      const spec = sharedNet();
      spec.layers[1].kernel += 0; // (shared offsets stay)
      const b = JSON.parse(JSON.stringify(spec));
      b.layers[1].kernel = spec.layers[0].kernel; // keep the shared kernel
      edit(b);
      try {
        k.createNetwork(b, new Float32Array(1000), new Float32Array(1000));
      } catch (e) {
        return e.message;
      }
      return 'no error';
    });
    for (const m of msgs) tt.match(m, re, what);
    tt.equal(new Set(msgs).size, 1, `one message: ${msgs[0]}`);
    tt.end();
  });
}

// ---- PyTorch-made references (test/fixtures/make_graph_fixtures.py -> graph_fixtures.bin) ----------

const path = require('path');
const { readFixtures } = require('./helpers/fixtures');

const FIXTURES = readFixtures(path.join(__dirname, 'fixtures', 'graph_fixtures.bin'));

function closeTo(tt, got, want, label, rtol = 1e-4) {
  let scale = 0, err = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  tt.ok(err <= rtol * Math.max(scale, 1e-3), `${label}: max error ${err.toExponential(2)} (scale ${scale.toExponential(2)})`);
}

for (const k of backends) {
  for (const fx of FIXTURES) {
    t.test(`${k.name}: PyTorch reference: ${fx.name}`, (tt) => {
      const { spec, n } = fx.config;
      const I = spec.inputs.length, Kout = spec.outputs.length;
      const params = fx.t.params.slice();
      const net = k.createNetwork(spec, params, new Float32Array(0));
      const xs = Array.from({ length: I }, (_, i) => fx.t[`x${i}`]);
      const ys = Array.from({ length: Kout }, (_, j) => fx.t[`y${j}`]);
      const loss = net.forwardBackward(xs, ys, null, n);
      tt.ok(Math.abs(loss - fx.t.loss[0]) <= 1e-5 * Math.max(1, Math.abs(fx.t.loss[0])), `total loss ${loss} vs ${fx.t.loss[0]}`);
      const ls = new Float32Array(Kout);
      net.getLosses(ls);
      closeTo(tt, ls, fx.t.losses, 'per-output losses', 1e-5);
      for (let j = 0; j < Kout; j++) {
        const o = new Float32Array(fx.t[`out${j}`].length);
        net.getOutput(o, j);
        closeTo(tt, o, fx.t[`out${j}`], `output ${j}`);
      }
      const g = new Float32Array(net.paramCount);
      net.getGrads(g);
      closeTo(tt, g, fx.t.grads, 'every weight gradient', 2e-4);
      net.dispose();
      tt.end();
    });
  }
}

// ---- a ResNet-20-style net trains -----------------------------------------------------------------

const { resnetSpec } = require('./helpers/graph');

for (const k of backends.filter((b) => b.name === 'native')) {
  t.test(`${k.name}: a ResNet-20-style CIFAR-shaped net trains on synthetic data (falling loss)`, (tt) => {
    const spec = resnetSpec();
    tt.equal(spec.layers.filter((L) => L.kind === K.Conv2D).length, 21, '19 3x3 convs + 2 projections');
    const { net } = make(k, spec);
    // 10 classes, each a fixed random 32x32x3 pattern plus noise
    const { makeRng } = require('./helpers/common');
    const rng = makeRng(5);
    const size = 32 * 32 * 3, n = 16;
    const protos = Array.from({ length: 10 }, () => rng.randn(size));
    const batch = () => {
      const x = new Float32Array(n * size), y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        y[i] = rng.int(0, 9);
        for (let e = 0; e < size; e++) x[i * size + e] = protos[y[i]][e] + 0.5 * rng.normal();
      }
      return { x, y };
    };
    const losses = [];
    for (let step = 1; step <= 16; step++) {
      const { x, y } = batch();
      losses.push(net.trainStep(x, y, null, n, 0.05, step));
    }
    const first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[13] + losses[14] + losses[15]) / 3;
    tt.ok(losses.every(Number.isFinite), 'finite losses');
    tt.ok(last < 0.5 * first, `loss falls: ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    const bytes = net.arenaBytes();
    net.trainStep(batch().x, batch().y, null, n, 0.05, 17);
    tt.equal(net.arenaBytes(), bytes, 'no allocation after the first batch');
    net.dispose();
    tt.end();
  });
}
