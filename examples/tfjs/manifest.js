// The TF.js examples ported in this folder: what each exercises and every cnn-node API its
// training path calls. probe.js checks which of those APIs are missing, so a port's status
// (runs / needs X) is measured, not remembered. `needs` lists gaps a property probe cannot see
// (behaviour); keep it to what a run has shown. `script` (default: name) is the file to run,
// `args` its arguments ('<tmp>' becomes a fresh temporary directory).
'use strict';

const sequentialFit = ['tf.sequential', 'model.compile', 'model.fit', 'model.summary'];

module.exports = [
  {
    name: 'mnist-node',
    exercises: 'Node MNIST convnet (4 conv2d, max pooling, dropout, dense 512), RMSprop, fit with validationSplit and onEpochBegin/onBatchEnd/onEpochEnd, evaluate, save file://',
    apis: [...sequentialFit, 'tf.layers.conv2d', 'tf.layers.maxPooling2d', 'tf.layers.flatten', 'tf.layers.dropout', 'tf.layers.dense',
      'tf.util.assert', 'tf.util.sizeFromShape', 'tf.util.now', 'tf.nextFrame', 'tf.tensor4d', 'tf.tensor1d', 'tf.oneHot',
      'tensor.toFloat', 'model.evaluate', 'model.save'],
  },
  {
    name: 'mnist',
    exercises: 'browser MNIST: convnet and dense net, RMSprop, Uint8Array one-hot labels, fit callbacks, evaluate, slice, predict + argMax in tf.tidy',
    apis: [...sequentialFit, 'tf.layers.conv2d', 'tf.layers.maxPooling2d', 'tf.layers.flatten', 'tf.layers.dense',
      'tf.util.createShuffledIndices', 'tf.nextFrame', 'tf.tensor4d', 'tf.tensor2d', 'tensor.slice', 'tensor.argMax', 'tf.tidy',
      'model.evaluate', 'model.predict'],
  },
  {
    name: 'mnist-transfer-cnn',
    exercises: 'load a pretrained Keras CNN, retrain on new classes: freeze layers (layer.trainable), re-initialise via modelFromJSON(model.toJSON()), fine-tune; validationData, metrics [\'acc\']',
    apis: [...sequentialFit, 'tf.layers.conv2d', 'tf.layers.activation', 'tf.layers.maxPooling2d', 'tf.layers.dropout', 'tf.layers.flatten',
      'tf.layers.dense', 'tf.train.adam', 'tf.reshape', 'tf.tensor3d', 'tf.tensor2d', 'tf.tensor4d', 'tf.mul', 'tf.scalar', 'tf.tidy',
      'tf.loadLayersModel', 'tf.models.modelFromJSON', 'model.layers', 'model.toJSON', 'model.predict', 'model.save',
      'layer.trainable', 'layer.batchInputShape', 'layer.getWeights', 'tensor.argMax'],
    needs: ['layer.trainable = false on a built (loaded) model taking effect at the next compile() (today the frozen layers keep training)'],
  },
  {
    name: 'iris',
    exercises: 'dense classifier on in-memory tensors: tf.util.shuffle, oneHot(toInt()), slice, concat inside tf.tidy, Adam, validationData, confusion matrix per epoch, save/load',
    apis: [...sequentialFit, 'tf.layers.dense', 'tf.util.shuffle', 'tf.tensor2d', 'tf.tensor1d', 'tf.oneHot', 'tensor.toInt', 'tensor.slice',
      'tf.concat', 'tf.tidy', 'tf.dispose', 'tensor.argMax', 'tf.train.adam', 'model.predict', 'model.save', 'tf.loadLayersModel'],
  },
  {
    name: 'iris-fitDataset',
    exercises: 'the Iris classifier through tf.data: data.array, data.zip({xs, ys}), batch, fitDataset with a validation dataset, toArray',
    apis: ['tf.sequential', 'model.compile', 'model.summary', 'tf.layers.dense', 'tf.util.shuffle', 'tf.oneHot', 'tf.data.array', 'tf.data.zip',
      'dataset.batch', 'dataset.toArray', 'model.fitDataset', 'tf.tidy', 'tf.dispose', 'tensor.argMax', 'tf.tensor2d', 'tf.train.adam',
      'model.predict'],
  },
  {
    name: 'boston-housing',
    exercises: 'regression: standardisation with tf.mean/sub/pow/sqrt/div, a baseline, linear and 1-/2-hidden sigmoid MLPs, SGD on MSE, kernel read back each epoch, evaluate to one scalar',
    apis: [...sequentialFit, 'tf.layers.dense', 'tf.tensor2d', 'tf.mean', 'tf.sub', 'tf.pow', 'tf.sqrt', 'tf.div', 'tf.train.sgd',
      'tf.util.assert', 'model.layers', 'layer.getWeights', 'tensor.data', 'model.evaluate'],
  },
  {
    name: 'abalone-node',
    exercises: 'tf.data.csv (header, label column) from file://, map to {xs, ys} arrays, shuffle, batch, take/skip, fitDataset with validation, save',
    apis: ['tf.sequential', 'model.compile', 'tf.layers.dense', 'tf.train.sgd', 'tf.data.csv', 'dataset.map',
      'dataset.shuffle', 'dataset.batch', 'dataset.take', 'dataset.skip', 'model.fitDataset', 'model.save'],
  },
  {
    name: 'baseball-node',
    exercises: 'tf.data.csv with a label column, normalising map, shuffle, batch, 4-layer dense classifier on sparseCategoricalCrossentropy, fitDataset, forEachAsync + evaluate, save',
    apis: ['tf.sequential', 'model.compile', 'model.summary', 'tf.layers.dense', 'tf.train.adam', 'tf.data.csv', 'dataset.map', 'dataset.shuffle',
      'dataset.batch', 'dataset.forEachAsync', 'model.fitDataset', 'model.evaluate', 'model.predict', 'model.save'],
  },
  {
    name: 'data-generator',
    exercises: 'endless tf.data.generator, oneHot of int32 scalars + concat, batch/take/toArray, fitDataset with batchesPerEpoch and validationBatches, binaryCrossentropy',
    apis: ['tf.sequential', 'model.compile', 'tf.layers.dense', 'tf.data.generator', 'tf.concat', 'tf.oneHot', 'tf.scalar', 'tf.tensor1d',
      'dataset.map', 'dataset.batch', 'dataset.take', 'dataset.toArray', 'model.fitDataset'],
  },
  {
    name: 'quantization',
    exercises: 'train the Keras-style convnet on Fashion-MNIST, save, quantize the weights to uint16 / uint8 (weights-manifest quantization), load each with loadLayersModel, compile again, evaluate',
    apis: [...sequentialFit, 'tf.layers.conv2d', 'tf.layers.maxPooling2d', 'tf.layers.flatten', 'tf.layers.dropout', 'tf.layers.dense',
      'tf.tensor4d', 'tf.tensor1d', 'tf.oneHot', 'tensor.toFloat', 'model.save', 'tf.loadLayersModel', 'model.evaluate', 'tf.util.now'],
  },
  {
    name: 'jena-weather',
    exercises: 'time-series regression: tf.buffer batches from a tf.data.generator, tf.moments, a baseline (forEachAsync, gather, squeeze, losses.absoluteDifference, stack), linear / MLP / MLP+L2 / MLP+dropout on MAE with RMSprop, fitDataset + evaluateDataset per epoch, tf.node.tensorBoard',
    args: ['--modelTypes', 'baseline,linear-regression,mlp,mlp-l2,mlp-dropout', '--logDir', '<tmp>'],
    apis: ['tf.sequential', 'model.compile', 'model.summary', 'tf.layers.flatten', 'tf.layers.dense', 'tf.layers.dropout', 'tf.regularizers.l2',
      'tf.tensor1d', 'tf.moments', 'tf.tidy', 'tf.buffer', 'tf.data.generator', 'dataset.forEachAsync', 'dataset.prefetch',
      'tf.losses.absoluteDifference', 'tensor.gather', 'tensor.squeeze', 'tf.stack', 'tensor.mul', 'tensor.sum', 'tensor.div', 'tensor.data',
      'tf.dispose', 'model.fitDataset', 'model.evaluateDataset', 'tf.util.now', 'tf.node.tensorBoard', 'tf.callbacks.earlyStopping'],
    needs: ['tf.layers.dense({ kernelRegularizer }) adding the penalty to the loss (the option is not read today)'],
  },
  {
    name: 'jena-weather-rnn',
    script: 'jena-weather',
    exercises: 'the same training path with the recurrent models train-rnn.js defaults to (GRU, simpleRNN)',
    args: ['--modelTypes', 'gru,simpleRNN'],
    apis: ['tf.sequential', 'model.compile', 'model.summary', 'tf.layers.dense', 'tf.layers.simpleRNN', 'tf.layers.gru', 'tf.tensor1d', 'tf.moments',
      'tf.buffer', 'tf.data.generator', 'dataset.prefetch', 'model.fitDataset', 'model.evaluateDataset', 'tf.util.now'],
  },
  {
    name: 'mnist-acgan',
    exercises: 'ACGAN: generator (dense, reshape, conv2dTranspose, batch norm, embedding * latent via layers.multiply), two-output discriminator (leakyReLU), tf.model on several inputs/outputs, a frozen discriminator inside a combined model, trainOnBatch with a loss per output, tf.memory leak check, summaryFileWriter',
    args: ['--logDir', '<tmp>'],
    apis: ['tf.sequential', 'tf.layers.dense', 'tf.layers.reshape', 'tf.layers.conv2dTranspose', 'tf.layers.batchNormalization',
      'tf.layers.conv2d', 'tf.layers.leakyReLU', 'tf.layers.dropout', 'tf.layers.flatten', 'tf.layers.embedding', 'tf.layers.multiply',
      'tf.input', 'tf.model', 'layer.apply', 'functional.apply', 'functional.compile', 'functional.summary', 'functional.predict',
      'functional.trainOnBatch', 'functional.save', 'functional.trainable', 'tf.train.adam', 'tf.util.assert', 'tf.randomUniform',
      'tensor.asType', 'tensor.slice', 'tensor.mul', 'tensor.argMax', 'tensor.toFloat', 'tf.concat', 'tf.ones', 'tf.zeros', 'tf.tidy',
      'tf.dispose', 'tf.expandDims', 'tf.oneHot', 'tf.tensor4d', 'tf.tensor1d', 'tf.memory', 'tf.node.summaryFileWriter'],
  },
  {
    name: 'fashion-mnist-vae',
    exercises: 'MLP variational autoencoder: Functional API (tf.input, layer.apply, tf.model, model.apply), a custom layer (extends tf.layers.Layer), custom loss minimised with optimizer.minimize',
    apis: ['tf.layers.Layer', 'tf.input', 'tf.model', 'layer.apply', 'functional.apply', 'functional.inputs', 'tf.sequential', 'tf.layers.dense',
      'tf.train.adam', 'optimizer.minimize', 'tf.losses.meanSquaredError', 'tensor.mul', 'tensor.add', 'tensor.sub', 'tensor.exp',
      'tensor.square', 'tensor.sum', 'tensor.mean', 'tensor.expandDims', 'tensor.reshape', 'tf.randomNormal', 'tf.zeros', 'tf.tensor',
      'tf.util.shuffle', 'tf.util.assert', 'tf.tidy', 'tf.dispose', 'model.predict', 'model.save'],
  },
  {
    name: 'custom-layer',
    exercises: 'a custom layer (subclass of tf.layers.Layer with computeOutputShape / call) applied to an image and split with tf.split, then used twice inside a Sequential convnet trained with fit',
    apis: ['tf.layers.Layer', 'layer.apply', 'layer.invokeCallHook', 'tf.sequential', 'model.compile', 'model.fit', 'model.summary', 'model.evaluate',
      'tf.layers.conv2d', 'tf.layers.maxPooling2d', 'tf.layers.flatten', 'tf.layers.dense', 'tf.split', 'tf.sub', 'tf.concat', 'tf.tensor3d',
      'tf.tensor4d', 'tf.tensor1d', 'tf.oneHot', 'tensor.toFloat', 'tensor.expandDims', 'tensor.reshape', 'tensor.mean', 'tensor.relu',
      'tensor.neg', 'tensor.sum'],
  },
  {
    name: 'simple-object-detection',
    exercises: 'MobileNet-style base (depthwiseConv2d, batch norm, ReLU) cut with getLayer + tf.model, frozen, new head via head.apply, custom loss function in compile, unfreeze and fine-tune',
    apis: ['tf.sequential', 'tf.layers.conv2d', 'tf.layers.depthwiseConv2d', 'tf.layers.batchNormalization', 'tf.layers.reLU',
      'tf.layers.globalAveragePooling2d', 'tf.layers.flatten', 'tf.layers.dense', 'tf.loadLayersModel', 'model.getLayer',
      'tf.model', 'functional.layers', 'functional.inputs', 'functional.outputs', 'functional.compile', 'functional.fit',
      'functional.summary', 'functional.save', 'layer.trainable', 'layer.name', 'layer.apply', 'tf.sigmoid',
      'tf.metrics.binaryCrossentropy', 'tf.metrics.meanSquaredError', 'tensor.slice', 'tensor.mean', 'tensor.mul', 'tensor.add',
      'tf.scalar', 'tf.tensor4d', 'tf.tensor2d', 'tf.tidy', 'tf.train.rmsprop', 'tf.util.now', 'tf.util.assert'],
    needs: ['compile({ loss: <function> }) (custom loss functions)', 'layer.trainable changed after build taking effect at the next compile()'],
  },
];
