/**
 * TensorBoard event files: tf.node.summaryFileWriter(logdir) (scalar, histogram, flush) and the
 * tf.node.tensorBoard(logdir, args) callback, as tfjs-node names and lays them out: metrics go to
 * logdir/train and logdir/val as 'batch_<key>' (step = batches seen) and 'epoch_<key>' (step =
 * epoch + 1). Each file is a TFRecord stream of Event protos, the first holding file_version.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Tensor } from '../tensor';
import { Callback, Logs } from '../model/callbacks';
import { checkNonNegInt, checkPositiveInt, describe } from '../util';
import { encodeEvent, Histogram, SummaryValue } from './event_proto';
import { tfRecord } from './tfrecord';
import { rank } from '../distributed';

export const FILE_VERSION = 'brain.Event:2';

/** Appends summaries to one event file, buffering up to maxQueue records or flushMillis. */
export class SummaryFileWriter {
  readonly file: string;
  private queue: Uint8Array[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly logdir: string, readonly maxQueue = 10, readonly flushMillis = 120000, filenameSuffix = '.v2') {
    const fn = 'summaryFileWriter';
    if (typeof logdir !== 'string' || !logdir) throw new TypeError(`${fn}: logdir must be a non-empty string, received ${describe(logdir)}`);
    checkNonNegInt(maxQueue, fn, 'maxQueue');
    checkNonNegInt(flushMillis, fn, 'flushMillis');
    if (typeof filenameSuffix !== 'string' || /[\\/]/.test(filenameSuffix)) throw new TypeError(`${fn}: filenameSuffix must be a string without path separators, received ${describe(filenameSuffix)}`);
    fs.mkdirSync(logdir, { recursive: true });
    const base = `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}`;
    // A second writer on the same folder in the same second gets its own file.
    let file = path.join(logdir, base + filenameSuffix);
    for (let n = 1; fs.existsSync(file); n++) file = path.join(logdir, `${base}.${n}${filenameSuffix}`);
    this.file = file;
    fs.writeFileSync(file, tfRecord(encodeEvent({ wallTime: Date.now() / 1000, fileVersion: FILE_VERSION })), { flag: 'wx' });
  }

  /** Logs a scalar (a number or a one-value tensor) at an integer step. */
  scalar(name: string, value: number | Tensor, step: number, description?: string): void {
    const fn = 'summaryFileWriter.scalar';
    checkTag(name, fn);
    checkStep(step, fn);
    checkDescription(description, fn);
    let v = value;
    if (v instanceof Tensor) {
      if (v.size !== 1) throw new Error(`${fn}: value must be a scalar, received a tensor of shape [${v.shape.join(',')}]`);
      v = v.values[0];
    }
    if (typeof v !== 'number') throw new TypeError(`${fn}: value must be a number or a scalar tensor, received ${describe(v)}`);
    this.write([{ tag: name, simpleValue: v }], step);
  }

  /** Logs a histogram of data's values (buckets equal-width bins between min and max, default 30). */
  histogram(name: string, data: Tensor | ArrayLike<number>, step: number, buckets = 30, description?: string): void {
    const fn = 'summaryFileWriter.histogram';
    checkTag(name, fn);
    checkStep(step, fn);
    checkPositiveInt(buckets, fn, 'buckets');
    checkDescription(description, fn);
    const v = data instanceof Tensor ? data.values : data;
    if (!v || typeof v.length !== 'number') throw new TypeError(`${fn}: data must be a tensor or an array of numbers, received ${describe(data)}`);
    this.write([{ tag: name, histo: histogramOf(v, buckets) }], step);
  }

  /** Writes the queued records to the file. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    pending.delete(this);
    if (!this.queue.length) return;
    const q = this.queue;
    this.queue = [];
    fs.appendFileSync(this.file, Buffer.concat(q));
  }

  private write(summary: SummaryValue[], step: number): void {
    this.queue.push(tfRecord(encodeEvent({ wallTime: Date.now() / 1000, step, summary })));
    pending.add(this);
    if (this.queue.length >= this.maxQueue) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMillis);
      this.timer.unref();
    }
  }
}

/** Writers holding unwritten records; flushed when the process exits. */
const pending = new Set<SummaryFileWriter>();
process.on('exit', () => {
  for (const w of [...pending]) {
    try { w.flush(); } catch { /* the folder is gone: nothing to save */ }
  }
});

function checkTag(name: unknown, fn: string): void {
  if (typeof name !== 'string' || !name) throw new TypeError(`${fn}: name must be a non-empty string, received ${describe(name)}`);
}
function checkStep(step: unknown, fn: string): void {
  if (typeof step !== 'number' || !Number.isSafeInteger(step)) throw new RangeError(`${fn}: step must be an integer, received ${describe(step)}`);
}
function checkDescription(d: unknown, fn: string): void {
  if (d !== undefined && typeof d !== 'string') throw new TypeError(`${fn}: description must be a string, received ${describe(d)}`);
}

export function histogramOf(v: ArrayLike<number>, buckets: number): Histogram {
  let min = Infinity, max = -Infinity, sum = 0, sumSquares = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    sumSquares += x * x;
  }
  if (v.length === 0) return { min: 0, max: 0, num: 0, sum: 0, sumSquares: 0, bucketLimit: [], bucket: [] };
  const n = min === max ? 1 : buckets;
  const width = (max - min) / n;
  const bucket = new Array<number>(n).fill(0);
  for (let i = 0; i < v.length; i++) bucket[width > 0 ? Math.min(n - 1, Math.floor((v[i] - min) / width)) : 0]++;
  const bucketLimit = bucket.map((_, i) => (i === n - 1 ? max : min + (i + 1) * width));
  return { min, max, num: v.length, sum, sumSquares, bucketLimit, bucket };
}

/** One writer per folder, as tfjs-node caches them. */
const writers = new Map<string, SummaryFileWriter>();

/** tf.node.summaryFileWriter: the writer for logdir (the same object for the same folder). */
export function summaryFileWriter(logdir: string, maxQueue = 10, flushMillis = 120000, filenameSuffix = '.v2'): SummaryFileWriter {
  if (typeof logdir !== 'string' || !logdir) throw new TypeError(`summaryFileWriter: logdir must be a non-empty string, received ${describe(logdir)}`);
  const key = path.resolve(logdir);
  let w = writers.get(key);
  if (!w || !fs.existsSync(w.file)) {
    w = new SummaryFileWriter(logdir, maxQueue, flushMillis, filenameSuffix);
    writers.set(key, w);
  }
  return w;
}

export interface TensorBoardCallbackArgs {
  /** 'epoch' (default): epoch_<metric> after each epoch; 'batch': also batch_<metric> after each batch. */
  updateFreq?: 'batch' | 'epoch';
  /** Every this many epochs (0 = never, the default), histograms of every weight into train/. */
  histogramFreq?: number;
}

interface WeightedLayer { name: string; weightSpecs: Array<{ name: string }>; getWeights(): Tensor[] }

export class TensorBoardCallback extends Callback {
  private train: SummaryFileWriter | null = null;
  private val: SummaryFileWriter | null = null;
  private batchesSeen = 0;
  readonly updateFreq: 'batch' | 'epoch';
  readonly histogramFreq: number;

  constructor(readonly logdir = './logs', args: TensorBoardCallbackArgs = {}) {
    super();
    const fn = 'tensorBoard';
    if (typeof logdir !== 'string' || !logdir) throw new TypeError(`${fn}: logdir must be a non-empty string, received ${describe(logdir)}`);
    if (args === null || typeof args !== 'object') throw new TypeError(`${fn}: args must be an object like {updateFreq: 'epoch'}`);
    const u = args.updateFreq ?? 'epoch';
    if (u !== 'batch' && u !== 'epoch') throw new Error(`${fn}: updateFreq must be 'batch' or 'epoch', received ${describe(u)}`);
    this.updateFreq = u;
    this.histogramFreq = checkNonNegInt(args.histogramFreq ?? 0, fn, 'histogramFreq');
  }

  onBatchEnd(_batch: number, logs?: Logs): void {
    this.batchesSeen++;
    if (this.updateFreq === 'batch') this.logMetrics(logs, 'batch_', this.batchesSeen);
  }

  onEpochEnd(epoch: number, logs?: Logs): void {
    this.logMetrics(logs, 'epoch_', epoch + 1);
    if (rank() === 0 && this.histogramFreq > 0 && epoch % this.histogramFreq === 0) this.logWeights(epoch);
  }

  onTrainEnd(): void {
    this.train?.flush();
    this.val?.flush();
  }

  private logMetrics(logs: Logs | undefined, prefix: string, step: number): void {
    if (rank() !== 0) return; // data-parallel: rank 0 writes the (global) logs
    for (const [key, v] of Object.entries(logs ?? {})) {
      if (key === 'batch' || key === 'size' || key === 'num_steps' || typeof v !== 'number') continue;
      if (key.startsWith('val_')) {
        this.val ??= summaryFileWriter(path.join(this.logdir, 'val'));
        this.val.scalar(prefix + key.slice(4), v, step);
      } else {
        this.train ??= summaryFileWriter(path.join(this.logdir, 'train'));
        this.train.scalar(prefix + key, v, step);
      }
    }
  }

  private logWeights(step: number): void {
    const layers = (this.model as unknown as { layers?: WeightedLayer[] }).layers ?? [];
    this.train ??= summaryFileWriter(path.join(this.logdir, 'train'));
    for (const l of layers) {
      const ws = l.getWeights();
      l.weightSpecs.forEach((s, i) => this.train!.histogram(`${l.name}/${s.name}`, ws[i], step));
    }
  }
}

/** tf.node.tensorBoard: a fit / fitDataset callback writing TensorBoard event files under logdir. */
export function tensorBoard(logdir = './logs', args?: TensorBoardCallbackArgs): TensorBoardCallback {
  return new TensorBoardCallback(logdir, args);
}
