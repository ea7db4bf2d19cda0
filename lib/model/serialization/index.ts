/**
 * Models <-> TF.js layers-model artifacts, over the transports of lib/io: `loadLayersModel(...)`,
 * `io.toBuffer(model)`, and the `io` namespace users see (TF.js names where TF.js has them).
 * model.save() calls save.ts directly.
 */
import { LayersModel } from '../container';
import { describe } from '../../util';
import { artifactsFromBuffer, artifactsToBuffer, fileSystem, fromMemory, loadArtifacts, withSaveHandler } from '../../io';
import type { LoadOptions, ModelSource, SaveConfig, SaveResult } from '../../io';
import { modelFromArtifacts } from './load';
import { modelArtifacts, saveModel as saveModelArtifacts } from './save';

export { SUPPORTED_LAYER_CLASSES } from './layer_configs';
export { modelArtifacts, modelTopology, modelWeights } from './save';
export { modelFromArtifacts, modelFromTopology } from './load';

/** model.save() for any value: refuses what is not a model. */
export async function saveModel(model: LayersModel, handlerOrUrl: unknown, config?: unknown): Promise<SaveResult> {
  if (!(model instanceof LayersModel)) throw new TypeError(`save: expected a model (tf.sequential or tf.model), received ${describe(model)}`);
  return saveModelArtifacts(model, handlerOrUrl, config);
}

/**
 * Loads a layers model: 'file://DIR/model.json', a path to model.json or to its folder, a handler
 * with load() (io.fromMemory(artifacts)), or a buffer from io.toBuffer(). Files written by TF.js, by
 * tensorflowjs_converter from Keras 2 and Keras 3, and by this library are accepted. The model
 * comes back compiled (with its optimizer state) when the file has a trainingConfig.
 */
export async function loadLayersModel(source: ModelSource, options: LoadOptions = {}): Promise<LayersModel> {
  if (options === null || typeof options !== 'object') throw new TypeError('loadLayersModel: options must be an object like {strict: true}');
  const { artifacts, where } = await loadArtifacts(source, 'loadLayersModel');
  return modelFromArtifacts(artifacts, options, where);
}

/** The model as one buffer (see lib/io/memory.ts for the layout); loadLayersModel(buffer) reads it. */
export async function toBuffer(model: LayersModel, config: SaveConfig = {}): Promise<Buffer> {
  if (!(model instanceof LayersModel)) throw new TypeError(`toBuffer: expected a model (tf.sequential or tf.model), received ${describe(model)}`);
  return artifactsToBuffer(modelArtifacts(model, config));
}

/** The `io` namespace (TF.js names where TF.js has them). */
export const io = {
  withSaveHandler,
  fromMemory,
  fileSystem,
  toBuffer,
  artifactsToBuffer,
  artifactsFromBuffer,
};
