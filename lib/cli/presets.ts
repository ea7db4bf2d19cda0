/** The reference models, by preset name. */
import * as tf from '../index';

export const PRESETS = ['seed', 'convnet'] as const;
export type Preset = (typeof PRESETS)[number];

/** The classic Keras example: Conv2D(32, 3x3, relu) -> MaxPool 2 -> Flatten -> Dense(10, softmax). */
export function seedModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

/** The "2 Conv + pooling" net of the Fashion-MNIST benchmark table. */
export function convnetModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 32, kernelSize: 5, padding: 'same', activation: 'relu', inputShape: [28, 28, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 1024, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

export function presetModel(name: Preset): tf.Sequential {
  return name === 'seed' ? seedModel() : convnetModel();
}
