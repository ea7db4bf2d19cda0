/**
 * The TF.js model-artifacts types (tfjs-core io/types.ts), so that handlers written for TF.js
 * (`io.withSaveHandler`, `io.fromMemory`, custom `{save, load}` objects) work here unchanged.
 */

/** Data types a weights manifest may declare. */
export type WeightDType = 'float32' | 'int32' | 'bool' | 'string' | 'complex64';

/** One weight in a manifest group: its name, shape and how its bytes are stored. */
export interface WeightsManifestEntry {
  name: string;
  shape: number[];
  dtype: WeightDType;
  /** 'model' (default) or 'optimizer' (written with includeOptimizer). */
  group?: 'model' | 'optimizer';
  /** Stored quantized: value = q * scale + min (uint8 / uint16), or as IEEE half floats (float16). */
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number };
}

/** A group of weights stored back to back across the files in `paths` (shards). */
export interface WeightsManifestGroupConfig {
  paths: string[];
  weights: WeightsManifestEntry[];
}

/** Keras training config as TF.js writes it (trainingConfig, only with includeOptimizer). */
export interface TrainingConfig {
  loss: string | string[] | Record<string, string> | Record<string, unknown>;
  metrics?: string[] | Record<string, string>;
  optimizer_config: { class_name: string; config: Record<string, unknown> };
  weighted_metrics?: unknown;
  loss_weights?: unknown;
  sample_weight_mode?: unknown;
}

/** Everything a model is made of, in memory (what a save handler receives and a load handler returns). */
export interface ModelArtifacts {
  /** Keras JSON topology: {class_name: 'Sequential', config, keras_version, backend}. */
  modelTopology?: Record<string, unknown> | ArrayBuffer;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: TrainingConfig;
  weightSpecs?: WeightsManifestEntry[];
  /** All weights back to back in weightSpecs order (an array of buffers is concatenated). */
  weightData?: ArrayBuffer | ArrayBuffer[];
  userDefinedMetadata?: Record<string, unknown>;
  signature?: Record<string, unknown>;
}

/** The JSON file (model.json). */
export interface ModelJSON {
  modelTopology: Record<string, unknown>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: WeightsManifestGroupConfig[];
  trainingConfig?: TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
  signature?: Record<string, unknown>;
}

export interface ModelArtifactsInfo {
  dateSaved: Date;
  modelTopologyType: 'JSON' | 'GraphDef';
  modelTopologyBytes?: number;
  weightSpecsBytes?: number;
  weightDataBytes?: number;
}

export interface SaveResult {
  modelArtifactsInfo: ModelArtifactsInfo;
  responses?: unknown[];
  errors?: unknown[];
}

export interface SaveConfig {
  /** Also save the optimizer's state (trainingConfig and its weights) so training can resume exactly. */
  includeOptimizer?: boolean;
  /** Accepted for TF.js compatibility; only false (save every weight) is supported. */
  trainableOnly?: boolean;
}

export interface LoadOptions {
  /**
   * True (default, as TF.js): every weight of the model must be in the file and every weight in
   * the file must belong to the model. False: missing weights keep their initial values and extra
   * ones are ignored.
   */
  strict?: boolean;
}

/** A TF.js-style IO handler: an object with save and / or load. */
export interface IOHandler {
  save?: (artifacts: ModelArtifacts) => Promise<SaveResult>;
  load?: () => Promise<ModelArtifacts>;
}
