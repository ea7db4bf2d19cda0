/**
 * includeOptimizer: the training config (loss, metrics, optimizer class and settings) and the
 * optimizer's weights, written as TF.js writes them so either side can resume training:
 * `iter` (int32 scalar) first, then each slot kind for every trainable weight in order
 * (Adam: all `/m`, then all `/v`; RMSProp: `/rms`, `/momentum`, and `/mg` when centered;
 * Momentum: `/momentum`; Adagrad: `/accumulator`), all in the weight group 'optimizer'.
 * The engine keeps the slots of one variable side by side instead; this file does the reordering.
 */
import { OptimizerKind } from '../../backend/types';
import type { LossConfig } from '../losses';
import { losses } from '../losses';
import type { Metric } from '../metrics';
import { Optimizer, train } from '../optimizers';
import type { LayersModel } from '../container';
import { fromPythonic, isPlainObject, toSnakeCase, shown } from './keras_json';
import type { TrainingConfig } from '../../io/types';
import type { DecodedWeight, NamedWeight } from '../../io/weights';

function compiledOf(model: LayersModel): { loss: LossConfig; metrics: Metric[]; optimizer: Optimizer } | undefined {
  return model.compileConfig;
}

const SLOT_NAMES: Record<OptimizerKind, string[]> = {
  [OptimizerKind.Sgd]: [],
  [OptimizerKind.Momentum]: ['momentum'],
  [OptimizerKind.Adam]: ['m', 'v'],
  [OptimizerKind.AdamW]: ['m', 'v'],
  [OptimizerKind.RMSprop]: ['rms', 'momentum', 'mg'],
  [OptimizerKind.Adagrad]: ['accumulator'],
};

/** Slot kinds written to files: RMSProp's mean gradient only when centered (as TF.js). */
function savedSlotNames(o: Optimizer): string[] {
  const names = SLOT_NAMES[o.kind];
  return o.kind === OptimizerKind.RMSprop && !o.params.centered ? names.slice(0, 2) : names;
}

/** The optimizer's settings under TF.js's names (Adam: learningRate, beta1, beta2, epsilon ...). */
function optimizerConfig(o: Optimizer): { class_name: string; config: Record<string, unknown> } {
  const p = o.params;
  let config: Record<string, unknown>;
  switch (o.kind) {
    case OptimizerKind.Sgd: config = { learningRate: o.learningRate }; break;
    case OptimizerKind.Momentum: config = { learningRate: o.learningRate, momentum: p.momentum, useNesterov: p.nesterov ?? false }; break;
    case OptimizerKind.Adam: config = { learningRate: o.learningRate, beta1: p.beta1, beta2: p.beta2, epsilon: p.eps }; break;
    case OptimizerKind.AdamW:
      config = { learningRate: o.learningRate, weightDecay: p.weightDecay, beta1: p.beta1, beta2: p.beta2, epsilon: p.eps };
      break;
    case OptimizerKind.RMSprop:
      config = { learningRate: o.learningRate, decay: p.rho, momentum: p.momentum, epsilon: p.eps, centered: p.centered ?? false };
      break;
    default:
      config = { learningRate: o.learningRate, initialAccumulatorValue: (o as Optimizer & { initialAccumulatorValue?: number }).initialAccumulatorValue ?? 0.1 };
  }
  if (o.clipnorm) config.clipnorm = o.clipnorm;
  if (o.clipvalue) config.clipvalue = o.clipvalue;
  return { class_name: o.className, config };
}

/** TF.js trainingConfig of a compiled model, or null when it is not compiled. */
export function trainingConfigOf(model: LayersModel): TrainingConfig | null {
  const c = compiledOf(model);
  if (!c) return null;
  const l = c.loss;
  // A plain name when the loss has its defaults (what TF.js writes); else a Keras loss object.
  const loss: TrainingConfig['loss'] = !l.fromLogits && !l.labelSmoothing ? l.name : {
    class_name: l.name.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join(''),
    config: { name: l.name, from_logits: l.fromLogits, label_smoothing: l.labelSmoothing },
  };
  return {
    loss,
    metrics: c.metrics.map((m) => (m.key === 'acc' ? 'accuracy' : toSnakeCase(m.key))),
    optimizer_config: optimizerConfig(c.optimizer),
  };
}

interface TrainableVar { name: string; shape: number[]; size: number }

function trainableVars(model: LayersModel): TrainableVar[] {
  const out: TrainableVar[] = [];
  for (const l of model.weightLayers()) {
    for (const w of l.weightSpecs) {
      if (w.trainable) out.push({ name: `${l.name}/${w.name}`, shape: w.shape.slice(), size: w.shape.reduce((a, b) => a * b, 1) });
    }
  }
  return out;
}

/** Engine slots per variable, from the size of the slot buffer. */
function slotsPerVar(vars: TrainableVar[], slots: Float32Array): number {
  const total = vars.reduce((s, v) => s + v.size, 0);
  return total === 0 ? 0 : slots.length / total;
}

/** The optimizer's weights in TF.js order, group 'optimizer'. */
export function optimizerWeights(model: LayersModel): NamedWeight[] {
  const c = compiledOf(model);
  const state = model.getOptimizerState();
  if (!c || !state) return [];
  const vars = trainableVars(model);
  const per = slotsPerVar(vars, state.slots);
  const out: NamedWeight[] = [{ name: 'iter', shape: [], values: new Int32Array([state.iterations]), group: 'optimizer' }];
  savedSlotNames(c.optimizer).forEach((slotName, j) => {
    let base = 0;
    for (const v of vars) {
      const off = base + j * v.size;
      out.push({ name: `${v.name}/${slotName}`, shape: v.shape, values: state.slots.slice(off, off + v.size), group: 'optimizer' });
      base += v.size * per;
    }
  });
  return out;
}

/** Restores iterations and slots from the file's optimizer weights (model already compiled). */
export function restoreOptimizerWeights(model: LayersModel, entries: DecodedWeight[], where: string): void {
  const c = compiledOf(model);
  const state = model.getOptimizerState();
  if (!c || !state) throw new Error(`${where}: optimizer weights given but the model has no optimizer`);
  const iter = entries[0];
  if (iter.values.length !== 1) throw new Error(`${where}: the first optimizer weight must be the iteration count (a scalar), received ${iter.spec.name} of shape [${iter.spec.shape.join(',')}]`);
  const iterations = Math.round(iter.values[0]);
  if (!(iterations >= 0)) throw new Error(`${where}: optimizer iteration count ${iter.values[0]} is invalid`);
  const rest = entries.slice(1);
  const vars = trainableVars(model);
  const slots = state.slots.slice();
  if (rest.length > 0) {
    const names = SLOT_NAMES[c.optimizer.kind];
    const groups = vars.length ? rest.length / vars.length : 0;
    const allowed = c.optimizer.kind === OptimizerKind.RMSprop ? [2, 3] : [names.length];
    if (!allowed.includes(groups)) {
      throw new Error(`${where}: ${rest.length} optimizer slot weights do not fit ${c.optimizer.className} over ${vars.length} trainable weights (expected ${allowed.map((g) => g * vars.length).join(' or ')})`);
    }
    const per = slotsPerVar(vars, slots);
    for (let j = 0; j < groups; j++) {
      let base = 0;
      vars.forEach((v, i) => {
        const e = rest[j * vars.length + i];
        if (e.values.length !== v.size || e.spec.shape.length !== v.shape.length || e.spec.shape.some((d, k) => d !== v.shape[k])) {
          throw new Error(`${where}: optimizer weight ${shown(e.spec.name)} has shape [${e.spec.shape.join(',')}], expected [${v.shape.join(',')}] for ${v.name}/${names[j]}`);
        }
        slots.set(e.values, base + j * v.size);
        base += v.size * per;
      });
    }
  }
  model.setOptimizerState(iterations, slots);
}

// ---------------------------------------------------------------- compile from a file

function numberOr(c: Record<string, unknown>, keys: string[], dflt: number, where: string): number {
  for (const k of keys) {
    const v = c[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number') throw new Error(`${where}: optimizer setting ${k} must be a number (learning-rate schedules are not supported), received ${shown(v)}`);
    return v;
  }
  return dflt;
}

/** An optimizer from {class_name, config} in TF.js or Keras spelling. */
function optimizerFromConfig(oc: unknown, where: string): Optimizer {
  const t = fromPythonic(oc, where);
  if (!isPlainObject(t) || typeof t.className !== 'string') throw new Error(`${where}: trainingConfig.optimizer_config must be {class_name, config}`);
  const c = isPlainObject(t.config) ? t.config : {};
  const lr = (d: number) => numberOr(c, ['learningRate', 'lr'], d, where);
  const clip = {
    clipnorm: typeof c.clipnorm === 'number' ? c.clipnorm : undefined,
    clipvalue: typeof c.clipvalue === 'number' ? c.clipvalue : undefined,
  };
  if (c.amsgrad === true) throw new Error(`${where}: Adam with amsgrad is not supported`);
  switch (t.className.toLowerCase()) {
    case 'sgd': {
      const m = numberOr(c, ['momentum'], 0, where);
      return m > 0 ? train.momentum(lr(0.01), m, c.nesterov === true, clip) : train.sgd(lr(0.01), clip);
    }
    case 'momentum':
      return train.momentum(lr(0.01), numberOr(c, ['momentum'], 0.9, where), c.useNesterov === true || c.nesterov === true, clip);
    case 'adam':
      return train.adam(lr(0.001), numberOr(c, ['beta1'], 0.9, where), numberOr(c, ['beta2'], 0.999, where), numberOr(c, ['epsilon'], 1e-7, where), clip);
    case 'adamw':
      return train.adamw(lr(0.001), numberOr(c, ['weightDecay'], 0.004, where), numberOr(c, ['beta1'], 0.9, where),
        numberOr(c, ['beta2'], 0.999, where), numberOr(c, ['epsilon'], 1e-7, where), clip);
    case 'rmsprop':
      return train.rmsprop(lr(0.001), numberOr(c, ['decay', 'rho'], 0.9, where), numberOr(c, ['momentum'], 0, where),
        numberOr(c, ['epsilon'], 1e-7, where), c.centered === true, clip);
    case 'adagrad':
      return train.adagrad(lr(0.01), numberOr(c, ['initialAccumulatorValue'], 0.1, where), clip);
    default:
      throw new Error(`${where}: optimizer ${shown(t.className)} is not supported (SGD, Momentum, Adam, AdamW, RMSProp, Adagrad)`);
  }
}

/** A loss name, or a Keras loss object {class_name, config: {from_logits, label_smoothing}}. */
function lossFromConfig(loss: unknown, where: string): unknown {
  if (typeof loss === 'string') return loss;
  const t = fromPythonic(loss, where);
  if (isPlainObject(t) && typeof t.className === 'string') {
    const key = (t.className[0].toLowerCase() + t.className.slice(1)) as keyof typeof losses;
    const make = (Object.hasOwn(losses, key) ? losses[key] : undefined) as ((o?: { fromLogits?: boolean; labelSmoothing?: number }) => unknown) | undefined;
    if (!make) throw new Error(`${where}: loss ${shown(t.className)} is not supported`);
    const c = isPlainObject(t.config) ? t.config : {};
    const opts: { fromLogits?: boolean; labelSmoothing?: number } = {};
    if (typeof c.fromLogits === 'boolean') opts.fromLogits = c.fromLogits;
    if (typeof c.labelSmoothing === 'number') opts.labelSmoothing = c.labelSmoothing;
    return make(opts);
  }
  throw new Error(`${where}: only a single loss (a name or a Keras loss object) is supported, received ${shown(loss)}`);
}

/** Compiles the loaded model with the file's trainingConfig (TF.js loadTrainingConfig). */
export function compileFromTrainingConfig(model: LayersModel, tc: unknown, where: string): void {
  if (!isPlainObject(tc)) throw new Error(`${where}: trainingConfig must be an object`);
  for (const k of ['weighted_metrics', 'loss_weights', 'sample_weight_mode']) {
    if (tc[k] !== undefined && tc[k] !== null) throw new Error(`${where}: trainingConfig.${k} is not supported`);
  }
  const optimizer = optimizerFromConfig(tc.optimizer_config, where);
  const loss = lossFromConfig(tc.loss, where);
  let metrics: string[] | undefined;
  if (Array.isArray(tc.metrics)) metrics = tc.metrics as string[];
  else if (isPlainObject(tc.metrics)) metrics = Object.values(tc.metrics) as string[];
  if (metrics && metrics.some((m) => typeof m !== 'string')) throw new Error(`${where}: trainingConfig.metrics must be names`);
  try {
    model.compile({ optimizer, loss: loss as never, metrics });
  } catch (e) {
    throw new Error(`${where}: cannot compile with the file's trainingConfig: ${(e as Error).message}`);
  }
}
