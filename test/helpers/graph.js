'use strict';
// Graph NetworkSpecs for the engine tests: a small builder that tracks tensor ids and shapes and
// lays out parameter offsets (a shared node reuses another node's offsets), deterministic
// parameters, and batches for every input and output.

const { makeRng } = require('./common');

const K = {
  Conv2D: 0, Dense: 1, MaxPool2D: 2, AvgPool2D: 3, GlobalAvgPool2D: 4, GlobalMaxPool2D: 5, Flatten: 6,
  Dropout: 7, BatchNorm: 8, Activation: 9, Add: 10, Subtract: 11, Multiply: 12, Average: 13, Maximum: 14,
  Minimum: 15, Concatenate: 16, Dot: 17, Reshape: 18,
};

class GraphBuilder {
  /** inputs: per-sample shapes [H, W, C] of the model inputs. */
  constructor(inputs) {
    this.inputs = inputs.map((s) => s.slice());
    this.shapes = inputs.map((s) => s.slice());
    this.layers = [];
    this.vars = [];
    this.offset = 0;
  }

  param(size, trainable = true) {
    const o = this.offset;
    this.vars.push({ offset: o, size, trainable });
    this.offset += size;
    return o;
  }

  node(spec, ids) {
    spec.inputs = ids;
    spec.in = this.shapes[ids[0]].slice();
    if (ids.length > 1) spec.ins = ids.map((i) => this.shapes[i].slice());
    this.layers.push(spec);
    this.shapes.push(spec.out.slice());
    return this.shapes.length - 1;
  }

  /** The params of node j (its index in layers) reused by a new node. */
  shareOf(j) {
    const L = this.layers[j];
    const o = {};
    for (const f of ['kernel', 'bias', 'gamma', 'beta', 'movingMean', 'movingVar']) if (L[f] !== undefined) o[f] = L[f];
    return o;
  }

  conv(id, filters, { k = 3, s = 1, same = true, act = 0, bias = true, share } = {}) {
    const [H, W, C] = this.shapes[id];
    const out = same ? [Math.ceil(H / s), Math.ceil(W / s), filters]
      : [Math.floor((H - k) / s) + 1, Math.floor((W - k) / s) + 1, filters];
    const p = share !== undefined ? this.shareOf(share)
      : { kernel: this.param(k * k * C * filters), bias: bias ? this.param(filters) : -1 };
    return this.node({ kind: K.Conv2D, out, kh: k, kw: k, sh: s, sw: s, padding: same ? 1 : 0, filters, act, ...p }, [id]);
  }

  dense(id, units, { act = 0, bias = true, share } = {}) {
    const [H, W, C] = this.shapes[id];
    const p = share !== undefined ? this.shareOf(share)
      : { kernel: this.param(C * units), bias: bias ? this.param(units) : -1 };
    return this.node({ kind: K.Dense, out: [H, W, units], units, act, ...p }, [id]);
  }

  bn(id, { momentum = 0.9, eps = 1e-3 } = {}) {
    const C = this.shapes[id][2];
    const p = { gamma: this.param(C), beta: this.param(C) };
    const s = this.offset;
    this.vars.push({ offset: s, size: 2 * C, trainable: false });
    this.offset += 2 * C;
    return this.node({ kind: K.BatchNorm, out: this.shapes[id].slice(), momentum, eps, ...p, movingMean: s, movingVar: s + C }, [id]);
  }

  act(id, act, alpha = 0) { return this.node({ kind: K.Activation, out: this.shapes[id].slice(), act, alpha }, [id]); }

  maxpool(id, k = 2) {
    const [H, W, C] = this.shapes[id];
    return this.node({ kind: K.MaxPool2D, out: [Math.floor(H / k), Math.floor(W / k), C], kh: k, kw: k, sh: k, sw: k }, [id]);
  }

  gap(id) { return this.node({ kind: K.GlobalAvgPool2D, out: [1, 1, this.shapes[id][2]] }, [id]); }

  flatten(id) {
    const [H, W, C] = this.shapes[id];
    return this.node({ kind: K.Flatten, out: [1, 1, H * W * C] }, [id]);
  }

  reshape(id, out) { return this.node({ kind: K.Reshape, out }, [id]); }

  dropout(id, rate) { return this.node({ kind: K.Dropout, out: this.shapes[id].slice(), rate }, [id]); }

  merge(kind, ids, { axis = 2, normalize = false } = {}) {
    let out = this.shapes[ids[0]].slice();
    if (kind === K.Concatenate) {
      for (let i = 1; i < ids.length; i++) out[axis] += this.shapes[ids[i]][axis];
    } else if (kind === K.Dot) {
      out = [1, 1, 1];
    }
    const spec = { kind, out };
    if (kind === K.Concatenate) spec.axis = axis;
    if (kind === K.Dot) spec.normalize = normalize;
    return this.node(spec, ids);
  }

  /** The spec: outputs (tensor ids) with their losses [{loss, fromLogits, labelSmoothing, weight}]. */
  spec(outputs, outputLosses, opt = { kind: 0 }, seed = 7) {
    return {
      layers: this.layers, vars: this.vars, inputs: this.inputs, outputs, outputLosses,
      loss: outputLosses[0].loss, opt, seed,
    };
  }
}

/** Deterministic parameters for a spec: kernels ~ U(-a, a) with a = sqrt(3 / fanIn), BN near identity. */
function graphParams(spec, seed = 1) {
  const rng = makeRng(seed);
  let count = 0;
  for (const v of spec.vars) count = Math.max(count, v.offset + v.size);
  const p = new Float32Array(count);
  const filled = new Set();
  for (const L of spec.layers) {
    const C = L.in[2];
    if (L.kind === K.Conv2D || L.kind === K.Dense) {
      if (filled.has(L.kernel)) continue;
      filled.add(L.kernel);
      const fanIn = L.kind === K.Conv2D ? L.kh * L.kw * C : C;
      const size = L.kind === K.Conv2D ? L.kh * L.kw * C * L.filters : C * L.units;
      const a = Math.sqrt(3 / fanIn);
      for (let i = 0; i < size; i++) p[L.kernel + i] = (rng.uniform() * 2 - 1) * a;
      const units = L.kind === K.Conv2D ? L.filters : L.units;
      if (L.bias >= 0) for (let i = 0; i < units; i++) p[L.bias + i] = (rng.uniform() * 2 - 1) * 0.1;
    } else if (L.kind === K.BatchNorm) {
      for (let i = 0; i < C; i++) {
        p[L.gamma + i] = 1 + (rng.uniform() - 0.5) * 0.2;
        p[L.beta + i] = (rng.uniform() - 0.5) * 0.2;
        p[L.movingMean + i] = 0;
        p[L.movingVar + i] = 1;
      }
    }
  }
  return p;
}

/** n samples per input and labels per output (one-hot for CCE, class ids for SCCE, values otherwise). */
function graphBatch(spec, n, seed = 2) {
  const rng = makeRng(seed);
  const size = (s) => s[0] * s[1] * s[2];
  const shapes = spec.inputs.slice();
  for (const L of spec.layers) shapes.push(L.out);
  const xs = spec.inputs.map((s) => Float32Array.from({ length: n * size(s) }, () => rng.normal()));
  const ys = spec.outputs.map((id, k) => {
    const D = size(shapes[id]), loss = spec.outputLosses[k].loss;
    if (loss === 1) return Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * D));
    if (loss === 0) {
      const y = new Float32Array(n * D);
      for (let i = 0; i < n; i++) y[i * D + Math.floor(rng.uniform() * D)] = 1;
      return y;
    }
    if (loss === 2) return Float32Array.from({ length: n * D }, () => (rng.uniform() < 0.5 ? 0 : 1));
    return Float32Array.from({ length: n * D }, () => rng.normal());
  });
  return { xs, ys, outSizes: spec.outputs.map((id) => size(shapes[id])) };
}

module.exports = { K, GraphBuilder, graphParams, graphBatch };

/**
 * A ResNet-20-style CIFAR net (He et al. 2016, section 4.2): 3x3 conv 16, then 3 stages of `blocks`
 * residual blocks (conv-BN-relu-conv-BN + shortcut, relu) with 16, 32, 64 filters, the first block
 * of stages 2 and 3 striding by 2 with a 1x1 projection shortcut; global average pooling; softmax.
 */
function resnetSpec({ input = [32, 32, 3], blocks = 3, widths = [16, 32, 64], classes = 10, opt = { kind: 1, momentum: 0.9 } } = {}) {
  const b = new GraphBuilder([input]);
  const cbr = (id, f, s = 1) => b.act(b.bn(b.conv(id, f, { s, bias: false })), 1);
  let x = cbr(0, widths[0]);
  widths.forEach((f, stage) => {
    for (let i = 0; i < blocks; i++) {
      const s = stage > 0 && i === 0 ? 2 : 1;
      const y = b.bn(b.conv(cbr(x, f, s), f, { bias: false }));
      const short = s === 1 ? x : b.bn(b.conv(x, f, { k: 1, s: 2, bias: false }));
      x = b.act(b.merge(K.Add, [y, short]), 1);
    }
  });
  const o = b.dense(b.gap(x), classes, { act: 10 });
  return b.spec([o], [{ loss: 1 }], opt);
}

module.exports.resnetSpec = resnetSpec;
