/**
 * The layer base class. A layer holds its options, infers its output shape when the model is
 * built, declares its weights, and describes itself to the engine as a LayerSpec. Its weights are
 * views into the model's one flat parameter buffer, so the engine updates them in place.
 */
import { ComputeDtype } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { Tensor } from '../../tensor';
import type { Initializer } from '../initializers';
import { describe, shapeStr } from '../../util';
import { InboundNode, SymbolicTensor } from '../symbolic';
import { DTypeLike, getGlobalPolicy, Policy, toPolicy } from '../mixed_precision';

export interface LayerArgs {
  /** Per-sample input shape of the first layer, e.g. [28, 28, 1]. */
  inputShape?: number[];
  /** Full input shape with the batch dimension (null or a size), as Keras' batch_input_shape. */
  batchInputShape?: (number | null)[];
  batchSize?: number;
  name?: string;
  trainable?: boolean;
  /**
   * The layer's dtype policy (lib/model/mixed_precision.ts): 'float32', 'mixed_bfloat16' (bf16
   * compute for Conv2D / Dense GEMMs, float32 variables), a Policy, or a Keras policy config.
   * Default: the global policy when the layer is created (mixedPrecision.setGlobalPolicy).
   */
  dtype?: DTypeLike;
}

export interface WeightSpec {
  /** 'kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance' */
  name: string;
  shape: number[];
  init: Initializer;
  trainable: boolean;
}

const nameCounters = new Map<string, number>();

/** TF.js's rule: 'Conv2D' -> 'conv2d', 'MaxPooling2D' -> 'max_pooling2d', 'ReLU' -> 're_lu'. */
export function snakeCase(s: string): string {
  const words = s.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2');
  return words.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** TF.js-style unique names: conv2d_Conv2D1, dense_Dense2 ... */
export function autoName(className: string): string {
  const n = (nameCounters.get(className) ?? 0) + 1;
  nameCounters.set(className, n);
  return `${snakeCase(className)}_${className}${n}`;
}

/** A per-sample shape as the engine's [H, W, C]. */
export function hwc(shape: number[]): [number, number, number] {
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  if (shape.length === 2) return [1, shape[0], shape[1]];
  if (shape.length === 1) return [1, 1, shape[0]];
  throw new Error(`shape ${shapeStr(shape)}: only ranks 1 to 3 (per sample) are supported`);
}

export abstract class Layer {
  abstract readonly className: string;
  readonly name: string;
  trainable: boolean;
  /** Per-sample input shape given by inputShape / batchInputShape (first layer). */
  readonly declaredInputShape?: number[];
  readonly declaredBatchSize?: number;
  /** Set by build(): the (first) input's per-sample shape, every input's (merge layers read several), the output's. */
  inputShape?: number[];
  inputShapes?: number[][];
  outputShape?: number[];
  /** The calls of this layer in the Functional API (layer.apply), in order. */
  inboundNodes: InboundNode[] = [];
  /**
   * Options read from a model file that the engine does not apply yet (regularizers and
   * constraints, by their camelCase config keys): written back when the model is saved, and
   * refused by fit / fitDataset / trainOnBatch (training would silently leave them out). Inference
   * is unaffected. Empty this object to train without them on purpose.
   */
  unapplied: Record<string, unknown> = {};
  weightSpecs: WeightSpec[] = [];
  /** Views into the model's parameter buffer, one per weight spec (set when the model is built). */
  weightViews: Float32Array[] = [];
  /** The dtype policy: args.dtype, else the global policy at construction (Keras' rule). */
  readonly dtypePolicy: Policy;

  constructor(args: LayerArgs, className: string) {
    this.name = args.name ?? autoName(className);
    if (typeof this.name !== 'string' || this.name.length === 0) {
      throw new TypeError(`${className}: name must be a non-empty string`);
    }
    this.trainable = args.trainable ?? true;
    this.dtypePolicy = args.dtype === undefined || args.dtype === null ? getGlobalPolicy() : toPolicy(args.dtype, className);
    if (args.batchInputShape) {
      this.declaredInputShape = checkInputShape(args.batchInputShape.slice(1), className);
      const b = args.batchInputShape[0];
      if (typeof b === 'number') this.declaredBatchSize = b;
    } else if (args.inputShape) {
      this.declaredInputShape = checkInputShape(args.inputShape, className);
    }
    if (args.batchSize !== undefined) this.declaredBatchSize = args.batchSize;
  }

  /** Checks the input shape, declares weights, returns the per-sample output shape. */
  build(inputShape: number[]): number[] {
    this.inputShape = inputShape.slice();
    this.inputShapes = [inputShape.slice()];
    this.weightSpecs = this.declareWeights(inputShape);
    this.outputShape = this.computeOutputShape(inputShape);
    return this.outputShape;
  }

  /** build() for the shapes of all inputs: one for most layers, two or more for the merge layers. */
  buildFromShapes(shapes: number[][]): number[] {
    if (shapes.length !== 1) throw new Error(`layer ${this.name} (${this.className}) expects 1 input, but it was called on ${shapes.length} inputs`);
    return this.build(shapes[0]);
  }

  /**
   * The Functional API: calls the layer on symbolic tensors (from tf.input() or another layer's
   * apply()) and returns the symbolic output. The first call builds the layer; later calls reuse its
   * weights (a shared layer) and must have the same input shapes.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length === 0 || list.some((t) => !(t instanceof SymbolicTensor))) {
      throw new TypeError(`${this.name}.apply: expected a SymbolicTensor (from tf.input() or a layer's apply()) or an array of them, received ${describe(inputs)}`);
    }
    const shapes = list.map((t) => t.sampleShape);
    if (this.inboundNodes.length > 0 && this.inputShapes) {
      const same = shapes.length === this.inputShapes.length && shapes.every((s, i) => shapeStr(s) === shapeStr(this.inputShapes![i]));
      if (!same) {
        throw new Error(`layer ${this.name} was called on input shape ${shapes.map(shapeStr).join(', ')}, but it was built for ${this.inputShapes.map(shapeStr).join(', ')} (a shared layer must be called on the same shapes)`);
      }
    } else {
      this.buildFromShapes(shapes);
    }
    const k = this.inboundNodes.length;
    const out = new SymbolicTensor([null, ...this.outputShape!], this, k, list, `${this.name}/${this.name}${k ? `_${k}` : ''}`);
    this.inboundNodes.push({ inputs: list, output: out });
    return out;
  }

  abstract computeOutputShape(inputShape: number[]): number[];
  protected declareWeights(_inputShape: number[]): WeightSpec[] {
    return [];
  }

  /** The engine's description of this layer; offsets are each weight's position in the flat buffer. Null: no-op (InputLayer). */
  abstract toSpec(offsets: number[]): LayerSpec | null;

  /** The spec field a GEMM layer adds for its policy: { dtype: BFloat16 } under mixed_bfloat16, else nothing. */
  protected dtypeSpec(): { dtype?: ComputeDtype } {
    return this.dtypePolicy.computeDtype === 'bfloat16' ? { dtype: ComputeDtype.BFloat16 } : {};
  }

  /** TF.js-style config (camelCase keys). */
  getConfig(): Record<string, unknown> {
    const c: Record<string, unknown> = { name: this.name, trainable: this.trainable };
    if (this.declaredInputShape) {
      c.batchInputShape = [this.declaredBatchSize ?? null, ...this.declaredInputShape];
    }
    // float32 as TF.js writes it (a plain string); other policies as Keras 3 writes them
    c.dtype = this.dtypePolicy.name === 'float32' ? 'float32' : this.dtypePolicy.toConfig();
    return c;
  }

  countParams(): number {
    return this.weightSpecs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  }

  /** Copies of the weights in TF.js order and shapes (kernel, bias; gamma, beta, moving_mean, moving_variance). */
  getWeights(): Tensor[] {
    if (this.weightViews.length !== this.weightSpecs.length) {
      throw new Error(`${this.name}: the layer is not built yet (add it to a model and build or compile it)`);
    }
    return this.weightSpecs.map((w, i) => new Tensor(this.weightViews[i].slice(), w.shape, 'float32'));
  }

  /** Sets every weight at once; checks all counts and shapes before changing anything. */
  setWeights(weights: Tensor[]): void {
    if (this.weightViews.length !== this.weightSpecs.length) {
      throw new Error(`${this.name}: the layer is not built yet (add it to a model and build or compile it)`);
    }
    if (!Array.isArray(weights) || weights.length !== this.weightSpecs.length) {
      throw new Error(`${this.name}.setWeights: expected ${this.weightSpecs.length} tensors, received ${Array.isArray(weights) ? weights.length : typeof weights}`);
    }
    weights.forEach((w, i) => {
      const spec = this.weightSpecs[i];
      if (!(w instanceof Tensor) || w.shape.length !== spec.shape.length || w.shape.some((d, j) => d !== spec.shape[j])) {
        const got = w instanceof Tensor ? shapeStr(w.shape) : typeof w;
        throw new Error(`${this.name}.setWeights: weight ${i} (${spec.name}) must have shape ${shapeStr(spec.shape)}, received ${got}`);
      }
      if (w.isDisposed) throw new Error(`${this.name}.setWeights: weight ${i} (${spec.name}) is disposed`);
      const v = w.values;
      for (let k = 0; k < v.length; k++) {
        if (v[k] - v[k] !== 0) throw new RangeError(`${this.name}.setWeights: weight ${i} (${spec.name}) holds ${v[k]} at flat index ${k}; weights must be finite`);
      }
    });
    weights.forEach((w, i) => this.weightViews[i].set(w.values));
  }
}

function checkInputShape(shape: (number | null)[], className: string): number[] {
  if (!Array.isArray(shape) || shape.length === 0 || shape.length > 3) {
    throw new Error(`${className}: inputShape must have 1 to 3 dimensions (per sample), received ${JSON.stringify(shape)}`);
  }
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
      throw new RangeError(`${className}: inputShape ${JSON.stringify(shape)} must hold positive integers`);
    }
  }
  return shape as number[];
}
