/**
 * Reading a functional model's Keras JSON config ('Model' in TF.js, 'Functional' in Keras 2/3):
 * {name, layers: [{name, class_name, config, inbound_nodes}], input_layers, output_layers}.
 * Each layer's inbound nodes are its calls, in order; a reference to a tensor is
 * [layerName, nodeIndex, tensorIndex] counted over the calls inside this model. Inbound nodes
 * come in two forms:
 *   TF.js / Keras 2:  [[["conv2d", 0, 0, {}], ["input_2", 0, 0, {}]]]   (a list of references per call)
 *   Keras 3:          [{args: [<tensor> | [<tensor>, ...]], kwargs: {}}], a tensor being
 *                     {class_name: "__keras_tensor__", config: {keras_history: ["conv2d", 0, 0]}}
 * The model is rebuilt with the Functional API (tf.input, layer.apply, tf.model), calling each
 * layer once its inputs exist, as TF.js's fromConfig does. A model used as a layer (a
 * Sequential or a functional model among the layers) is rebuilt first and then applied.
 */
import { LayersModel } from '../container';
import type { Layer } from '../layers';
import { input } from '../input';
import { SymbolicTensor } from '../symbolic';
import { fromPythonic, isPlainObject, shown } from './keras_json';
import { layerFromConfig } from './layer_configs';
import { MODEL_CLASSES } from './save';

type Json = Record<string, unknown>;
type ModelBuilder = (cls: unknown, config: unknown, where: string) => LayersModel;

/** A reference to one tensor: the layer making it, which of its calls, which of that call's outputs. */
interface TensorRef { layer: string; node: number; tensor: number }

/** Most calls a file may list in total (a bound on the work a hostile file can ask for). */
const MAX_CALLS = 1 << 20;

function refFrom(v: unknown, where: string): TensorRef {
  if (Array.isArray(v) && v.length >= 3 && typeof v[0] === 'string' && Number.isInteger(v[1]) && Number.isInteger(v[2])) {
    return { layer: v[0], node: v[1] as number, tensor: v[2] as number };
  }
  throw new Error(`${where}: a tensor reference must be [layer_name, node_index, tensor_index], received ${shown(v)}`);
}

/** The tensors a Keras 3 call argument holds: a __keras_tensor__, or a (nested) list of them; other values are constants and ignored. */
function kerasTensors(v: unknown, where: string, out: TensorRef[], depth = 0): void {
  if (depth > 8) throw new Error(`${where}: the call arguments are nested too deeply`);
  if (Array.isArray(v)) {
    for (const x of v) kerasTensors(x, where, out, depth + 1);
  } else if (isPlainObject(v) && v.class_name === '__keras_tensor__') {
    const cfg = isPlainObject(v.config) ? v.config : {};
    out.push(refFrom(cfg.keras_history, where));
  }
}

/** One inbound node (a call) in either form: the tensors it reads. */
function callInputs(node: unknown, where: string): TensorRef[] {
  const refs: TensorRef[] = [];
  if (isPlainObject(node)) {
    kerasTensors(node.args, where, refs);
  } else if (Array.isArray(node)) {
    for (const r of node) refs.push(refFrom(r, where));
  } else {
    throw new Error(`${where}: an inbound node must be a list of tensor references or {args, kwargs}, received ${shown(node)}`);
  }
  if (refs.length === 0) throw new Error(`${where}: an inbound node reads no tensor`);
  return refs;
}

/** input_layers / output_layers: a list of references, or one bare reference (Keras 3, single input or output). */
function refList(v: unknown, what: string, where: string): TensorRef[] {
  if (!Array.isArray(v) || v.length === 0) throw new Error(`${where}: ${what} must be a non-empty list of [layer_name, node_index, tensor_index]`);
  if (typeof v[0] === 'string') return [refFrom(v, `${where}: ${what}`)];
  return v.map((r) => refFrom(r, `${where}: ${what}`));
}

interface Entry {
  name: string;
  cls: string;
  raw: Json;
  calls: TensorRef[][];
  /** The layer or model, made at its first call (a layer's config may depend on its input's shape). */
  made?: Layer | LayersModel;
  /** Outputs of the calls made so far. */
  outputs: SymbolicTensor[];
}

function inputFromConfig(e: Entry, where: string): SymbolicTensor {
  const c = fromPythonic(e.raw.config, where) as Json;
  if (!isPlainObject(c)) throw new Error(`${where}: the InputLayer config must be an object`);
  const d = c.dtype;
  const dname = isPlainObject(d) && isPlainObject(d.config) ? d.config.name : d;
  if (dname !== undefined && dname !== null && dname !== 'float32') throw new Error(`${where}: dtype ${shown(dname)} is not supported (only float32)`);
  const bs = c.batchInputShape ?? c.batchShape;
  let batchShape: (number | null)[] | undefined;
  if (Array.isArray(bs)) batchShape = bs as (number | null)[];
  else if (Array.isArray(c.inputShape)) batchShape = [null, ...(c.inputShape as number[])];
  if (!batchShape || batchShape.length < 2) throw new Error(`${where}: the InputLayer needs batch_input_shape (or batch_shape), received ${shown(bs)}`);
  try {
    return input({ batchShape, name: e.name });
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}

/** Rebuilds a functional model from its Keras JSON config (snake_case, as in the file). */
export function functionalFromConfig(config: Json, where: string, buildModel: ModelBuilder): LayersModel {
  if (!Array.isArray(config.layers) || config.layers.length === 0) throw new Error(`${where}: the functional config must hold a non-empty layers array`);
  const entries = new Map<string, Entry>();
  const order: Entry[] = [];
  let totalCalls = 0;
  config.layers.forEach((raw, i) => {
    const at = `${where}: layer ${i}`;
    if (!isPlainObject(raw)) throw new Error(`${at} must be an object {name, class_name, config, inbound_nodes}`);
    const cfg = isPlainObject(raw.config) ? raw.config : {};
    const name = typeof raw.name === 'string' ? raw.name : cfg.name;
    if (typeof name !== 'string') throw new Error(`${at}: the layer has no name`);
    if (typeof raw.class_name !== 'string') throw new Error(`${at}: class_name must be a string, received ${shown(raw.class_name)}`);
    if (entries.has(name)) throw new Error(`${at}: the layer name ${shown(name)} is used twice`);
    const nodes = raw.inbound_nodes ?? [];
    if (!Array.isArray(nodes)) throw new Error(`${at} (${name}): inbound_nodes must be a list`);
    totalCalls += nodes.length;
    if (totalCalls > MAX_CALLS) throw new Error(`${where}: the file lists more than ${MAX_CALLS} layer calls`);
    const calls = nodes.map((n) => callInputs(n, `${at} (${name}): inbound_nodes`));
    const e: Entry = { name, cls: raw.class_name, raw, calls, outputs: [] };
    entries.set(name, e);
    order.push(e);
  });

  // A nested model's calls are counted from 1 in TF.js and Keras files (node 0 built the model);
  // a file whose references to it use node 0 counts from 0.
  const allRefs = [...order.flatMap((e) => e.calls.flat())];
  for (const key of ['input_layers', 'output_layers']) {
    try {
      allRefs.push(...refList(config[key], key, where));
    } catch {
      /* reported below */
    }
  }
  const offset = new Map<string, number>();
  for (const e of order) {
    if (MODEL_CLASSES.has(e.cls)) offset.set(e.name, allRefs.some((r) => r.layer === e.name && r.node === 0) ? 0 : 1);
  }

  const tensorOf = (r: TensorRef, at: string): SymbolicTensor | undefined => {
    const e = entries.get(r.layer);
    if (!e) throw new Error(`${at}: it reads ${shown([r.layer, r.node, r.tensor])}, but the model has no layer ${shown(r.layer)}`);
    if (r.tensor !== 0) throw new Error(`${at}: it reads output ${r.tensor} of ${r.layer}; only single-output layers are supported`);
    return e.outputs[r.node - (offset.get(r.layer) ?? 0)];
  };

  for (const e of order) {
    if (e.cls !== 'InputLayer') continue;
    if (e.calls.length !== 0) throw new Error(`${where}: InputLayer ${e.name} must have no inbound nodes`);
    e.outputs.push(inputFromConfig(e, `${where}: layer ${e.name} (InputLayer)`));
  }

  // Call every layer once its inputs exist, in file order, until nothing is left (as TF.js).
  let pending = order.reduce((s, e) => s + (e.cls === 'InputLayer' ? 0 : e.calls.length), 0);
  while (pending > 0) {
    let progressed = false;
    for (const e of order) {
      if (e.cls === 'InputLayer') continue;
      while (e.outputs.length < e.calls.length) {
        const k = e.outputs.length;
        const at = `${where}: layer ${e.name} (${e.cls}), call ${k}`;
        const ins = e.calls[k].map((r) => tensorOf(r, at));
        if (ins.some((t) => t === undefined)) break;
        const list = ins as SymbolicTensor[];
        if (!e.made) {
          if (MODEL_CLASSES.has(e.cls)) {
            e.made = buildModel(e.cls, e.raw.config, `${where}: layer ${e.name} (${e.cls})`);
          } else {
            const ctx = { where: `${where}: layer ${e.name} (${shown(e.cls)})`, inputShape: list[0].sampleShape };
            e.made = layerFromConfig(e.cls, fromPythonic(e.raw.config, ctx.where), ctx);
          }
        }
        try {
          e.outputs.push(e.made.apply(list.length === 1 ? list[0] : list));
        } catch (err) {
          throw new Error(`${at}: ${(err as Error).message}`);
        }
        pending--;
        progressed = true;
      }
    }
    if (!progressed) {
      const stuck = order.find((e) => e.cls !== 'InputLayer' && e.outputs.length < e.calls.length)!;
      const k = stuck.outputs.length;
      const missing = stuck.calls[k].find((r) => tensorOf(r, where) === undefined)!;
      throw new Error(`${where}: layer ${stuck.name} (call ${k}) reads ${shown([missing.layer, missing.node, missing.tensor])}, which no call in the file makes (a cycle, or a missing node)`);
    }
  }

  const resolve = (r: TensorRef, what: string): SymbolicTensor => {
    const t = tensorOf(r, `${where}: ${what}`);
    if (!t) throw new Error(`${where}: ${what} names ${shown([r.layer, r.node, r.tensor])}, which no call in the file makes`);
    return t;
  };
  const inputs = refList(config.input_layers, 'input_layers', where).map((r) => resolve(r, 'input_layers'));
  const outputs = refList(config.output_layers, 'output_layers', where).map((r) => resolve(r, 'output_layers'));
  const name = typeof config.name === 'string' ? config.name : undefined;
  try {
    return new LayersModel({ inputs, outputs, name });
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}
