/** The `layers` namespace: TF.js factory names. */
import { Conv2D, Conv2DArgs } from './conv';
import { Activation, ActivationArgs, Dense, DenseArgs, Dropout, DropoutArgs, Flatten, InputLayer, InputLayerArgs, ReLU, ReLUArgs } from './core';
import { BatchNormalization, BatchNormalizationArgs } from './normalization';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D, Pooling2DArgs } from './pooling';
import type { LayerArgs } from './base';

export { Layer } from './base';
export type { LayerArgs, WeightSpec } from './base';
export * from './conv';
export * from './core';
export * from './normalization';
export * from './pooling';

export const layers = {
  conv2d: (args: Conv2DArgs) => new Conv2D(args),
  maxPooling2d: (args: Pooling2DArgs = {}) => new MaxPooling2D(args),
  maxPool2d: (args: Pooling2DArgs = {}) => new MaxPooling2D(args),
  averagePooling2d: (args: Pooling2DArgs = {}) => new AveragePooling2D(args),
  avgPool2d: (args: Pooling2DArgs = {}) => new AveragePooling2D(args),
  globalAveragePooling2d: (args: LayerArgs = {}) => new GlobalAveragePooling2D(args),
  globalMaxPooling2d: (args: LayerArgs = {}) => new GlobalMaxPooling2D(args),
  flatten: (args: LayerArgs = {}) => new Flatten(args),
  dense: (args: DenseArgs) => new Dense(args),
  dropout: (args: DropoutArgs) => new Dropout(args),
  batchNormalization: (args: BatchNormalizationArgs = {}) => new BatchNormalization(args),
  activation: (args: ActivationArgs) => new Activation(args),
  reLU: (args: ReLUArgs = {}) => new ReLU(args),
  inputLayer: (args: InputLayerArgs) => new InputLayer(args),
};
