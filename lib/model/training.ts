/**
 * Training: fit, fitDataset and trainOnBatch. Both fits run the ONE epoch loop below (runEpochs)
 * over a batch source: arrays (shuffled rows gathered into two alternating buffers, the next one
 * filled while the current one trains) or a dataset (one element per step). Each step is one
 * queued engine call (off the main thread on the native backend).
 */
import { LossKind } from '../backend/types';
import type { Labels } from '../backend/types';
import { random } from '../random';
import type { Tensor } from '../tensor';
import { checkNumber, checkPositiveInt, checkNonNegInt, describe } from '../util';
import { CallbackList, Logs } from './callbacks';
import type { LayersModel } from './container';
import { closeIterator, DatasetIterator, DatasetLike, datasetBatches, datasetElement, discardAhead, disposeElement, openIterator, ownsElements } from './datasets';
import type { Compiled } from './engine_handle';
import { DEFAULT_PREDICT_BATCH, evaluateDatasetLogs, evaluateLogs } from './inference';
import { metricSum } from './metrics';
import { ProgressBar } from './progress';
import { currentGroup } from '../distributed';
import type { Group } from '../distributed';

/** Input data of a model: a Tensor, an array of Tensors (inputs order) or {inputName: Tensor}. */
export type ModelInputs = Tensor | Tensor[] | Record<string, Tensor>;

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
  validationData?: [ModelInputs, ModelInputs];
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
  validationData?: [ModelInputs, ModelInputs] | DatasetLike;
  /** Batches of a dataset validationData evaluated per epoch (default: all of it). */
  validationBatches?: number;
  initialEpoch?: number;
  signal?: AbortSignal;
  progressStream?: { isTTY?: boolean; write(s: string): unknown };
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

/** Samples of a model's data: one Float32Array per input, one Labels per output. */
export interface ModelData {
  xs: Float32Array[];
  ys: Labels[];
  n: number;
}

/** One training batch; release() runs once the step is done (a dataset disposes its element). */
interface Batch extends ModelData {
  sw: Float32Array | null;
  release?: () => void;
  /** Data-parallel: the samples of the whole global batch this rank's shard belongs to. */
  globalN?: number;
}

/** What the epoch loop trains on: arrays (fit) or a dataset (fitDataset). */
interface BatchSource {
  /** Steps per epoch when known (progress bar), else 0. */
  readonly steps: number;
  /** Before an epoch's callbacks: shuffle, or open a new pass. */
  startEpoch(epoch: number): Promise<void>;
  /** True when the epoch has no more steps (checked before the abort signal). */
  exhausted(step: number): boolean;
  /** The batch of this step, or null when the epoch's data ran out. */
  next(step: number, epoch: number): Promise<Batch | null>;
  /** Called while step's batch trains (arrays fill the next buffer). */
  prefetch?(step: number): void;
  /** Buffers the outputs are copied into (for metrics), or null when no metric needs them. */
  outputs(n: number): Float32Array[] | null;
  /** After the epoch's steps: 'break' ends training before the epoch is logged. */
  endEpoch(epoch: number, steps: number, samples: number, initialEpoch: number): Promise<'break' | 'log'>;
}

/** Log keys as TF.js names them: loss, then <output>_loss per output (several outputs), then the metrics. */
export function logNames(c: Compiled, outputNames: string[]): string[] {
  const multi = outputNames.length > 1;
  const keys = ['loss'];
  if (multi) for (const o of outputNames) keys.push(`${o}_loss`);
  c.outputMetrics.forEach((ms, k) => ms.forEach((m) => keys.push(multi ? `${outputNames[k]}_${m.key}` : m.key)));
  return keys;
}

/** Running, sample-weighted means of the loss, the per-output losses and the metrics over an epoch. */
export class EpochAccumulator {
  count = 0;
  private sums: number[];
  constructor(private c: Compiled, private keys: string[], private outSizes: number[]) {
    this.sums = keys.map(() => 0);
  }
  /** outLosses: per-output losses (several outputs), outs / ys: outputs and labels (metrics). */
  add(loss: number, outLosses: ArrayLike<number> | null, n: number, outs: Float32Array[] | null, ys: Labels[]): void {
    let i = 0;
    this.sums[i++] += loss * n;
    if (this.outSizes.length > 1) for (let k = 0; k < this.outSizes.length; k++) this.sums[i++] += (outLosses ? outLosses[k] : 0) * n;
    this.c.outputMetrics.forEach((ms, k) => ms.forEach((m) => {
      this.sums[i++] += outs ? metricSum(m.kind, outs[k], ys[k], n, this.outSizes[k], this.c.losses[k].fromLogits) : 0;
    }));
    this.count += n;
  }
  /** Data-parallel: the sums and the sample count over every rank (logs() then gives the global epoch figures). */
  async reduceOver(g: Group): Promise<void> {
    const buf = Float32Array.from([...this.sums, this.count]);
    await g.allreduce(buf, 'sum');
    this.sums = Array.from(buf.subarray(0, this.sums.length));
    this.count = buf[this.sums.length];
  }
  logs(): Logs {
    const l: Logs = {};
    this.keys.forEach((k, i) => (l[k] = this.sums[i] / Math.max(1, this.count)));
    return l;
  }
}

function checkVerbose(v: unknown, fn: string): number {
  if (v === undefined) return 1;
  if (v !== 0 && v !== 1 && v !== 2) throw new RangeError(`${fn}: verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch), received ${describe(v)}`);
  return v;
}

function prefixKeys(logs: Logs, p: string): Logs {
  const out: Logs = {};
  for (const [k, v] of Object.entries(logs)) out[p + k] = v;
  return out;
}

/** The engine's argument for data that is one array per input / output: the array itself when there is one. */
export function engineArg<T>(parts: T[]): T | T[] {
  return parts.length === 1 ? parts[0] : parts;
}

function classWeights(cw: Record<number, number>, y: Labels, n: number, d: number, loss: Compiled['loss']): Float32Array {
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

/** Data-parallel state of one fit: the group and the gradient buffer (paramCount floats + the sample count). */
interface DataParallel {
  group: Group;
  grads: Float32Array;
  /** fitDataset: ranks agree before each step that all of them have a batch (their datasets may differ in length). */
  lockstep?: boolean;
}

/**
 * One data-parallel step: this rank's forward / backward on its shard (none when the shard is
 * empty), the gradients summed over the ranks weighted by shard size and divided by the global
 * sample count, then the same update on every rank. Returns this rank's loss.
 */
async function dataParallelStep(net: EngineNet, dp: DataParallel, b: Batch, lr: number, t: number): Promise<number> {
  const P = dp.grads.length - 1;
  const total = b.globalN ?? b.n;
  let loss = 0;
  if (b.n > 0) {
    loss = await net.forwardBackwardAsync(engineArg(b.xs), engineArg(b.ys), b.sw, b.n);
    net.getGrads(dp.grads.subarray(0, P));
    // this shard's share of the global batch's mean gradient (one pass; equal shards: 1 / W);
    // a dataset's batch does not know the global size: weight by its own size, divide after
    const w = b.globalN === undefined ? b.n : b.n / total;
    for (let i = 0; i < P; i++) dp.grads[i] *= w;
  } else {
    dp.grads.fill(0, 0, P);
  }
  dp.grads[P] = b.n;
  try {
    await dp.group.allreduce(dp.grads, 'sum');
  } catch (e) {
    throw new Error(`fit: the gradient allreduce of step ${t} failed (a rank stopped, timed out or lost its connection): ${(e as Error).message}`);
  }
  if (b.globalN === undefined) {
    const inv = 1 / dp.grads[P];
    for (let i = 0; i < P; i++) dp.grads[i] *= inv;
  } else if (dp.grads[P] !== total) {
    throw new Error(`fit: step ${t}: the ranks' shards hold ${dp.grads[P]} samples, not the global batch's ${total}: the ranks are out of step`);
  }
  await net.applyGradientsAsync(dp.grads.subarray(0, P), lr, t);
  return loss;
}

/** One queued training step; copies the outputs into `outs` (metrics) and the per-output losses before the next call. */
function trainStep(model: LayersModel, c: Compiled, b: Batch, lr: number, t: number, outs: Float32Array[] | null, outLosses: Float32Array | null,
  dp: DataParallel | null = null): Promise<number> {
  return model.engine.serial(async () => {
    const net = c.net as unknown as EngineNet;
    if (dp) {
      const loss = await dataParallelStep(net, dp, b, lr, t);
      if (b.n > 0) {
        if (outs) outs.forEach((o, k) => (k === 0 ? net.getOutput(o) : net.getOutput(o, k)));
        if (outLosses) net.getLosses!(outLosses);
      }
      return loss;
    }
    const loss = await net.trainStepAsync(engineArg(b.xs), engineArg(b.ys), b.sw, b.n, lr, t);
    if (outs) outs.forEach((o, k) => (k === 0 ? net.getOutput(o) : net.getOutput(o, k)));
    if (outLosses) net.getLosses!(outLosses);
    return loss;
  });
}

/** The Network surface as the model code calls it in graph form (lib/backend/types.ts, the graph contract). */
export interface EngineNet {
  trainStepAsync(x: Float32Array | Float32Array[], y: Labels | Labels[], sw: Float32Array | null, n: number, lr: number, t: number): Promise<number>;
  forwardBackwardAsync(x: Float32Array | Float32Array[], y: Labels | Labels[], sw: Float32Array | null, n: number): Promise<number>;
  getGrads(dst: Float32Array): void;
  applyGradients(g: Float32Array, lr: number, t: number): void;
  applyGradientsAsync(g: Float32Array, lr: number, t: number): Promise<void>;
  predict(out: Float32Array | Float32Array[], x: Float32Array | Float32Array[], n: number): void;
  predictAsync(out: Float32Array | Float32Array[], x: Float32Array | Float32Array[], n: number): Promise<void>;
  getOutput(dst: Float32Array, k?: number): void;
  getLosses?(dst: Float32Array): void;
}

interface LoopOptions {
  epochs: number;
  initialEpoch: number;
  verbose: number;
  cbs: CallbackList;
  history: History;
  signal?: AbortSignal;
  progressStream?: { isTTY?: boolean; write(s: string): unknown };
  /** Validation logs (without the val_ prefix) after each epoch, or null. */
  validate: (() => Promise<Logs>) | null;
  /** Replays what an epoch skipped by a resume would have consumed (fit's shuffles). */
  skipEpoch?: () => void;
  /** Data-parallel training over a group (fit on arrays after distributed.init). */
  dp?: DataParallel | null;
}

/** The epoch loop of fit and fitDataset. */
async function runEpochs(model: LayersModel, c: Compiled, src: BatchSource, o: LoopOptions): Promise<void> {
  const eng = model.engine;
  const keys = logNames(c, model.outputNames);
  const multi = model.outputNames.length > 1;
  const outLosses = multi ? new Float32Array(model.outputNames.length) : null;
  model.stopTraining = false;
  await o.cbs.trainBegin({});
  const startEpoch = model.takeResumeEpoch(o.initialEpoch);
  for (let e = o.initialEpoch; e < startEpoch; e++) o.skipEpoch?.();
  for (let epoch = startEpoch; epoch < o.epochs && !model.stopTraining && !eng.disposeRequested; epoch++) {
    await src.startEpoch(epoch);
    await o.cbs.epochBegin(epoch, {});
    const bar = o.verbose === 1 && src.steps ? new ProgressBar(src.steps, o.epochs, o.progressStream) : null;
    bar?.epochBegin(epoch);
    const acc = new EpochAccumulator(c, keys, model.outSizes);
    let step = 0;
    for (;;) {
      if (src.exhausted(step)) break;
      if (o.signal?.aborted || eng.disposeRequested) {
        model.stopTraining = true;
        break;
      }
      const b = await src.next(step, epoch);
      if (o.dp?.lockstep) {
        // every rank steps only while all of them have a batch
        const all = Float32Array.of(b ? 1 : 0);
        await o.dp.group.allreduce(all, 'min');
        if (all[0] === 0) {
          b?.release?.();
          break;
        }
      }
      if (!b) break;
      await o.cbs.batchBegin(step, { batch: step, size: b.n });
      c.iterations++;
      const lr = c.optimizer.learningRate;
      const t = c.iterations;
      const outs = src.outputs(b.n);
      const p = trainStep(model, c, b, lr, t, outs, outLosses, o.dp ?? null);
      src.prefetch?.(step);
      const loss = await p;
      acc.add(loss, outLosses, b.n, outs, b.ys);
      b.release?.();
      const logs = acc.logs();
      bar?.batchEnd(step, logs);
      await o.cbs.batchEnd(step, { batch: step, size: b.n, ...logs });
      step++;
      if (model.stopTraining) break;
    }
    if (o.dp) await acc.reduceOver(o.dp.group);
    if ((await src.endEpoch(epoch, step, acc.count, o.initialEpoch)) === 'break') break;
    const logs = acc.logs();
    if (o.validate) Object.assign(logs, prefixKeys(await o.validate(), 'val_'));
    bar?.epochEnd(epoch, logs);
    if (o.verbose && !bar) (o.progressStream ?? process.stdout).write(`Epoch ${epoch + 1}/${o.epochs}${Object.entries(logs).map(([k, v]) => ` - ${k}: ${v.toFixed(4)}`).join('')}\n`);
    o.history.add(epoch, logs);
    await o.cbs.epochEnd(epoch, logs);
  }
  await o.cbs.trainEnd({});
}

/** Names of the logged quantities (callback params). */
function callbackMetrics(keys: string[], withVal: boolean): string[] {
  return withVal ? [...keys, ...keys.map((k) => `val_${k}`)] : keys;
}

/** Rows of arrays, shuffled each epoch, gathered into two alternating batch buffers. */
class ArraySource implements BatchSource {
  readonly steps: number;
  private order: Int32Array;
  private bufs: Batch[] = [];
  private outBufs: Float32Array[] = [];
  private pending: Batch | null = null;
  /**
   * batchSize is the global batch; with a shard, this rank gathers its contiguous part of each
   * global batch (rank r of W: rows [floor(bn r / W), floor(bn (r + 1) / W)) of a batch of bn).
   */
  constructor(private data: ModelData, private sw: Float32Array | null, private batchSize: number, private shuffle: boolean,
    private rng: ReturnType<typeof random>, private inSizes: number[], private outSizes: number[], private withOutputs: boolean,
    private shard: { rank: number; world: number } | null = null) {
    this.steps = Math.ceil(data.n / batchSize);
    this.order = new Int32Array(data.n);
  }
  skipEpoch(): void {
    if (this.shuffle) this.rng.shuffle(this.order);
  }
  async startEpoch(): Promise<void> {
    for (let i = 0; i < this.data.n; i++) this.order[i] = i;
    if (this.shuffle) this.rng.shuffle(this.order);
    this.pending = null;
  }
  exhausted(step: number): boolean {
    return step >= this.steps;
  }
  async next(step: number): Promise<Batch> {
    const b = this.pending ?? this.fill(step);
    this.pending = null;
    return b;
  }
  prefetch(step: number): void {
    if (step + 1 < this.steps) this.pending = this.fill(step + 1);
  }
  outputs(n: number): Float32Array[] | null {
    if (!this.withOutputs) return null;
    const cap = Math.min(this.batchSize, this.data.n);
    return this.outSizes.map((d, k) => {
      if (!this.outBufs[k] || this.outBufs[k].length < n * d) this.outBufs[k] = new Float32Array(cap * d);
      return this.outBufs[k].subarray(0, n * d);
    });
  }
  async endEpoch(_epoch: number, _steps: number, samples: number): Promise<'break' | 'log'> {
    return samples === 0 ? 'break' : 'log';
  }
  /** Gathers the rows of a step into buffer (step & 1); buffers hold the largest batch that occurs. */
  private fill(step: number): Batch {
    const { xs, ys, n } = this.data;
    const which = step & 1;
    const cap = Math.min(this.batchSize, n);
    let b0 = step * this.batchSize;
    let bn = Math.min(this.batchSize, n - b0);
    const globalN = bn;
    if (this.shard) {
      const { rank, world } = this.shard;
      const lo = Math.floor((bn * rank) / world);
      b0 += lo;
      bn = Math.floor((bn * (rank + 1)) / world) - lo;
    }
    if (!this.bufs[which]) {
      this.bufs[which] = {
        xs: this.inSizes.map((s) => new Float32Array(cap * s)),
        ys: ys.map((y) => (y instanceof Int32Array ? new Int32Array(cap * (y.length / n)) : new Float32Array(cap * (y.length / n)))),
        sw: new Float32Array(cap), n: 0,
      };
    }
    const buf = this.bufs[which];
    const strides = ys.map((y) => y.length / n);
    for (let j = 0; j < bn; j++) {
      const r = this.order[b0 + j];
      xs.forEach((x, k) => {
        const is = this.inSizes[k];
        buf.xs[k].set(x.subarray(r * is, (r + 1) * is), j * is);
      });
      ys.forEach((y, k) => {
        const ls = strides[k];
        if (ls === 1) buf.ys[k][j] = y[r];
        else (buf.ys[k] as Float32Array).set((y as Float32Array).subarray(r * ls, (r + 1) * ls), j * ls);
      });
      if (this.sw) buf.sw![j] = this.sw[r];
    }
    return { xs: buf.xs, ys: buf.ys, sw: this.sw ? buf.sw : null, n: bn, globalN };
  }
}

/**
 * The start of a data-parallel fit: every rank must run the same model on the same data plan
 * (refused with the figures that differ otherwise), then rank 0's parameters and optimizer state
 * overwrite the others'.
 */
async function startDataParallel(model: LayersModel, c: Compiled, group: Group, plan: Record<string, number>): Promise<DataParallel> {
  const net = c.net as unknown as { paramCount: number; slotCount: number };
  const facts: Record<string, number> = { ...plan, parameters: net.paramCount, 'optimizer slots': net.slotCount, layers: model.layers.length };
  const names = Object.keys(facts);
  const mine = names.map((k) => facts[k]);
  const hi = Float32Array.from(mine);
  const lo = Float32Array.from(mine.map((v) => -v));
  await group.allreduce(hi, 'max');
  await group.allreduce(lo, 'max');
  const differ = names.filter((k, i) => hi[i] !== -lo[i]);
  if (differ.length > 0) {
    throw new Error(`fit: the ${group.worldSize} ranks disagree on ${differ.map((k) => `${k} (this rank ${facts[k]}, others from ${-lo[names.indexOf(k)]} to ${hi[names.indexOf(k)]})`).join(', ')}; ` +
      'every rank must fit the same model with the same batchSize, epochs and number of samples');
  }
  await group.broadcast(model.flatParams, 0);
  const slots = c.slots as Float32Array | undefined;
  if (slots && slots.length > 0) await group.broadcast(slots, 0);
  return { group, grads: new Float32Array(net.paramCount + 1) };
}

/** The first `n` samples of data, and the rest. */
function splitData(d: ModelData, inSizes: number[], nTrain: number): [ModelData, ModelData] {
  const head: ModelData = { n: nTrain, xs: [], ys: [] };
  const tail: ModelData = { n: d.n - nTrain, xs: [], ys: [] };
  d.xs.forEach((x, k) => {
    head.xs.push(x.subarray(0, nTrain * inSizes[k]));
    tail.xs.push(x.subarray(nTrain * inSizes[k]));
  });
  d.ys.forEach((y) => {
    const ls = y.length / d.n;
    head.ys.push(y.subarray(0, nTrain * ls) as Labels);
    tail.ys.push(y.subarray(nTrain * ls) as Labels);
  });
  return [head, tail];
}

/**
 * Trains for a number of epochs. Resolves to a History. Training steps run off the main thread
 * (native backend), so the event loop stays responsive.
 */
export async function fit(model: LayersModel, x: unknown, y: unknown, args: ModelFitArgs = {}): Promise<History> {
  const fn = 'fit';
  const c = model.beginTraining(fn);
  try {
    if (args === null || typeof args !== 'object') throw new TypeError('fit: args must be an object');
    const epochs = checkPositiveInt(args.epochs ?? 1, fn, 'epochs');
    const batchSize = checkPositiveInt(args.batchSize ?? 32, fn, 'batchSize');
    const initialEpoch = checkNonNegInt(args.initialEpoch ?? 0, fn, 'initialEpoch');
    const verbose = checkVerbose(args.verbose, fn);
    const xin = model.inputArrays(x, fn);
    if (xin.n === 0) throw new Error('fit: x has no samples');
    let data: ModelData = { xs: xin.xs, ys: model.labelArrays(y, xin.n, fn, c), n: xin.n };
    model.checkFiniteInputs(x, fn);
    let val: ModelData | null = null;
    if (args.validationData) {
      if (!Array.isArray(args.validationData) || args.validationData.length < 2) {
        throw new TypeError('fit: validationData must be [xVal, yVal]');
      }
      const [vx, vy] = args.validationData;
      val = model.evalData(vx, vy, 'fit: validationData', c);
    } else if (args.validationSplit !== undefined) {
      const s = args.validationSplit;
      if (typeof s !== 'number' || !(s > 0 && s < 1)) throw new RangeError(`fit: validationSplit must be in (0, 1), received ${describe(s)}`);
      const nVal = Math.floor(data.n * s);
      const nTrain = data.n - nVal;
      if (nVal === 0 || nTrain === 0) throw new Error(`fit: validationSplit ${s} of ${data.n} samples leaves an empty training or validation set`);
      [data, val] = splitData(data, model.inSizes, nTrain);
    }
    let sw: Float32Array | null = null;
    if (args.classWeight) {
      if (model.outSizes.length > 1) throw new Error('fit: classWeight is only supported for models with one output');
      sw = classWeights(args.classWeight, data.ys[0], data.n, model.outSizes[0], c.loss);
    }
    const n = data.n;
    const group = currentGroup();
    // data-parallel: batchSize is per rank; the ranks share each global batch of batchSize * worldSize
    const globalBatch = group ? batchSize * group.worldSize : batchSize;
    const steps = Math.ceil(n / globalBatch);
    const cbs = new CallbackList(args.callbacks);
    const history = new History();
    history.params = { epochs, initialEpoch, samples: n, steps, batchSize, verbose };
    const keys = logNames(c, model.outputNames);
    cbs.setup(model, { epochs, initialEpoch, samples: n, steps, batchSize, metrics: callbackMetrics(keys, val !== null), verbose });
    if (args.seed !== undefined && (!Number.isInteger(args.seed) || args.seed < 0 || args.seed > 0xffffffff)) {
      throw new RangeError(`fit: seed must be an integer in [0, 2^32), received ${describe(args.seed)}`);
    }
    let seed = args.seed;
    if (group) {
      // every rank must shuffle alike: the seed given (checked equal below) or rank 0's draw
      const sb = Float32Array.from(seed === undefined ? [Math.floor(Math.random() * 0xffff), Math.floor(Math.random() * 0xffff)] : [seed >>> 16, seed & 0xffff]);
      if (seed === undefined) await group.broadcast(sb, 0);
      seed = ((sb[0] << 16) | sb[1]) >>> 0;
    }
    const rng = random(seed);
    const withOutputs = c.outputMetrics.some((m) => m.length > 0);
    const src = new ArraySource(data, sw, globalBatch, args.shuffle ?? true, rng, model.inSizes, model.outSizes, withOutputs,
      group ? { rank: group.rank, world: group.worldSize } : null);
    const dp = group ? await startDataParallel(model, c, group, {
      samples: n, batchSize, epochs, steps, initialEpoch, shuffle: args.shuffle === false ? 0 : 1, 'seed (high half)': seed! >>> 16, 'seed (low half)': seed! & 0xffff,
    }) : null;
    const v = val;
    await runEpochs(model, c, src, {
      epochs, initialEpoch, verbose, cbs, history, signal: args.signal, progressStream: args.progressStream,
      validate: v ? () => evaluateLogs(model, c, v, DEFAULT_PREDICT_BATCH, group) : null,
      skipEpoch: () => src.skipEpoch(),
      dp,
    });
    return history;
  } finally {
    model.endTraining();
  }
}

/** Batches of a dataset: one element per step; the next one is read while a step runs off the main thread. */
class DatasetSource implements BatchSource {
  it: DatasetIterator | null = null;
  ranOut = false;
  /** The next element, read while the current step runs (never past batchesPerEpoch). */
  private ahead: Promise<IteratorResult<unknown>> | null = null;
  private owned: boolean;
  constructor(private model: LayersModel, private c: Compiled, private ds: DatasetLike, readonly steps: number,
    private batchesPerEpoch: number | undefined, private epochs: number) {
    this.owned = ownsElements(ds);
  }
  async startEpoch(): Promise<void> {
    // with batchesPerEpoch one iterator runs across epochs (TF.js); else each epoch is a new pass
    if (this.batchesPerEpoch !== undefined) {
      if (!this.it) this.it = await openIterator(this.ds, 'fitDataset');
      return;
    }
    await closeIterator(this.it);
    this.it = await openIterator(this.ds, 'fitDataset');
  }
  exhausted(step: number): boolean {
    return this.batchesPerEpoch !== undefined && step >= this.batchesPerEpoch;
  }
  async next(step: number, epoch: number): Promise<Batch | null> {
    const fn = 'fitDataset';
    const r = await (this.ahead ?? this.it!.next());
    this.ahead = null;
    if (r.done) {
      if (this.batchesPerEpoch !== undefined) {
        this.ranOut = true;
        console.warn(
          `${fn}: you provided batchesPerEpoch as ${this.batchesPerEpoch}, but your dataset iterator ran out of data after ` +
            `${step} batches in epoch ${epoch + 1}; interrupting training. Make sure that your dataset can generate at least ` +
            `batchesPerEpoch * epochs batches (in this case, ${this.batchesPerEpoch * this.epochs} batches). You may need to use ` +
            'the repeat() function when building your dataset.',
        );
      }
      return null;
    }
    const m = this.model;
    const where = `${fn}: batch ${step}`;
    const { xs, ys, copies } = datasetElement(r.value, where, m.inSizes.length, m.outSizes.length);
    const xin = m.inputArrays(xs, `${where} xs`);
    if (xin.n === 0) throw new Error(`${fn}: batch ${step} is empty`);
    const yl = m.labelArrays(ys, xin.n, where, this.c);
    m.checkFiniteInputs(xs, where, 'xs');
    const owned = this.owned;
    return { xs: xin.xs, ys: yl, sw: null, n: xin.n, release: owned ? () => disposeElement(r.value, copies) : undefined };
  }
  prefetch(step: number): void {
    if (this.batchesPerEpoch === undefined || step + 1 < this.batchesPerEpoch) {
      this.ahead = this.it!.next();
      this.ahead.catch(() => undefined); // awaited next round; this only keeps a failure from being reported as unhandled
    }
  }
  /** Drops a batch read ahead that training stopped before using. */
  async discard(): Promise<void> {
    if (this.ahead) await discardAhead(this.ahead, this.owned);
    this.ahead = null;
  }
  outputs(n: number): Float32Array[] | null {
    if (!this.c.outputMetrics.some((ms) => ms.length > 0)) return null;
    return this.model.outSizes.map((d) => new Float32Array(n * d));
  }
  async endEpoch(epoch: number, steps: number, _samples: number, initialEpoch: number): Promise<'break' | 'log'> {
    await this.discard();
    if (steps === 0 && this.ranOut && epoch > initialEpoch) return 'break';
    if (steps === 0) throw new Error(`fitDataset: the dataset yielded no batches in epoch ${epoch + 1}`);
    if (this.ranOut) this.model.stopTraining = true;
    return 'log';
  }
}

/** Trains on a dataset of {xs, ys} batches (an async iterable, or a TF.js-style Dataset). */
export async function fitDataset(model: LayersModel, dataset: DatasetLike, args: ModelFitDatasetArgs = {}): Promise<History> {
  const fn = 'fitDataset';
  const c = model.beginTraining(fn);
  let src: DatasetSource | null = null;
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
    const stepsHint = args.batchesPerEpoch ?? datasetBatches(dataset);
    // data-parallel: each rank reads its own dataset (its shard); the gradients are averaged per step
    const group = currentGroup();
    src = new DatasetSource(model, c, dataset, stepsHint, args.batchesPerEpoch, epochs);
    if (args.batchesPerEpoch !== undefined) src.it = await openIterator(dataset, fn);
    const keys = logNames(c, model.outputNames);
    cbs.setup(model, { epochs, initialEpoch, samples: 0, steps: stepsHint, batchSize: 0, metrics: callbackMetrics(keys, !!args.validationData), verbose });
    const vd = args.validationData;
    const validate = vd
      ? async (): Promise<Logs> => {
        if (Array.isArray(vd)) return evaluateLogs(model, c, model.evalData(vd[0], vd[1], `${fn}: validationData`, c), DEFAULT_PREDICT_BATCH, group);
        return evaluateDatasetLogs(model, vd as DatasetLike, c, args.validationBatches, fn, group);
      }
      : null;
    const dp = group ? await startDataParallel(model, c, group, { epochs, initialEpoch, 'batchesPerEpoch (0: a pass)': args.batchesPerEpoch ?? 0 }) : null;
    if (dp) dp.lockstep = true;
    await runEpochs(model, c, src, { epochs, initialEpoch, verbose, cbs, history, signal: args.signal, progressStream: args.progressStream, validate, dp });
    return history;
  } finally {
    await src?.discard();
    await closeIterator(src?.it ?? null);
    model.endTraining();
  }
}

/** One optimizer step on one batch; resolves to the loss (and the per-output losses and metrics, when there are any). */
export async function trainOnBatch(model: LayersModel, x: unknown, y: unknown): Promise<number | number[]> {
  const fn = 'trainOnBatch';
  const c = model.beginTraining(fn);
  try {
    const xin = model.inputArrays(x, fn);
    const n = xin.n;
    if (n === 0) throw new Error(`${fn}: x has no samples`);
    const ys = model.labelArrays(y, n, fn, c);
    model.checkFiniteInputs(x, fn);
    c.iterations++;
    const lr = c.optimizer.learningRate;
    const t = c.iterations;
    const outs = model.outSizes.map((d) => new Float32Array(n * d));
    const multi = outs.length > 1;
    const outLosses = multi ? new Float32Array(outs.length) : null;
    const loss = await trainStep(model, c, { xs: xin.xs, ys, sw: null, n }, lr, t, outs, outLosses);
    const keys = logNames(c, model.outputNames);
    if (keys.length === 1) return loss;
    const acc = new EpochAccumulator(c, keys, model.outSizes);
    acc.add(loss, outLosses, n, outs, ys);
    const logs = acc.logs();
    return [loss, ...keys.slice(1).map((k) => logs[k])];
  } finally {
    model.endTraining();
  }
}
