// A small learnable image task: 12x12x1 images with a bright 3x3 blob in one of four quadrants;
// the class is the quadrant. Deterministic from the seed.
'use strict';
const tf = require('../..');

function quadrants(n, seed = 1) {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const H = 12;
  const x = new Float32Array(n * H * H);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rnd() * 4);
    labels[i] = c;
    for (let p = 0; p < H * H; p++) x[i * H * H + p] = rnd() * 0.3;
    const r0 = (c >> 1) * 6 + 1 + Math.floor(rnd() * 3);
    const c0 = (c & 1) * 6 + 1 + Math.floor(rnd() * 3);
    for (let dr = 0; dr < 3; dr++) for (let dc = 0; dc < 3; dc++) x[i * H * H + (r0 + dr) * H + c0 + dc] = 1;
  }
  return {
    x: tf.tensor(x, [n, H, H, 1]),
    yInt: tf.tensor(labels, [n], 'int32'),
    y: tf.oneHot(tf.tensor(labels, [n], 'int32'), 4),
  };
}

/** The seed example's architecture, sized for the toy task. */
function seedModel(opts = {}) {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [12, 12, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: opts.logits ? 'linear' : 'softmax' }),
    ],
  });
}

module.exports = { quadrants, seedModel };
