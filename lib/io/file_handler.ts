/**
 * The `file://` handler: DIR/model.json + DIR/weights.bin, as tfjs-node's file system handler
 * writes them, and reading of any layers-model folder (sharded weights included).
 *
 * Saving is crash-safe: each file is written to a temporary file in DIR, flushed, and renamed over
 * the old one, so a crash leaves either the old or the new file, never half of one.
 * Loading trusts nothing in model.json: weight paths must be plain relative paths that resolve
 * (symlinks included) inside the model's folder, each group's files must add up to exactly the
 * bytes its manifest describes, and shapes are checked before anything is allocated.
 */
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { isPlainObject, shown } from './json';
import type { ModelArtifacts, ModelJSON, SaveResult, WeightsManifestEntry } from './types';
import { concatBuffers, specsByteLength } from './weights';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
/** model.json larger than this is refused (the topology of a Sequential model is a few KB). */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

const FILE_SCHEME = 'file://';
const OTHER_SCHEMES = /^(https?|indexeddb|localstorage|downloads|gs|s3):\/\//i;

/** 'file://dir' -> 'dir'; a plain path is accepted as it is. */
export function pathFromUrl(url: string, fn: string): string {
  if (typeof url !== 'string' || url.length === 0) throw new TypeError(`${fn}: expected a 'file://' URL or a path, received ${shown(url)}`);
  if (url.startsWith(FILE_SCHEME)) url = url.slice(FILE_SCHEME.length);
  else if (OTHER_SCHEMES.test(url)) throw new Error(`${fn}: ${shown(url)}: only 'file://' URLs, paths and IO handlers are supported`);
  if (url.length === 0) throw new Error(`${fn}: the 'file://' URL has no path`);
  if (url.includes('\0')) throw new Error(`${fn}: the path contains a NUL character`);
  return url;
}

/** The TF.js model.json for artifacts and one weights file (tfjs-core getModelJSONForModelArtifacts). */
export function modelJsonFor(artifacts: ModelArtifacts, weightsPaths: string[]): ModelJSON {
  const json: ModelJSON = {
    modelTopology: artifacts.modelTopology as Record<string, unknown>,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: weightsPaths, weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.signature != null) json.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
  return json;
}

/** TF.js's ModelArtifactsInfo for a save result. */
export function artifactsInfo(artifacts: ModelArtifacts): SaveResult['modelArtifactsInfo'] {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  return {
    dateSaved: new Date(),
    modelTopologyType: 'JSON',
    modelTopologyBytes: artifacts.modelTopology == null ? 0 : bytes(JSON.stringify(artifacts.modelTopology)),
    weightSpecsBytes: artifacts.weightSpecs == null ? 0 : bytes(JSON.stringify(artifacts.weightSpecs)),
    weightDataBytes: artifacts.weightData == null ? 0 : concatBuffers(artifacts.weightData, 'save').byteLength,
  };
}

/** Writes data to a temporary file beside target, flushes it, and renames it over target. */
async function writeAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** Flushes a directory entry (after renames), where the platform allows it. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // Not supported on every platform (Windows); the renames are still atomic.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Saves artifacts to DIR/model.json + DIR/weights.bin. */
export async function saveToDirectory(dir: string, artifacts: ModelArtifacts): Promise<SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('save: binary topologies (graph models) cannot be saved by this handler');
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new Error(`save: cannot create the folder ${dir}: ${(e as Error).message}`);
  }
  const st = await fsp.stat(dir);
  if (!st.isDirectory()) throw new Error(`save: ${dir} exists and is not a folder`);
  const weights = artifacts.weightData == null ? new ArrayBuffer(0) : concatBuffers(artifacts.weightData, 'save');
  const json = JSON.stringify(modelJsonFor(artifacts, [WEIGHTS_BIN]));
  // Weights first: a crash between the two renames leaves the old model.json beside the new
  // weights.bin, which the loader's exact size check refuses unless both describe the same layers.
  await writeAtomic(path.join(dir, WEIGHTS_BIN), new Uint8Array(weights));
  await writeAtomic(path.join(dir, MODEL_JSON), json);
  await syncDir(dir);
  return { modelArtifactsInfo: artifactsInfo(artifacts) };
}

/** Reads and parses a JSON file, naming it in every error. */
async function readJsonFile(file: string): Promise<unknown> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    throw new Error(`loadLayersModel: cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (!st.isFile()) throw new Error(`loadLayersModel: ${file} is not a file`);
  if (st.size > MAX_MODEL_JSON_BYTES) throw new Error(`loadLayersModel: ${file} is ${st.size} bytes, more than the ${MAX_MODEL_JSON_BYTES} accepted for a model.json`);
  const text = await fsp.readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`loadLayersModel: ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Resolves a manifest path inside root (the model's folder, already realpath'd). Refuses absolute
 * paths, '..' segments, URLs, and anything whose real path (after symlinks) leaves root.
 */
async function resolveInside(root: string, rel: unknown, jsonFile: string): Promise<string> {
  const bad = (why: string) => new Error(`loadLayersModel: ${jsonFile}: weights path ${shown(rel)} ${why}`);
  if (typeof rel !== 'string' || rel.length === 0) throw bad('must be a non-empty string');
  if (rel.includes('\0')) throw bad('contains a NUL character');
  if (path.isAbsolute(rel) || path.win32.isAbsolute(rel) || /^[a-z][a-z0-9+.-]*:/i.test(rel)) throw bad('must be relative to the model folder');
  if (rel.split(/[\\/]+/).includes('..')) throw bad('must not contain ".."');
  const joined = path.resolve(root, rel);
  let real: string;
  try {
    real = await fsp.realpath(joined);
  } catch (e) {
    throw bad((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(e as Error).message}`);
  }
  const within = path.relative(root, real);
  if (within === '' || within.startsWith('..') || path.isAbsolute(within)) throw bad('resolves outside the model folder');
  const st = await fsp.stat(real);
  if (!st.isFile()) throw bad('is not a regular file');
  return real;
}

/** Loads artifacts from a model.json path (or a folder holding one). */
export async function loadFromPath(p: string): Promise<ModelArtifacts> {
  let file = path.resolve(p);
  try {
    if ((await fsp.stat(file)).isDirectory()) file = path.join(file, MODEL_JSON);
  } catch {
    // Reported by readJsonFile with the file name.
  }
  const json = await readJsonFile(file);
  if (!isPlainObject(json)) throw new Error(`loadLayersModel: ${file} must hold a JSON object`);
  if (!isPlainObject(json.modelTopology)) throw new Error(`loadLayersModel: ${file} has no modelTopology object`);
  const artifacts: ModelArtifacts = {
    modelTopology: json.modelTopology,
    format: json.format as string | undefined,
    generatedBy: json.generatedBy as string | undefined,
    convertedBy: json.convertedBy as string | null | undefined,
  };
  if (json.trainingConfig != null) artifacts.trainingConfig = json.trainingConfig as ModelArtifacts['trainingConfig'];
  if (json.userDefinedMetadata != null) artifacts.userDefinedMetadata = json.userDefinedMetadata as Record<string, unknown>;
  const manifest = json.weightsManifest;
  if (manifest === undefined || manifest === null) return artifacts;
  if (!Array.isArray(manifest)) throw new Error(`loadLayersModel: ${file}: weightsManifest must be an array`);
  const root = await fsp.realpath(path.dirname(file));
  // Validate every group and size every file before reading any data.
  const groups: { files: string[]; bytes: number }[] = [];
  const specs: WeightsManifestEntry[] = [];
  let total = 0;
  for (const [gi, g] of manifest.entries()) {
    if (!isPlainObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new Error(`loadLayersModel: ${file}: weightsManifest[${gi}] must be {paths: [...], weights: [...]}`);
    }
    const bytes = specsByteLength(g.weights, `loadLayersModel: ${file}: weightsManifest[${gi}]`);
    const files: string[] = [];
    let have = 0;
    for (const rel of g.paths) {
      const f = await resolveInside(root, rel, file);
      files.push(f);
      have += (await fsp.stat(f)).size;
    }
    if (have !== bytes) {
      const names = (g.paths as string[]).join(', ');
      throw new Error(
        `loadLayersModel: ${file}: weightsManifest[${gi}] describes ${bytes} bytes but its file(s) ${names} hold ${have}` +
          (have < bytes ? ' (truncated)' : ' (too long)'),
      );
    }
    groups.push({ files, bytes });
    specs.push(...(g.weights as WeightsManifestEntry[]));
    total += bytes;
  }
  const data = new Uint8Array(total);
  let off = 0;
  for (const g of groups) {
    for (const f of g.files) {
      const buf = await fsp.readFile(f);
      // The file may have changed since it was sized; never write past the group's share.
      if (off + buf.length > total) throw new Error(`loadLayersModel: ${f} changed while it was being read`);
      data.set(buf, off);
      off += buf.length;
    }
  }
  if (off !== total) throw new Error(`loadLayersModel: ${file}: the weight files changed while they were being read`);
  artifacts.weightSpecs = specs;
  artifacts.weightData = data.buffer;
  return artifacts;
}
