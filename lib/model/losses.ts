/**
 * Losses by name (TF.js and Keras spellings) or by the functions of `losses`, which are also TF.js's
 * tf.losses functions on tensors (meanSquaredError(labels, predictions, weights?, reduction?), ...). The engine runs the loss and its gradient natively; a custom JavaScript
 * loss function cannot run inside the compiled training step and is refused with an explanation.
 */
import { LossKind } from '../backend/types';
import type { Kernels } from '../backend/types';
import { kernels } from '../backend';
import { Tensor } from '../tensor';
import type { TensorOrLike } from '../ops/convert';
import * as tfl from '../ops/losses';
import { describe, lookup } from '../util';
import { nameTable } from './names';

export interface LossConfig {
  kind: LossKind;
  fromLogits: boolean;
  labelSmoothing: number;
  /** Keras name, for serialisation and messages. */
  name: string;
}

export interface LossOptions {
  fromLogits?: boolean;
  labelSmoothing?: number;
}

/** A loss usable in compile() and callable on tensors: loss(yTrue, yPred) -> scalar Tensor. */
export interface LossFunction {
  (yTrue: Tensor, yPred: Tensor): Tensor;
  readonly lossConfig: LossConfig;
}

function makeLoss(kind: LossKind, name: string, opts: LossOptions = {}): LossFunction {
  const cfg: LossConfig = {
    kind, name, fromLogits: opts.fromLogits ?? false, labelSmoothing: opts.labelSmoothing ?? 0,
  };
  if (!(cfg.labelSmoothing >= 0 && cfg.labelSmoothing <= 1)) {
    throw new RangeError(`${name}: labelSmoothing must be in [0, 1], received ${cfg.labelSmoothing}`);
  }
  const f = ((yTrue: Tensor, yPred: Tensor) => lossOfTensors(cfg, yTrue, yPred)) as LossFunction;
  Object.defineProperty(f, 'lossConfig', { value: cfg });
  return f;
}

/** Computes a loss over whole tensors with the active backend's kernels. */
export function lossOfTensors(cfg: LossConfig, yTrue: Tensor, yPred: Tensor, sw: Float32Array | null = null, k: Kernels = kernels()): Tensor {
  const n = yPred.shape[0] ?? 1;
  const d = yPred.size / Math.max(n, 1);
  const pred = yPred.values as Float32Array;
  let v: number;
  switch (cfg.kind) {
    case LossKind.CategoricalCrossentropy:
    case LossKind.SparseCategoricalCrossentropy: {
      const sparse = cfg.kind === LossKind.SparseCategoricalCrossentropy;
      const labels = sparse ? toInt32(yTrue) : (yTrue.values as Float32Array);
      if (cfg.fromLogits) {
        const probs = new Float32Array(pred.length);
        k.softmaxRows(probs, pred, n, d);
        v = sparse
          ? k.sparseSoftmaxCrossentropy(null, probs, labels as Int32Array, sw, n, d, cfg.labelSmoothing)
          : k.softmaxCrossentropy(null, probs, labels as Float32Array, sw, n, d, cfg.labelSmoothing);
      } else {
        v = sparse
          ? k.sparseCategoricalCrossentropy(null, pred, labels as Int32Array, sw, n, d, cfg.labelSmoothing)
          : k.categoricalCrossentropy(null, pred, labels as Float32Array, sw, n, d, cfg.labelSmoothing);
      }
      break;
    }
    case LossKind.BinaryCrossentropy:
      v = k.binaryCrossentropy(null, pred, yTrue.values as Float32Array, sw, n, d, cfg.fromLogits, cfg.labelSmoothing);
      break;
    case LossKind.MeanSquaredError:
      v = k.meanSquaredError(null, pred, yTrue.values as Float32Array, sw, n, d);
      break;
    default:
      v = k.meanAbsoluteError(null, pred, yTrue.values as Float32Array, sw, n, d);
  }
  return new Tensor(new Float32Array([v]), [], 'float32');
}

function toInt32(t: Tensor): Int32Array {
  if (t.values instanceof Int32Array) return t.values;
  return Int32Array.from(t.values);
}

/**
 * A losses entry is both TF.js's function on tensors and the Keras-style factory compile() uses:
 * called with tensors (or arrays) it computes the loss; called with nothing or an options object
 * it returns a LossFunction for compile({loss}). Passing the entry itself to compile also works.
 */
export interface DualLoss<A extends unknown[]> {
  (options?: LossOptions): LossFunction;
  (labels: TensorOrLike, predictions: TensorOrLike, ...rest: A): Tensor;
}

function isData(x: unknown): boolean {
  return x instanceof Tensor || Array.isArray(x) || typeof x === 'number' || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

function dual<A extends unknown[]>(factory: (o?: LossOptions) => LossFunction, onTensors: (labels: TensorOrLike, predictions: TensorOrLike, ...rest: A) => Tensor): DualLoss<A> {
  return ((a?: unknown, b?: unknown, ...rest: A) => {
    if (b !== undefined || isData(a)) return onTensors(a as TensorOrLike, b as TensorOrLike, ...rest);
    return factory(a as LossOptions | undefined);
  }) as DualLoss<A>;
}

/** Keras-style losses on tensors (mean over samples, a scalar), used by the entries without a TF.js twin. */
function kerasOnTensors(factory: () => LossFunction, fn: string) {
  return (yTrue: TensorOrLike, yPred: TensorOrLike): Tensor => {
    if (!(yTrue instanceof Tensor) || !(yPred instanceof Tensor)) throw new TypeError(`losses.${fn}: yTrue and yPred must be Tensors`);
    return factory()(yTrue, yPred);
  };
}

const cce = (o?: LossOptions) => makeLoss(LossKind.CategoricalCrossentropy, 'categorical_crossentropy', o);
const scce = (o?: LossOptions) => makeLoss(LossKind.SparseCategoricalCrossentropy, 'sparse_categorical_crossentropy', o);
const bce = (o?: LossOptions) => makeLoss(LossKind.BinaryCrossentropy, 'binary_crossentropy', o);
const mse = () => makeLoss(LossKind.MeanSquaredError, 'mean_squared_error');
const mae = () => makeLoss(LossKind.MeanAbsoluteError, 'mean_absolute_error');

/** Thrown by compile for the TF.js losses the native training step has no kernel for. */
function notTrainable(name: string) {
  return (): LossFunction => {
    throw new Error(`compile: the loss ${name} has no kernel in the compiled native training step; use it on tensors (tf.losses.${name}(labels, predictions)) or train with one of ${validNames.join(', ')}`);
  };
}

export const losses = {
  categoricalCrossentropy: dual(cce, kerasOnTensors(cce, 'categoricalCrossentropy')),
  sparseCategoricalCrossentropy: dual(scce, kerasOnTensors(scce, 'sparseCategoricalCrossentropy')),
  binaryCrossentropy: dual(bce, kerasOnTensors(bce, 'binaryCrossentropy')),
  /** TF.js: mean of (labels - predictions)^2 with weights / reduction; compile: 'meanSquaredError'. */
  meanSquaredError: dual(mse, tfl.meanSquaredError),
  /** Keras' mean absolute error (compile); on tensors the same as absoluteDifference. */
  meanAbsoluteError: dual(mae, tfl.absoluteDifference),
  absoluteDifference: dual(mae, tfl.absoluteDifference),
  /** TF.js: softmax cross-entropy of logits; compile: categorical cross-entropy fromLogits. */
  softmaxCrossEntropy: dual((o) => cce({ ...o, fromLogits: true }), tfl.softmaxCrossEntropy),
  /** TF.js: sigmoid cross-entropy of logits; compile: binary cross-entropy fromLogits. */
  sigmoidCrossEntropy: dual((o) => bce({ ...o, fromLogits: true }), tfl.sigmoidCrossEntropy),
  logLoss: dual(bce, tfl.logLoss),
  huberLoss: dual(notTrainable('huberLoss'), tfl.huberLoss),
  hingeLoss: dual(notTrainable('hingeLoss'), tfl.hingeLoss),
  cosineDistance: dual(notTrainable('cosineDistance'), tfl.cosineDistance),
  computeWeightedLoss: tfl.computeWeightedLoss,
};

const byName: Record<string, () => LossFunction> = nameTable({
  categoricalcrossentropy: () => cce(),
  sparsecategoricalcrossentropy: () => scce(),
  binarycrossentropy: () => bce(),
  meansquarederror: () => mse(),
  mse: () => mse(),
  meanabsoluteerror: () => mae(),
  mae: () => mae(),
});
const validNames = ['categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError', 'mse', 'meanAbsoluteError', 'mae'];

export type LossIdentifier = string | LossFunction;

export function getLoss(id: LossIdentifier): LossConfig {
  if (typeof id === 'function') {
    const cfg = (id as Partial<LossFunction>).lossConfig;
    if (cfg) return cfg;
    // The entries of `losses` passed without calling them (losses.meanSquaredError).
    for (const [k, f] of Object.entries(losses)) {
      if (f === (id as unknown)) {
        if (k === 'computeWeightedLoss') break;
        return (f as () => LossFunction)().lossConfig;
      }
    }
    throw new Error(
      'compile: custom loss functions cannot run inside the compiled native training step. ' +
        `Use one of ${validNames.join(', ')} (or losses.x({fromLogits, labelSmoothing})).`,
    );
  }
  if (typeof id !== 'string') throw new TypeError(`compile: loss must be a name or a loss function, received ${describe(id)}`);
  return lookup(byName, id, 'loss', validNames)().lossConfig;
}
