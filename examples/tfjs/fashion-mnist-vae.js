// Port of tensorflow/tfjs-examples `fashion-mnist-vae` (model.js, data.js, main.js): a
// multilayer-perceptron variational autoencoder built with the Functional API (tf.input,
// layer.apply, tf.model, a model applied to symbolic tensors), a custom layer (ZLayer, the
// reparameterisation trick, subclassing tf.layers.Layer), a custom loss (tf.losses and tensor
// ops) minimised with optimizer.minimize, and the decoder saved with file://.
// The only change from a tfjs-node script is the import. Replaced: the data source (the original
// reads the uncompressed train-images IDX file the user downloads; here the first 512 images of
// Debian's dataset-fashion-mnist t10k file, gunzipped, or synthetic images when it is absent),
// lodash's _.chunk (a loop), jimp/terminal-image previews (a pixel count) and the argparse
// defaults (1 epoch instead of 5).
'use strict';
const tf = require('../..');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { digitImages } = require('./synthetic');
const { runExample, tmpDir } = require('./harness');

const IMAGE_HEIGHT = 28;
const IMAGE_WIDTH = 28;
const IMAGE_FLAT_SIZE = IMAGE_HEIGHT * IMAGE_WIDTH;
const INTERMEDIATE_DIM = 512;
const LATENT_DIM = 2;
const FASHION_MNIST = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';

// data.js loadImages(): IDX header check, pixels scaled to [0, 1], shuffled.
function loadImages(limit) {
  const images = [];
  if (fs.existsSync(FASHION_MNIST)) {
    const buffer = zlib.gunzipSync(fs.readFileSync(FASHION_MNIST));
    if (buffer.readUInt32BE(0) !== 2051 || buffer.readUInt32BE(8) !== IMAGE_HEIGHT || buffer.readUInt32BE(12) !== IMAGE_WIDTH) throw new Error('not an IDX image file');
    for (let n = 0, index = 16; n < limit && index < buffer.byteLength; n++) {
      const array = new Float32Array(IMAGE_FLAT_SIZE);
      for (let i = 0; i < IMAGE_FLAT_SIZE; i++) array[i] = buffer.readUInt8(index++) / 255;
      images.push(array);
    }
  } else {
    const { images: flat } = digitImages(limit, { seed: 31 });
    for (let n = 0; n < limit; n++) images.push(flat.slice(n * IMAGE_FLAT_SIZE, (n + 1) * IMAGE_FLAT_SIZE));
  }
  tf.util.shuffle(images);
  return images;
}

function batchImages(imagesData) {
  const flat = [];
  for (const image of imagesData) for (let j = 0; j < image.length; j++) flat.push(image[j]);
  return tf.tensor(flat, [imagesData.length, IMAGE_WIDTH, IMAGE_HEIGHT], 'float32');
}

// model.js, inside a function so that a missing tf.layers.Layer reaches the harness.
function defineModel() {
  class ZLayer extends tf.layers.Layer {
    constructor(config) {
      super(config);
    }

    computeOutputShape(inputShape) {
      tf.util.assert(inputShape.length === 2 && Array.isArray(inputShape[0]), () => `Expected exactly 2 input shapes. But got: ${inputShape}`);
      return inputShape[0];
    }

    call(inputs, kwargs) {
      const [zMean, zLogVar] = inputs;
      const batch = zMean.shape[0];
      const dim = zMean.shape[1];
      const epsilon = tf.randomNormal([batch, dim], 0, 1.0);
      return zMean.add(zLogVar.mul(0.5).exp().mul(epsilon));
    }

    static getClassName() {
      return 'ZLayer';
    }
  }

  function encoder({ originalDim, intermediateDim, latentDim }) {
    const inputs = tf.input({ shape: [originalDim], name: 'encoder_input' });
    const x = tf.layers.dense({ units: intermediateDim, activation: 'relu' }).apply(inputs);
    const zMean = tf.layers.dense({ units: latentDim, name: 'z_mean' }).apply(x);
    const zLogVar = tf.layers.dense({ units: latentDim, name: 'z_log_var' }).apply(x);
    const z = new ZLayer({ name: 'z', outputShape: [latentDim] }).apply([zMean, zLogVar]);
    return tf.model({ inputs, outputs: [zMean, zLogVar, z], name: 'encoder' });
  }

  function decoder({ originalDim, intermediateDim, latentDim }) {
    const dec = tf.sequential({ name: 'decoder' });
    dec.add(tf.layers.dense({ units: intermediateDim, activation: 'relu', inputShape: [latentDim] }));
    dec.add(tf.layers.dense({ units: originalDim, activation: 'sigmoid' }));
    return dec;
  }

  function vae(enc, dec) {
    const inputs = enc.inputs;
    const encoderOutputs = enc.apply(inputs);
    const encoded = encoderOutputs[2];
    const decoderOutput = dec.apply(encoded);
    return tf.model({ inputs, outputs: [decoderOutput, ...encoderOutputs], name: 'vae_mlp' });
  }

  function vaeLoss(inputs, outputs) {
    return tf.tidy(() => {
      const originalDim = inputs.shape[1];
      const decoderOutput = outputs[0];
      const zMean = outputs[1];
      const zLogVar = outputs[2];
      const reconstructionLoss = tf.losses.meanSquaredError(inputs, decoderOutput).mul(originalDim);
      let klLoss = zLogVar.add(1).sub(zMean.square()).sub(zLogVar.exp());
      klLoss = klLoss.sum(-1).mul(-0.5);
      return reconstructionLoss.add(klLoss).mean();
    });
  }

  return { encoder, decoder, vae, vaeLoss };
}

async function generate(decoderModel, latentDimSize) {
  const targetZ = tf.zeros([latentDimSize]).expandDims();
  const generated = decoderModel.predict(targetZ);
  const pixels = generated.dataSync();
  tf.dispose([targetZ, generated]);
  if (pixels.length !== IMAGE_FLAT_SIZE) throw new Error(`generated ${pixels.length} pixels`);
  return pixels.filter((v) => v > 0.5).length;
}

async function main() {
  const { encoder, decoder, vae, vaeLoss } = defineModel();
  const images = loadImages(512);
  const vaeOpts = { originalDim: IMAGE_FLAT_SIZE, intermediateDim: INTERMEDIATE_DIM, latentDim: LATENT_DIM };
  const epochs = 1;
  const batchSize = 256;

  const encoderModel = encoder(vaeOpts);
  const decoderModel = decoder(vaeOpts);
  const vaeModel = vae(encoderModel, decoderModel);
  const optimizer = tf.train.adam();
  const batches = [];
  for (let i = 0; i < images.length; i += batchSize) batches.push(images.slice(i, i + batchSize));

  const losses = [];
  let bright = 0;
  for (let i = 0; i < epochs; i++) {
    for (let j = 0; j < batches.length; j++) {
      const currentBatchSize = batches[j].length;
      const batchedImages = batchImages(batches[j]);
      const reshaped = batchedImages.reshape([currentBatchSize, vaeOpts.originalDim]);
      optimizer.minimize(() => {
        const outputs = vaeModel.apply(reshaped);
        const loss = vaeLoss(reshaped, outputs, vaeOpts);
        losses.push(loss.dataSync()[0]);
        return loss;
      });
      tf.dispose([batchedImages, reshaped]);
    }
    bright = await generate(decoderModel, vaeOpts.latentDim);
  }
  const decoderPath = path.join(tmpDir('fashion-mnist-vae'), 'decoder');
  fs.mkdirSync(decoderPath, { recursive: true });
  await decoderModel.save(`file://${decoderPath}`);
  if (!losses.every(Number.isFinite)) throw new Error(`losses ${losses}`);
  return `${losses.length} minimize steps, loss ${losses[0].toFixed(2)} -> ${losses[losses.length - 1].toFixed(2)}, decoded z=0 has ${bright} bright pixels`;
}

runExample('fashion-mnist-vae', main);
