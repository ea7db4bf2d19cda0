/**
 * Reading TF.js layers-model artifacts back into a model: the Keras JSON topology (TF.js, Keras 2
 * and Keras 3 through tensorflowjs_converter), the weights by name, and the training config with
 * the optimizer state.
 */
import { Sequential } from '../sequential';
import { checkFinite } from '../container';
import type { LayersModel } from '../container';
import { functionalFromConfig } from './functional';
import type { Layer } from '../layers';
import { fromPythonic, isPlainObject, shown } from './keras_json';
import { layerFromConfig } from './layer_configs';
import { compileFromTrainingConfig, restoreOptimizerWeights } from './optimizer_state';
import { LAYERS_MODEL_FORMAT, savedWeightIndices } from './save';
import type { LoadOptions, ModelArtifacts, WeightsManifestEntry } from '../../io/types';
import { concatBuffers, decodeWeights } from '../../io/weights';
import type { DecodedWeight } from '../../io/weights';

/** The {class_name, config} of the model inside a topology (unwrapping the converter's model_config). */
function modelEntry(topology: unknown, where: string): { cls: unknown; config: unknown } {
  if (!isPlainObject(topology)) throw new Error(`${where}: modelTopology must be a JSON object`);
  let t: Record<string, unknown> = topology;
  // tensorflowjs_converter keeps Keras' h5 attributes: {keras_version, backend, model_config, training_config}.
  if (isPlainObject(t.model_config)) t = t.model_config;
  return { cls: t.class_name ?? t.className, config: t.config };
}

/** The Sequential config: TF.js / Keras JSON, or a legacy bare array of layers. */
function sequentialConfig(c: unknown, where: string): { name?: string; layers: unknown[]; buildInputShape?: unknown } {
  if (Array.isArray(c)) return { layers: c };
  if (!isPlainObject(c) || !Array.isArray(c.layers)) throw new Error(`${where}: the Sequential config must hold a layers array`);
  return {
    name: typeof c.name === 'string' ? c.name : undefined,
    layers: c.layers,
    buildInputShape: c.build_input_shape,
  };
}

/** Rebuilds a Sequential model from its config. */
function sequentialFromConfig(c: unknown, where: string): LayersModel {
  const sc = sequentialConfig(c, where);
  if (sc.layers.length === 0) throw new Error(`${where}: the model has no layers`);
  const model = new Sequential({ name: sc.name });
  sc.layers.forEach((entry, i) => {
    if (!isPlainObject(entry)) throw new Error(`${where}: layer ${i} must be an object {class_name, config}`);
    const ctx = { where: `${where}: layer ${i} (${shown(entry.class_name)})`, inputShape: model.layers.length ? model.outputShape : undefined };
    const config = fromPythonic(entry.config, ctx.where) as Record<string, unknown>;
    if (i === 0 && isPlainObject(config) && config.batchInputShape == null && config.batchShape == null && config.inputShape == null) {
      // Keras 3 (and Keras 2 models built by calling them) keep the input shape beside the layers.
      const bc = isPlainObject(entry.build_config) ? entry.build_config.input_shape : undefined;
      const shape = sc.buildInputShape ?? bc;
      if (Array.isArray(shape)) config.batchInputShape = shape;
    }
    const layer = layerFromConfig(entry.class_name, config, ctx);
    try {
      model.add(layer);
    } catch (e) {
      throw new Error(`${ctx.where}: ${(e as Error).message}`);
    }
  });
  return model;
}

/** A model (Sequential, or functional 'Model' / Keras 'Functional') from its class name and config. */
function modelFromEntry(cls: unknown, config: unknown, where: string): LayersModel {
  if (cls === 'Sequential') return sequentialFromConfig(config, where);
  if (cls === 'Model' || cls === 'Functional') {
    if (!isPlainObject(config) || config.input_layers == null || config.output_layers == null) {
      throw new Error(`${where}: the ${shown(cls)} config has no input_layers / output_layers (without them only Sequential models are supported, this file holds a ${shown(cls)} model)`);
    }
    return functionalFromConfig(config, where, modelFromEntry);
  }
  throw new Error(`${where}: only Sequential and functional (Model / Functional) models are supported, this file holds a ${shown(cls)} model`);
}

/** Rebuilds the (uncompiled, unbuilt) model from a Keras JSON topology. */
export function modelFromTopology(topology: unknown, where: string): LayersModel {
  const { cls, config } = modelEntry(topology, where);
  return modelFromEntry(cls, config, where);
}

/** The known names of one layer's weights, in Keras' order. */
const WEIGHT_NAMES = new Set(['kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance']);

interface Slot { layer: Layer; index: number; key: string }

/**
 * Maps the file's weight names onto the model's weights. Accepted: `<layer>/<weight>` (TF.js,
 * Keras 2), any prefix before it (Keras 3 `sequential/conv2d/kernel`), a `:0` suffix, and Keras 3
 * positional names (`<layer>/0`, `<layer>/vars/0`).
 */
function matchWeights(model: LayersModel, decoded: DecodedWeight[], strict: boolean, where: string): Map<Slot, DecodedWeight> {
  const slots = new Map<string, Slot>();
  const byLayer = new Map<string, Slot[]>();
  for (const l of model.weightLayers()) {
    const list: Slot[] = [];
    for (const j of savedWeightIndices(l)) {
      const s: Slot = { layer: l, index: j, key: `${l.name}/${l.weightSpecs[j].name}` };
      slots.set(s.key, s);
      list.push(s);
    }
    byLayer.set(l.name, list);
  }
  const found = new Map<Slot, DecodedWeight>();
  const unmatched: string[] = [];
  const claim = (s: Slot, d: DecodedWeight) => {
    const prev = found.get(s);
    if (prev) throw new Error(`${where}: weights ${shown(prev.spec.name)} and ${shown(d.spec.name)} both map to ${s.key}`);
    found.set(s, d);
  };
  for (const d of decoded) {
    const name = d.spec.name.replace(/:0$/, '');
    let s = slots.get(name);
    const parts = name.split('/');
    for (let k = 1; !s && k < parts.length - 1; k++) s = slots.get(parts.slice(k).join('/'));
    if (!s) {
      // Positional: <layer>/<i> or <layer>/vars/<i>, the layer found anywhere in the path.
      const last = parts[parts.length - 1];
      if (/^\d+$/.test(last) && !WEIGHT_NAMES.has(last)) {
        const layerPart = parts[parts.length - 2] === 'vars' ? parts[parts.length - 3] : parts[parts.length - 2];
        const list = layerPart !== undefined ? byLayer.get(layerPart) : undefined;
        if (list) s = list[Number(last)];
      }
    }
    if (s) claim(s, d);
    else unmatched.push(d.spec.name);
  }
  if (strict) {
    const missing = [...slots.values()].filter((s) => !found.has(s)).map((s) => s.key);
    if (missing.length) {
      throw new Error(`${where}: the file has no value for ${missing.length} weight(s) of the model: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ' ...' : ''}. Pass {strict: false} to keep their initial values.`);
    }
    if (unmatched.length) {
      throw new Error(`${where}: ${unmatched.length} weight(s) in the file belong to no layer of the model: ${unmatched.slice(0, 10).join(', ')}${unmatched.length > 10 ? ' ...' : ''}. Pass {strict: false} to ignore them.`);
    }
  }
  return found;
}

/** Copies the decoded weights into the model (all shapes are checked before anything is set). */
export function setModelWeights(model: LayersModel, decoded: DecodedWeight[], strict: boolean, where: string): void {
  // Names, shapes and dtypes are all checked against the layers' weight specs (known once the
  // layers are added) before the model is built: a file whose topology declares far more weights
  // than it holds is refused before the parameters are allocated and initialised.
  const found = new Map<string, DecodedWeight>();
  for (const [s, d] of matchWeights(model, decoded, strict, where)) found.set(s.key, d);
  const leaves = model.weightLayers();
  for (const l of leaves) {
    for (const w of l.weightSpecs) {
      const d = found.get(`${l.name}/${w.name}`);
      if (!d) continue;
      const shape = d.spec.shape;
      if (shape.length !== w.shape.length || shape.some((x, i) => x !== w.shape[i])) {
        throw new Error(`${where}: weight ${shown(d.spec.name)} has shape [${shape.join(',')}] but ${l.name}/${w.name} needs [${w.shape.join(',')}]`);
      }
      if (!(d.values instanceof Float32Array)) throw new Error(`${where}: weight ${shown(d.spec.name)} must be float32, the file has ${d.spec.dtype}`);
    }
  }
  model.build();
  // Written straight into the layers' weight views (set by build), so the order of setWeights
  // (which differs between Sequential and functional models) does not matter here.
  let index = 0;
  for (const l of leaves) {
    l.weightSpecs.forEach((w) => {
      const d = found.get(`${l.name}/${w.name}`);
      if (d) checkFinite(d.values as Float32Array, where, `weight ${index} (${l.name}/${w.name})`);
      index++;
    });
  }
  for (const l of leaves) {
    l.weightSpecs.forEach((w, j) => {
      const d = found.get(`${l.name}/${w.name}`);
      if (d) l.weightViews[j].set(d.values as Float32Array);
    });
  }
}

/** Rebuilds a model from artifacts: topology, weights, and (with trainingConfig) its compiled optimizer state. */
export function modelFromArtifacts(artifacts: ModelArtifacts, options: LoadOptions = {}, where = 'loadLayersModel'): LayersModel {
  if (!isPlainObject(artifacts)) throw new TypeError(`${where}: expected model artifacts {modelTopology, weightSpecs, weightData}`);
  if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error(`${where}: a binary (GraphDef) topology is a graph model; only layers models are supported`);
  if (artifacts.format !== undefined && artifacts.format !== null && artifacts.format !== LAYERS_MODEL_FORMAT) {
    throw new Error(`${where}: format ${shown(artifacts.format)} is not a layers model (expected "layers-model")`);
  }
  const strict = options.strict ?? true;
  const model = modelFromTopology(artifacts.modelTopology, where);
  const specs = artifacts.weightSpecs;
  if (specs !== undefined && specs !== null) {
    if (!Array.isArray(specs)) throw new Error(`${where}: weightSpecs must be an array`);
    if (artifacts.weightData === undefined || artifacts.weightData === null) throw new Error(`${where}: weightSpecs given without weightData`);
    const data = concatBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[], where);
    const decoded = decodeWeights(specs as WeightsManifestEntry[], data, where);
    const modelPart = decoded.filter((d) => d.spec.group !== 'optimizer');
    const optimizerPart = decoded.filter((d) => d.spec.group === 'optimizer');
    setModelWeights(model, modelPart, strict, where);
    if (artifacts.trainingConfig) {
      compileFromTrainingConfig(model, artifacts.trainingConfig, where);
      if (optimizerPart.length) restoreOptimizerWeights(model, optimizerPart, where);
    }
  } else if (artifacts.trainingConfig) {
    compileFromTrainingConfig(model, artifacts.trainingConfig, where);
  }
  return model;
}
