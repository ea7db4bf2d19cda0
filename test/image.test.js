// tf.image ops against @tensorflow/tfjs (cpu backend) on random shapes, both coordinate
// conventions, 3-D and 4-D, int32 in, 1x1 edges, out-of-image crops; TF.js-style errors.
'use strict';
const t = require('tap');
const tf = require('..');
const tfjs = require('@tensorflow/tfjs');

let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const randomImage = (shape, dtype = 'float32') => {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = dtype === 'int32' ? Int32Array.from({ length: n }, () => randInt(0, 255)) : Float32Array.from({ length: n }, () => rand() * 10 - 5);
  return { ours: new tf.Tensor(v, shape, dtype), theirs: tfjs.tensor(v, shape, dtype) };
};

/** Same shape, same dtype, values within tol (relative to magnitude 1). */
function same(t, ours, theirs, what, tol = 1e-5) {
  t.same(ours.shape, theirs.shape, `${what}: shape`);
  t.equal(ours.dtype, theirs.dtype, `${what}: dtype`);
  const a = ours.dataSync();
  const b = theirs.dataSync();
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  t.ok(worst <= tol, `${what}: max rel diff ${worst}`);
}

t.before(async () => { await tfjs.setBackend('cpu'); });

const MODES = [[false, false], [true, false], [false, true]];

t.test('resizeBilinear and resizeNearestNeighbor match TF.js', async (t) => {
  const cases = [
    [[1, 1, 1, 1], [1, 1]], [[1, 1, 1, 3], [4, 5]], [[2, 5, 7, 3], [1, 1]], [[1, 4, 4, 1], [8, 8]],
    [[3, 6, 9, 2], [4, 3]], [[5, 3, 1], [7, 2]], [[2, 8, 8, 4], [8, 8]], [[1, 2, 3, 1], [1, 7]],
  ];
  for (let i = 0; i < 6; i++) cases.push([[randInt(1, 3), randInt(1, 9), randInt(1, 9), randInt(1, 4)], [randInt(1, 12), randInt(1, 12)]]);
  for (const [shape, size] of cases) {
    for (const dtype of ['float32', 'int32']) {
      const { ours, theirs } = randomImage(shape, dtype);
      for (const [ac, hp] of MODES) {
        const what = `${dtype} [${shape}] -> [${size}] alignCorners ${ac} halfPixelCenters ${hp}`;
        same(t, tf.image.resizeBilinear(ours, size, ac, hp), tfjs.image.resizeBilinear(theirs, size, ac, hp), `bilinear ${what}`);
        same(t, tf.image.resizeNearestNeighbor(ours, size, ac, hp), tfjs.image.resizeNearestNeighbor(theirs, size, ac, hp), `nearest ${what}`, 0);
      }
    }
  }
  const { ours } = randomImage([2, 3, 3]);
  t.same(tf.image.resizeBilinear(ours, [4, 4]).shape, [4, 4, 3], 'defaults, 3-D stays 3-D');
});

t.test('flipLeftRight and rgbToGrayscale match TF.js', async (t) => {
  for (const shape of [[1, 1, 1, 1], [2, 3, 5, 3], [1, 4, 1, 2], [3, 2, 7, 1]]) {
    for (const dtype of ['float32', 'int32']) {
      const { ours, theirs } = randomImage(shape, dtype);
      // TF.js refuses int32 here (TF does not); ours keeps int32, compared with TF.js on the same values as float32.
      const ref = tfjs.image.flipLeftRight(theirs.toFloat());
      same(t, tf.image.flipLeftRight(ours), dtype === 'int32' ? ref.toInt() : ref, `flip ${dtype} [${shape}]`, 0);
    }
  }
  for (const shape of [[1, 3], [4, 3], [2, 5, 3], [1, 1, 1, 3], [2, 3, 4, 3], [1, 2, 2, 2, 3]]) {
    for (const dtype of ['float32', 'int32']) {
      const { ours, theirs } = randomImage(shape, dtype);
      same(t, tf.image.rgbToGrayscale(ours), tfjs.image.rgbToGrayscale(theirs), `gray ${dtype} [${shape}]`, dtype === 'int32' ? 0 : 1e-6);
    }
  }
});

t.test('cropAndResize matches TF.js, incl. flipped and out-of-image boxes', async (t) => {
  const boxesFixed = [[0, 0, 1, 1], [0.2, 0.1, 0.7, 0.9], [0.8, 0.9, 0.1, 0.2], [-0.5, -0.3, 1.4, 1.2], [0.5, 0.5, 0.5, 0.5], [1.2, 1.1, 1.5, 1.9]];
  for (const [shape, crop] of [[[2, 6, 7, 3], [4, 5]], [[1, 1, 1, 2], [3, 3]], [[3, 5, 4, 1], [1, 1]], [[1, 8, 8, 2], [1, 6]], [[2, 4, 9, 1], [7, 1]]]) {
    for (const dtype of ['float32', 'int32']) {
      const { ours, theirs } = randomImage(shape, dtype);
      const boxes = [...boxesFixed];
      for (let i = 0; i < 4; i++) boxes.push([rand() * 1.6 - 0.3, rand() * 1.6 - 0.3, rand() * 1.6 - 0.3, rand() * 1.6 - 0.3]);
      const ind = boxes.map((_, i) => i % shape[0]);
      for (const method of ['bilinear', 'nearest']) {
        for (const ext of [0, -3.5]) {
          const o = tf.image.cropAndResize(ours, tf.tensor2d(boxes.flat(), [boxes.length, 4]), tf.tensor1d(ind, 'int32'), crop, method, ext);
          const r = tfjs.image.cropAndResize(theirs, tfjs.tensor2d(boxes), tfjs.tensor1d(ind, 'int32'), crop, method, ext);
          same(t, o, r, `crop ${dtype} [${shape}] -> [${crop}] ${method} extrapolation ${ext}`);
        }
      }
    }
  }
  const { ours } = randomImage([1, 3, 3, 1]);
  const d = tf.image.cropAndResize(ours, tf.tensor2d([0, 0, 1, 1], [1, 4]), tf.tensor1d([0], 'int32'), [3, 3]);
  t.same(Array.from(d.dataSync()), Array.from(ours.dataSync()), 'defaults: the whole image at its own size is the identity');
});

t.test('bad arguments get TF.js-style errors', async (t) => {
  const im = new tf.Tensor(new Float32Array(12), [1, 2, 2, 3], 'float32');
  const x2 = new tf.Tensor(new Float32Array(4), [2, 2], 'float32');
  t.throws(() => tf.image.resizeBilinear(x2, [2, 2]), /Error in resizeBilinear: images must be rank 3 or 4, but got rank 2/);
  t.throws(() => tf.image.resizeBilinear(im, [2]), /resizeBilinear: size must be \[height, width\]/);
  t.throws(() => tf.image.resizeBilinear(im, [0, 2]), /size must hold positive integers, but got \[0,2\]/);
  t.throws(() => tf.image.resizeBilinear(im, [2, 2], true, true), /If halfPixelCenters is true, alignCorners must be false/);
  t.throws(() => tf.image.resizeNearestNeighbor(im, [2, 2], 'yes'), /alignCorners must be a boolean/);
  t.throws(() => tf.image.resizeNearestNeighbor([[1]], [2, 2]), /images must be a Tensor/);
  t.throws(() => tf.image.flipLeftRight(new tf.Tensor(new Float32Array(12), [2, 2, 3], 'float32')), /Error in flipLeftRight: image must be rank 4, but got rank 3/);
  t.throws(() => tf.image.rgbToGrayscale(im.reshape([1, 3, 4])), /last dimension of an RGB image should be size 3, but got size 4/);
  t.throws(() => tf.image.rgbToGrayscale(new tf.Tensor(new Float32Array(3), [3], 'float32')), /at least rank 2/);
  const boxes = tf.tensor2d([0, 0, 1, 1], [1, 4]);
  const ind = tf.tensor1d([0], 'int32');
  t.throws(() => tf.image.cropAndResize(im, tf.tensor2d([0, 0, 1], [1, 3]), ind, [2, 2]), /boxes must be have size \[1,4\] but had shape \[1,3\]/);
  t.throws(() => tf.image.cropAndResize(im, boxes, tf.tensor1d([0, 0], 'int32'), [2, 2]), /boxInd must be have size \[1\]/);
  t.throws(() => tf.image.cropAndResize(im, boxes, tf.tensor1d([1], 'int32'), [2, 2]), /boxInd\[0\] is 1, outside the image batch \[0, 1\)/);
  t.throws(() => tf.image.cropAndResize(im, boxes, ind, [2, 2], 'bicubic'), /method must be bilinear or nearest, but was "bicubic"/);
  t.throws(() => tf.image.cropAndResize(im, boxes, ind, [0, 2]), /cropSize must hold positive integers/);
  t.throws(() => tf.image.resizeBilinear(im, [100000, 100000]), /Error in resizeBilinear: the output \[1,100000,100000,3\] would hold 30000000000 values/);
  t.throws(() => tf.image.resizeNearestNeighbor(im, [100000, 100000]), /Error in resizeNearestNeighbor: the output/);
  t.throws(() => tf.image.cropAndResize(im, boxes, ind, [100000, 100000]), /Error in cropAndResize: the output/);
});
