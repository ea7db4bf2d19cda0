/**
 * LayersModel: the graph model (TF.js's LayersModel / Container). A graph of layer calls from the
 * model's inputs to its outputs (tf.model({inputs, outputs})); Sequential (sequential.ts) is the
 * chain case. This file holds what every model has: the graph and its shapes, the one flat
 * parameter buffer (each layer's weights are views into it, the engine updates it in place), the
 * lowering to the engine's NetworkSpec, compile, the data checks, weights in TF.js order and the
 * config. Training, inference, the engine handle and summary live in their own files.
 */
import { markAsUntransferable } from 'worker_threads';
import { kernels } from '../backend';
import { LossKind } from '../backend/types';
import type { Act, Kernels, Labels, LayerSpec, Network, NetworkSpec, VariableSpec } from '../backend/types';
import { random } from '../random';
import { Tensor, whilePinned } from '../tensor';
import { checkNonNegInt, checkNumber, describe, shapeStr } from '../util';
import type { CallbackModel } from './callbacks';
import type { DatasetLike } from './datasets';
import { Compiled, EngineHandle } from './engine_handle';
import * as inference from './inference';
import type { ModelEvaluateDatasetArgs, ModelPredictArgs } from './inference';
import { hwc, Layer } from './layers/base';
import { InputLayer } from './layers/core';
import { getLoss, LossConfig, LossIdentifier } from './losses';
import { Metric, resolveMetrics } from './metrics';
import { getOptimizer, Optimizer, OptimizerIdentifier, slotInitialValue } from './optimizers';
import { printSummary, SummaryRow } from './summary';
import { InboundNode, NodeOwner, SymbolicTensor } from './symbolic';
import * as training from './training';
import type { History, ModelData, ModelFitArgs, ModelFitDatasetArgs, ModelInputs } from './training';
import type { SaveResult } from '../io/types';
import { modelToOnnx, saveOnnx } from '../onnx';
import type { OnnxExportOptions } from '../onnx';
import { saveModel } from './serialization/save';

export interface CompileArgs {
  optimizer: OptimizerIdentifier | Optimizer;
  /** One loss for every output, one per output (array, outputs order) or {outputName: loss}. */
  loss: LossIdentifier | LossIdentifier[] | Record<string, LossIdentifier>;
  /** Metrics for every output, or {outputName: metrics}. */
  metrics?: string | string[] | Record<string, string | string[]>;
  /** Keras lossWeights: total loss = sum_k weight_k * loss_k (array, outputs order, or {outputName: weight}). */
  lossWeights?: number[] | Record<string, number>;
}

export interface ModelArgs {
  inputs: SymbolicTensor | SymbolicTensor[];
  outputs: SymbolicTensor | SymbolicTensor[];
  name?: string;
}

/** Most parameters a model may have: 2^28 floats (1 GiB; the optimizer slots come on top). */
export const MAX_PARAMS = 2 ** 28;
/** Most values per sample of any layer's input or output (the engine indexes them with int32). */
export const MAX_SAMPLE_SIZE = 2 ** 31 - 1;

/** A layer call in the engine's terms: the layer and the tensor ids it reads (0..I-1 the model inputs, I + j node j). */
export interface EngineNode {
  layer: Layer;
  inputs: number[];
}

/** The model as the engine sees it: nested models flattened into their layers' calls. */
export interface EngineGraph {
  inputShapes: number[][];
  nodes: EngineNode[];
  outputs: number[];
}

let modelCount = 0;

export class LayersModel implements CallbackModel, NodeOwner {
  readonly name: string;
  readonly className: string = 'Model';
  /** TF.js's model.layers: the input layers, then every layer (or nested model) in call order. */
  readonly layers: (Layer | LayersModel)[] = [];
  stopTraining = false;
  /**
   * Set by a callback's onTrainBegin (callbacks.backupAndRestore) to start this fit / fitDataset
   * at that epoch instead of initialEpoch; read once, then cleared.
   */
  resumeEpoch?: number;
  /** Per-sample shape of the first input / output, known once built. */
  inputShape?: number[];
  outputShape?: number[];
  /** Per-sample shapes of every input / output. */
  inputShapes: number[][] = [];
  outputShapes: number[][] = [];
  /** The calls of this model used as a layer inside another model. */
  inboundNodes: InboundNode[] = [];
  /** @internal The engine handle: networks, queue, busy / training / dispose state. */
  readonly engine = new EngineHandle();
  /** @internal The kernels of the backend the model was built on. */
  backend?: Kernels;
  /** Symbolic inputs / outputs (functional models; a Sequential makes its own). */
  protected symInputs: SymbolicTensor[] = [];
  protected symOutputs: SymbolicTensor[] = [];
  private params?: Float32Array;
  private vars: VariableSpec[] = [];
  private offsets = new Map<Layer, number[]>();
  /** Each layer's views into this model's buffer (a nested model may point them elsewhere meanwhile). */
  private ownViews = new Map<Layer, Float32Array[]>();

  /** A functional model from args; a subclass (Sequential) passes no args and its own name. */
  constructor(args?: ModelArgs, name?: string) {
    if (!args) {
      this.name = name ?? `model_${++modelCount}`;
      return;
    }
    if (args === null || typeof args !== 'object') throw new TypeError('model: expected {inputs, outputs}');
    this.name = args.name ?? `model_${++modelCount}`;
    const ins = Array.isArray(args.inputs) ? args.inputs : [args.inputs];
    const outs = Array.isArray(args.outputs) ? args.outputs : [args.outputs];
    if (ins.length === 0 || ins.some((t) => !(t instanceof SymbolicTensor))) {
      throw new TypeError(`model: inputs must be SymbolicTensors from tf.input(), received ${describe(args.inputs)}`);
    }
    if (outs.length === 0 || outs.some((t) => !(t instanceof SymbolicTensor))) {
      throw new TypeError(`model: outputs must be SymbolicTensors (a layer's apply()), received ${describe(args.outputs)}`);
    }
    for (const t of ins) {
      if (!(t.sourceLayer instanceof InputLayer) || t.inputs.length !== 0) {
        throw new Error(`model: input ${t.name} is not a model input; inputs must come from tf.input()`);
      }
    }
    if (new Set(ins).size !== ins.length) throw new Error('model: the same input is listed twice');
    if (new Set(outs).size !== outs.length) throw new Error('model: the same output is listed twice');
    this.symInputs = ins;
    this.symOutputs = outs;
    this.collectLayers();
    this.buildShapes();
  }

  /** Names of the input layers (inputs order). */
  get inputNames(): string[] {
    return this.symInputs.map((t) => t.sourceLayer.name);
  }

  /** Names of the layers making the outputs (outputs order), as TF.js names them in logs. */
  get outputNames(): string[] {
    return this.symOutputs.map((t) => t.sourceLayer.name);
  }

  get inputs(): SymbolicTensor[] {
    return this.symInputs.slice();
  }

  get outputs(): SymbolicTensor[] {
    return this.symOutputs.slice();
  }

  /** Values per sample of each input / output. */
  get inSizes(): number[] {
    return this.inputShapes.map((s) => s.reduce((a, b) => a * b, 1));
  }
  get outSizes(): number[] {
    return this.outputShapes.map((s) => s.reduce((a, b) => a * b, 1));
  }

  /** The tensors between the inputs and the outputs, in creation order (a topological order). */
  private reachableTensors(): SymbolicTensor[] {
    const seen = new Set<SymbolicTensor>();
    const inputs = new Set(this.symInputs);
    const stack = [...this.symOutputs];
    while (stack.length) {
      const t = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      if (inputs.has(t)) continue;
      if (t.inputs.length === 0) {
        throw new Error(`model: output ${this.symOutputs.find(() => true)!.name} depends on input ${t.name}, which is not in the model's inputs`);
      }
      stack.push(...t.inputs);
    }
    return [...seen].sort((a, b) => a.id - b.id);
  }

  private collectLayers(): void {
    const layers: (Layer | LayersModel)[] = [];
    for (const t of this.symInputs) layers.push(t.sourceLayer as InputLayer);
    for (const t of this.reachableTensors()) {
      const l = t.sourceLayer as Layer | LayersModel;
      if (!layers.includes(l)) layers.push(l);
    }
    const names = new Set<string>();
    for (const l of layers) {
      if (names.has(l.name)) throw new Error(`model: the layer name "${l.name}" is used twice in the model; every layer needs a unique name`);
      names.add(l.name);
    }
    this.layers.push(...layers);
  }

  /** The layer with this name, or the index-th of model.layers. */
  getLayer(nameOrIndex: string | number): Layer | LayersModel {
    if (typeof nameOrIndex === 'number') {
      const l = this.layers[nameOrIndex];
      if (!Number.isInteger(nameOrIndex) || !l) throw new RangeError(`getLayer: the model has ${this.layers.length} layers, index ${nameOrIndex} is out of range`);
      return l;
    }
    const l = this.layers.find((x) => x.name === nameOrIndex);
    if (!l) throw new Error(`getLayer: no layer named ${nameOrIndex} (layers: ${this.layers.map((x) => x.name).join(', ')})`);
    return l;
  }

  /** Layers holding weights, each once, in TF.js weight order (nested models contribute theirs in place). */
  weightLayers(): Layer[] {
    const out: Layer[] = [];
    for (const l of this.layers) {
      for (const leaf of l instanceof LayersModel ? l.weightLayers() : [l]) if (!out.includes(leaf)) out.push(leaf);
    }
    return out;
  }

  /**
   * Infers every output shape (throws on a mismatch, naming the layer). Also refuses activations
   * larger than the engine's int sizes and more parameters than MAX_PARAMS before anything is allocated.
   */
  protected buildShapes(): void {
    this.inputShapes = this.symInputs.map((t) => t.sampleShape);
    this.inputShapes.forEach((s, i) => checkSampleSize(s, `input ${this.inputNames[i]}: shape ${shapeStr(s)}`));
    for (const t of this.reachableTensors()) checkSampleSize(t.sampleShape, `layer ${t.sourceLayer.name}: its output shape ${shapeStr(t.sampleShape)}`);
    this.outputShapes = this.symOutputs.map((t) => t.sampleShape);
    this.inputShape = this.inputShapes[0];
    this.outputShape = this.outputShapes[0];
    checkParamCount(this.weightLayers());
  }

  /** @internal Drops built and compiled state: weights are created anew at the next use. */
  protected invalidate(): void {
    this.engine.disposeNets();
    if (this.params) {
      for (const l of this.weightLayers()) if (l.weightViews[0]?.buffer === this.params.buffer) l.weightViews = [];
    }
    this.params = undefined;
    this.engine.compiled = undefined;
  }

  protected get built(): boolean {
    return this.params !== undefined;
  }

  /**
   * Allocates the flat parameter buffer: each layer's weights are initialised, or copied from the
   * views the layer already has (a layer built in another model keeps its weights, as in TF.js).
   * Once built, it points back the views a nesting model moved to its own buffer (values copied).
   */
  protected buildParams(): void {
    if (this.params) {
      this.syncViews();
      return;
    }
    this.checkBuildable();
    this.buildShapes();
    const leaves = this.weightLayers();
    let total = 0;
    this.vars = [];
    this.offsets = new Map();
    for (const l of leaves) {
      this.offsets.set(l, l.weightSpecs.map((w) => {
        const size = w.shape.reduce((a, b) => a * b, 1);
        const off = total;
        this.vars.push({ offset: off, size, trainable: w.trainable });
        total += size;
        return off;
      }));
    }
    const params = new Float32Array(total);
    // The engine keeps a pointer into this buffer while a step runs on its worker thread; a
    // transfer (postMessage, structuredClone) of it or of a weight view must copy, never detach.
    markAsUntransferable(params.buffer);
    const rng = random();
    this.ownViews = new Map();
    for (const l of leaves) {
      const offs = this.offsets.get(l)!;
      const had = l.weightViews;
      const keep = had.length === l.weightSpecs.length && had.every((v, j) => v.length === sizeOf(l.weightSpecs[j].shape));
      const views = l.weightSpecs.map((w, j) => {
        const view = params.subarray(offs[j], offs[j] + sizeOf(w.shape));
        if (keep) view.set(had[j]);
        else w.init.fill(view, w.shape, rng);
        return view;
      });
      l.weightViews = views;
      this.ownViews.set(l, views);
    }
    this.params = params;
    this.backend = kernels();
  }

  /** Throws when the model cannot be built (a Sequential without layers). */
  protected checkBuildable(): void {
    /* a functional model is built at construction */
  }

  private syncViews(): void {
    for (const [l, views] of this.ownViews) {
      if (l.weightViews !== views) {
        if (l.weightViews.length === views.length) views.forEach((v, j) => v !== l.weightViews[j] && v.set(l.weightViews[j]));
        l.weightViews = views;
      }
    }
  }

  /** Builds the model now (layers get their weights). */
  build(): void {
    this.engine.checkUsable('build');
    this.buildParams();
  }

  // ---------------------------------------------------------------- lowering

  /** The graph in engine terms: nested models are inlined, InputLayers inside them are identities. */
  engineGraph(): EngineGraph {
    const nodes: EngineNode[] = [];
    const inputShapes = this.symInputs.map((t) => t.sampleShape);
    const ids = new Map<SymbolicTensor, number>();
    this.symInputs.forEach((t, i) => ids.set(t, i));
    this.lowerInto(nodes, ids, inputShapes.length);
    return { inputShapes, nodes, outputs: this.symOutputs.map((t) => ids.get(t)!) };
  }

  /** Appends this model's calls to nodes; ids maps its symbolic tensors (inputs already mapped) to tensor ids. */
  private lowerInto(nodes: EngineNode[], ids: Map<SymbolicTensor, number>, nInputs: number): void {
    for (const t of this.reachableTensors()) {
      if (ids.has(t)) continue;
      const src = t.sourceLayer as Layer | LayersModel;
      const inIds = t.inputs.map((x) => ids.get(x)!);
      if (src instanceof LayersModel) {
        ids.set(t, src.inlineCall(nodes, inIds, nInputs));
      } else if (src instanceof InputLayer) {
        ids.set(t, inIds[0]);
      } else {
        nodes.push({ layer: src, inputs: inIds });
        ids.set(t, nInputs + nodes.length - 1);
      }
    }
  }

  /** Appends the nodes of one call of this model (as a nested layer) reading tensor ids inIds; returns its output's id. */
  protected inlineCall(nodes: EngineNode[], inIds: number[], nInputs: number): number {
    const inner = new Map<SymbolicTensor, number>();
    this.symInputs.forEach((x, i) => inner.set(x, inIds[i]));
    this.lowerInto(nodes, inner, nInputs);
    return inner.get(this.symOutputs[0])!;
  }

  /** The node specs and graph fields of the NetworkSpec (graph form). */
  protected lowerSpec(): Pick<NetworkSpec, 'layers'> & Record<string, unknown> {
    this.buildParams();
    const g = this.engineGraph();
    const layers = g.nodes.map((nd) => {
      const s = nd.layer.toSpec(this.offsets.get(nd.layer) ?? []);
      if (!s) throw new Error(`layer ${nd.layer.name} has no engine form`);
      const spec: LayerSpec & { inputs?: number[]; ins?: [number, number, number][] } = { ...s, inputs: nd.inputs };
      if (nd.inputs.length > 1) spec.ins = nd.layer.inputShapes!.map(hwc);
      return spec;
    });
    return { layers, inputs: g.inputShapes.map(hwc), outputs: g.outputs };
  }

  /** @internal The NetworkSpec for these losses and optimizer. */
  networkSpec(losses: LossConfig[], lossWeights: number[], opt: Optimizer | null): NetworkSpec {
    const lowered = this.lowerSpec();
    const spec: NetworkSpec & Record<string, unknown> = {
      ...lowered,
      vars: this.vars,
      loss: losses[0].kind,
      fromLogits: losses[0].fromLogits,
      labelSmoothing: losses[0].labelSmoothing,
      opt: opt ? opt.spec() : { kind: 0 },
      seed: random().nextU32(),
    };
    if ('outputs' in lowered) {
      spec.outputLosses = losses.map((l, k) => ({ loss: l.kind, fromLogits: l.fromLogits, labelSmoothing: l.labelSmoothing, weight: lossWeights[k] }));
    }
    return spec;
  }

  private makeNetwork(losses: LossConfig[], lossWeights: number[], opt: Optimizer | null): { net: Network; slots: Float32Array } {
    const k = this.backend!;
    const spec = this.networkSpec(losses, lossWeights, opt);
    if (spec.layers.length === 0) throw new Error('The model has no layers that compute anything');
    const nslots = opt ? k.optimizerSlotCount(opt.kind) : 0;
    const slotFloats = this.vars.reduce((s, v) => s + (v.trainable ? v.size * nslots : 0), 0);
    const slots = new Float32Array(slotFloats);
    markAsUntransferable(slots.buffer); // as params: the engine updates it off the main thread
    if (opt) {
      let base = 0;
      for (const v of this.vars) {
        if (!v.trainable) continue;
        for (let j = 0; j < nslots; j++) {
          const init = slotInitialValue(opt, j);
          if (init !== 0) slots.fill(init, base + j * v.size, base + (j + 1) * v.size);
        }
        base += v.size * nslots;
      }
    }
    return { net: k.createNetwork(spec, this.params!, slots), slots };
  }

  /** @internal The engine used for inference: the compiled one, or a loss-less one for an uncompiled model. */
  predictNet(): Network {
    this.buildParams();
    const e = this.engine;
    if (e.compiled) return e.compiled.net;
    if (!e.inferenceNet) {
      const mse: LossConfig = { kind: LossKind.MeanSquaredError, fromLogits: false, labelSmoothing: 0, name: 'mse' };
      e.inferenceNet = this.makeNetwork(this.outputShapes.map(() => mse), this.outputShapes.map(() => 1), null).net;
    }
    return e.inferenceNet;
  }

  // ---------------------------------------------------------------- compile

  /** A per-output option: one value for all, an array (outputs order) or {outputName: value}. */
  private perOutput<T>(v: T | T[] | Record<string, T>, what: string, fallback?: T): T[] {
    const names = this.outputNames;
    if (Array.isArray(v)) {
      if (v.length !== names.length) throw new Error(`compile: ${what} has ${v.length} entries, the model has ${names.length} outputs (${names.join(', ')})`);
      return v;
    }
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const rec = v as Record<string, T>;
      for (const k of Object.keys(rec)) if (!names.includes(k)) throw new Error(`compile: ${what} names "${k}", which is not an output (outputs: ${names.join(', ')})`);
      return names.map((n) => {
        if (rec[n] === undefined && fallback === undefined) throw new Error(`compile: ${what} gives nothing for output ${n}`);
        return rec[n] ?? fallback!;
      });
    }
    return names.map(() => v as T);
  }

  /** Configures training. Can be called again (optimizer state restarts). */
  compile(args: CompileArgs): void {
    this.engine.checkUsable('compile');
    if (this.engine.training) throw new Error('compile: the model is training');
    if (!args || typeof args !== 'object') throw new TypeError('compile: expected {optimizer, loss, metrics}');
    if (args.optimizer === undefined) throw new Error('compile: optimizer is required (e.g. \'adam\')');
    if (args.loss === undefined) throw new Error('compile: loss is required (e.g. \'categoricalCrossentropy\')');
    const optimizer = getOptimizer(args.optimizer);
    const single = this.outputNames.length <= 1;
    const losses = single && !Array.isArray(args.loss) ? [getLoss(args.loss as LossIdentifier)] : this.perOutput(args.loss, 'loss').map((l) => getLoss(l));
    this.buildParams();
    const lossWeights = args.lossWeights === undefined ? losses.map(() => 1)
      : this.perOutput<number>(args.lossWeights as number[] | Record<string, number>, 'lossWeights', 1).map((w, k) => checkNumber(w, 'compile', `lossWeights[${k}]`, 0));
    const outSizes = this.outSizes;
    // as TF.js: a name or an array applies to every output; {outputName: metrics} per output
    const m = args.metrics;
    const metricArgs = single || m === undefined || typeof m === 'string' || Array.isArray(m) ? this.outputNames.map(() => m)
      : this.perOutput<unknown>(m as unknown, 'metrics', []);
    const outputMetrics: Metric[][] = losses.map((loss, k) => resolveMetrics(metricArgs[k], loss, outSizes[k]));
    losses.forEach((loss, k) => {
      if (loss.kind === LossKind.SparseCategoricalCrossentropy && outSizes[k] < 2) {
        const what = single ? 'the model has' : `output ${this.outputNames[k]} has`;
        throw new Error(`compile: sparseCategoricalCrossentropy needs at least 2 outputs, ${what} ${outSizes[k]}`);
      }
    });
    const { net, slots } = this.makeNetwork(losses, lossWeights, optimizer);
    this.engine.disposeNets();
    this.engine.compiled = { optimizer, loss: losses[0], losses, lossWeights, metrics: outputMetrics[0], outputMetrics, net, slots, iterations: 0 };
  }

  get optimizer(): Optimizer | undefined {
    return this.engine.compiled?.optimizer;
  }

  /** What compile() was given, resolved (undefined before compile). */
  get compileConfig(): { optimizer: Optimizer; loss: LossConfig; metrics: Metric[]; losses: LossConfig[]; lossWeights: number[]; outputMetrics: Metric[][] } | undefined {
    const c = this.engine.compiled;
    return c && { optimizer: c.optimizer, loss: c.loss, metrics: c.metrics, losses: c.losses, lossWeights: c.lossWeights, outputMetrics: c.outputMetrics };
  }

  /** The compiled optimizer's learning rate (callbacks change it). */
  get learningRate(): number {
    return this.engine.compiled?.optimizer.learningRate ?? 0;
  }
  set learningRate(lr: number) {
    if (!this.engine.compiled) throw new Error('learningRate: compile the model first');
    this.engine.compiled.optimizer.learningRate = checkNumber(lr, 'learningRate', 'learningRate', 0);
  }

  // ---------------------------------------------------------------- data checks

  /** Validates one input tensor against its shape; returns its sample count. */
  private checkTensor(x: unknown, want: number[], fn: string, what: string): number {
    if (!(x instanceof Tensor)) throw new TypeError(`${fn}: ${what} must be a Tensor, received ${describe(x)}`);
    if (x.isDisposed) throw new Error(`${fn}: ${what} is disposed`);
    if (x.rank !== want.length + 1 || want.some((d, i) => x.shape[i + 1] !== d)) {
      throw new Error(`${fn}: ${what} must have shape [n, ${want.join(', ')}], received ${shapeStr(x.shape)}`);
    }
    if (x.dtype !== 'float32') throw new Error(`${fn}: ${what} must be float32, received ${x.dtype}`);
    return x.shape[0];
  }

  /** The tensors of x, one per input: a Tensor (one input), an array (inputs order) or {inputName: Tensor}. */
  private inputTensors(x: unknown, fn: string): unknown[] {
    const names = this.inputNames;
    if (names.length === 1) {
      // TF.js also takes [x] and {inputName: x} for a one-input model
      if (Array.isArray(x) && x.length > 0 && x.every((e) => e instanceof Tensor)) {
        if (x.length !== 1) throw new Error(`${fn}: the model has 1 input (${names[0]}); x must be a Tensor (or an array of 1), received an array of ${x.length}`);
        return [x[0]];
      }
      if (x && typeof x === 'object' && !(x instanceof Tensor) && Object.keys(x).length === 1 && names[0] in (x as object)) {
        return [(x as Record<string, unknown>)[names[0]]];
      }
      return [x];
    }
    if (Array.isArray(x)) {
      if (x.length !== names.length) throw new Error(`${fn}: the model has ${names.length} inputs (${names.join(', ')}), received an array of ${x.length}`);
      return x;
    }
    if (x && typeof x === 'object' && !(x instanceof Tensor)) {
      const rec = x as Record<string, unknown>;
      for (const k of Object.keys(rec)) if (!names.includes(k)) throw new Error(`${fn}: x names "${k}", which is not an input (inputs: ${names.join(', ')})`);
      return names.map((n) => {
        if (rec[n] === undefined) throw new Error(`${fn}: x gives no tensor for input ${n}`);
        return rec[n];
      });
    }
    throw new TypeError(`${fn}: the model has ${names.length} inputs (${names.join(', ')}); x must be an array of ${names.length} Tensors or {inputName: Tensor}, received ${describe(x)}`);
  }

  /** @internal Validates x (one array per input); returns the values and the sample count. */
  inputArrays(x: unknown, fn: string): { xs: Float32Array[]; n: number } {
    this.buildParams();
    const ts = this.inputTensors(x, fn);
    const single = ts.length === 1;
    let n = -1;
    const xs = ts.map((t, k) => {
      const m = this.checkTensor(t, this.inputShapes[k], fn, single ? 'x' : `input ${this.inputNames[k]}`);
      if (n >= 0 && m !== n) throw new Error(`${fn}: input ${this.inputNames[k]} has ${m} samples, input ${this.inputNames[0]} has ${n}`);
      n = m;
      return (t as Tensor).values as Float32Array;
    });
    return { xs, n };
  }

  /** @internal Refuses non-finite inputs. */
  checkFiniteInputs(x: unknown, fn: string, name = 'x'): void {
    const ts = this.inputTensors(x, fn);
    ts.forEach((t, k) => checkFinite((t as Tensor).values, fn, ts.length === 1 ? name : `${name} (input ${this.inputNames[k]})`));
  }

  /** @internal inputArrays for data a loss is computed on without training (evaluation, validation): also non-empty and finite. */
  evalInputs(x: unknown, fn: string): { xs: Float32Array[]; n: number } {
    const r = this.inputArrays(x, fn);
    if (r.n === 0) throw new Error(`${fn}: x has no samples`);
    this.checkFiniteInputs(x, fn);
    return r;
  }

  /** @internal Validated x and y of evaluation data. */
  evalData(x: unknown, y: unknown, fn: string, c: Compiled): ModelData {
    const { xs, n } = this.evalInputs(x, fn);
    return { xs, ys: this.labelArrays(y, n, fn, c), n };
  }

  /** @internal Validates y (one per output) for the compiled losses; returns labels in the engine's form. */
  labelArrays(y: unknown, n: number, fn: string, c: Compiled): Labels[] {
    const names = this.outputNames;
    if (names.length === 1) {
      // TF.js also takes [y] and {outputName: y} for a one-output model
      if (Array.isArray(y) && y.length > 0 && y.every((e) => e instanceof Tensor)) {
        if (y.length !== 1) throw new Error(`${fn}: the model has 1 output (${names[0]}); y must be a Tensor (or an array of 1), received an array of ${y.length}`);
        y = y[0];
      } else if (y && typeof y === 'object' && !(y instanceof Tensor) && Object.keys(y).length === 1 && names[0] in (y as object)) {
        y = (y as Record<string, unknown>)[names[0]];
      }
      return [this.prepareLabels(y, n, fn, c.losses[0], 0, 'y')];
    }
    let ts: unknown[];
    if (Array.isArray(y)) {
      if (y.length !== names.length) throw new Error(`${fn}: the model has ${names.length} outputs (${names.join(', ')}), received an array of ${y.length} targets`);
      ts = y;
    } else if (y && typeof y === 'object' && !(y instanceof Tensor)) {
      const rec = y as Record<string, unknown>;
      for (const k of Object.keys(rec)) if (!names.includes(k)) throw new Error(`${fn}: y names "${k}", which is not an output (outputs: ${names.join(', ')})`);
      ts = names.map((nm) => {
        if (rec[nm] === undefined) throw new Error(`${fn}: y gives no tensor for output ${nm}`);
        return rec[nm];
      });
    } else {
      throw new TypeError(`${fn}: the model has ${names.length} outputs (${names.join(', ')}); y must be an array of ${names.length} Tensors or {outputName: Tensor}, received ${describe(y)}`);
    }
    return ts.map((t, k) => this.prepareLabels(t, n, fn, c.losses[k], k, `target of output ${names[k]}`));
  }

  private prepareLabels(y: unknown, n: number, fn: string, loss: LossConfig, k: number, what: string): Labels {
    if (!(y instanceof Tensor)) throw new TypeError(`${fn}: ${what} must be a Tensor, received ${describe(y)}`);
    if (y.isDisposed) throw new Error(`${fn}: ${what} is disposed`);
    if (y.shape[0] !== n) throw new Error(`${fn}: x has ${n} samples but ${what} has ${y.shape[0] ?? 0}`);
    const d = this.outSizes[k];
    if (loss.kind === LossKind.SparseCategoricalCrossentropy) {
      if (y.size !== n) throw new Error(`${fn}: sparse labels must have shape [n] or [n, 1], received ${shapeStr(y.shape)}`);
      const v = y.values;
      const out = v instanceof Int32Array ? v : new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const cls = v[i];
        if (!Number.isInteger(cls) || cls < 0 || cls >= d) {
          throw new RangeError(`${fn}: label ${cls} at index ${i} is not a class index in [0, ${d})`);
        }
        if (out !== v) out[i] = cls;
      }
      return out;
    }
    if (y.size !== n * d) {
      throw new Error(`${fn}: ${what} must have shape [n, ${this.outputShapes[k].join(', ')}] to match the model's output, received ${shapeStr(y.shape)}`);
    }
    const v = y.values;
    checkFinite(v, fn, what);
    return v instanceof Float32Array ? v : Float32Array.from(v);
  }

  // ---------------------------------------------------------------- training and inference

  /** @internal */
  beginTraining(fn: string): Compiled {
    for (const l of this.weightLayers()) {
      const keys = Object.keys(l.unapplied);
      if (keys.length === 0) continue;
      throw new Error(`${fn}: layer ${l.name} has ${keys.join(', ')} from its model file, which cnn-node does not apply in training yet: ` +
        `training would silently leave ${keys.length > 1 ? 'them' : 'it'} out. To train without ${keys.length > 1 ? 'them' : 'it'}, empty layer.unapplied (model.getLayer('${l.name}').unapplied = {})`);
    }
    const c = this.engine.beginTraining(fn);
    this.syncViews();
    return c;
  }

  /** @internal */
  endTraining(): void {
    if (this.engine.endTraining()) this.dispose();
  }

  /** @internal The epoch fit starts at: resumeEpoch when a callback set one past initialEpoch (then cleared). */
  takeResumeEpoch(initialEpoch: number): number {
    const r = this.resumeEpoch;
    this.resumeEpoch = undefined;
    return r !== undefined && Number.isInteger(r) && r > initialEpoch ? r : initialEpoch;
  }

  /**
   * Trains for a number of epochs. Resolves to a History. Training steps run off the main thread
   * (native backend), so the event loop stays responsive.
   */
  fit(x: ModelInputs, y: ModelInputs, args: ModelFitArgs = {}): Promise<History> {
    return whilePinned([x, y, args], () => training.fit(this, x, y, args));
  }

  /** Trains on a dataset of {xs, ys} batches (an async iterable, or a TF.js-style Dataset). */
  fitDataset(dataset: DatasetLike, args: ModelFitDatasetArgs = {}): Promise<History> {
    return training.fitDataset(this, dataset, args);
  }

  /** One optimizer step on one batch; resolves to the loss (and metrics, when compiled with some). */
  trainOnBatch(x: ModelInputs, y: ModelInputs): Promise<number | number[]> {
    return whilePinned([x, y], () => training.trainOnBatch(this, x, y));
  }

  /** Runs the model in inference mode (a Tensor, or one per output). Synchronous: predictAsync keeps the event loop free. */
  predict(x: ModelInputs, args: ModelPredictArgs = {}): Tensor {
    return inference.predict(this, x, args) as Tensor;
  }

  /** predict() with each batch run off the main thread (native backend). */
  predictAsync(x: ModelInputs, args: ModelPredictArgs = {}): Promise<Tensor> {
    return whilePinned(x, () => inference.predictAsync(this, x, args) as Promise<Tensor>);
  }

  /** Loss (and metrics) on x, y in inference mode: a scalar Tensor, or [loss, ...metrics]. */
  evaluate(x: ModelInputs, y: ModelInputs, args: ModelPredictArgs = {}): Tensor | Tensor[] {
    return inference.evaluate(this, x, y, args);
  }

  /** evaluate() with the forward passes off the main thread. */
  evaluateAsync(x: ModelInputs, y: ModelInputs, args: ModelPredictArgs = {}): Promise<Tensor | Tensor[]> {
    return whilePinned([x, y], () => inference.evaluateAsync(this, x, y, args));
  }

  /** Evaluates over a dataset of {xs, ys} batches (all, or the first `args.batches`): [loss, ...metrics] as scalars. */
  evaluateDataset(ds: DatasetLike, args: ModelEvaluateDatasetArgs = {}): Promise<Tensor | Tensor[]> {
    return inference.evaluateDataset(this, ds, args);
  }

  // ---------------------------------------------------------------- used as a layer

  /**
   * Calls the model on symbolic tensors inside another model (a nested model): its layers and
   * weights are shared. A model with one input takes one tensor; several take an array.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length === 0 || list.some((t) => !(t instanceof SymbolicTensor))) {
      throw new TypeError(`${this.name}.apply: expected a SymbolicTensor or an array of them, received ${describe(inputs)}`);
    }
    this.buildShapes();
    if (this.outputShapes.length !== 1) throw new Error(`${this.name}.apply: a nested model must have one output, this one has ${this.outputShapes.length}`);
    if (list.length !== this.inputShapes.length) throw new Error(`${this.name}.apply: the model has ${this.inputShapes.length} inputs, called on ${list.length}`);
    list.forEach((t, i) => {
      if (shapeStr(t.sampleShape) !== shapeStr(this.inputShapes[i])) {
        throw new Error(`${this.name}.apply: input ${i} must have per-sample shape ${shapeStr(this.inputShapes[i])}, received ${shapeStr(t.sampleShape)}`);
      }
    });
    const k = this.inboundNodes.length;
    const out = new SymbolicTensor([null, ...this.outputShapes[0]], this, k, list, `${this.name}/${this.name}${k ? `_${k}` : ''}`);
    this.inboundNodes.push({ inputs: list, output: out });
    return out;
  }

  // ---------------------------------------------------------------- weights

  /**
   * The order of getWeights / setWeights: TF.js's model.weights, the trainable weights (layer by
   * layer) then the non-trainable ones (batch norm's moving statistics, frozen layers).
   */
  protected weightOrder(): { l: Layer; j: number }[] {
    const all = this.weightLayers().flatMap((l) => l.weightSpecs.map((w, j) => ({ l, j, trainable: w.trainable })));
    return [...all.filter((e) => e.trainable), ...all.filter((e) => !e.trainable)];
  }

  /** Every weight in TF.js order and shapes (copies). */
  getWeights(): Tensor[] {
    this.engine.checkUsable('getWeights');
    this.engine.checkIdle('getWeights');
    this.buildParams();
    return this.weightOrder().map(({ l, j }) => new Tensor(l.weightViews[j].slice(), l.weightSpecs[j].shape, 'float32'));
  }

  /** Sets every weight; counts and shapes are all checked before anything changes. */
  setWeights(weights: Tensor[]): void {
    this.engine.checkUsable('setWeights');
    this.engine.checkIdle('setWeights');
    this.buildParams();
    const specs = this.weightOrder().map(({ l, j }) => ({ l, j, w: l.weightSpecs[j] }));
    if (!Array.isArray(weights)) throw new TypeError(`setWeights: expected an array of ${specs.length} tensors, received ${describe(weights)}`);
    if (weights.length !== specs.length) throw new Error(`setWeights: the model has ${specs.length} weights, received ${weights.length}`);
    weights.forEach((t, i) => {
      const { l, w } = specs[i];
      if (t instanceof Tensor && t.isDisposed) throw new Error(`setWeights: weight ${i} (${l.name}/${w.name}) is disposed`);
      if (!(t instanceof Tensor) || t.shape.length !== w.shape.length || t.shape.some((d, j) => d !== w.shape[j])) {
        throw new Error(`setWeights: weight ${i} (${l.name}/${w.name}) must have shape ${shapeStr(w.shape)}, received ${t instanceof Tensor ? shapeStr(t.shape) : describe(t)}`);
      }
      checkFinite(t.values, 'setWeights', `weight ${i} (${l.name}/${w.name})`);
    });
    specs.forEach(({ l, j }, i) => l.weightViews[j].set(weights[i].values));
  }

  /** Named weights in TF.js naming (`<layer>/kernel`), for serialisation. */
  namedWeights(): { name: string; tensor: Tensor; trainable: boolean }[] {
    this.buildParams();
    return this.weightLayers().flatMap((l) => l.getWeights().map((t, j) => ({ name: `${l.name}/${l.weightSpecs[j].name}`, tensor: t, trainable: l.weightSpecs[j].trainable })));
  }

  countParams(): number {
    this.buildParams();
    return this.params!.length;
  }

  /** Weights of the model's trainable variables (for summary). */
  private trainableCount(): number {
    return this.weightLayers().reduce((s, l) => s + l.weightSpecs.filter((w) => w.trainable).reduce((a, w) => a + sizeOf(w.shape), 0), 0);
  }

  /** Keras-style summary table, through printFn (default console.log); graph models add "Connected to". */
  summary(lineLength?: number, positions?: number[], printFn: (s: string) => void = console.log): void {
    this.engine.checkUsable('summary');
    this.buildParams();
    printSummary(this.name, this.summaryRows(), { total: this.params!.length, trainable: this.trainableCount() }, this.isGraph, lineLength, positions, printFn);
  }

  /** Whether summary prints the graph form (Sequential: no). */
  protected get isGraph(): boolean {
    return true;
  }

  protected summaryRows(): SummaryRow[] {
    const mine = new Set(this.reachableTensors());
    return this.layers.map((l) => {
      const nodes = l.inboundNodes.filter((nd) => mine.has(nd.output));
      const params = l instanceof LayersModel ? l.weightLayers().reduce((s, x) => s + x.countParams(), 0) : l.countParams();
      const shape = l instanceof LayersModel ? shapeStr([null, ...l.outputShapes[0]]) : shapeStr([null, ...l.outputShape!]);
      const connectedTo = nodes.flatMap((nd) => nd.inputs.map((t) => `${t.sourceLayer.name}[${t.nodeIndex}][0]`));
      return { name: l.name, className: l.className, shape, params, connectedTo };
    });
  }

  /**
   * TF.js-style config of a graph model: {name, layers: [{name, className, config, inboundNodes}],
   * inputLayers, outputLayers}; inbound nodes list [layerName, nodeIndex, tensorIndex, kwargs].
   */
  getConfig(): Record<string, unknown> {
    const mine = new Set(this.reachableTensors());
    this.symInputs.forEach((t) => mine.add(t));
    const nodeIndex = (t: SymbolicTensor) => t.sourceLayer.inboundNodes.filter((nd) => mine.has(nd.output)).findIndex((nd) => nd.output === t);
    const layers = this.layers.map((l) => {
      const nodes = l.inboundNodes.filter((nd) => mine.has(nd.output) && nd.inputs.length > 0);
      return {
        name: l.name, className: l.className, config: l.getConfig(),
        inboundNodes: nodes.map((nd) => nd.inputs.map((t) => [t.sourceLayer.name, nodeIndex(t), 0, {}])),
      };
    });
    return {
      name: this.name, layers,
      inputLayers: this.symInputs.map((t) => [t.sourceLayer.name, nodeIndex(t), 0]),
      outputLayers: this.symOutputs.map((t) => [t.sourceLayer.name, nodeIndex(t), 0]),
    };
  }

  /** Optimizer state for saving and exact resumption. */
  getOptimizerState(): { className: string; config: Record<string, unknown>; iterations: number; slots: Float32Array } | null {
    const c = this.engine.compiled;
    if (!c) return null;
    return { className: c.optimizer.className, config: c.optimizer.getConfig(), iterations: c.iterations, slots: c.slots.slice() };
  }

  setOptimizerState(iterations: number, slots: Float32Array): void {
    const c = this.engine.compiled;
    if (!c) throw new Error('setOptimizerState: compile the model first');
    if (slots.length !== c.slots.length) {
      throw new Error(`setOptimizerState: expected ${c.slots.length} slot values, received ${slots.length}`);
    }
    c.slots.set(slots);
    c.iterations = checkNonNegInt(iterations, 'setOptimizerState', 'iterations');
  }

  /**
   * Saves the model in the TF.js layers-model format: 'file://DIR' (or a folder path) writes
   * DIR/model.json + DIR/weights.bin atomically; a handler from io.withSaveHandler gets the artifacts.
   * config.includeOptimizer also stores the optimizer state. See lib/io/.
   */
  async save(handlerOrUrl: unknown, config?: { includeOptimizer?: boolean }): Promise<SaveResult> {
    this.engine.checkUsable('save');
    return saveModel(this as never, handlerOrUrl, config);
  }

  /** The model as ONNX bytes (opset 13): channels-last inputs [N, ...inputShape], the same outputs as predict. See lib/onnx/. */
  toOnnx(options?: OnnxExportOptions): Uint8Array {
    return modelToOnnx(this, options);
  }

  /** Writes toOnnx() to a file (atomically). */
  saveOnnx(file: string, options?: OnnxExportOptions): Promise<{ path: string; bytes: number }> {
    return saveOnnx(this, file, options);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Frees the engine. Safe while training: it happens after the current batch. Later use throws. */
  dispose(): void {
    const e = this.engine;
    if (e.disposed) return;
    if (e.training) {
      e.disposeRequested = true;
      return;
    }
    e.disposeNets();
    e.compiled = undefined;
    this.params = undefined;
    e.disposed = true;
  }

  get isDisposed(): boolean {
    return this.engine.disposed;
  }

  /** The engine's flat parameters (library use: serialisation, tests). */
  get flatParams(): Float32Array {
    this.buildParams();
    return this.params!;
  }

  /** Output activation of the layer making the (first) output (library use). */
  get finalActivation(): Act | undefined {
    const specs = this.lowerSpec().layers;
    return specs.length ? specs[specs.length - 1].act : undefined;
  }

  /** @internal The spec of each weight layer's offsets (serialisation of graph models). */
  layerOffsets(l: Layer): number[] | undefined {
    return this.offsets.get(l);
  }
}

// ---------------------------------------------------------------- helpers

export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function checkSampleSize(shape: number[], what: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (!(n <= MAX_SAMPLE_SIZE)) throw new RangeError(`${what} has ${n} values per sample, more than the ${MAX_SAMPLE_SIZE} supported`);
}

/** Refuses more parameters than MAX_PARAMS, naming the weight that crosses it. */
export function checkParamCount(layers: Layer[]): void {
  let params = 0;
  for (const l of layers) {
    for (const w of l.weightSpecs) {
      params += sizeOf(w.shape);
      if (!(params <= MAX_PARAMS)) {
        throw new RangeError(`layer ${l.name}: weight ${w.name} of shape ${shapeStr(w.shape)} takes the model past ${MAX_PARAMS} parameters (the most supported)`);
      }
    }
  }
}

export function checkFinite(v: ArrayLike<number>, fn: string, name: string): void {
  for (let i = 0; i < v.length; i++) {
    const e = v[i];
    if (e - e !== 0) throw new RangeError(`${fn}: ${name} holds ${e} at flat index ${i}; inputs must be finite`);
  }
}

/** tf.model({inputs, outputs, name}): a graph model from symbolic tensors. */
export function model(args: ModelArgs): LayersModel {
  return new LayersModel(args);
}
