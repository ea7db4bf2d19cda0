/** The `layers` namespace: TF.js factory names. */
import { Conv2D, Conv2DArgs } from './conv';
import { Activation, ActivationArgs, Dense, DenseArgs, Dropout, DropoutArgs, Flatten, InputLayer, InputLayerArgs, ReLU, ReLUArgs } from './core';
import { BatchNormalization, BatchNormalizationArgs } from './normalization';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D, Pooling2DArgs } from './pooling';
import { Add, Average, Concatenate, ConcatenateArgs, Dot, DotArgs, Maximum, Minimum, Multiply, Reshape, ReshapeArgs, Subtract } from './merge';
import type { LayerArgs } from './base';
import { paddingFactories } from './padding';
import { oneDFactories } from './conv1d';
import { activationFactories } from './activation_layers';

export { Layer } from './base';
export type { LayerArgs, WeightSpec } from './base';
export * from './conv';
export * from './core';
export * from './normalization';
export * from './pooling';
export * from './merge';
export * from './padding';
export * from './conv1d';
export * from './activation_layers';
export { FAMILIES } from './registry';
export type { LayerFamily, OnnxEmitter, ConfigHelpers } from './registry';

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
  add: (args: LayerArgs = {}) => new Add(args),
  subtract: (args: LayerArgs = {}) => new Subtract(args),
  multiply: (args: LayerArgs = {}) => new Multiply(args),
  average: (args: LayerArgs = {}) => new Average(args),
  maximum: (args: LayerArgs = {}) => new Maximum(args),
  minimum: (args: LayerArgs = {}) => new Minimum(args),
  concatenate: (args: ConcatenateArgs = {}) => new Concatenate(args),
  dot: (args: DotArgs) => new Dot(args),
  reshape: (args: ReshapeArgs) => new Reshape(args),
  // registry families (lib/model/layers/registry.ts)
  ...paddingFactories,
  ...oneDFactories,
  ...activationFactories,
};
