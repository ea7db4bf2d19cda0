'use strict';
// The two reference models as plain layer tables, shared by every contender's worker (and mirrored
// layer for layer by bench/pytorch_bench.py), plus their FLOP counts.
//
// Layers: conv {filters, kernel, padding: 'valid'|'same', act: 'relu'}, pool {size}, flatten,
// dense {units, act: 'relu'|'softmax'}. Input 28x28x1 (NHWC for us and TF.js, NCHW for PyTorch).

const MODELS = {
  // The classic Keras example (lib/cli/presets.ts seedModel).
  seed: [
    { type: 'conv', filters: 32, kernel: 3, padding: 'valid', act: 'relu' },
    { type: 'pool', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10, act: 'softmax' },
  ],
  // The "2 Conv + pooling" net (lib/cli/presets.ts convnetModel).
  convnet: [
    { type: 'conv', filters: 32, kernel: 5, padding: 'same', act: 'relu' },
    { type: 'pool', size: 2 },
    { type: 'conv', filters: 64, kernel: 5, padding: 'same', act: 'relu' },
    { type: 'pool', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 1024, act: 'relu' },
    { type: 'dense', units: 10, act: 'softmax' },
  ],
};

const INPUT = [28, 28, 1];
const CLASSES = 10;

/**
 * Multiply-add FLOPs (2 per MAC) per image of the convolutions and dense layers:
 *   forward: the forward GEMMs;
 *   train:   forward + weight gradient + input gradient, except that the first layer has no input
 *            gradient (no contender computes one: the input needs no gradient).
 * Pooling, activations, loss and the optimizer are not counted (they are memory-bound and small).
 */
function flops(name) {
  let [h, w, c] = INPUT;
  let forward = 0;
  let train = 0;
  let first = true;
  for (const l of MODELS[name]) {
    let f = 0;
    if (l.type === 'conv') {
      const oh = l.padding === 'same' ? h : h - l.kernel + 1;
      const ow = l.padding === 'same' ? w : w - l.kernel + 1;
      f = 2 * oh * ow * l.filters * l.kernel * l.kernel * c;
      [h, w, c] = [oh, ow, l.filters];
    } else if (l.type === 'pool') {
      [h, w] = [Math.floor(h / l.size), Math.floor(w / l.size)];
    } else if (l.type === 'flatten') {
      [h, w, c] = [1, 1, h * w * c];
    } else if (l.type === 'dense') {
      f = 2 * c * l.units;
      c = l.units;
    }
    if (f) {
      forward += f;
      train += f * (first ? 2 : 3);
      first = false;
    }
  }
  return { forward, train };
}

/** Deterministic pseudo-random floats in [0, 1) (a small LCG: data only has to be the same everywhere). */
function randomData(n, seed = 1) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296;
  }
  return a;
}

/** n random class indices in [0, CLASSES) and their one-hot rows. */
function randomLabels(n, seed = 2) {
  const idx = new Int32Array(n);
  const onehot = new Float32Array(n * CLASSES);
  const r = randomData(n, seed);
  for (let i = 0; i < n; i++) {
    idx[i] = Math.min(CLASSES - 1, Math.floor(r[i] * CLASSES));
    onehot[i * CLASSES + idx[i]] = 1;
  }
  return { idx, onehot };
}

module.exports = { MODELS, INPUT, CLASSES, flops, randomData, randomLabels };

/**
 * ResNet-20 for CIFAR-shaped input (He et al. 2016, section 4.2): a 3x3 conv (16) with batch norm
 * and ReLU, 3 stages of `blocks` residual blocks (16, 32, 64 filters; the first block of stages 2
 * and 3 halves the size with stride 2 and a 1x1 stride-2 conv + batch norm on the shortcut), global
 * average pooling, dense softmax. blocks = 3 is ResNet-20. Built with `lib` = this library or
 * TF.js (same Functional API); bench/pytorch_bench.py builds the same net.
 */
function resnet20(lib, { input = [32, 32, 3], classes = 10, blocks = 3, width = 16 } = {}) {
  const conv = (filters, kernel, strides, name) => lib.layers.conv2d({ filters, kernelSize: kernel, strides, padding: 'same', useBias: false, name });
  const bn = (name) => lib.layers.batchNormalization({ name });
  const relu = (name) => lib.layers.activation({ activation: 'relu', name });
  const x = lib.input({ shape: input, name: 'image' });
  let h = relu('stem_relu').apply(bn('stem_bn').apply(conv(width, 3, 1, 'stem_conv').apply(x)));
  for (let s = 0; s < 3; s++) {
    const filters = width * 2 ** s;
    for (let b = 0; b < blocks; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      const p = `s${s + 1}b${b + 1}`;
      let r = relu(`${p}_relu1`).apply(bn(`${p}_bn1`).apply(conv(filters, 3, stride, `${p}_conv1`).apply(h)));
      r = bn(`${p}_bn2`).apply(conv(filters, 3, 1, `${p}_conv2`).apply(r));
      const short = stride === 1 ? h : bn(`${p}_proj_bn`).apply(conv(filters, 1, stride, `${p}_proj`).apply(h));
      h = relu(`${p}_relu2`).apply(lib.layers.add({ name: `${p}_add` }).apply([r, short]));
    }
  }
  h = lib.layers.globalAveragePooling2d({ name: 'gap' }).apply(h);
  const out = lib.layers.dense({ units: classes, activation: 'softmax', name: 'probs' }).apply(h);
  return lib.model({ inputs: x, outputs: out, name: 'resnet20' });
}

/** Multiply-add FLOPs per 32x32 image of resnet20 (forward; training about 3x). */
function resnet20Flops({ input = [32, 32, 3], blocks = 3, width = 16, classes = 10 } = {}) {
  let [h, w, c] = input;
  let f = 2 * h * w * width * 9 * c;
  c = width;
  for (let s = 0; s < 3; s++) {
    const filters = width * 2 ** s;
    for (let b = 0; b < blocks; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      const oh = Math.ceil(h / stride);
      const ow = Math.ceil(w / stride);
      f += 2 * oh * ow * filters * 9 * c + 2 * oh * ow * filters * 9 * filters;
      if (stride !== 1) f += 2 * oh * ow * filters * c;
      [h, w, c] = [oh, ow, filters];
    }
  }
  return f + 2 * c * classes;
}

module.exports.resnet20 = resnet20;
module.exports.resnet20Flops = resnet20Flops;
