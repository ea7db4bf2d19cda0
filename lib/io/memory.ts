/**
 * In-memory handlers (TF.js io.withSaveHandler / io.fromMemory) and a one-buffer form of a model.
 *
 * Buffer layout (little-endian), for storing a model in one blob (a database field, a message):
 *   bytes 0..7   magic "CNNLM\0\0\1" (format version 1)
 *   bytes 8..11  uint32 n: length of the model.json text
 *   bytes 12..   n bytes of model.json (UTF-8), whose single manifest path is "weights.bin"
 *   then         the weight data, exactly as long as the manifest says
 */
import { isPlainObject } from './json';
import { modelJsonFor, MAX_MODEL_JSON_BYTES } from './file_handler';
import type { IOHandler, ModelArtifacts, SaveResult, TrainingConfig, WeightsManifestEntry } from './types';
import { concatBuffers } from './weights';
import { artifactsInfo } from './file_handler';

/** A handler whose save calls fn with the artifacts (TF.js io.withSaveHandler). */
export function withSaveHandler(fn: (artifacts: ModelArtifacts) => Promise<SaveResult> | SaveResult): IOHandler {
  if (typeof fn !== 'function') throw new TypeError('withSaveHandler: expected a function (artifacts) => SaveResult');
  return { save: async (a) => fn(a) };
}

/**
 * A handler that loads the given artifacts (TF.js io.fromMemory). Accepts ModelArtifacts, or the
 * legacy arguments (modelTopology, weightSpecs, weightData, trainingConfig).
 */
export function fromMemory(
  modelArtifacts: ModelArtifacts | Record<string, unknown>,
  weightSpecs?: WeightsManifestEntry[],
  weightData?: ArrayBuffer,
  trainingConfig?: TrainingConfig,
): IOHandler {
  if (!isPlainObject(modelArtifacts)) throw new TypeError('fromMemory: expected model artifacts {modelTopology, weightSpecs, weightData}');
  const isArtifacts = 'modelTopology' in modelArtifacts || 'weightSpecs' in modelArtifacts || 'weightData' in modelArtifacts;
  const artifacts: ModelArtifacts = isArtifacts && weightSpecs === undefined
    ? (modelArtifacts as ModelArtifacts)
    : { modelTopology: modelArtifacts as Record<string, unknown>, weightSpecs, weightData, trainingConfig };
  return { load: async () => artifacts };
}

const MAGIC = Buffer.from([0x43, 0x4e, 0x4e, 0x4c, 0x4d, 0, 0, 1]); // "CNNLM" 0 0 version 1
const HEADER = MAGIC.length + 4;

/** Artifacts as one buffer (layout above). */
export function artifactsToBuffer(artifacts: ModelArtifacts): Buffer {
  const json = Buffer.from(JSON.stringify(modelJsonFor(artifacts, ['weights.bin'])), 'utf8');
  const weights = artifacts.weightData == null ? Buffer.alloc(0) : Buffer.from(concatBuffers(artifacts.weightData, 'save'));
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(json.length, MAGIC.length);
  return Buffer.concat([head, json, weights]);
}

/** True when bytes start with the one-buffer magic. */
export function isModelBuffer(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER && Buffer.from(bytes.buffer, bytes.byteOffset, MAGIC.length).equals(MAGIC);
}

/** Artifacts from one buffer; every length is checked against the buffer. */
export function artifactsFromBuffer(bytes: Uint8Array): ModelArtifacts {
  const where = 'loadLayersModel(buffer)';
  if (!isModelBuffer(bytes)) throw new Error(`${where}: not a cnn-node model buffer (bad magic)`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = b.readUInt32LE(MAGIC.length);
  if (n > MAX_MODEL_JSON_BYTES || HEADER + n > b.length) throw new Error(`${where}: the model.json length ${n} runs past the end of the buffer (${b.length} bytes)`);
  let json: unknown;
  try {
    json = JSON.parse(b.subarray(HEADER, HEADER + n).toString('utf8'));
  } catch (e) {
    throw new Error(`${where}: the model.json inside is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json) || !isPlainObject(json.modelTopology)) throw new Error(`${where}: the model.json inside has no modelTopology`);
  const manifest = json.weightsManifest;
  let specs: WeightsManifestEntry[] | undefined;
  if (manifest != null) {
    if (!Array.isArray(manifest) || manifest.some((g) => !isPlainObject(g) || !Array.isArray(g.weights))) {
      throw new Error(`${where}: weightsManifest must be an array of {paths, weights}`);
    }
    specs = manifest.flatMap((g) => g.weights as WeightsManifestEntry[]);
  }
  const rest = b.subarray(HEADER + n);
  return {
    modelTopology: json.modelTopology,
    format: json.format as string | undefined,
    generatedBy: json.generatedBy as string | undefined,
    convertedBy: json.convertedBy as string | null | undefined,
    trainingConfig: (json.trainingConfig ?? undefined) as TrainingConfig | undefined,
    userDefinedMetadata: (json.userDefinedMetadata ?? undefined) as Record<string, unknown> | undefined,
    weightSpecs: specs,
    // A copy: the caller's buffer may be reused.
    weightData: specs ? rest.buffer.slice(rest.byteOffset, rest.byteOffset + rest.byteLength) as ArrayBuffer : undefined,
  };
}
