/**
 * Losses by name (TF.js and Keras spellings) or by the functions of `losses` (which also compute the
 * loss of tensors directly). The engine runs the loss and its gradient natively; a custom JavaScript
 * loss function cannot run inside the compiled training step and is refused with an explanation.
 */
import { LossKind } from '../backend/types';
import type { Kernels } from '../backend/types';
import { kernels } from '../backend';
import { Tensor } from '../tensor';
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

export const losses = {
  categoricalCrossentropy: (o?: LossOptions) => makeLoss(LossKind.CategoricalCrossentropy, 'categorical_crossentropy', o),
  sparseCategoricalCrossentropy: (o?: LossOptions) => makeLoss(LossKind.SparseCategoricalCrossentropy, 'sparse_categorical_crossentropy', o),
  binaryCrossentropy: (o?: LossOptions) => makeLoss(LossKind.BinaryCrossentropy, 'binary_crossentropy', o),
  meanSquaredError: () => makeLoss(LossKind.MeanSquaredError, 'mean_squared_error'),
  meanAbsoluteError: () => makeLoss(LossKind.MeanAbsoluteError, 'mean_absolute_error'),
};

const byName: Record<string, () => LossFunction> = nameTable({
  categoricalcrossentropy: () => losses.categoricalCrossentropy(),
  sparsecategoricalcrossentropy: () => losses.sparseCategoricalCrossentropy(),
  binarycrossentropy: () => losses.binaryCrossentropy(),
  meansquarederror: () => losses.meanSquaredError(),
  mse: () => losses.meanSquaredError(),
  meanabsoluteerror: () => losses.meanAbsoluteError(),
  mae: () => losses.meanAbsoluteError(),
});
const validNames = ['categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError', 'mse', 'meanAbsoluteError', 'mae'];

export type LossIdentifier = string | LossFunction;

export function getLoss(id: LossIdentifier): LossConfig {
  if (typeof id === 'function') {
    const cfg = (id as Partial<LossFunction>).lossConfig;
    if (cfg) return cfg;
    // The plain factories (losses.meanSquaredError) passed without calling them.
    for (const f of Object.values(losses)) if (f === (id as unknown)) return (f as () => LossFunction)().lossConfig;
    throw new Error(
      'compile: custom loss functions cannot run inside the compiled native training step. ' +
        `Use one of ${validNames.join(', ')} (or losses.x({fromLogits, labelSmoothing})).`,
    );
  }
  if (typeof id !== 'string') throw new TypeError(`compile: loss must be a name or a loss function, received ${describe(id)}`);
  return lookup(byName, id, 'loss', validNames)().lossConfig;
}
