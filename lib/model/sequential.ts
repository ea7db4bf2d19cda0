/**
 * Sequential: a LayersModel whose layers form a chain (node i reads node i-1). It lowers to the
 * engine's chain form of the NetworkSpec (no tensor ids), which keeps the chain's fused fast paths.
 */
import type { NetworkSpec } from '../backend/types';
import { describe, shapeStr } from '../util';
import { checkParamCount, checkSampleSize, EngineGraph, EngineNode, LayersModel } from './container';
import { Layer } from './layers/base';
import { InputLayer } from './layers/core';
import type { SummaryRow } from './summary';

export { History } from './training';
export type { ModelFitArgs, ModelFitDatasetArgs } from './training';
export type { ModelPredictArgs, ModelEvaluateDatasetArgs } from './inference';
export type { DatasetElement, DatasetLike } from './datasets';
export type { CompileArgs } from './container';
export { MAX_PARAMS, MAX_SAMPLE_SIZE } from './container';

export interface SequentialArgs {
  layers?: Layer[];
  name?: string;
}

let sequentialCount = 0;

export class Sequential extends LayersModel {
  override readonly className: string = 'Sequential';
  declare readonly layers: Layer[];

  constructor(args: SequentialArgs = {}) {
    if (args === null || typeof args !== 'object') throw new TypeError('sequential: expected an options object');
    super(undefined, args.name ?? `sequential_${++sequentialCount}`);
    for (const l of args.layers ?? []) this.add(l);
  }

  /** Appends a layer; the model is (re)built lazily. */
  add(layer: Layer): void {
    this.engine.checkUsable('add');
    if (this.engine.training) throw new Error('add: the model is training');
    if (!(layer instanceof Layer)) throw new TypeError(`add: expected a layer (e.g. tf.layers.dense({...})), received ${describe(layer)}`);
    if (this.layers.length === 0 && !layer.declaredInputShape) {
      throw new Error(`add: the first layer (${layer.name}) must declare its inputShape, e.g. inputShape: [28, 28, 1]`);
    }
    if (this.layers.includes(layer)) throw new Error(`add: layer ${layer.name} is already in the model`);
    if (this.layers.some((l) => l.name === layer.name)) throw new Error(`add: a layer named ${layer.name} is already in the model`);
    this.layers.push(layer);
    try {
      this.buildShapes();
    } catch (e) {
      this.layers.pop();
      if (this.layers.length) this.buildShapes();
      throw e;
    }
    this.invalidate();
  }

  override get inputNames(): string[] {
    return this.layers.length ? [`${this.layers[0].name}_input`] : [];
  }

  override get outputNames(): string[] {
    return this.layers.length ? [this.layers[this.layers.length - 1].name] : [];
  }

  override weightLayers(): Layer[] {
    return this.layers.slice();
  }

  /** getWeights / setWeights order of a Sequential: layer by layer (each layer's weights in its order). */
  protected override weightOrder(): { l: Layer; j: number }[] {
    return this.layers.flatMap((l) => l.weightSpecs.map((_, j) => ({ l, j })));
  }

  /** Infers every layer's output shape along the chain (throws on a mismatch, naming the layer). */
  protected override buildShapes(): void {
    if (this.layers.length === 0) return;
    let shape = this.layers[0].declaredInputShape!.slice();
    checkSampleSize(shape, `layer ${this.layers[0].name}: inputShape ${shapeStr(shape)}`);
    this.inputShape = shape.slice();
    for (const l of this.layers) {
      if (l !== this.layers[0] && l.declaredInputShape && l.declaredInputShape.join() !== shape.join() && !(l instanceof InputLayer)) {
        throw new Error(`layer ${l.name} declares inputShape ${shapeStr(l.declaredInputShape)} but receives ${shapeStr(shape)}`);
      }
      shape = l.build(shape);
      checkSampleSize(shape, `layer ${l.name}: its output shape ${shapeStr(shape)}`);
    }
    checkParamCount(this.layers);
    this.outputShape = shape;
    this.inputShapes = [this.inputShape];
    this.outputShapes = [shape];
  }

  protected override checkBuildable(): void {
    if (this.layers.length === 0) throw new Error('The model has no layers: add some with model.add() or sequential({layers})');
  }

  /** The chain form: the specs of the layers that compute something, in order. */
  protected override lowerSpec(): Pick<NetworkSpec, 'layers'> {
    this.buildParams();
    const layers = [];
    for (const l of this.layers) {
      const s = l.toSpec(this.layerOffsets(l) ?? []);
      if (s) layers.push(s);
    }
    return { layers };
  }

  /** As a nested layer: the chain's nodes, each reading the previous one. */
  protected override inlineCall(nodes: EngineNode[], inIds: number[], nInputs: number): number {
    let cur = inIds[0];
    for (const l of this.layers) {
      if (l instanceof InputLayer) continue;
      nodes.push({ layer: l, inputs: [cur] });
      cur = nInputs + nodes.length - 1;
    }
    return cur;
  }

  /** The chain as a graph: one input, each layer reading the previous one, the last the output. */
  override engineGraph(): EngineGraph {
    this.build();
    const nodes: EngineNode[] = [];
    const out = this.inlineCall(nodes, [0], 1);
    return { inputShapes: [this.inputShape!.slice()], nodes, outputs: [out] };
  }

  protected override get isGraph(): boolean {
    return false;
  }

  protected override summaryRows(): SummaryRow[] {
    return this.layers.map((l) => ({ name: l.name, className: l.className, shape: shapeStr([null, ...l.outputShape!]), params: l.countParams() }));
  }

  /** TF.js-style config: {name, layers: [{className, config}]}. */
  override getConfig(): { name: string; layers: { className: string; config: Record<string, unknown> }[] } {
    return { name: this.name, layers: this.layers.map((l) => ({ className: l.className, config: l.getConfig() })) };
  }
}

export function sequential(args: SequentialArgs = {}): Sequential {
  return new Sequential(args);
}
