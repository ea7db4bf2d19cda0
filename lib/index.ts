/**
 * cnn-node: train convolutional neural networks in Node.js with a TF.js-style API.
 * `import * as tf from 'cnn-node'` or `const tf = require('cnn-node')`.
 */
export { getBackend, setBackend, setNumThreads, getNumThreads } from './backend';
export type { BackendName } from './backend';
export {
  Tensor, tensor, scalar, tensor1d, tensor2d, tensor3d, tensor4d, zeros, ones, fill, randomNormal,
  randomUniform, truncatedNormal, tidy, dispose, keep, memory,
} from './tensor';
export type { DType, Shape, TensorLike, NestedArray, TypedArray, MemoryInfo } from './tensor';
export * from './ops/index';
export { Reduction } from './ops/losses';
export * as util from './ops/util';
export { setSeed } from './random';
export { matMul } from './ops';
export { layers } from './model/layers';
export * as mixedPrecision from './model/mixed_precision';
export * as layerClasses from './model/layers';
export { Sequential, sequential, History } from './model/sequential';
export type { CompileArgs, ModelFitArgs, ModelFitDatasetArgs, ModelEvaluateDatasetArgs, ModelPredictArgs, SequentialArgs, DatasetLike, DatasetElement } from './model/sequential';
export { LayersModel, model } from './model/container';
export type { ModelArgs } from './model/container';
export { input } from './model/input';
export type { InputConfig } from './model/input';
export { SymbolicTensor } from './model/symbolic';
export { train, Optimizer } from './model/optimizers';
export { losses } from './model/losses';
export { metrics } from './model/metrics';
export { initializers, Initializer } from './model/initializers';
export { callbacks, Callback, CallbackList } from './model/callbacks';
export type { Logs, CustomCallbackArgs } from './model/callbacks';
export * as data from './data';
export * as distributed from './distributed';
export { loadLayersModel, io, SUPPORTED_LAYER_CLASSES } from './model/serialization';
export type { IOHandler, LoadOptions, ModelArtifacts, ModelJSON, SaveConfig, SaveResult, ModelSource } from './io';
export type { OnnxExportOptions } from './onnx';
export { image } from './image';
export { node } from './node';

/**
 * TF.js's `tf.nextFrame()`: resolves on the next turn of the event loop (in Node there are no
 * animation frames; TF.js's Node builds use setImmediate the same way), so a training callback can
 * let timers and I/O run.
 */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
