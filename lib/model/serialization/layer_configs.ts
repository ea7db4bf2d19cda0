/**
 * Layer configs <-> layers. Writing: a layer's TF.js config (camelCase) becomes Keras JSON in the
 * key order TF.js writes. Reading: a Keras / TF.js layer entry (after fromPythonic) becomes a
 * layer, accepting what TF.js writes, what tensorflowjs_converter writes from Keras 2, and the
 * Keras 3 spellings (InputLayer batch_shape, DTypePolicy objects, module / registered_name /
 * build_config keys, Keras initializer class names). Regularisers and constraints in a file are
 * not applied by the engine yet: they are kept on the layer (layer.unapplied), written back on
 * save, warned about when loading and refused by training (never a silent drop).
 */
import {
  Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D,
  GlobalMaxPooling2D, InputLayer, Layer, MaxPooling2D, ReLU,
  Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, Reshape, FAMILIES,
} from '../layers';
import type { ConfigHelpers } from '../layers';
import type { LayerArgs } from '../layers';
import {
  Constant, getInitializer, Initializer, Ones, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, Zeros,
} from '../initializers';
import type { Distribution, FanMode } from '../initializers';
import { isPlainObject, toPythonic, shown } from './keras_json';
import { Policy, toPolicy } from '../mixed_precision';

type Config = Record<string, unknown>;

/** What the reader knows while rebuilding layer i: where it is and the per-sample shape reaching it. */
export interface LayerContext {
  where: string;
  inputShape?: number[];
}

// ---------------------------------------------------------------- writing

const BASE_KEYS = ['name', 'trainable', 'batchInputShape', 'dtype'];

/**
 * A layer's Keras JSON config. TF.js puts the class's own keys first and the base keys (name,
 * trainable, batch_input_shape, dtype) last, and writes dtype only with an input shape.
 */
export function layerConfigToJson(className: string, config: Config): Config {
  if (className === 'InputLayer') return toPythonic(config) as Config;
  const ordered: Config = {};
  for (const [k, v] of Object.entries(config)) if (!BASE_KEYS.includes(k)) ordered[k] = v;
  for (const k of BASE_KEYS) {
    if (!(k in config)) continue;
    // TF.js writes a float32 dtype only with an input shape; any other policy always (it changes the layer)
    if (k === 'dtype' && config.batchInputShape === undefined && config.dtype === 'float32') continue;
    ordered[k] = config[k];
  }
  return toPythonic(ordered) as Config;
}

// ---------------------------------------------------------------- reading helpers

function fail(ctx: LayerContext, msg: string): never {
  throw new Error(`${ctx.where}: ${msg}`);
}

/**
 * The layer's dtype policy: a plain string as TF.js and Keras 2 write it ('float32',
 * 'mixed_bfloat16'; fromPythonic turned it into camelCase), or a Keras 3 DTypePolicy / Keras 2
 * Policy object ({ class_name, config: { name } }). Absent: float32 (not the global policy: a file
 * says what its layers are). Unsupported policies (mixed_float16 ...) fail with the reason.
 */
function readDtype(c: Config, ctx: LayerContext): Policy {
  const d = c.dtype;
  if (d === undefined || d === null) return toPolicy('float32');
  let name: unknown = d;
  if (isPlainObject(d)) {
    name = isPlainObject(d.config) ? d.config.name : undefined;
    if (typeof name !== 'string') fail(ctx, `dtype ${shown(d)} is not a dtype policy ({ class_name: "DTypePolicy", config: { name } })`);
  } else if (typeof d === 'string') {
    name = d.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);  // undo fromPythonic's camelCase: mixedBfloat16
  } else {
    fail(ctx, `dtype must be a string or a dtype policy, received ${shown(d)}`);
  }
  try {
    return toPolicy(name, 'dtype');
  } catch (e) {
    // "(only float32)": the one storage dtype; the reason says what else there is (mixed_bfloat16)
    const why = (e as Error).message.replace(/^dtype: /, '').replace(/^'[^']*' is not supported: /, '')
      .replace(/^unknown dtype policy .*/, "the dtype policies are 'float32' and 'mixed_bfloat16'");
    return fail(ctx, `dtype ${shown(name)} is not supported (only float32): ${why}`);
  }
}

/** The input dtype of an InputLayer: float32 only (a policy naming float32 is accepted too). */
function checkDtype(c: Config, ctx: LayerContext): void {
  const d = c.dtype;
  if (d === undefined || d === null || d === 'float32') return;
  if (isPlainObject(d) && isPlainObject(d.config) && d.config.name === 'float32') return;
  const name = isPlainObject(d) && isPlainObject(d.config) ? d.config.name : d;
  fail(ctx, `dtype ${shown(name)} is not supported (only float32)`);
}

/** Name, trainable and input shape, common to every layer. */
function baseArgs(c: Config, ctx: LayerContext): LayerArgs {
  const args: LayerArgs = { dtype: readDtype(c, ctx) };
  if (c.name !== undefined && c.name !== null) {
    if (typeof c.name !== 'string') fail(ctx, `name must be a string, received ${shown(c.name)}`);
    args.name = c.name;
  }
  if (c.trainable !== undefined && c.trainable !== null) {
    if (typeof c.trainable !== 'boolean') fail(ctx, 'trainable must be true or false');
    args.trainable = c.trainable;
  }
  const bis = c.batchInputShape ?? c.batchShape;
  if (bis !== undefined && bis !== null) {
    if (!Array.isArray(bis) || bis.length < 2) fail(ctx, `batch_input_shape must be [batch, ...dims], received ${shown(bis)}`);
    args.batchInputShape = bis as (number | null)[];
  } else if (Array.isArray(c.inputShape)) {
    args.inputShape = c.inputShape as number[];
  }
  return args;
}

function str(c: Config, key: string, ctx: LayerContext): string | undefined {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(ctx, `${key} must be a string, received ${shown(v)}`);
  return v;
}

function num(c: Config, key: string, ctx: LayerContext): number | undefined {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') fail(ctx, `${key} must be a number, received ${shown(v)}`);
  return v;
}

function bool(c: Config, key: string, ctx: LayerContext): boolean | undefined {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail(ctx, `${key} must be true or false, received ${shown(v)}`);
  return v;
}

/** A size or pair: 3, [3, 3]. */
function pairOf(c: Config, key: string, ctx: LayerContext): number | [number, number] | undefined {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  return fail(ctx, `${key} must be a number or a pair of numbers, received ${shown(v)}`);
}

function padding(c: Config, ctx: LayerContext): 'valid' | 'same' | undefined {
  const p = str(c, 'padding', ctx);
  if (p === undefined || p === 'valid' || p === 'same') return p;
  return fail(ctx, `padding ${shown(p)} is not supported (valid or same)`);
}

function channelsLast(c: Config, ctx: LayerContext): void {
  const f = str(c, 'dataFormat', ctx);
  if (f !== undefined && f !== 'channelsLast') fail(ctx, `data_format ${shown(c.dataFormat)} is not supported (only channels_last)`);
}

/** An activation given as a name, or as a Keras object {class_name, config}. */
function activation(c: Config, ctx: LayerContext): string | undefined {
  const a = c.activation;
  if (a === undefined || a === null) return undefined;
  if (typeof a === 'string') return a;
  if (isPlainObject(a) && typeof a.className === 'string') return a.className;
  return fail(ctx, `activation must be a name, received ${shown(a)}`);
}

const KERAS_VARIANCE: Record<string, [number, FanMode, Distribution]> = {
  GlorotUniform: [1, 'fanAvg', 'uniform'], GlorotNormal: [1, 'fanAvg', 'truncatedNormal'],
  HeUniform: [2, 'fanIn', 'uniform'], HeNormal: [2, 'fanIn', 'truncatedNormal'],
  LecunUniform: [1, 'fanIn', 'uniform'], LecunNormal: [1, 'fanIn', 'truncatedNormal'],
};

/**
 * An initializer from {className, config} (or a name). Unknown kinds fall back to the layer's
 * default: initializers only matter before training, and the file's weights replace them.
 */
function initializer(v: unknown, dflt: string): Initializer {
  if (typeof v === 'string') {
    try {
      return getInitializer(v, dflt, 'initializer');
    } catch {
      return getInitializer(undefined, dflt, 'initializer');
    }
  }
  if (!isPlainObject(v) || typeof v.className !== 'string') return getInitializer(undefined, dflt, 'initializer');
  const c = isPlainObject(v.config) ? v.config : {};
  const n = (k: string, d: number) => (typeof c[k] === 'number' ? (c[k] as number) : d);
  const seed = typeof c.seed === 'number' ? c.seed : undefined;
  switch (v.className) {
    case 'Zeros': return new Zeros();
    case 'Ones': return new Ones();
    case 'Constant': return new Constant(n('value', 0));
    case 'RandomUniform': return new RandomUniform(n('minval', -0.05), n('maxval', 0.05), seed);
    case 'RandomNormal': return new RandomNormal(n('mean', 0), n('stddev', 0.05), seed);
    case 'TruncatedNormal': return new TruncatedNormal(n('mean', 0), n('stddev', 0.05), seed);
    case 'VarianceScaling': {
      const mode = (['fanIn', 'fanOut', 'fanAvg'] as const).find((m) => m === c.mode) ?? 'fanIn';
      // Keras' 'untruncated_normal' has no twin here; 'normal' is the truncated one, as in TF.js.
      const dist = c.distribution === 'uniform' ? 'uniform' : c.distribution === 'truncatedNormal' ? 'truncatedNormal' : 'normal';
      return new VarianceScaling(n('scale', 1), mode, dist, seed);
    }
    default: {
      const k = Object.hasOwn(KERAS_VARIANCE, v.className) ? KERAS_VARIANCE[v.className] : undefined;
      if (k) return new VarianceScaling(k[0], k[1], k[2], seed);
      return getInitializer(undefined, dflt, 'initializer');
    }
  }
}

// ---------------------------------------------------------------- reading: one function per class

type Reader = (c: Config, ctx: LayerContext) => Layer;

const readers: Record<string, Reader> = {
  InputLayer: (c, ctx) => {
    checkDtype(c, ctx);
    if (c.sparse === true || c.ragged === true) fail(ctx, 'sparse and ragged inputs are not supported');
    const bis = (c.batchInputShape ?? c.batchShape) as (number | null)[] | undefined;
    const shape = (c.inputShape ?? c.shape) as number[] | undefined;
    if (!Array.isArray(bis) && !Array.isArray(shape)) fail(ctx, 'an InputLayer needs batch_input_shape (or batch_shape)');
    return new InputLayer({
      name: typeof c.name === 'string' ? c.name : undefined,
      batchInputShape: Array.isArray(bis) ? bis : undefined,
      inputShape: Array.isArray(bis) ? undefined : shape,
    });
  },

  Conv2D: (c, ctx) => {
    channelsLast(c, ctx);
    if (c.groups !== undefined && c.groups !== null && c.groups !== 1) fail(ctx, `groups ${shown(c.groups)} is not supported (only 1)`);
    const filters = num(c, 'filters', ctx);
    const kernelSize = pairOf(c, 'kernelSize', ctx);
    if (filters === undefined || kernelSize === undefined) fail(ctx, 'Conv2D needs filters and kernel_size');
    return new Conv2D({
      ...baseArgs(c, ctx), filters, kernelSize: kernelSize as [number, number], strides: pairOf(c, 'strides', ctx),
      padding: padding(c, ctx), dilationRate: pairOf(c, 'dilationRate', ctx), activation: activation(c, ctx) as never,
      useBias: bool(c, 'useBias', ctx), kernelInitializer: initializer(c.kernelInitializer, 'glorotuniform'),
      biasInitializer: initializer(c.biasInitializer, 'zeros'),
    });
  },

  Dense: (c, ctx) => {
    const units = num(c, 'units', ctx);
    if (units === undefined) fail(ctx, 'Dense needs units');
    return new Dense({
      ...baseArgs(c, ctx), units, activation: activation(c, ctx) as never, useBias: bool(c, 'useBias', ctx),
      kernelInitializer: initializer(c.kernelInitializer, 'glorotuniform'), biasInitializer: initializer(c.biasInitializer, 'zeros'),
    });
  },

  Flatten: (c, ctx) => {
    channelsLast(c, ctx);
    return new Flatten(baseArgs(c, ctx));
  },

  Dropout: (c, ctx) => {
    if (c.noiseShape !== undefined && c.noiseShape !== null) fail(ctx, 'noise_shape is not supported');
    const rate = num(c, 'rate', ctx);
    if (rate === undefined) fail(ctx, 'Dropout needs rate');
    return new Dropout({ ...baseArgs(c, ctx), rate, seed: num(c, 'seed', ctx) });
  },

  Activation: (c, ctx) => {
    const a = activation(c, ctx);
    if (a === undefined) fail(ctx, 'Activation needs activation');
    return new Activation({ ...baseArgs(c, ctx), activation: a as never });
  },

  ReLU: (c, ctx) => {
    const slope = num(c, 'negativeSlope', ctx) ?? 0;
    const threshold = num(c, 'threshold', ctx) ?? 0;
    if (slope !== 0 || threshold !== 0) fail(ctx, 'ReLU with negative_slope or threshold is not supported');
    const maxValue = num(c, 'maxValue', ctx) ?? null;
    if (maxValue !== null && maxValue !== 6) fail(ctx, `ReLU max_value ${maxValue} is not supported (none or 6)`);
    return new ReLU({ ...baseArgs(c, ctx), maxValue });
  },

  BatchNormalization: (c, ctx) => {
    if (c.renorm === true) fail(ctx, 'renorm is not supported');
    // Keras writes the channel axis counting the batch (3 for NHWC), sometimes as a list.
    let axis = c.axis ?? -1;
    if (Array.isArray(axis) && axis.length === 1) axis = axis[0];
    const last = ctx.inputShape ? ctx.inputShape.length : undefined;
    if (axis !== -1 && !(last !== undefined && axis === last)) {
      fail(ctx, `axis ${shown(c.axis)} is not supported (only the last axis)`);
    }
    return new BatchNormalization({
      ...baseArgs(c, ctx), axis: -1, momentum: num(c, 'momentum', ctx), epsilon: num(c, 'epsilon', ctx),
      center: bool(c, 'center', ctx), scale: bool(c, 'scale', ctx),
      gammaInitializer: initializer(c.gammaInitializer, 'ones'), betaInitializer: initializer(c.betaInitializer, 'zeros'),
      movingMeanInitializer: initializer(c.movingMeanInitializer, 'zeros'),
      movingVarianceInitializer: initializer(c.movingVarianceInitializer, 'ones'),
    });
  },

  MaxPooling2D: (c, ctx) => {
    channelsLast(c, ctx);
    return new MaxPooling2D({ ...baseArgs(c, ctx), poolSize: pairOf(c, 'poolSize', ctx), strides: pairOf(c, 'strides', ctx), padding: padding(c, ctx) });
  },

  AveragePooling2D: (c, ctx) => {
    channelsLast(c, ctx);
    return new AveragePooling2D({ ...baseArgs(c, ctx), poolSize: pairOf(c, 'poolSize', ctx), strides: pairOf(c, 'strides', ctx), padding: padding(c, ctx) });
  },

  GlobalAveragePooling2D: (c, ctx) => {
    channelsLast(c, ctx);
    if (c.keepdims === true) fail(ctx, 'keepdims is not supported');
    return new GlobalAveragePooling2D(baseArgs(c, ctx));
  },

  GlobalMaxPooling2D: (c, ctx) => {
    channelsLast(c, ctx);
    if (c.keepdims === true) fail(ctx, 'keepdims is not supported');
    return new GlobalMaxPooling2D(baseArgs(c, ctx));
  },

  // Merge layers (functional models): the elementwise ones carry only the base keys.
  Add: (c, ctx) => new Add(baseArgs(c, ctx)),
  Subtract: (c, ctx) => new Subtract(baseArgs(c, ctx)),
  Multiply: (c, ctx) => new Multiply(baseArgs(c, ctx)),
  Average: (c, ctx) => new Average(baseArgs(c, ctx)),
  Maximum: (c, ctx) => new Maximum(baseArgs(c, ctx)),
  Minimum: (c, ctx) => new Minimum(baseArgs(c, ctx)),

  Concatenate: (c, ctx) => new Concatenate({ ...baseArgs(c, ctx), axis: num(c, 'axis', ctx) ?? -1 }),

  Dot: (c, ctx) => {
    const axes = c.axes;
    const ok = (a: unknown) => Number.isInteger(a);
    if (!(ok(axes) || (Array.isArray(axes) && axes.length === 2 && axes.every(ok)))) fail(ctx, `axes must be an integer or a pair of integers, received ${shown(axes)}`);
    return new Dot({ ...baseArgs(c, ctx), axes: axes as number | [number, number], normalize: bool(c, 'normalize', ctx) ?? false });
  },

  Reshape: (c, ctx) => {
    const t = c.targetShape;
    if (!Array.isArray(t) || t.length === 0 || !t.every((d) => Number.isInteger(d) && (d > 0 || d === -1))) {
      fail(ctx, `target_shape must be a list of positive sizes (one may be -1), received ${shown(t)}`);
    }
    return new Reshape({ ...baseArgs(c, ctx), targetShape: t as number[] });
  },
};

/** Keras aliases for the same classes. */
const ALIASES: Record<string, string> = {
  Convolution2D: 'Conv2D', MaxPool2D: 'MaxPooling2D', AvgPool2D: 'AveragePooling2D',
  GlobalAvgPool2D: 'GlobalAveragePooling2D', GlobalMaxPool2D: 'GlobalMaxPooling2D',
};

// The registry families (lib/model/layers/registry.ts): their readers and aliases join the above.
const HELPERS: ConfigHelpers = {
  baseArgs: (c, ctx) => ({ ...baseArgs(c, ctx) }), channelsLast, fail, shown,
  initializer: (v, dflt) => initializer(v, dflt) as never,
};
for (const f of FAMILIES) {
  for (const [cls, read] of Object.entries(f.readers)) readers[cls] = (c, ctx) => read(c, ctx, HELPERS);
  Object.assign(ALIASES, f.aliases ?? {});
}

export const SUPPORTED_LAYER_CLASSES = Object.keys(readers);

/** Config keys (camelCase) of options the engine does not apply yet; see Layer.unapplied. */
const UNAPPLIED_KEYS = [
  'kernelRegularizer', 'biasRegularizer', 'activityRegularizer', 'kernelConstraint', 'biasConstraint',
  'betaRegularizer', 'gammaRegularizer', 'betaConstraint', 'gammaConstraint',
];

function describeOption(v: unknown): string {
  if (isPlainObject(v) && typeof v.className === 'string') return `${v.className}${isPlainObject(v.config) ? ` ${JSON.stringify(v.config)}` : ''}`;
  return JSON.stringify(v);
}

/** Rebuilds one layer from its class name and camelCase config. */
export function layerFromConfig(className: unknown, config: unknown, ctx: LayerContext): Layer {
  if (typeof className !== 'string') fail(ctx, `class_name must be a string, received ${shown(className)}`);
  // Own properties only: "constructor" or "__proto__" in a file are unknown classes.
  const cls = Object.hasOwn(ALIASES, className) ? ALIASES[className] : className;
  const reader = Object.hasOwn(readers, cls) ? readers[cls] : undefined;
  if (!reader) {
    fail(ctx, `layer class ${shown(className)} is not supported. Supported layer classes: ${SUPPORTED_LAYER_CLASSES.join(', ')}`);
  }
  if (!isPlainObject(config)) fail(ctx, `the config of a ${className} layer must be an object`);
  try {
    const layer = reader(config, ctx);
    for (const k of UNAPPLIED_KEYS) {
      const v = (config as Config)[k];
      if (v === undefined || v === null) continue;
      layer.unapplied[k] = v;
      process.emitWarning(`${ctx.where} (${layer.name}): ${k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`)} ${describeOption(v)} is kept in the model but not applied: ` +
        'cnn-node does not apply regularizers or constraints in training yet (fit refuses the model until layer.unapplied is emptied)');
    }
    return layer;
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.startsWith(ctx.where)) throw e;
    throw new Error(`${ctx.where}: ${msg}`);
  }
}
