/**
 * Writing a model as TF.js layers-model artifacts: the Keras JSON topology, the model's weights
 * (named `<layer>/<kernel|bias|gamma|...>`), and with includeOptimizer the training config and
 * optimizer weights. Only types come from the model classes, so the model imports this file
 * (model.save) without a cycle; reading lives in load.ts.
 */
import type { LayersModel } from '../container';
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

/** Class names under which a model (not a layer) appears in Keras JSON. */
export const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

function isModel(l: unknown): l is LayersModel {
  return typeof l === 'object' && l !== null && MODEL_CLASSES.has((l as { className?: string }).className ?? '');
}

type GraphConfig = {
  name: string;
  layers: { name: string; className: string; config: Record<string, unknown>; inboundNodes: unknown[][][] }[];
  inputLayers: unknown[][];
  outputLayers: unknown[][];
};

/**
 * {class_name, config} of a model as TF.js writes it: a Sequential's layer list, or a functional
 * model's 'Model' config with each layer's inbound_nodes ([[["layer", nodeIndex, tensorIndex, {}]]])
 * and input_layers / output_layers. A model used as a layer is written in place, recursively.
 */
export function topologyOf(model: LayersModel): { class_name: string; config: Record<string, unknown> } {
  if (model.className === 'Sequential') {
    const cfg = model.getConfig() as { name: string; layers: { className: string; config: Record<string, unknown> }[] };
    return {
      class_name: 'Sequential',
      config: {
        name: cfg.name,
        layers: cfg.layers.map((l, i) => {
          const obj = model.layers[i];
          return isModel(obj) ? topologyOf(obj) : { class_name: l.className, config: layerConfigToJson(l.className, l.config) };
        }),
      },
    };
  }
  const cfg = model.getConfig() as GraphConfig;
  // TF.js and Keras count a nested model's calls from 1 (its call 0 is the node that built it).
  const nested = new Set(model.layers.filter(isModel).map((l) => l.name));
  const ref = (r: unknown[]) => [r[0], nested.has(r[0] as string) ? (r[1] as number) + 1 : r[1], r[2]];
  return {
    class_name: 'Model',
    config: {
      name: cfg.name,
      layers: cfg.layers.map((e, i) => {
        const obj = model.layers[i];
        return {
          name: e.name,
          class_name: e.className,
          config: isModel(obj) ? topologyOf(obj).config : layerConfigToJson(e.className, e.config),
          inbound_nodes: e.inboundNodes.map((node) => node.map((r) => [...ref(r), r[3] ?? {}])),
        };
      }),
      input_layers: cfg.inputLayers.map(ref),
      output_layers: cfg.outputLayers.map(ref),
    },
  };
}

/** Keras JSON topology of a model, as TF.js writes it. */
export function modelTopology(model: LayersModel): Record<string, unknown> {
  return { ...topologyOf(model), keras_version: KERAS_VERSION, backend: 'tensor_flow.js' };
}

/** The layers holding the model's weights, each once, in TF.js order (nested models' in place). */
export function weightLeaves(model: LayersModel): Layer[] {
  return model.weightLayers();
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
export function modelWeights(model: LayersModel): NamedWeight[] {
  model.build();
  const trainable: NamedWeight[] = [];
  const frozen: NamedWeight[] = [];
  for (const l of weightLeaves(model)) {
    for (const j of savedWeightIndices(l)) {
      const w = l.weightSpecs[j];
      const nw: NamedWeight = { name: `${l.name}/${w.name}`, shape: w.shape.slice(), values: l.weightViews[j].slice() };
      (w.trainable ? trainable : frozen).push(nw);
    }
  }
  return [...trainable, ...frozen];
}

/** Everything a save handler receives (TF.js LayersModel.save). */
export function modelArtifacts(model: LayersModel, config: SaveConfig = {}): ModelArtifacts {
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
export function saveModel(model: LayersModel, handlerOrUrl: unknown, config?: unknown): Promise<SaveResult> {
  return saveArtifacts(handlerOrUrl, modelArtifacts(model, (config ?? {}) as SaveConfig));
}
