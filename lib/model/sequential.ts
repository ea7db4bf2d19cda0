/**
 * Sequential: a stack of layers compiled to one engine Network (native or TypeScript).
 * Weights live in one flat Float32Array the engine updates in place; each layer's weights are views
 * into it. Training steps run off the main thread on the native backend (trainStepAsync).
 */
import { markAsUntransferable } from 'worker_threads';
import { kernels } from '../backend';
import { LossKind } from '../backend/types';
import type { Kernels, Labels, LayerSpec, Network, NetworkSpec, VariableSpec } from '../backend/types';
import { random } from '../random';
import { Tensor, dispose as disposeTensors } from '../tensor';
import { checkNumber, checkPositiveInt, checkNonNegInt, describe, shapeStr } from '../util';
import { CallbackList, CallbackModel, Logs } from './callbacks';
import { Layer } from './layers/base';
import { InputLayer } from './layers/core';
import { getLoss, LossConfig, LossIdentifier, lossOfTensors } from './losses';
import { Metric, metricSum, resolveMetrics } from './metrics';
import { getOptimizer, Optimizer, OptimizerIdentifier, slotInitialValue } from './optimizers';
import { ProgressBar } from './progress';
import { Act } from '../backend/types';
import type { SaveResult } from '../io/types';

export interface SequentialArgs {
  layers?: Layer[];
  name?: string;
}

export interface CompileArgs {
  optimizer: OptimizerIdentifier | Optimizer;
  loss: LossIdentifier;
  metrics?: string | string[];
}

export interface ModelFitArgs {
  /** Default 1. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** 0 silent, 1 progress bar (default), 2 one line per epoch. */
  verbose?: number;
  callbacks?: unknown;
  /** Fraction of the data (taken from the end, before shuffling, as Keras) held out for validation. */
  validationSplit?: number;
  validationData?: [Tensor, Tensor];
  /** Shuffle the training samples each epoch (default true). */
  shuffle?: boolean;
  initialEpoch?: number;
  /** Per-class loss weights, e.g. {0: 1, 1: 5}. */
  classWeight?: Record<number, number>;
  /** Stops training cleanly after the current batch. */
  signal?: AbortSignal;
  /** Seeds shuffling for this call (else the library generator, see setSeed). */
  seed?: number;
  /** Where verbose output goes (default process.stdout). */
  progressStream?: { isTTY?: boolean; write(s: string): unknown };
}

export interface ModelFitDatasetArgs {
  epochs?: number;
  /**
   * Batches per epoch. Without it an epoch is one full pass (a new iterator per epoch); with it,
   * as in TF.js, one iterator runs across epochs (use dataset.repeat() for more data), and
   * training stops with a warning when it runs out.
   */
  batchesPerEpoch?: number;
  verbose?: number;
  callbacks?: unknown;
  validationData?: [Tensor, Tensor] | DatasetLike;
  /** Batches of a dataset validationData evaluated per epoch (default: all of it). */
  validationBatches?: number;
  initialEpoch?: number;
  signal?: AbortSignal;
  progressStream?: { isTTY?: boolean; write(s: string): unknown };
}

export interface ModelPredictArgs {
  batchSize?: number;
}

export interface ModelEvaluateDatasetArgs {
  /** Batches to evaluate (default: until the dataset ends). */
  batches?: number;
  /** Only 0 is supported, as in TF.js. */
  verbose?: number;
}

/** TF.js-style History: history.loss[epoch], history.acc, history.val_loss ... */
export class History {
  epoch: number[] = [];
  history: Record<string, number[]> = {};
  params: Record<string, unknown> = {};
  add(epoch: number, logs: Logs): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }
}

/**
 * Elements {xs, ys} of a training dataset; xs (ys) is a Tensor, or an array or object holding one
 * Tensor (the model has one input and one output).
 */
export type DatasetElement = { xs: Tensor | Tensor[] | Record<string, Tensor>; ys: Tensor | Tensor[] | Record<string, Tensor> };

/** A tf.data Dataset, an async iterable of {xs, ys} batches, or any object with iterator(). */
export type DatasetLike =
  | AsyncIterable<DatasetElement>
  | Iterable<DatasetElement>
  | { iterator(): Promise<{ next(): Promise<IteratorResult<DatasetElement>> }> };

interface Compiled {
  optimizer: Optimizer;
  loss: LossConfig;
  metrics: Metric[];
  net: Network;
  slots: Float32Array;
  iterations: number;
}

const DEFAULT_PREDICT_BATCH = 256;
/** Most parameters a model may have: 2^28 floats (1 GiB; the optimizer slots come on top). */
export const MAX_PARAMS = 2 ** 28;
/** Most values per sample of any layer's input or output (the engine indexes them with int32). */
export const MAX_SAMPLE_SIZE = 2 ** 31 - 1;

export class Sequential implements CallbackModel {
  readonly name: string;
  readonly layers: Layer[] = [];
  stopTraining = false;
  /**
   * Set by a callback's onTrainBegin (callbacks.backupAndRestore) to start this fit / fitDataset
   * at that epoch instead of initialEpoch; read once, then cleared.
   */
  resumeEpoch?: number;
  /** Per-sample input shape, known once built. */
  inputShape?: number[];
  outputShape?: number[];
  private params?: Float32Array;
  private vars: VariableSpec[] = [];
  private layerOffsets: number[][] = [];
  private backend?: Kernels;
  private compiled?: Compiled;
  private inferenceNet?: Network;
  private training = false;
  /** Native calls in flight; sync calls that touch the engine or the weights refuse while > 0. */
  private busy = 0;
  /** Serialises async engine calls (fit's steps, predictAsync, evaluateAsync) on this model. */
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private disposeRequested = false;

  constructor(args: SequentialArgs = {}) {
    if (args === null || typeof args !== 'object') throw new TypeError('sequential: expected an options object');
    this.name = args.name ?? `sequential_${++sequentialCount}`;
    for (const l of args.layers ?? []) this.add(l);
  }

  /** Appends a layer; the model is (re)built lazily. */
  add(layer: Layer): void {
    this.checkUsable('add');
    if (this.training) throw new Error('add: the model is training');
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

  private get built(): boolean {
    return this.params !== undefined;
  }

  /**
   * Infers every layer's output shape (throws on a mismatch, naming the layer). Also refuses, before
   * anything is allocated, activations larger than the engine's int sizes and more parameters than
   * MAX_PARAMS (a model file or a typo cannot make the model allocate gigabytes).
   */
  private buildShapes(): void {
    let shape = this.layers[0].declaredInputShape!.slice();
    checkSampleSize(shape, `layer ${this.layers[0].name}: inputShape ${shapeStr(shape)}`);
    this.inputShape = shape.slice();
    let params = 0;
    for (const l of this.layers) {
      if (l !== this.layers[0] && l.declaredInputShape && l.declaredInputShape.join() !== shape.join() && !(l instanceof InputLayer)) {
        throw new Error(`layer ${l.name} declares inputShape ${shapeStr(l.declaredInputShape)} but receives ${shapeStr(shape)}`);
      }
      shape = l.build(shape);
      checkSampleSize(shape, `layer ${l.name}: its output shape ${shapeStr(shape)}`);
      for (const w of l.weightSpecs) {
        params += w.shape.reduce((a, b) => a * b, 1);
        if (!(params <= MAX_PARAMS)) {
          throw new RangeError(`layer ${l.name}: weight ${w.name} of shape ${shapeStr(w.shape)} takes the model past ${MAX_PARAMS} parameters (the most supported)`);
        }
      }
    }
    this.outputShape = shape;
  }

  /** Drops built and compiled state: weights are created anew at the next use (as when a layer is added). */
  private invalidate(): void {
    this.disposeNets();
    this.params = undefined;
    this.compiled = undefined;
  }

  /** Allocates and initialises the flat parameter buffer. */
  private buildParams(): void {
    if (this.built) return;
    if (this.layers.length === 0) throw new Error('The model has no layers: add some with model.add() or sequential({layers})');
    this.buildShapes();
    let total = 0;
    this.vars = [];
    this.layerOffsets = this.layers.map((l) => l.weightSpecs.map((w) => {
      const size = w.shape.reduce((a, b) => a * b, 1);
      const off = total;
      this.vars.push({ offset: off, size, trainable: w.trainable });
      total += size;
      return off;
    }));
    const params = new Float32Array(total);
    // The engine keeps a pointer into this buffer while a step runs on its worker thread; a
    // transfer (postMessage, structuredClone) of it or of a weight view must copy, never detach.
    markAsUntransferable(params.buffer);
    const rng = random();
    this.layers.forEach((l, i) => {
      l.weightViews = l.weightSpecs.map((w, j) => {
        const off = this.layerOffsets[i][j];
        const view = params.subarray(off, off + w.shape.reduce((a, b) => a * b, 1));
        w.init.fill(view, w.shape, rng);
        return view;
      });
    });
    this.params = params;
    this.backend = kernels();
  }

  /** Builds the model now (layers get their weights). */
  build(): void {
    this.checkUsable('build');
    this.buildParams();
  }

  private layerSpecs(): LayerSpec[] {
    const specs: LayerSpec[] = [];
    this.layers.forEach((l, i) => {
      const s = l.toSpec(this.layerOffsets[i]);
      if (s) specs.push(s);
    });
    return specs;
  }

  private makeNetwork(loss: LossConfig, opt: Optimizer | null): { net: Network; slots: Float32Array } {
    const k = this.backend!;
    const spec: NetworkSpec = {
      layers: this.layerSpecs(),
      vars: this.vars,
      loss: loss.kind,
      fromLogits: loss.fromLogits,
      labelSmoothing: loss.labelSmoothing,
      opt: opt ? opt.spec() : { kind: 0 },
      seed: random().nextU32(),
    };
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
    const net = k.createNetwork(spec, this.params!, slots);
    return { net, slots };
  }

  /** Configures training. Can be called again (optimizer state restarts). */
  compile(args: CompileArgs): void {
    this.checkUsable('compile');
    if (this.training) throw new Error('compile: the model is training');
    if (!args || typeof args !== 'object') throw new TypeError('compile: expected {optimizer, loss, metrics}');
    if (args.optimizer === undefined) throw new Error('compile: optimizer is required (e.g. \'adam\')');
    if (args.loss === undefined) throw new Error('compile: loss is required (e.g. \'categoricalCrossentropy\')');
    const optimizer = getOptimizer(args.optimizer);
    const loss = getLoss(args.loss);
    this.buildParams();
    const outSize = this.outputShape!.reduce((a, b) => a * b, 1);
    const metrics = resolveMetrics(args.metrics, loss, outSize);
    if (loss.kind === LossKind.SparseCategoricalCrossentropy && outSize < 2) {
      throw new Error(`compile: sparseCategoricalCrossentropy needs at least 2 outputs, the model has ${outSize}`);
    }
    const { net, slots } = this.makeNetwork(loss, optimizer);
    this.disposeNets();
    this.compiled = { optimizer, loss, metrics, net, slots, iterations: 0 };
  }

  get optimizer(): Optimizer | undefined {
    return this.compiled?.optimizer;
  }

  /** What compile() was given, resolved (undefined before compile). */
  get compileConfig(): { optimizer: Optimizer; loss: LossConfig; metrics: Metric[] } | undefined {
    const c = this.compiled;
    return c && { optimizer: c.optimizer, loss: c.loss, metrics: c.metrics };
  }

  /** The compiled optimizer's learning rate (callbacks change it). */
  get learningRate(): number {
    return this.compiled?.optimizer.learningRate ?? 0;
  }
  set learningRate(lr: number) {
    if (!this.compiled) throw new Error('learningRate: compile the model first');
    this.compiled.optimizer.learningRate = checkNumber(lr, 'learningRate', 'learningRate', 0);
  }

  /** The engine used for inference: the compiled one, or a loss-less one for an uncompiled model. */
  private predictNet(): Network {
    this.buildParams();
    if (this.compiled) return this.compiled.net;
    if (!this.inferenceNet) {
      this.inferenceNet = this.makeNetwork({ kind: LossKind.MeanSquaredError, fromLogits: false, labelSmoothing: 0, name: 'mse' }, null).net;
    }
    return this.inferenceNet;
  }

  private get inSize(): number {
    return this.inputShape!.reduce((a, b) => a * b, 1);
  }
  private get outSize(): number {
    return this.outputShape!.reduce((a, b) => a * b, 1);
  }

  // ---------------------------------------------------------------- data checks

  /** Validates x against the input shape; returns its sample count. */
  private checkX(x: unknown, fn: string): number {
    if (!(x instanceof Tensor)) throw new TypeError(`${fn}: x must be a Tensor, received ${describe(x)}`);
    if (x.isDisposed) throw new Error(`${fn}: x is disposed`);
    const want = this.inputShape!;
    if (x.rank !== want.length + 1 || want.some((d, i) => x.shape[i + 1] !== d)) {
      throw new Error(`${fn}: x must have shape [n, ${want.join(', ')}], received ${shapeStr(x.shape)}`);
    }
    if (x.dtype !== 'float32') throw new Error(`${fn}: x must be float32, received ${x.dtype}`);
    return x.shape[0];
  }

  /** checkX for data a loss is computed on without training (evaluation, validation): also non-empty and finite. */
  private checkEvalX(x: unknown, fn: string): number {
    const n = this.checkX(x, fn);
    if (n === 0) throw new Error(`${fn}: x has no samples`);
    checkFinite((x as Tensor).values, fn, 'x');
    return n;
  }

  /** Validates y for the compiled loss; returns labels in the engine's form. */
  private prepareLabels(y: unknown, n: number, fn: string, loss: LossConfig): Labels {
    if (!(y instanceof Tensor)) throw new TypeError(`${fn}: y must be a Tensor, received ${describe(y)}`);
    if (y.isDisposed) throw new Error(`${fn}: y is disposed`);
    if (y.shape[0] !== n) throw new Error(`${fn}: x has ${n} samples but y has ${y.shape[0] ?? 0}`);
    const d = this.outSize;
    if (loss.kind === LossKind.SparseCategoricalCrossentropy) {
      if (y.size !== n) throw new Error(`${fn}: sparse labels must have shape [n] or [n, 1], received ${shapeStr(y.shape)}`);
      const v = y.values;
      const out = v instanceof Int32Array ? v : new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const c = v[i];
        if (!Number.isInteger(c) || c < 0 || c >= d) {
          throw new RangeError(`${fn}: label ${c} at index ${i} is not a class index in [0, ${d})`);
        }
        if (out !== v) out[i] = c;
      }
      return out;
    }
    if (y.size !== n * d) {
      throw new Error(`${fn}: y must have shape [n, ${this.outputShape!.join(', ')}] to match the model's output, received ${shapeStr(y.shape)}`);
    }
    const v = y.values;
    checkFinite(v, fn, 'y');
    return v instanceof Float32Array ? v : Float32Array.from(v);
  }

  // ---------------------------------------------------------------- training

  /**
   * Trains for a number of epochs. Resolves to a History. Training steps run off the main thread
   * (native backend), so the event loop stays responsive.
   */
  async fit(x: Tensor, y: Tensor, args: ModelFitArgs = {}): Promise<History> {
    const fn = 'fit';
    const c = this.beginTraining(fn);
    try {
      if (args === null || typeof args !== 'object') throw new TypeError('fit: args must be an object');
      const epochs = checkPositiveInt(args.epochs ?? 1, fn, 'epochs');
      const batchSize = checkPositiveInt(args.batchSize ?? 32, fn, 'batchSize');
      const initialEpoch = checkNonNegInt(args.initialEpoch ?? 0, fn, 'initialEpoch');
      const verbose = checkVerbose(args.verbose, fn);
      let n = this.checkX(x, fn);
      if (n === 0) throw new Error('fit: x has no samples');
      const labels = this.prepareLabels(y, n, fn, c.loss);
      checkFinite(x.values, fn, 'x');
      let xv = x.values as Float32Array;
      let yv = labels;
      let val: { x: Float32Array; y: Labels; n: number } | null = null;
      if (args.validationData) {
        if (!Array.isArray(args.validationData) || args.validationData.length < 2) {
          throw new TypeError('fit: validationData must be [xVal, yVal]');
        }
        const [vx, vy] = args.validationData;
        const vn = this.checkEvalX(vx, 'fit: validationData');
        const vl = this.prepareLabels(vy, vn, 'fit: validationData', c.loss);
        val = { x: vx.values as Float32Array, y: vl, n: vn };
      } else if (args.validationSplit !== undefined) {
        const s = args.validationSplit;
        if (typeof s !== 'number' || !(s > 0 && s < 1)) throw new RangeError(`fit: validationSplit must be in (0, 1), received ${describe(s)}`);
        const nVal = Math.floor(n * s);
        const nTrain = n - nVal;
        if (nVal === 0 || nTrain === 0) throw new Error(`fit: validationSplit ${s} of ${n} samples leaves an empty training or validation set`);
        const ls = labels.length / n;
        val = { x: xv.subarray(nTrain * this.inSize), y: labels.subarray(nTrain * ls) as Labels, n: nVal };
        xv = xv.subarray(0, nTrain * this.inSize);
        yv = labels.subarray(0, nTrain * ls) as Labels;
        n = nTrain;
      }
      const sw = args.classWeight ? classWeights(args.classWeight, yv, n, this.outSize, c.loss) : null;
      const steps = Math.ceil(n / batchSize);
      const cbs = new CallbackList(args.callbacks);
      const history = new History();
      history.params = { epochs, initialEpoch, samples: n, steps, batchSize, verbose };
      cbs.setup(this, { epochs, initialEpoch, samples: n, steps, batchSize, metrics: this.logKeys(val !== null), verbose });
      const bar = verbose === 1 ? new ProgressBar(steps, epochs, args.progressStream) : null;
      if (args.seed !== undefined && (!Number.isInteger(args.seed) || args.seed < 0 || args.seed > 0xffffffff)) {
        throw new RangeError(`fit: seed must be an integer in [0, 2^32), received ${describe(args.seed)}`);
      }
      const rng = random(args.seed);
      const order = new Int32Array(n);
      // Buffers for the largest batch that occurs (batchSize may exceed the sample count).
      const feeder = new BatchFeeder(this.inSize, Math.min(batchSize, n), yv instanceof Int32Array);
      const labelStride = yv.length / n;
      this.stopTraining = false;
      await cbs.trainBegin({});
      const startEpoch = this.takeResumeEpoch(initialEpoch);
      // The skipped epochs' shuffles are replayed, so a resumed fit sees the same orders.
      for (let e = initialEpoch; e < startEpoch; e++) if (args.shuffle ?? true) rng.shuffle(order);
      for (let epoch = startEpoch; epoch < epochs && !this.stopTraining && !this.disposeRequested; epoch++) {
        for (let i = 0; i < n; i++) order[i] = i;
        if (args.shuffle ?? true) rng.shuffle(order);
        await cbs.epochBegin(epoch, {});
        bar?.epochBegin(epoch);
        const acc = new EpochAccumulator(c.metrics);
        let next = feeder.fill(0, xv, yv, sw, order, 0, Math.min(batchSize, n), labelStride);
        for (let step = 0; step < steps; step++) {
          if (args.signal?.aborted || this.disposeRequested) {
            this.stopTraining = true;
            break;
          }
          const b0 = step * batchSize;
          const bn = Math.min(batchSize, n - b0);
          await cbs.batchBegin(step, { batch: step, size: bn });
          const cur = next;
          c.iterations++;
          const lr = c.optimizer.learningRate;
          const t = c.iterations;
          const outView = c.metrics.length ? feeder.out(bn, this.outSize) : null;
          const p = this.step(c, cur.x, cur.y, cur.sw, bn, lr, t, outView);
          // Prepare the next batch while this one trains.
          if (step + 1 < steps) {
            const nb0 = b0 + batchSize;
            next = feeder.fill((step + 1) & 1, xv, yv, sw, order, nb0, Math.min(batchSize, n - nb0), labelStride);
          }
          const loss = await p;
          acc.add(loss, bn, outView ?? feeder.outBuf, cur.y, this.outSize, c.loss.fromLogits);
          const logs = acc.logs();
          bar?.batchEnd(step, logs);
          await cbs.batchEnd(step, { batch: step, size: bn, ...logs });
          if (this.stopTraining) break;
        }
        if (acc.count === 0) break;
        const logs = acc.logs();
        if (val) Object.assign(logs, prefixKeys(await this.evaluateArrays(val.x, val.y, val.n, DEFAULT_PREDICT_BATCH, c), 'val_'));
        bar?.epochEnd(epoch, logs);
        if (verbose === 2) (args.progressStream ?? process.stdout).write(`Epoch ${epoch + 1}/${epochs}${Object.entries(logs).map(([k, v]) => ` - ${k}: ${v.toFixed(4)}`).join('')}\n`);
        history.add(epoch, logs);
        await cbs.epochEnd(epoch, logs);
      }
      await cbs.trainEnd({});
      return history;
    } finally {
      this.endTraining();
    }
  }

  /** Trains on a dataset of {xs, ys} batches (an async iterable, or a TF.js-style Dataset). */
  async fitDataset(dataset: DatasetLike, args: ModelFitDatasetArgs = {}): Promise<History> {
    const fn = 'fitDataset';
    const c = this.beginTraining(fn);
    let it: DatasetIterator | null = null;
    try {
      const epochs = checkPositiveInt(args.epochs ?? 1, fn, 'epochs');
      const initialEpoch = checkNonNegInt(args.initialEpoch ?? 0, fn, 'initialEpoch');
      if (args.batchesPerEpoch !== undefined) checkPositiveInt(args.batchesPerEpoch, fn, 'batchesPerEpoch');
      if (args.validationBatches !== undefined) checkPositiveInt(args.validationBatches, fn, 'validationBatches');
      if ((args as { validationSplit?: unknown }).validationSplit !== undefined) {
        throw new Error(`${fn}: validationSplit is not supported by fitDataset(); use validationData instead`);
      }
      const verbose = checkVerbose(args.verbose, fn);
      const cbs = new CallbackList(args.callbacks);
      const history = new History();
      const perEpoch = args.batchesPerEpoch !== undefined;
      const owned = ownsElements(dataset);
      const stepsHint = args.batchesPerEpoch ?? datasetBatches(dataset);
      // with batchesPerEpoch one iterator runs across epochs (TF.js); else each epoch is a new pass
      if (perEpoch) it = await openIterator(dataset, fn);
      let ranOut = false;
      cbs.setup(this, { epochs, initialEpoch, samples: 0, steps: stepsHint, batchSize: 0, metrics: this.logKeys(!!args.validationData), verbose });
      this.stopTraining = false;
      await cbs.trainBegin({});
      for (let epoch = this.takeResumeEpoch(initialEpoch); epoch < epochs && !this.stopTraining && !this.disposeRequested; epoch++) {
        await cbs.epochBegin(epoch, {});
        const bar = verbose === 1 && stepsHint ? new ProgressBar(stepsHint, epochs, args.progressStream) : null;
        bar?.epochBegin(epoch);
        const acc = new EpochAccumulator(c.metrics);
        if (!perEpoch) {
          await closeIterator(it);
          it = await openIterator(dataset, fn);
        }
        let step = 0;
        // the next batch is read while the current step runs off the main thread
        let ahead: Promise<IteratorResult<unknown>> | null = null;
        for (;;) {
          if (perEpoch && step >= args.batchesPerEpoch!) break;
          if (args.signal?.aborted || this.disposeRequested) { this.stopTraining = true; break; }
          const r = await (ahead ?? it!.next());
          ahead = null;
          if (r.done) {
            if (perEpoch) {
              ranOut = true;
              console.warn(
                `${fn}: you provided batchesPerEpoch as ${args.batchesPerEpoch}, but your dataset iterator ran out of data after ` +
                  `${step} batches in epoch ${epoch + 1}; interrupting training. Make sure that your dataset can generate at least ` +
                  `batchesPerEpoch * epochs batches (in this case, ${args.batchesPerEpoch! * epochs} batches). You may need to use ` +
                  'the repeat() function when building your dataset.',
              );
            }
            break;
          }
          const { xs, ys } = datasetElement(r.value, `${fn}: batch ${step}`);
          const bn = this.checkX(xs, `${fn}: batch ${step} xs`);
          if (bn === 0) throw new Error(`${fn}: batch ${step} is empty`);
          const yl = this.prepareLabels(ys, bn, `${fn}: batch ${step}`, c.loss);
          checkFinite(xs.values, `${fn}: batch ${step}`, 'xs');
          await cbs.batchBegin(step, { batch: step, size: bn });
          c.iterations++;
          const lr = c.optimizer.learningRate;
          const t = c.iterations;
          const out = new Float32Array(c.metrics.length ? bn * this.outSize : 0);
          const stepDone = this.step(c, xs.values as Float32Array, yl, null, bn, lr, t, c.metrics.length ? out : null);
          if (!perEpoch || step + 1 < args.batchesPerEpoch!) {
            ahead = it!.next();
            ahead.catch(() => undefined); // awaited next round; this only keeps a failure from being reported as unhandled
          }
          const loss = await stepDone;
          acc.add(loss, bn, out, yl, this.outSize, c.loss.fromLogits);
          if (owned) disposeElement(r.value, xs);
          const logs = acc.logs();
          bar?.batchEnd(step, logs);
          await cbs.batchEnd(step, { batch: step, size: bn, ...logs });
          step++;
          if (this.stopTraining) break;
        }
        if (ahead) await discardAhead(ahead, owned);
        if (step === 0 && ranOut && epoch > initialEpoch) break;
        if (step === 0) throw new Error(`${fn}: the dataset yielded no batches in epoch ${epoch + 1}`);
        if (ranOut) this.stopTraining = true;
        const logs = acc.logs();
        if (args.validationData) {
          let vr: Logs;
          if (Array.isArray(args.validationData)) {
            const [vx, vy] = args.validationData;
            const vn = this.checkEvalX(vx, `${fn}: validationData`);
            vr = await this.evaluateArrays(vx.values as Float32Array, this.prepareLabels(vy, vn, `${fn}: validationData`, c.loss), vn, DEFAULT_PREDICT_BATCH, c);
          } else {
            vr = await this.evaluateDatasetLogs(args.validationData, c, args.validationBatches, fn);
          }
          Object.assign(logs, prefixKeys(vr, 'val_'));
        }
        bar?.epochEnd(epoch, logs);
        if (verbose && !bar) (args.progressStream ?? process.stdout).write(`Epoch ${epoch + 1}/${epochs}${Object.entries(logs).map(([k, v]) => ` - ${k}: ${v.toFixed(4)}`).join('')}\n`);
        history.add(epoch, logs);
        await cbs.epochEnd(epoch, logs);
      }
      await cbs.trainEnd({});
      return history;
    } finally {
      await closeIterator(it);
      this.endTraining();
    }
  }

  /** One optimizer step on one batch; resolves to the loss (and metrics, when compiled with some). */
  async trainOnBatch(x: Tensor, y: Tensor): Promise<number | number[]> {
    const fn = 'trainOnBatch';
    const c = this.beginTraining(fn);
    try {
      const n = this.checkX(x, fn);
      if (n === 0) throw new Error(`${fn}: x has no samples`);
      const labels = this.prepareLabels(y, n, fn, c.loss);
      checkFinite(x.values, fn, 'x');
      c.iterations++;
      const lr = c.optimizer.learningRate;
      const t = c.iterations;
      const out = new Float32Array(n * this.outSize);
      const loss = await this.step(c, x.values as Float32Array, labels, null, n, lr, t, out);
      if (!c.metrics.length) return loss;
      return [loss, ...c.metrics.map((m) => metricSum(m.kind, out, labels, n, this.outSize, c.loss.fromLogits) / n)];
    } finally {
      this.endTraining();
    }
  }

  /** One queued training step; copies the batch's output into `out` (for metrics) before the next call. */
  private step(c: Compiled, x: Float32Array, y: Labels, sw: Float32Array | null, n: number, lr: number, t: number, out: Float32Array | null): Promise<number> {
    return this.serial(async () => {
      const loss = await c.net.trainStepAsync(x, y, sw, n, lr, t);
      if (out) c.net.getOutput(out);
      return loss;
    });
  }

  /** Runs an async engine call after the ones already queued on this model. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = async () => {
      this.busy++;
      try {
        return await f();
      } finally {
        this.busy--;
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private checkIdle(fn: string): void {
    if (this.busy > 0) throw new Error(`${fn}: the model is running a step; await it first (or use the async form)`);
  }

  private beginTraining(fn: string): Compiled {
    this.checkUsable(fn);
    if (!this.compiled) throw new Error(`${fn}: compile the model first, e.g. model.compile({optimizer: 'adam', loss: 'categoricalCrossentropy'})`);
    if (this.training) throw new Error(`${fn}: the model is already training; wait for the running fit to finish`);
    this.training = true;
    return this.compiled;
  }

  /** The epoch fit starts at: resumeEpoch when a callback set one past initialEpoch (then cleared). */
  private takeResumeEpoch(initialEpoch: number): number {
    const r = this.resumeEpoch;
    this.resumeEpoch = undefined;
    return r !== undefined && Number.isInteger(r) && r > initialEpoch ? r : initialEpoch;
  }

  private endTraining(): void {
    this.training = false;
    if (this.disposeRequested) this.dispose();
  }

  /** Names of the logged quantities. */
  private logKeys(withVal: boolean): string[] {
    const keys = ['loss', ...(this.compiled?.metrics.map((m) => m.key) ?? [])];
    return withVal ? [...keys, ...keys.map((k) => `val_${k}`)] : keys;
  }

  // ---------------------------------------------------------------- inference

  /** Runs the model in inference mode. Synchronous: use predictAsync to keep the event loop free. */
  predict(x: Tensor, args: ModelPredictArgs = {}): Tensor {
    this.checkUsable('predict');
    this.checkIdle('predict');
    const net = this.predictNet();
    const n = this.checkX(x, 'predict');
    const bs = checkPositiveInt(args.batchSize ?? DEFAULT_PREDICT_BATCH, 'predict', 'batchSize');
    const out = new Float32Array(n * this.outSize);
    const xv = x.values as Float32Array;
    for (let b = 0; b < n; b += bs) {
      const m = Math.min(bs, n - b);
      net.predict(out.subarray(b * this.outSize, (b + m) * this.outSize), xv.subarray(b * this.inSize, (b + m) * this.inSize), m);
    }
    return new Tensor(out, [n, ...this.outputShape!], 'float32');
  }

  /** predict() with each batch run off the main thread (native backend). */
  async predictAsync(x: Tensor, args: ModelPredictArgs = {}): Promise<Tensor> {
    this.checkUsable('predictAsync');
    const net = this.predictNet();
    const n = this.checkX(x, 'predictAsync');
    const bs = checkPositiveInt(args.batchSize ?? DEFAULT_PREDICT_BATCH, 'predictAsync', 'batchSize');
    const out = new Float32Array(n * this.outSize);
    await this.predictInto(net, out, x.values as Float32Array, n, bs);
    return new Tensor(out, [n, ...this.outputShape!], 'float32');
  }

  private async predictInto(net: Network, out: Float32Array, xv: Float32Array, n: number, bs: number): Promise<void> {
    for (let b = 0; b < n; b += bs) {
      const m = Math.min(bs, n - b);
      await this.serial(() => net.predictAsync(out.subarray(b * this.outSize, (b + m) * this.outSize), xv.subarray(b * this.inSize, (b + m) * this.inSize), m));
    }
  }

  /** Loss and metrics (as in fit's logs) over arrays, in inference mode. */
  private async evaluateArrays(xv: Float32Array, y: Labels, n: number, bs: number, c: Compiled): Promise<Logs> {
    const out = new Float32Array(n * this.outSize);
    await this.predictInto(c.net, out, xv, n, bs);
    const outT = new Tensor(out, [n, this.outSize], 'float32');
    const yT = y instanceof Int32Array ? new Tensor(y, [n], 'int32') : new Tensor(y, [n, this.outSize], 'float32');
    const logs: Logs = { loss: lossOfTensors(c.loss, yT, outT, null, this.backend).values[0] };
    for (const m of c.metrics) logs[m.key] = metricSum(m.kind, out, y, n, this.outSize, c.loss.fromLogits) / n;
    return logs;
  }

  /** Loss and metrics over a dataset's batches (all of them, or the first `batches`). */
  private async evaluateDatasetLogs(ds: DatasetLike, c: Compiled, batches?: number, caller = 'evaluateDataset'): Promise<Logs> {
    const fn = caller === 'evaluateDataset' ? caller : `${caller}: validationData`;
    const it = await openIterator(ds, fn);
    const sums: Logs = {};
    let count = 0;
    const owned = ownsElements(ds);
    let ahead: Promise<IteratorResult<unknown>> | null = null;
    try {
      for (let batch = 0; batches === undefined || batch < batches; batch++) {
        const r = await (ahead ?? it.next());
        ahead = null;
        if (r.done) {
          if (batches !== undefined) {
            console.warn(
              `${fn}: your dataset iterator ran out of data after ${batch} of the ${batches} batches asked for; interrupting ` +
                'evaluation. You may need to use the repeat() function when building your dataset.',
            );
          }
          break;
        }
        const where = `${fn}: batch ${batch}`;
        const { xs, ys } = datasetElement(r.value, where);
        const n = this.checkEvalX(xs, where);
        const evaluated = this.evaluateArrays(xs.values as Float32Array, this.prepareLabels(ys, n, where, c.loss), n, DEFAULT_PREDICT_BATCH, c);
        if (batches === undefined || batch + 1 < batches) {
          ahead = it.next(); // read while the forward passes run off the main thread
          ahead.catch(() => undefined);
        }
        const logs = await evaluated;
        if (owned) disposeElement(r.value, xs);
        for (const [k, v] of Object.entries(logs)) sums[k] = (sums[k] ?? 0) + v * n;
        count += n;
      }
    } finally {
      if (ahead) await discardAhead(ahead, owned);
      await closeIterator(it);
    }
    if (count === 0) throw new Error(`${fn}: the dataset yielded no batches`);
    for (const k of Object.keys(sums)) sums[k] /= count;
    return sums;
  }

  /** Loss (and metrics) on x, y in inference mode: a scalar Tensor, or [loss, ...metrics]. */
  evaluate(x: Tensor, y: Tensor, args: ModelPredictArgs = {}): Tensor | Tensor[] {
    this.checkUsable('evaluate');
    if (!this.compiled) throw new Error('evaluate: compile the model first');
    const c = this.compiled;
    this.checkEvalX(x, 'evaluate');
    const pred = this.predict(x, args);
    const n = pred.shape[0];
    const labels = this.prepareLabels(y, n, 'evaluate', c.loss);
    const yT = labels instanceof Int32Array ? new Tensor(labels, [n], 'int32') : new Tensor(labels, [n, this.outSize], 'float32');
    const loss = lossOfTensors(c.loss, yT, new Tensor(pred.values as Float32Array, [n, this.outSize], 'float32'), null, this.backend);
    if (!c.metrics.length) return loss;
    return [loss, ...c.metrics.map((m) => new Tensor(new Float32Array([metricSum(m.kind, pred.values as Float32Array, labels, n, this.outSize, c.loss.fromLogits) / n]), [], 'float32'))];
  }

  /** evaluate() with the forward passes off the main thread. */
  async evaluateAsync(x: Tensor, y: Tensor, args: ModelPredictArgs = {}): Promise<Tensor | Tensor[]> {
    this.checkUsable('evaluateAsync');
    if (!this.compiled) throw new Error('evaluateAsync: compile the model first');
    const c = this.compiled;
    const n = this.checkEvalX(x, 'evaluateAsync');
    const labels = this.prepareLabels(y, n, 'evaluateAsync', c.loss);
    const bs = checkPositiveInt(args.batchSize ?? DEFAULT_PREDICT_BATCH, 'evaluateAsync', 'batchSize');
    const logs = await this.evaluateArrays(x.values as Float32Array, labels, n, bs, c);
    const t = (v: number) => new Tensor(new Float32Array([v]), [], 'float32');
    if (!c.metrics.length) return t(logs.loss);
    return [t(logs.loss), ...c.metrics.map((m) => t(logs[m.key]))];
  }

  /** Evaluates over a dataset of {xs, ys} batches (all, or the first `args.batches`): [loss, ...metrics] as scalars. */
  async evaluateDataset(ds: DatasetLike, args: ModelEvaluateDatasetArgs = {}): Promise<Tensor | Tensor[]> {
    const fn = 'evaluateDataset';
    this.checkUsable(fn);
    if (!this.compiled) throw new Error('evaluateDataset: compile the model first');
    if (args === null || typeof args !== 'object') throw new TypeError(`${fn}: args must be an object, received ${describe(args)}`);
    if (args.batches !== undefined) checkPositiveInt(args.batches, fn, 'batches');
    if (args.verbose !== undefined && args.verbose !== 0) throw new Error(`${fn}: verbose mode is not implemented (verbose must be 0), received ${describe(args.verbose)}`);
    const logs = await this.evaluateDatasetLogs(ds, this.compiled, args.batches);
    const t = (v: number) => new Tensor(new Float32Array([v]), [], 'float32');
    if (!this.compiled.metrics.length) return t(logs.loss);
    return [t(logs.loss), ...this.compiled.metrics.map((m) => t(logs[m.key]))];
  }

  // ---------------------------------------------------------------- weights

  /** Every weight, layer by layer, in TF.js order and shapes (copies). */
  getWeights(): Tensor[] {
    this.checkUsable('getWeights');
    this.checkIdle('getWeights');
    this.buildParams();
    return this.layers.flatMap((l) => l.getWeights());
  }

  /** Sets every weight; counts and shapes are all checked before anything changes. */
  setWeights(weights: Tensor[]): void {
    this.checkUsable('setWeights');
    this.checkIdle('setWeights');
    this.buildParams();
    const specs = this.layers.flatMap((l) => l.weightSpecs.map((w) => ({ l, w })));
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
    let i = 0;
    for (const l of this.layers) for (const view of l.weightViews) view.set(weights[i++].values);
  }

  /** Named weights in TF.js naming (`<layer>/kernel`), for serialisation. */
  namedWeights(): { name: string; tensor: Tensor; trainable: boolean }[] {
    this.buildParams();
    return this.layers.flatMap((l) => l.getWeights().map((t, j) => ({ name: `${l.name}/${l.weightSpecs[j].name}`, tensor: t, trainable: l.weightSpecs[j].trainable })));
  }

  countParams(): number {
    this.buildParams();
    return this.params!.length;
  }

  /** Keras-style summary table, through printFn (default console.log). */
  summary(lineLength = 65, positions = [0.45, 0.85, 1], printFn: (s: string) => void = console.log): void {
    this.checkUsable('summary');
    this.buildParams();
    const cols = positions.map((p) => Math.floor(p * lineLength));
    const row = (a: string, b: string, c: string) => {
      const cells = [a, b, c];
      let s = '';
      cells.forEach((cell, i) => {
        s += cell;
        s = s.slice(0, cols[i]).padEnd(cols[i]);
      });
      return s;
    };
    printFn(`Model: "${this.name}"`);
    printFn('_'.repeat(lineLength));
    printFn(row('Layer (type)', 'Output shape', 'Param #'));
    printFn('='.repeat(lineLength));
    let trainable = 0;
    let total = 0;
    this.layers.forEach((l, i) => {
      const p = l.countParams();
      total += p;
      trainable += l.weightSpecs.filter((w) => w.trainable).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
      printFn(row(`${l.name} (${l.className})`, shapeStr([null, ...l.outputShape!]), String(p)));
      printFn(i === this.layers.length - 1 ? '='.repeat(lineLength) : '_'.repeat(lineLength));
    });
    printFn(`Total params: ${total}`);
    printFn(`Trainable params: ${trainable}`);
    printFn(`Non-trainable params: ${total - trainable}`);
    printFn('_'.repeat(lineLength));
  }

  /** TF.js-style config: {name, layers: [{className, config}]}. */
  getConfig(): { name: string; layers: { className: string; config: Record<string, unknown> }[] } {
    return { name: this.name, layers: this.layers.map((l) => ({ className: l.className, config: l.getConfig() })) };
  }

  /** Optimizer state for saving and exact resumption. */
  getOptimizerState(): { className: string; config: Record<string, unknown>; iterations: number; slots: Float32Array } | null {
    if (!this.compiled) return null;
    const c = this.compiled;
    return { className: c.optimizer.className, config: c.optimizer.getConfig(), iterations: c.iterations, slots: c.slots.slice() };
  }

  setOptimizerState(iterations: number, slots: Float32Array): void {
    if (!this.compiled) throw new Error('setOptimizerState: compile the model first');
    if (slots.length !== this.compiled.slots.length) {
      throw new Error(`setOptimizerState: expected ${this.compiled.slots.length} slot values, received ${slots.length}`);
    }
    this.compiled.slots.set(slots);
    this.compiled.iterations = checkNonNegInt(iterations, 'setOptimizerState', 'iterations');
  }

  /**
   * Saves the model in the TF.js layers-model format: 'file://DIR' (or a folder path) writes
   * DIR/model.json + DIR/weights.bin atomically; a handler from io.withSaveHandler gets the artifacts.
   * config.includeOptimizer also stores the optimizer state. See lib/io/.
   */
  async save(handlerOrUrl: unknown, config?: { includeOptimizer?: boolean }): Promise<SaveResult> {
    this.checkUsable('save');
    const io = await import('../io');
    return io.saveModel(this, handlerOrUrl, config);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Frees the engine. Safe while training: it happens after the current batch. Later use throws. */
  dispose(): void {
    if (this.disposed) return;
    if (this.training) {
      this.disposeRequested = true;
      return;
    }
    this.disposeNets();
    this.compiled = undefined;
    this.params = undefined;
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private disposeNets(): void {
    try { this.compiled?.net.dispose(); } catch { /* already gone */ }
    try { this.inferenceNet?.dispose(); } catch { /* already gone */ }
    this.inferenceNet = undefined;
  }

  private checkUsable(fn: string): void {
    if (this.disposed || this.disposeRequested) throw new Error(`${fn}: the model was disposed`);
  }

  /** The engine's flat parameters (library use: serialisation, tests). */
  get flatParams(): Float32Array {
    this.buildParams();
    return this.params!;
  }

  /** Output activation of the last layer (library use). */
  get finalActivation(): Act | undefined {
    const specs = this.layerSpecs();
    return specs.length ? specs[specs.length - 1].act : undefined;
  }
}

let sequentialCount = 0;

export function sequential(args: SequentialArgs = {}): Sequential {
  return new Sequential(args);
}

// ---------------------------------------------------------------- helpers

function checkVerbose(v: unknown, fn: string): number {
  if (v === undefined) return 1;
  if (v !== 0 && v !== 1 && v !== 2) throw new RangeError(`${fn}: verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch), received ${describe(v)}`);
  return v;
}

function checkSampleSize(shape: number[], what: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (!(n <= MAX_SAMPLE_SIZE)) throw new RangeError(`${what} has ${n} values per sample, more than the ${MAX_SAMPLE_SIZE} supported`);
}

function checkFinite(v: ArrayLike<number>, fn: string, name: string): void {
  for (let i = 0; i < v.length; i++) {
    const e = v[i];
    if (e - e !== 0) throw new RangeError(`${fn}: ${name} holds ${e} at flat index ${i}; inputs must be finite`);
  }
}

function prefixKeys(logs: Logs, p: string): Logs {
  const out: Logs = {};
  for (const [k, v] of Object.entries(logs)) out[p + k] = v;
  return out;
}

function classWeights(cw: Record<number, number>, y: Labels, n: number, d: number, loss: LossConfig): Float32Array {
  if (!cw || typeof cw !== 'object') throw new TypeError('fit: classWeight must be an object {classIndex: weight}');
  const sw = new Float32Array(n);
  const stride = y.length / n;
  for (let i = 0; i < n; i++) {
    let cls: number;
    if (y instanceof Int32Array || stride === 1) cls = stride === 1 && loss.kind === LossKind.BinaryCrossentropy ? (y[i] > 0.5 ? 1 : 0) : y[i];
    else {
      cls = 0;
      for (let j = 1; j < d; j++) if (y[i * d + j] > y[i * d + cls]) cls = j;
    }
    const w = cw[cls];
    sw[i] = w === undefined ? 1 : checkNumber(w, 'fit', `classWeight[${cls}]`, 0);
  }
  return sw;
}

/** Gathers shuffled rows into two alternating batch buffers, so one can fill while the other trains. */
class BatchFeeder {
  private bufs: { x: Float32Array; y: Labels; sw: Float32Array }[];
  outBuf: Float32Array;
  constructor(private inSize: number, private batchSize: number, private sparse: boolean) {
    this.bufs = [];
    this.outBuf = new Float32Array(0);
  }
  fill(which: number, xv: Float32Array, yv: Labels, sw: Float32Array | null, order: Int32Array, b0: number, bn: number, ls: number): { x: Float32Array; y: Labels; sw: Float32Array | null } {
    if (!this.bufs[which]) {
      this.bufs[which] = {
        x: new Float32Array(this.batchSize * this.inSize),
        y: this.sparse ? new Int32Array(this.batchSize * ls) : new Float32Array(this.batchSize * ls),
        sw: new Float32Array(this.batchSize),
      };
    }
    const b = this.bufs[which];
    const is = this.inSize;
    for (let j = 0; j < bn; j++) {
      const r = order[b0 + j];
      b.x.set(xv.subarray(r * is, (r + 1) * is), j * is);
      if (ls === 1) b.y[j] = yv[r];
      else (b.y as Float32Array).set((yv as Float32Array).subarray(r * ls, (r + 1) * ls), j * ls);
      if (sw) b.sw[j] = sw[r];
    }
    return { x: b.x, y: b.y, sw: sw ? b.sw : null };
  }
  out(n: number, outSize: number): Float32Array {
    if (this.outBuf.length < n * outSize) this.outBuf = new Float32Array(this.batchSize * outSize);
    return this.outBuf.subarray(0, n * outSize);
  }
}

/** Running, sample-weighted means of the loss and metrics over an epoch. */
class EpochAccumulator {
  count = 0;
  private lossSum = 0;
  private sums: number[];
  constructor(private metrics: Metric[]) {
    this.sums = metrics.map(() => 0);
  }
  add(loss: number, n: number, out: Float32Array, y: Labels, d: number, logits: boolean): void {
    this.lossSum += loss * n;
    this.count += n;
    this.metrics.forEach((m, i) => {
      this.sums[i] += metricSum(m.kind, out, y, n, d, logits);
    });
  }
  logs(): Logs {
    const l: Logs = { loss: this.lossSum / Math.max(1, this.count) };
    this.metrics.forEach((m, i) => (l[m.key] = this.sums[i] / Math.max(1, this.count)));
    return l;
  }
}

type DatasetIterator = { next(): Promise<IteratorResult<unknown>>; return?: () => unknown };

/** A new pass over a dataset: its iterator() (TF.js Datasets, tf.data), else its (async) iterator. */
async function openIterator(ds: DatasetLike, fn = 'fitDataset'): Promise<DatasetIterator> {
  if (ds && typeof (ds as { iterator?: unknown }).iterator === 'function') {
    const it = await (ds as { iterator(): Promise<DatasetIterator> }).iterator();
    if (!it || typeof it.next !== 'function') throw new TypeError(`${fn}: dataset.iterator() must resolve to an iterator with next(), received ${describe(it)}`);
    return it;
  }
  if (ds && typeof (ds as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    return (ds as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  }
  if (ds && typeof (ds as Iterable<unknown>)[Symbol.iterator] === 'function') {
    const it = (ds as Iterable<unknown>)[Symbol.iterator]();
    return { next: async () => it.next(), return: () => it.return?.() };
  }
  throw new TypeError(`${fn}: dataset must be an async iterable of {xs, ys} or a TF.js Dataset, received ${describe(ds)}`);
}

/** Lets an iterator release what it holds (a file being read) when a pass stops early. */
async function closeIterator(it: DatasetIterator | null): Promise<void> {
  if (it && typeof it.return === 'function') await it.return();
}

/** Batches per epoch a dataset announces: idxBatches' batchesPerEpoch, a tf.data Dataset's finite size, else 0 (unknown). */
function datasetBatches(ds: DatasetLike): number {
  const d = ds as { batchesPerEpoch?: unknown; size?: unknown; iterator?: unknown };
  if (!d || typeof d !== 'object') return 0;
  if (typeof d.batchesPerEpoch === 'number') return d.batchesPerEpoch;
  if (typeof d.iterator === 'function' && typeof d.size === 'number' && Number.isFinite(d.size) && d.size > 0) return d.size;
  return 0;
}

/** The one tensor of xs or ys: a Tensor, or an array / object holding exactly one (single-input, single-output model). */
function singleTensor(v: unknown, where: string, what: 'xs' | 'ys'): unknown {
  if (v instanceof Tensor || v === null || typeof v !== 'object') return v;
  const parts = Array.isArray(v) ? v : Object.values(v as object);
  const desc = Array.isArray(v) ? `an array of ${v.length}` : `an object with keys [${Object.keys(v as object).join(', ')}]`;
  if (parts.length !== 1) {
    const role = what === 'xs' ? 'input' : 'output';
    throw new Error(`${where}: the model has 1 ${role}, but the dataset provides ${parts.length} ${role}s in ${what} (${desc}); map the elements to {xs: Tensor, ys: Tensor}`);
  }
  return parts[0];
}

/** {xs, ys} of a dataset element (TF.js: xs / ys a Tensor, an array of Tensors or a map of name to Tensor). */
function datasetElement(value: unknown, where: string): { xs: Tensor; ys: Tensor } {
  if (value === null || typeof value !== 'object') return { xs: undefined as unknown as Tensor, ys: undefined as unknown as Tensor };
  const v = value as { xs?: unknown; ys?: unknown };
  if (v.xs !== undefined && v.ys === undefined && v.xs instanceof Tensor) {
    throw new Error(`${where}: a dataset for fitDataset() is expected to generate objects of the form {xs: xVal, ys: yVal}; this one has no ys`);
  }
  return { xs: asFloat32(singleTensor(v.xs, where, 'xs')) as Tensor, ys: singleTensor(v.ys, where, 'ys') as Tensor };
}

/**
 * Whether batches are disposed once used: TF.js does so for Datasets (anything with iterator());
 * plain arrays and iterables of {xs, ys} are the caller's and stay intact.
 */
function ownsElements(ds: DatasetLike): boolean {
  return !!ds && typeof (ds as { iterator?: unknown }).iterator === 'function';
}

/** Drops a batch read ahead that training stopped before using (disposed when it is the dataset's). */
async function discardAhead(ahead: Promise<IteratorResult<unknown>>, owned: boolean): Promise<void> {
  const r = await ahead.catch(() => null);
  if (r && !r.done && owned) disposeTensors(r.value);
}

/** Disposes a used batch: the element's tensors and the float32 copy of int32 features. */
function disposeElement(value: unknown, xs: Tensor): void {
  disposeTensors(value);
  xs.dispose();
}

/** int32 / bool features (e.g. tf.oneHot in a map) as float32, as TF.js upcasts them in the first layer. */
function asFloat32(x: unknown): unknown {
  if (!(x instanceof Tensor) || x.isDisposed || x.dtype === 'float32') return x;
  return new Tensor(Float32Array.from(x.values), x.shape, 'float32');
}
