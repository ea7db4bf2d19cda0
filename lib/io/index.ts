/**
 * Transports over ModelArtifacts (TF.js's io): a folder on disk (model.json + weights.bin), memory
 * handlers, and a one-buffer form. Nothing here knows a model class; turning a model into
 * artifacts and back lives in lib/model/serialization/.
 */
import { describe } from '../util';
import { loadFromPath, pathFromUrl, saveToDirectory } from './file_handler';
import { isPlainObject } from './json';
import { artifactsFromBuffer, artifactsToBuffer, fromMemory, withSaveHandler } from './memory';
import type { IOHandler, ModelArtifacts, SaveResult } from './types';

export type {
  IOHandler, LoadOptions, ModelArtifacts, ModelArtifactsInfo, ModelJSON, SaveConfig, SaveResult, TrainingConfig,
  WeightsManifestEntry, WeightsManifestGroupConfig,
} from './types';
export { artifactsFromBuffer, artifactsToBuffer, fromMemory, withSaveHandler } from './memory';

/** Where a model can be loaded from. */
export type ModelSource = string | IOHandler | Uint8Array;

/** Hands artifacts to a 'file://DIR' URL (or a folder path) or to a handler with save(artifacts). */
export async function saveArtifacts(handlerOrUrl: unknown, artifacts: ModelArtifacts): Promise<SaveResult> {
  if (typeof handlerOrUrl === 'string') return saveToDirectory(pathFromUrl(handlerOrUrl, 'save'), artifacts);
  if (isPlainObject(handlerOrUrl) && typeof handlerOrUrl.save === 'function') {
    return (handlerOrUrl as IOHandler).save!(artifacts);
  }
  throw new TypeError(`save: expected a 'file://' URL, a folder path, or a handler with save() (e.g. io.withSaveHandler(fn)), received ${describe(handlerOrUrl)}`);
}

/**
 * Reads artifacts from 'file://DIR/model.json', a path to model.json or to its folder, a handler
 * with load() (io.fromMemory(artifacts)), or a buffer from io.toBuffer(). `where` names the source
 * for error messages.
 */
export async function loadArtifacts(source: unknown, fn = 'loadLayersModel'): Promise<{ artifacts: ModelArtifacts; where: string }> {
  if (typeof source === 'string') {
    const p = pathFromUrl(source, fn);
    return { artifacts: await loadFromPath(p), where: `${fn}(${p})` };
  }
  if (source instanceof Uint8Array) return { artifacts: artifactsFromBuffer(source), where: `${fn}(buffer)` };
  if (isPlainObject(source) && typeof source.load === 'function') {
    return { artifacts: await (source as IOHandler).load!(), where: fn };
  }
  throw new TypeError(`${fn}: expected a 'file://' URL, a path, a handler with load() or a buffer, received ${describe(source)}`);
}

/** A handler reading and writing a folder (tfjs-node io.fileSystem). */
export function fileSystem(p: string): IOHandler {
  const dir = pathFromUrl(p, 'fileSystem');
  return { save: (a) => saveToDirectory(dir, a), load: () => loadFromPath(dir) };
}
