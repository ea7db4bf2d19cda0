'use strict';
// Shared pieces of the Functional API tests: graph models built by one function for both this
// library and @tensorflow/tfjs (the APIs are the same), weights copied by layer name, the
// backends that run graph networks, and a relative difference.

const tf = require('../..');

/** Backends whose engine accepts the graph form of the NetworkSpec (js always; native once it does). */
function graphBackends(t) {
  const out = ['js'];
  try {
    tf.setBackend('native');
    const x = tf.input({ shape: [2] });
    const m = tf.model({ inputs: x, outputs: tf.layers.add().apply([x, x]) });
    m.predict(tf.zeros([1, 2]));
    out.push('native');
  } catch (e) {
    t.comment(`native backend skipped for graph models: ${e.message.split('\n')[0]}`);
  } finally {
    tf.setBackend('js');
  }
  return out;
}

/** The layer named `name` in a TF.js model, looking into nested models. */
function findLayer(model, name) {
  for (const l of model.layers) {
    if (l.name === name) return l;
    if (l.layers) {
      const inner = findLayer(l, name);
      if (inner) return inner;
    }
  }
  return null;
}

/** Sets every weight of the TF.js twin from ours, layer by layer (matched by name). */
function copyWeightsToTfjs(ours, theirs, tfjs) {
  ours.build();
  for (const l of ours.weightLayers()) {
    if (!l.weightSpecs.length) continue;
    const tl = findLayer(theirs, l.name);
    if (!tl) throw new Error(`no TF.js layer named ${l.name}`);
    tl.setWeights(l.getWeights().map((w) => tfjs.tensor(w.dataSync(), w.shape)));
  }
}

/** Our weights against the TF.js twin's, layer by layer: the largest relative difference and where. */
function weightsDiff(ours, theirs) {
  let worst = 0;
  let where = '';
  for (const l of ours.weightLayers()) {
    if (!l.weightSpecs.length) continue;
    const tw = findLayer(theirs, l.name).getWeights();
    l.getWeights().forEach((w, i) => {
      const d = maxRelDiff(w.dataSync(), tw[i].dataSync());
      if (d > worst) {
        worst = d;
        where = `${l.name}/${l.weightSpecs[i].name}`;
      }
    });
  }
  return { worst, where };
}

function maxRelDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return a.length === b.length ? m : Infinity;
}

/** Graph models, built the same way with either library (`lib` is tf or tfjs). */
const seeded = {
  /** conv-bn-relu-conv + identity skip, relu, global average pooling, softmax. */
  residual(lib) {
    const x = lib.input({ shape: [8, 8, 3], name: 'img' });
    // no bias before batch norm: its gradient is zero, and Adam would amplify the rounding noise
    let h = lib.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, name: 'c1' }).apply(x);
    h = lib.layers.batchNormalization({ name: 'bn1' }).apply(h);
    h = lib.layers.activation({ activation: 'relu', name: 'r1' }).apply(h);
    h = lib.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c2' }).apply(h);
    h = lib.layers.add({ name: 'skip' }).apply([x, h]);
    h = lib.layers.activation({ activation: 'relu', name: 'r2' }).apply(h);
    h = lib.layers.globalAveragePooling2d({ name: 'gap' }).apply(h);
    const out = lib.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(h);
    return lib.model({ inputs: x, outputs: out, name: 'residual' });
  },
  /** An image branch and a vector branch, concatenated. */
  twoInput(lib) {
    const img = lib.input({ shape: [6, 6, 2], name: 'img' });
    const vec = lib.input({ shape: [4], name: 'vec' });
    let a = lib.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', name: 'conv' }).apply(img);
    a = lib.layers.globalAveragePooling2d({ name: 'gap' }).apply(a);
    const b = lib.layers.dense({ units: 3, activation: 'tanh', name: 'vd' }).apply(vec);
    const c = lib.layers.concatenate({ name: 'cat' }).apply([a, b]);
    const out = lib.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(c);
    return lib.model({ inputs: [img, vec], outputs: out, name: 'two_input' });
  },
  /** One dense layer applied to two inputs; multiply, maximum and average of the two calls (TF.js has no subtract layer). */
  shared(lib) {
    const a = lib.input({ shape: [5], name: 'a' });
    const b = lib.input({ shape: [5], name: 'b' });
    const sh = lib.layers.dense({ units: 4, activation: 'relu', name: 'sh' });
    const sa = sh.apply(a);
    const sb = sh.apply(b);
    const p = lib.layers.multiply({ name: 'mul' }).apply([sa, sb]);
    const q = lib.layers.maximum({ name: 'max' }).apply([sa, sb]);
    const r = lib.layers.average({ name: 'avg' }).apply([p, q, sa]);
    const out = lib.layers.dense({ units: 1, name: 'out' }).apply(r);
    return lib.model({ inputs: [a, b], outputs: out, name: 'shared' });
  },
  /** Two conv branches concatenated on the channel axis, then pooling. */
  concat(lib) {
    const x = lib.input({ shape: [6, 6, 2], name: 'x' });
    const a = lib.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', name: 'ca' }).apply(x);
    const b = lib.layers.conv2d({ filters: 2, kernelSize: 1, name: 'cb' }).apply(x);
    let h = lib.layers.concatenate({ axis: -1, name: 'cat' }).apply([a, b, x]);
    h = lib.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(h);
    h = lib.layers.flatten({ name: 'flat' }).apply(h);
    const out = lib.layers.dense({ units: 3, name: 'out' }).apply(h);
    return lib.model({ inputs: x, outputs: out, name: 'concat' });
  },
  /** A Sequential used as a layer, minimum, a cosine dot product and a reshape. */
  nested(lib) {
    const inner = lib.sequential({
      name: 'inner',
      layers: [lib.layers.dense({ units: 5, inputShape: [6], activation: 'tanh', name: 'i1' }), lib.layers.dense({ units: 4, name: 'i2' })],
    });
    const x = lib.input({ shape: [6], name: 'x' });
    const p = inner.apply(x);
    const q = lib.layers.dense({ units: 4, name: 'q' }).apply(x);
    const mn = lib.layers.minimum({ name: 'min' }).apply([p, q]);
    const d = lib.layers.dot({ axes: -1, normalize: true, name: 'cos' }).apply([p, q]);
    const c = lib.layers.concatenate({ name: 'cat' }).apply([mn, d]);
    const r = lib.layers.reshape({ targetShape: [5, 1], name: 'rs' }).apply(c);
    const f = lib.layers.flatten({ name: 'fl' }).apply(r);
    const out = lib.layers.dense({ units: 2, name: 'out' }).apply(f);
    return lib.model({ inputs: x, outputs: out, name: 'nested' });
  },
};

module.exports = { graphBackends, copyWeightsToTfjs, weightsDiff, maxRelDiff, findLayer, seeded };
