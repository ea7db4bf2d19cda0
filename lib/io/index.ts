/**
 * Saving and loading models: the TF.js layers-model format (files, memory, one buffer) and ONNX
 * export. `model.save(...)` lands in saveModel; `loadLayersModel(...)` is the other way;
 * `model.toOnnx()` / `model.saveOnnx(path)` are attached to Sequential here.
 */
import { Sequential } from '../model/sequential';
import { describe } from '../util';
import { loadFromPath, pathFromUrl, saveToDirectory } from './file_handler';
import { isPlainObject } from './keras_json';
import { modelArtifacts, modelFromArtifacts } from './layers_model';
import { artifactsFromBuffer, artifactsToBuffer, fromMemory, withSaveHandler } from './memory';
import { modelToOnnx, saveOnnx } from './onnx';
import type { OnnxExportOptions } from './onnx';
import type { IOHandler, LoadOptions, ModelArtifacts, SaveConfig, SaveResult } from './types';

export type {
  IOHandler, LoadOptions, ModelArtifacts, ModelArtifactsInfo, ModelJSON, SaveConfig, SaveResult, TrainingConfig,
  WeightsManifestEntry, WeightsManifestGroupConfig,
} from './types';
export type { OnnxExportOptions } from './onnx';
export { SUPPORTED_LAYER_CLASSES } from './layer_configs';

/** Where a model can be loaded from. */
export type ModelSource = string | IOHandler | Uint8Array;

/** model.save(): a 'file://DIR' URL (or a folder path) or a handler with save(artifacts). */
export async function saveModel(model: Sequential, handlerOrUrl: unknown, config?: unknown): Promise<SaveResult> {
  if (!(model instanceof Sequential)) throw new TypeError(`save: expected a Sequential model, received ${describe(model)}`);
  const artifacts = modelArtifacts(model, (config ?? {}) as SaveConfig);
  if (typeof handlerOrUrl === 'string') return saveToDirectory(pathFromUrl(handlerOrUrl, 'save'), artifacts);
  if (isPlainObject(handlerOrUrl) && typeof handlerOrUrl.save === 'function') {
    return (handlerOrUrl as IOHandler).save!(artifacts);
  }
  throw new TypeError(`save: expected a 'file://' URL, a folder path, or a handler with save() (e.g. io.withSaveHandler(fn)), received ${describe(handlerOrUrl)}`);
}

/**
 * Loads a layers model: 'file://DIR/model.json', a path to model.json or to its folder, a handler
 * with load() (io.fromMemory(artifacts)), or a buffer from io.toBuffer(). Files written by TF.js, by
 * tensorflowjs_converter from Keras 2 and Keras 3, and by this library are accepted. The model
 * comes back compiled (with its optimizer state) when the file has a trainingConfig.
 */
export async function loadLayersModel(source: ModelSource, options: LoadOptions = {}): Promise<Sequential> {
  if (options === null || typeof options !== 'object') throw new TypeError('loadLayersModel: options must be an object like {strict: true}');
  let artifacts: ModelArtifacts;
  let where = 'loadLayersModel';
  if (typeof source === 'string') {
    const p = pathFromUrl(source, 'loadLayersModel');
    artifacts = await loadFromPath(p);
    where = `loadLayersModel(${p})`;
  } else if (source instanceof Uint8Array) {
    artifacts = artifactsFromBuffer(source);
    where = 'loadLayersModel(buffer)';
  } else if (isPlainObject(source) && typeof source.load === 'function') {
    artifacts = await (source as IOHandler).load!();
  } else {
    throw new TypeError(`loadLayersModel: expected a 'file://' URL, a path, a handler with load() or a buffer, received ${describe(source)}`);
  }
  return modelFromArtifacts(artifacts, options, where);
}

/** The model as one buffer (see memory.ts for the layout); loadLayersModel(buffer) reads it. */
export async function toBuffer(model: Sequential, config: SaveConfig = {}): Promise<Buffer> {
  if (!(model instanceof Sequential)) throw new TypeError(`toBuffer: expected a Sequential model, received ${describe(model)}`);
  return artifactsToBuffer(modelArtifacts(model, config));
}

/** A handler reading and writing a folder (tfjs-node io.fileSystem). */
export function fileSystem(p: string): IOHandler {
  const dir = pathFromUrl(p, 'fileSystem');
  return { save: (a) => saveToDirectory(dir, a), load: () => loadFromPath(dir) };
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

// ---------------------------------------------------------------- ONNX methods on Sequential

declare module '../model/sequential' {
  interface Sequential {
    /** The model as ONNX bytes (opset 13): channels-last input [N, ...inputShape], same output as predict. */
    toOnnx(options?: OnnxExportOptions): Uint8Array;
    /** Writes toOnnx() to a file. */
    saveOnnx(path: string, options?: OnnxExportOptions): Promise<{ path: string; bytes: number }>;
  }
}

Sequential.prototype.toOnnx = function toOnnx(this: Sequential, options?: OnnxExportOptions): Uint8Array {
  return modelToOnnx(this, options);
};
Sequential.prototype.saveOnnx = function (this: Sequential, file: string, options?: OnnxExportOptions) {
  return saveOnnx(this, file, options);
};
