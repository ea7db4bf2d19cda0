// Port of tensorflow/tfjs-examples `custom-layer` (custom_layer.js, custom_mnist_model.js,
// index.js): a custom layer (Antirectifier: centre, then split into relu(x) and relu(-x)
// channels) written by subclassing tf.layers.Layer with computeOutputShape and call, applied to
// an image tensor and split with tf.split, and used twice inside a Sequential convnet trained
// with fit.
// The only change from a TF.js script is the import. Replaced: the data source (the original
// reads a cat photo with tf.fromPixels and trains on MNIST from the mnist example; here a
// synthetic 32x32 RGB tensor and 384 synthetic digits), the canvases (a sum of each output half)
// and the training settings (adam, 1 epoch), which the example leaves to the mnist demo.
'use strict';
const tf = require('../..');
const { digitImages, rng } = require('./synthetic');
const { runExample } = require('./harness');

function defineAntirectifier() {
  class Antirectifier extends tf.layers.Layer {
    constructor() {
      super({});
      this.supportsMasking = true;
    }

    computeOutputShape(inputShape) {
      return [inputShape[0], inputShape[1], inputShape[2], 2 * inputShape[3]];
    }

    call(inputs, kwargs) {
      let input = inputs;
      if (Array.isArray(input)) input = input[0];
      this.invokeCallHook(inputs, kwargs);
      const origShape = input.shape;
      const flatShape = [origShape[0], origShape[1] * origShape[2] * origShape[3]];
      const flattened = input.reshape(flatShape);
      const centered = tf.sub(flattened, flattened.mean(1).expandDims(1));
      const pos = centered.relu().reshape(origShape);
      const neg = centered.neg().relu().reshape(origShape);
      return tf.concat([pos, neg], 3);
    }

    static get className() {
      return 'Antirectifier';
    }
  }
  return Antirectifier;
}

function customMnistModel(Antirectifier) {
  const customModel = tf.sequential();
  customModel.add(tf.layers.conv2d({ inputShape: [28, 28, 1], kernelSize: 5, filters: 8, strides: 1, activation: 'linear', kernelInitializer: 'varianceScaling' }));
  customModel.add(new Antirectifier());
  customModel.add(tf.layers.maxPooling2d({ poolSize: [2, 2], strides: [2, 2] }));
  customModel.add(tf.layers.conv2d({ kernelSize: 5, filters: 16, strides: 1, activation: 'linear', kernelInitializer: 'varianceScaling' }));
  customModel.add(new Antirectifier());
  customModel.add(tf.layers.maxPooling2d({ poolSize: [2, 2], strides: [2, 2] }));
  customModel.add(tf.layers.flatten());
  customModel.add(tf.layers.dense({ units: 10, kernelInitializer: 'varianceScaling', activation: 'softmax' }));
  return customModel;
}

async function main() {
  const Antirectifier = defineAntirectifier();

  // index.js customLayerDemo(), on a synthetic RGB image instead of the cat photo.
  const next = rng(71);
  const pixels = Array.from({ length: 32 * 32 * 3 }, () => Math.floor(next() * 256));
  const img = tf.tensor3d(pixels, [32, 32, 3], 'int32').toFloat().expandDims(0);
  const layer = new Antirectifier();
  const [posTensor, negTensor] = tf.split(layer.apply(img), 2, 3);
  if (posTensor.shape.join() !== '1,32,32,3' || negTensor.shape.join() !== '1,32,32,3') throw new Error(`split shapes ${posTensor.shape} / ${negTensor.shape}`);
  const posSum = posTensor.sum().dataSync()[0];
  const negSum = negTensor.sum().dataSync()[0];
  if (Math.abs(posSum - negSum) > 1e-2 * posSum) throw new Error(`centred halves differ: ${posSum} vs ${negSum}`);

  // custom_mnist_model.js, trained.
  const model = customMnistModel(Antirectifier);
  model.summary();
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const { images, labels } = digitImages(384, { seed: 72 });
  const xs = tf.tensor4d(images, [384, 28, 28, 1]);
  const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
  const history = await model.fit(xs, ys, { epochs: 1, batchSize: 64, validationSplit: 0.25 });
  const [, acc] = model.evaluate(xs, ys);
  return `antirectifier halves sum to ${posSum.toFixed(0)} each, val_acc ${history.history.val_acc[0].toFixed(3)}, train-set acc ${acc.dataSync()[0].toFixed(3)}`;
}

runExample('custom-layer', main);
