/**
 * Writing a model as TF.js layers-model artifacts: the Keras JSON topology, the model's weights
 * (named `<layer>/<kernel|bias|gamma|...>`), and with includeOptimizer the training config and
 * optimizer weights. Only types come from the model classes, so the model imports this file
 * (model.save) without a cycle; reading lives in load.ts.
 */
import type { Sequential } from '../sequential';
import { BatchNormalization } from '../layers';
import type { Layer } from '../layers';
import { layerConfigToJson } from './layer_configs';
import { optimizerWeights, trainingConfigOf } from './optimizer_state';
import { saveArtifacts } from '../../io';
import type { ModelArtifacts, SaveConfig, SaveResult } from '../../io/types';
import { encodeWeights } from '../../io/weights';
import type { NamedWeight } from '../../io/weights';

/** The layers-model dialect written (TF.js's). */
export const KERAS_VERSION = 'tfjs-layers 4.22.0';
export const GENERATED_BY = 'cnn-node v0.1.0';
export const LAYERS_MODEL_FORMAT = 'layers-model';

// ---------------------------------------------------------------- writing

/** Keras JSON topology of a Sequential model, as TF.js writes it. */
export function modelTopology(model: Sequential): Record<string, unknown> {
  const cfg = model.getConfig();
  return {
    class_name: 'Sequential',
    config: {
      name: cfg.name,
      layers: cfg.layers.map((l) => ({ class_name: l.className, config: layerConfigToJson(l.className, l.config) })),
    },
    keras_version: KERAS_VERSION,
    backend: 'tensor_flow.js',
  };
}

/**
 * A layer's weights as they are saved. BatchNormalization without scale / center has no gamma /
 * beta in TF.js and Keras (here they are stored fixed at 1 / 0), so they are left out.
 */
export function savedWeightIndices(l: Layer): number[] {
  const idx: number[] = [];
  l.weightSpecs.forEach((w, j) => {
    if (l instanceof BatchNormalization && ((w.name === 'gamma' && !l.scale) || (w.name === 'beta' && !l.center))) return;
    idx.push(j);
  });
  return idx;
}

/** The model's weights in TF.js order: every trainable weight layer by layer, then the others. */
export function modelWeights(model: Sequential): NamedWeight[] {
  model.build();
  const trainable: NamedWeight[] = [];
  const frozen: NamedWeight[] = [];
  for (const l of model.layers) {
    for (const j of savedWeightIndices(l)) {
      const w = l.weightSpecs[j];
      const nw: NamedWeight = { name: `${l.name}/${w.name}`, shape: w.shape.slice(), values: l.weightViews[j].slice() };
      (w.trainable ? trainable : frozen).push(nw);
    }
  }
  return [...trainable, ...frozen];
}

/** Everything a save handler receives (TF.js LayersModel.save). */
export function modelArtifacts(model: Sequential, config: SaveConfig = {}): ModelArtifacts {
  if (config === null || typeof config !== 'object') throw new TypeError('save: config must be an object like {includeOptimizer: true}');
  if (config.trainableOnly) throw new Error('save: trainableOnly is not supported; every weight is saved');
  const weights = modelWeights(model);
  const artifacts: ModelArtifacts = {
    modelTopology: modelTopology(model),
    format: LAYERS_MODEL_FORMAT,
    generatedBy: GENERATED_BY,
    convertedBy: null,
  };
  if (config.includeOptimizer) {
    const tc = trainingConfigOf(model);
    if (tc) {
      artifacts.trainingConfig = tc;
      weights.push(...optimizerWeights(model));
    }
  }
  const { specs, data } = encodeWeights(weights);
  artifacts.weightData = data;
  artifacts.weightSpecs = specs;
  return artifacts;
}

/** model.save(): the model's artifacts handed to a 'file://DIR' URL, a folder path or a handler. */
export function saveModel(model: Sequential, handlerOrUrl: unknown, config?: unknown): Promise<SaveResult> {
  return saveArtifacts(handlerOrUrl, modelArtifacts(model, (config ?? {}) as SaveConfig));
}
