// Port of tensorflow/tfjs-examples `mnist-acgan` (gan.js, data.js): an auxiliary-classifier GAN
// trained from Node: a generator built from a Sequential (dense, reshape, conv2dTranspose, batch
// norm) behind an embedding * latent multiply, a two-output discriminator (conv2d, leakyReLU,
// dropout; sigmoid + softmax heads) built with tf.input / apply / tf.model, a combined model with
// the discriminator frozen, and custom training steps with trainOnBatch on several inputs and
// outputs (a loss per output), tf.tidy + tf.memory() leak checks, tf.node.summaryFileWriter.
// The only change from a tfjs-node script is the import. Replaced: the data source (the original
// downloads MNIST; here 128 synthetic digits, pixels in [-1, 1] as data.js scales them, one-hot
// labels as data.js returns them) and the argparse defaults (1 epoch, batch 32, latent size 16
// instead of 100 epochs, batch 100, latent size 100); --logDir is the original's option.
'use strict';
const tf = require('../..');
const fs = require('fs');
const path = require('path');
const { digitImages } = require('./synthetic');
const { runExample, tmpDir } = require('./harness');

const NUM_CLASSES = 10;
const IMAGE_SIZE = 28;
const SOFT_ONE = 0.95;

function buildGenerator(latentSize) {
  tf.util.assert(latentSize > 0 && Number.isInteger(latentSize), `Expected latent-space size to be a positive integer, but got ${latentSize}.`);
  const cnn = tf.sequential();
  cnn.add(tf.layers.dense({ units: 3 * 3 * 384, inputShape: [latentSize], activation: 'relu' }));
  cnn.add(tf.layers.reshape({ targetShape: [3, 3, 384] }));
  cnn.add(tf.layers.conv2dTranspose({ filters: 192, kernelSize: 5, strides: 1, padding: 'valid', activation: 'relu', kernelInitializer: 'glorotNormal' }));
  cnn.add(tf.layers.batchNormalization());
  cnn.add(tf.layers.conv2dTranspose({ filters: 96, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: 'glorotNormal' }));
  cnn.add(tf.layers.batchNormalization());
  cnn.add(tf.layers.conv2dTranspose({ filters: 1, kernelSize: 5, strides: 2, padding: 'same', activation: 'tanh', kernelInitializer: 'glorotNormal' }));
  const latent = tf.input({ shape: [latentSize] });
  const imageClass = tf.input({ shape: [1] });
  const classEmbedding = tf.layers.embedding({ inputDim: NUM_CLASSES, outputDim: latentSize, embeddingsInitializer: 'glorotNormal' }).apply(imageClass);
  const h = tf.layers.multiply().apply([latent, classEmbedding]);
  const fakeImage = cnn.apply(h);
  return tf.model({ inputs: [latent, imageClass], outputs: fakeImage });
}

function buildDiscriminator() {
  const cnn = tf.sequential();
  cnn.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', strides: 2, inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1] }));
  cnn.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  cnn.add(tf.layers.dropout({ rate: 0.3 }));
  cnn.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', strides: 1 }));
  cnn.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  cnn.add(tf.layers.dropout({ rate: 0.3 }));
  cnn.add(tf.layers.conv2d({ filters: 128, kernelSize: 3, padding: 'same', strides: 2 }));
  cnn.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  cnn.add(tf.layers.dropout({ rate: 0.3 }));
  cnn.add(tf.layers.conv2d({ filters: 256, kernelSize: 3, padding: 'same', strides: 1 }));
  cnn.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  cnn.add(tf.layers.dropout({ rate: 0.3 }));
  cnn.add(tf.layers.flatten());
  const image = tf.input({ shape: [IMAGE_SIZE, IMAGE_SIZE, 1] });
  const features = cnn.apply(image);
  const realnessScore = tf.layers.dense({ units: 1, activation: 'sigmoid' }).apply(features);
  const aux = tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax' }).apply(features);
  return tf.model({ inputs: image, outputs: [realnessScore, aux] });
}

function buildCombinedModel(latentSize, generator, discriminator, optimizer) {
  const latent = tf.input({ shape: [latentSize] });
  const imageClass = tf.input({ shape: [1] });
  let fake = generator.apply([latent, imageClass]);
  let aux;
  discriminator.trainable = false;
  [fake, aux] = discriminator.apply(fake);
  const combined = tf.model({ inputs: [latent, imageClass], outputs: [fake, aux] });
  combined.compile({ optimizer, loss: ['binaryCrossentropy', 'sparseCategoricalCrossentropy'] });
  combined.summary();
  return combined;
}

async function trainDiscriminatorOneStep(xTrain, yTrain, batchStart, batchSize, latentSize, generator, discriminator) {
  const [x, y, auxY] = tf.tidy(() => {
    const imageBatch = xTrain.slice(batchStart, batchSize);
    const labelBatch = yTrain.slice(batchStart, batchSize).asType('float32');
    const zVectors = tf.randomUniform([batchSize, latentSize], -1, 1);
    const sampledLabels = tf.randomUniform([batchSize, 1], 0, NUM_CLASSES, 'int32').asType('float32');
    const generatedImages = generator.predict([zVectors, sampledLabels], { batchSize });
    const xs = tf.concat([imageBatch, generatedImages], 0);
    const ys = tf.tidy(() => tf.concat([tf.ones([batchSize, 1]).mul(SOFT_ONE), tf.zeros([batchSize, 1])]));
    const auxYs = tf.concat([labelBatch, sampledLabels], 0);
    return [xs, ys, auxYs];
  });
  const losses = await discriminator.trainOnBatch(x, [y, auxY]);
  tf.dispose([x, y, auxY]);
  return losses;
}

async function trainCombinedModelOneStep(batchSize, latentSize, combined) {
  const [noise, sampledLabels, trick] = tf.tidy(() => {
    const zVectors = tf.randomUniform([batchSize, latentSize], -1, 1);
    const labels = tf.randomUniform([batchSize, 1], 0, NUM_CLASSES, 'int32').asType('float32');
    const t = tf.tidy(() => tf.ones([batchSize, 1]).mul(SOFT_ONE));
    return [zVectors, labels, t];
  });
  const losses = await combined.trainOnBatch([noise, sampledLabels], [trick, sampledLabels]);
  tf.dispose([noise, sampledLabels, trick]);
  return losses;
}

// data.js getTrainData(): images scaled to [-1, 1], one-hot labels.
function getTrainData(n) {
  const { images, labels } = digitImages(n, { seed: 61 });
  const scaled = images.map((v) => v * 2 - 1);
  return { images: tf.tensor4d(scaled, [n, IMAGE_SIZE, IMAGE_SIZE, 1]), labels: tf.oneHot(tf.tensor1d(labels, 'int32'), NUM_CLASSES).toFloat() };
}

async function main() {
  const dir = tmpDir('mnist-acgan');
  const args = { epochs: 1, batchSize: 32, latentSize: 16, learningRate: 0.0002, adamBeta1: 0.5, generatorSavePath: path.join(dir, 'generator'), logDir: process.argv.includes('--logDir') ? process.argv[process.argv.indexOf('--logDir') + 1] : undefined };
  const saveURL = `file://${args.generatorSavePath}`;

  const discriminator = buildDiscriminator();
  discriminator.compile({ optimizer: tf.train.adam(args.learningRate, args.adamBeta1), loss: ['binaryCrossentropy', 'sparseCategoricalCrossentropy'] });
  discriminator.summary();
  const generator = buildGenerator(args.latentSize);
  generator.summary();
  const optimizer = tf.train.adam(args.learningRate, args.adamBeta1);
  const combined = buildCombinedModel(args.latentSize, generator, discriminator, optimizer);

  let { images: xTrain, labels: yTrain } = getTrainData(128);
  yTrain = tf.expandDims(yTrain.argMax(-1), -1);
  await generator.save(saveURL);

  let logWriter;
  if (args.logDir) logWriter = tf.node.summaryFileWriter(args.logDir);
  let numTensors;
  let step = 0;
  let dLoss;
  let gLoss;
  for (let epoch = 0; epoch < args.epochs; ++epoch) {
    const numBatches = Math.ceil(xTrain.shape[0] / args.batchSize);
    for (let batch = 0; batch < numBatches; ++batch) {
      const actualBatchSize = (batch + 1) * args.batchSize >= xTrain.shape[0] ? xTrain.shape[0] - batch * args.batchSize : args.batchSize;
      dLoss = await trainDiscriminatorOneStep(xTrain, yTrain, batch * args.batchSize, actualBatchSize, args.latentSize, generator, discriminator);
      gLoss = await trainCombinedModelOneStep(2 * actualBatchSize, args.latentSize, combined);
      console.log(`epoch ${epoch + 1}/${args.epochs} batch ${batch + 1}/${numBatches}: dLoss = ${dLoss[0].toFixed(6)}, gLoss = ${gLoss[0].toFixed(6)}`);
      if (logWriter != null) {
        logWriter.scalar('dLoss', dLoss[0], step);
        logWriter.scalar('gLoss', gLoss[0], step);
      }
      step++;
      if (numTensors == null) numTensors = tf.memory().numTensors;
      else tf.util.assert(tf.memory().numTensors === numTensors, `Leaked ${tf.memory().numTensors - numTensors} tensors`);
    }
    await generator.save(saveURL);
  }
  if (!fs.existsSync(path.join(args.generatorSavePath, 'model.json'))) throw new Error('no generator saved');
  return `${step} steps, dLoss ${dLoss[0].toFixed(3)}, gLoss ${gLoss[0].toFixed(3)}`;
}

runExample('mnist-acgan', main);
