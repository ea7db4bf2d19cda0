/**
 * Inference: predict, evaluate and evaluateDataset over one chunked runner (batches of `bs`
 * samples, each one engine call; the async forms queue each call off the main thread).
 */
import type { Labels, Network } from '../backend/types';
import { Tensor } from '../tensor';
import { checkPositiveInt, describe } from '../util';
import type { Logs } from './callbacks';
import type { LayersModel } from './container';
import { closeIterator, DatasetLike, datasetElement, discardAhead, disposeElement, openIterator, ownsElements } from './datasets';
import type { Compiled } from './engine_handle';
import { lossOfTensors } from './losses';
import { metricSum } from './metrics';
import { engineArg, EngineNet, logNames, ModelData } from './training';
import { currentGroup } from '../distributed';
import type { Group } from '../distributed';

export const DEFAULT_PREDICT_BATCH = 256;

export interface ModelPredictArgs {
  batchSize?: number;
}

export interface ModelEvaluateDatasetArgs {
  /** Batches to evaluate (default: until the dataset ends). */
  batches?: number;
  /** Only 0 is supported, as in TF.js. */
  verbose?: number;
}

/** The chunks of a run: per chunk the output and input slices of each output / input, and its sample count. */
function* chunks(outs: Float32Array[], outSizes: number[], xs: Float32Array[], inSizes: number[], n: number, bs: number): Generator<{ o: Float32Array[]; x: Float32Array[]; m: number }> {
  for (let b = 0; b < n; b += bs) {
    const m = Math.min(bs, n - b);
    yield {
      o: outs.map((o, k) => o.subarray(b * outSizes[k], (b + m) * outSizes[k])),
      x: xs.map((x, k) => x.subarray(b * inSizes[k], (b + m) * inSizes[k])),
      m,
    };
  }
}

function newOutputs(model: LayersModel, n: number): Float32Array[] {
  return model.outSizes.map((d) => new Float32Array(n * d));
}

/** Runs the network over all samples, synchronously. */
function runSync(model: LayersModel, net: Network, outs: Float32Array[], xs: Float32Array[], n: number, bs: number): void {
  const e = net as unknown as EngineNet;
  for (const c of chunks(outs, model.outSizes, xs, model.inSizes, n, bs)) e.predict(engineArg(c.o), engineArg(c.x), c.m);
}

/** Runs the network over all samples, each chunk a queued call off the main thread. */
async function runAsync(model: LayersModel, net: Network, outs: Float32Array[], xs: Float32Array[], n: number, bs: number): Promise<void> {
  const e = net as unknown as EngineNet;
  for (const c of chunks(outs, model.outSizes, xs, model.inSizes, n, bs)) {
    await model.engine.serial(() => e.predictAsync(engineArg(c.o), engineArg(c.x), c.m));
  }
}

function outputTensors(model: LayersModel, outs: Float32Array[], n: number): Tensor | Tensor[] {
  const ts = outs.map((o, k) => new Tensor(o, [n, ...model.outputShapes[k]], 'float32'));
  return ts.length === 1 ? ts[0] : ts;
}

/** Runs the model in inference mode. Synchronous: use predictAsync to keep the event loop free. */
export function predict(model: LayersModel, x: unknown, args: ModelPredictArgs = {}): Tensor | Tensor[] {
  model.engine.checkUsable('predict');
  model.engine.checkIdle('predict');
  const net = model.predictNet();
  const { xs, n } = model.inputArrays(x, 'predict');
  const bs = checkPositiveInt(args.batchSize ?? DEFAULT_PREDICT_BATCH, 'predict', 'batchSize');
  const outs = newOutputs(model, n);
  runSync(model, net, outs, xs, n, bs);
  return outputTensors(model, outs, n);
}

/** predict() with each batch run off the main thread (native backend). */
export async function predictAsync(model: LayersModel, x: unknown, args: ModelPredictArgs = {}): Promise<Tensor | Tensor[]> {
  model.engine.checkUsable('predictAsync');
  const net = model.predictNet();
  const { xs, n } = model.inputArrays(x, 'predictAsync');
  const bs = checkPositiveInt(args.batchSize ?? DEFAULT_PREDICT_BATCH, 'predictAsync', 'batchSize');
  const outs = newOutputs(model, n);
  await runAsync(model, net, outs, xs, n, bs);
  return outputTensors(model, outs, n);
}

/** Loss, per-output losses and metrics (named as fit logs them) of outputs against labels. */
function logsOf(model: LayersModel, c: Compiled, outs: Float32Array[], ys: Labels[], n: number): Logs {
  const keys = logNames(c, model.outputNames);
  const multi = outs.length > 1;
  const perOutput = outs.map((o, k) => {
    const d = model.outSizes[k];
    const y = ys[k];
    const yT = y instanceof Int32Array ? new Tensor(y, [n], 'int32') : new Tensor(y, [n, d], 'float32');
    const pT = new Tensor(o, [n, d], 'float32');
    const lT = lossOfTensors(c.losses[k], yT, pT, null, model.backend);
    const l = lT.values[0];
    yT.dispose(); // views of our own arrays: nothing outlives this call
    pT.dispose();
    lT.dispose();
    return l;
  });
  const logs: Logs = { loss: multi ? perOutput.reduce((s, l, k) => s + c.lossWeights[k] * l, 0) : perOutput[0] };
  let i = 1;
  if (multi) perOutput.forEach((l) => (logs[keys[i++]] = l));
  c.outputMetrics.forEach((ms, k) => ms.forEach((m) => {
    logs[keys[i++]] = metricSum(m.kind, outs[k], ys[k], n, model.outSizes[k], c.losses[k].fromLogits) / n;
  }));
  return logs;
}

/**
 * Loss and metrics (as in fit's logs) over arrays, in inference mode, off the main thread. With a
 * data-parallel group (collective: every rank calls it with the same data), each rank evaluates
 * its contiguous shard and the figures are averaged over the ranks, weighted by shard size.
 */
export async function evaluateLogs(model: LayersModel, c: Compiled, d: ModelData, bs: number, group: Group | null = null): Promise<Logs> {
  if (group && group.worldSize > 1) return evaluateSharded(model, c, d, bs, group);
  const outs = newOutputs(model, d.n);
  await runAsync(model, c.net, outs, d.xs, d.n, bs);
  return logsOf(model, c, outs, d.ys, d.n);
}

/** This rank's rows [lo, hi) of d. */
function rowsOf(model: LayersModel, d: ModelData, lo: number, hi: number): ModelData {
  return {
    n: hi - lo,
    xs: d.xs.map((x, k) => x.subarray(lo * model.inSizes[k], hi * model.inSizes[k])),
    ys: d.ys.map((y) => {
      const ls = y.length / d.n;
      return y.subarray(lo * ls, hi * ls) as Labels;
    }),
  };
}

async function evaluateSharded(model: LayersModel, c: Compiled, d: ModelData, bs: number, group: Group): Promise<Logs> {
  const lo = Math.floor((d.n * group.rank) / group.worldSize);
  const hi = Math.floor((d.n * (group.rank + 1)) / group.worldSize);
  const keys = logNames(c, model.outputNames);
  let logs: Logs = Object.fromEntries(keys.map((k) => [k, 0]));
  if (hi > lo) logs = await evaluateLogs(model, c, rowsOf(model, d, lo, hi), bs);
  const buf = packForAverage(keys, logs, hi - lo);
  await group.allreduce(buf, 'sum');
  return unpackAverage(keys, buf);
}

/** [logs[k] * count..., count]: summed over the ranks, then divided by the summed count. */
function packForAverage(keys: string[], logs: Logs, count: number): Float32Array {
  return Float32Array.from([...keys.map((k) => (logs[k] ?? 0) * count), count]);
}

function unpackAverage(keys: string[], buf: Float32Array): Logs {
  const n = buf[keys.length];
  return Object.fromEntries(keys.map((k, i) => [k, n > 0 ? buf[i] / n : NaN]));
}

function averageOverRanks(keys: string[], logs: Logs, count: number, reduce: (buf: Float32Array) => void): Logs {
  const buf = packForAverage(keys, logs, count);
  reduce(buf);
  return unpackAverage(keys, buf);
}

/** Loss and metrics over a dataset's batches (all of them, or the first `batches`). */
export async function evaluateDatasetLogs(
  model: LayersModel, ds: DatasetLike, c: Compiled, batches?: number, caller = 'evaluateDataset', group: Group | null = null,
): Promise<Logs> {
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
      const { xs, ys, copies } = datasetElement(r.value, where, model.inSizes.length, model.outSizes.length);
      const d = model.evalData(xs, ys, where, c);
      const evaluated = evaluateLogs(model, c, d, DEFAULT_PREDICT_BATCH);
      if (batches === undefined || batch + 1 < batches) {
        ahead = it.next(); // read while the forward passes run off the main thread
        ahead.catch(() => undefined);
      }
      const logs = await evaluated;
      if (owned) disposeElement(r.value, copies);
      for (const [k, v] of Object.entries(logs)) sums[k] = (sums[k] ?? 0) + v * d.n;
      count += d.n;
    }
  } finally {
    if (ahead) await discardAhead(ahead, owned);
    await closeIterator(it);
  }
  if (group && group.worldSize > 1) {
    // collective: each rank read its own dataset (its shard); the figures are averaged over all
    // the samples of all the ranks
    const keys = logNames(c, model.outputNames);
    const buf = Float32Array.from([...keys.map((k) => sums[k] ?? 0), count]);
    await group.allreduce(buf, 'sum');
    if (buf[keys.length] === 0) throw new Error(`${fn}: the datasets of all ${group.worldSize} ranks yielded no batches`);
    return unpackAverage(keys, buf);
  }
  if (count === 0) throw new Error(`${fn}: the dataset yielded no batches`);
  for (const k of Object.keys(sums)) sums[k] /= count;
  return sums;
}

/** Logs as evaluate returns them: the loss alone, or [loss, ...per-output losses, ...metrics] as scalars. */
function logTensors(model: LayersModel, c: Compiled, logs: Logs): Tensor | Tensor[] {
  const keys = logNames(c, model.outputNames);
  const t = (v: number) => new Tensor(new Float32Array([v]), [], 'float32');
  if (keys.length === 1) return t(logs.loss);
  return keys.map((k) => t(logs[k]));
}

/** Loss (and metrics) on x, y in inference mode: a scalar Tensor, or [loss, ...metrics]. */
export function evaluate(model: LayersModel, x: unknown, y: unknown, args: ModelPredictArgs = {}): Tensor | Tensor[] {
  model.engine.checkUsable('evaluate');
  const c = model.engine.compiled;
  if (!c) throw new Error('evaluate: compile the model first');
  const { xs, n } = model.evalInputs(x, 'evaluate');
  model.engine.checkIdle('predict');
  const bs = checkPositiveInt(args.batchSize ?? DEFAULT_PREDICT_BATCH, 'predict', 'batchSize');
  const ys = model.labelArrays(y, n, 'evaluate', c);
  const group = currentGroup();
  if (group && group.worldSize > 1) {
    // collective: this rank's contiguous shard, the figures averaged over the ranks (blocking)
    const lo = Math.floor((n * group.rank) / group.worldSize);
    const hi = Math.floor((n * (group.rank + 1)) / group.worldSize);
    const keys = logNames(c, model.outputNames);
    let logs: Logs = Object.fromEntries(keys.map((k) => [k, 0]));
    if (hi > lo) {
      const d = rowsOf(model, { n, xs, ys }, lo, hi);
      const outs = newOutputs(model, d.n);
      runSync(model, model.predictNet(), outs, d.xs, d.n, bs);
      logs = logsOf(model, c, outs, d.ys, d.n);
    }
    return logTensors(model, c, averageOverRanks(keys, logs, hi - lo, (buf) => group.allreduceSync(buf, 'sum')));
  }
  const outs = newOutputs(model, n);
  runSync(model, model.predictNet(), outs, xs, n, bs);
  return logTensors(model, c, logsOf(model, c, outs, ys, n));
}

/** evaluate() with the forward passes off the main thread. */
export async function evaluateAsync(model: LayersModel, x: unknown, y: unknown, args: ModelPredictArgs = {}): Promise<Tensor | Tensor[]> {
  model.engine.checkUsable('evaluateAsync');
  const c = model.engine.compiled;
  if (!c) throw new Error('evaluateAsync: compile the model first');
  const d = model.evalData(x, y, 'evaluateAsync', c);
  const bs = checkPositiveInt(args.batchSize ?? DEFAULT_PREDICT_BATCH, 'evaluateAsync', 'batchSize');
  return logTensors(model, c, await evaluateLogs(model, c, d, bs, currentGroup()));
}

/** Evaluates over a dataset of {xs, ys} batches (all, or the first `args.batches`): [loss, ...metrics] as scalars. */
export async function evaluateDataset(model: LayersModel, ds: DatasetLike, args: ModelEvaluateDatasetArgs = {}): Promise<Tensor | Tensor[]> {
  const fn = 'evaluateDataset';
  model.engine.checkUsable(fn);
  const c = model.engine.compiled;
  if (!c) throw new Error('evaluateDataset: compile the model first');
  if (args === null || typeof args !== 'object') throw new TypeError(`${fn}: args must be an object, received ${describe(args)}`);
  if (args.batches !== undefined) checkPositiveInt(args.batches, fn, 'batches');
  if (args.verbose !== undefined && args.verbose !== 0) throw new Error(`${fn}: verbose mode is not implemented (verbose must be 0), received ${describe(args.verbose)}`);
  return logTensors(model, c, await evaluateDatasetLogs(model, ds, c, args.batches, fn, currentGroup()));
}
