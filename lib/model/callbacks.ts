/**
 * Callbacks, TF.js-style: any object with some of onTrainBegin / onTrainEnd / onEpochBegin /
 * onEpochEnd / onBatchBegin / onBatchEnd (each may return a Promise, which fit awaits), plus the
 * built-in ones in `callbacks`.
 */
import { checkNonNegInt, checkNumber, describe } from '../util';
import type { Tensor } from '../tensor';
// These files extend Callback, so they are required when first used (an import here would be a cycle).
import type { BackupAndRestore, BackupAndRestoreArgs } from './callbacks_backup';
import type { CsvLogger, CsvLoggerArgs } from './callbacks_csv';
import { rank } from '../distributed';

export type { BackupAndRestore, BackupAndRestoreArgs, CsvLogger, CsvLoggerArgs };

export type Logs = Record<string, number>;

export interface CallbackModel {
  stopTraining: boolean;
  getWeights(): Tensor[];
  setWeights(w: Tensor[]): void;
  /** The compiled optimizer's learning rate. */
  learningRate: number;
  save(path: string): Promise<unknown>;
}

export interface CallbackParams {
  epochs: number;
  initialEpoch: number;
  samples: number;
  steps: number;
  batchSize: number;
  metrics: string[];
  verbose: number;
}

export interface CustomCallbackArgs {
  onTrainBegin?: (logs?: Logs) => void | Promise<void>;
  onTrainEnd?: (logs?: Logs) => void | Promise<void>;
  onEpochBegin?: (epoch: number, logs?: Logs) => void | Promise<void>;
  onEpochEnd?: (epoch: number, logs?: Logs) => void | Promise<void>;
  onBatchBegin?: (batch: number, logs?: Logs) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs?: Logs) => void | Promise<void>;
  setModel?: (model: CallbackModel) => void;
  setParams?: (params: CallbackParams) => void;
}

export class Callback implements CustomCallbackArgs {
  model!: CallbackModel;
  params!: CallbackParams;
  setModel(model: CallbackModel): void { this.model = model; }
  setParams(params: CallbackParams): void { this.params = params; }
}

const HOOKS = ['onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd'] as const;

/** Runs a list of callbacks in order, awaiting each hook. */
export class CallbackList {
  readonly list: CustomCallbackArgs[];
  constructor(cbs: unknown) {
    const arr = cbs === undefined || cbs === null ? [] : Array.isArray(cbs) ? cbs : [cbs];
    for (const c of arr) {
      if (!c || typeof c !== 'object' || !HOOKS.some((h) => typeof (c as Record<string, unknown>)[h] === 'function')) {
        throw new TypeError(`fit: callbacks must be objects with at least one of ${HOOKS.join(', ')}, received ${describe(c)}`);
      }
    }
    this.list = arr as CustomCallbackArgs[];
  }
  setup(model: CallbackModel, params: CallbackParams): void {
    for (const c of this.list) {
      c.setModel?.(model);
      c.setParams?.(params);
    }
  }
  async trainBegin(logs: Logs) { for (const c of this.list) await c.onTrainBegin?.(logs); }
  async trainEnd(logs: Logs) { for (const c of this.list) await c.onTrainEnd?.(logs); }
  async epochBegin(e: number, logs: Logs) { for (const c of this.list) await c.onEpochBegin?.(e, logs); }
  async epochEnd(e: number, logs: Logs) { for (const c of this.list) await c.onEpochEnd?.(e, logs); }
  async batchBegin(b: number, logs: Logs) { for (const c of this.list) await c.onBatchBegin?.(b, logs); }
  async batchEnd(b: number, logs: Logs) { for (const c of this.list) await c.onBatchEnd?.(b, logs); }
  get hasBatchHooks(): boolean {
    return this.list.some((c) => c.onBatchBegin || c.onBatchEnd);
  }
}

type Mode = 'auto' | 'min' | 'max';

/** Tracks the best value of a monitored quantity. */
class Monitor {
  best: number;
  private readonly sign: number;
  constructor(readonly key: string, mode: Mode, readonly minDelta: number, fn: string) {
    if (mode !== 'auto' && mode !== 'min' && mode !== 'max') {
      throw new Error(`${fn}: mode must be 'auto', 'min' or 'max', received ${describe(mode)}`);
    }
    const max = mode === 'max' || (mode === 'auto' && /acc|accuracy/.test(key));
    this.sign = max ? 1 : -1;
    this.best = max ? -Infinity : Infinity;
  }
  /** True when v improves on the best by more than minDelta. */
  improved(v: number): boolean {
    return this.sign * (v - this.best) > Math.abs(this.minDelta);
  }
  value(logs: Logs | undefined, fn: string): number | undefined {
    const v = logs?.[this.key];
    if (v === undefined) {
      if (!this.warned) {
        this.warned = true;
        process.emitWarning(`${fn}: the monitored quantity '${this.key}' is not in the logs (${Object.keys(logs ?? {}).join(', ')})`);
      }
      return undefined;
    }
    return v;
  }
  private warned = false;
}

export interface EarlyStoppingArgs {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: Mode;
  baseline?: number;
  /** Put back the weights of the best epoch when training ends (TF.js cannot; this library can). */
  restoreBestWeights?: boolean;
  verbose?: number;
}

export class EarlyStopping extends Callback {
  private readonly mon: Monitor;
  private readonly patience: number;
  private wait = 0;
  private bestWeights: Tensor[] | null = null;
  stoppedEpoch = -1;
  bestEpoch = -1;
  constructor(readonly args: EarlyStoppingArgs = {}) {
    super();
    this.mon = new Monitor(args.monitor ?? 'val_loss', args.mode ?? 'auto', checkNumber(args.minDelta ?? 0, 'earlyStopping', 'minDelta'), 'earlyStopping');
    this.patience = checkNonNegInt(args.patience ?? 0, 'earlyStopping', 'patience');
    if (args.baseline !== undefined) this.mon.best = args.baseline;
  }
  onTrainBegin(): void {
    this.wait = 0;
    this.bestWeights = null;
    this.stoppedEpoch = -1;
  }
  onEpochEnd(epoch: number, logs?: Logs): void {
    const v = this.mon.value(logs, 'earlyStopping');
    if (v === undefined) return;
    if (this.mon.improved(v)) {
      this.mon.best = v;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.args.restoreBestWeights) this.bestWeights = this.model.getWeights();
      return;
    }
    this.wait++;
    if (this.wait > this.patience) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
    }
  }
  onTrainEnd(): void {
    if (this.args.restoreBestWeights && this.bestWeights) {
      this.model.setWeights(this.bestWeights);
      if (this.args.verbose) console.log(`earlyStopping: restored the weights of epoch ${this.bestEpoch + 1}`);
    }
    if (this.stoppedEpoch >= 0 && this.args.verbose) console.log(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
  }
}

export interface ReduceLROnPlateauArgs {
  monitor?: string;
  factor?: number;
  patience?: number;
  mode?: Mode;
  minDelta?: number;
  cooldown?: number;
  minLr?: number;
  verbose?: number;
}

export class ReduceLROnPlateau extends Callback {
  private readonly mon: Monitor;
  private wait = 0;
  private cooldownLeft = 0;
  constructor(readonly args: ReduceLROnPlateauArgs = {}) {
    super();
    const f = args.factor ?? 0.1;
    if (!(f > 0 && f < 1)) throw new RangeError(`reduceLROnPlateau: factor must be in (0, 1), received ${f}`);
    this.mon = new Monitor(args.monitor ?? 'val_loss', args.mode ?? 'auto', args.minDelta ?? 1e-4, 'reduceLROnPlateau');
  }
  onEpochEnd(epoch: number, logs?: Logs): void {
    const v = this.mon.value(logs, 'reduceLROnPlateau');
    if (logs) logs.lr = this.model.learningRate;
    if (v === undefined) return;
    if (this.cooldownLeft > 0) this.cooldownLeft--;
    if (this.mon.improved(v)) {
      this.mon.best = v;
      this.wait = 0;
      return;
    }
    if (this.cooldownLeft > 0) return;
    this.wait++;
    if (this.wait >= (this.args.patience ?? 10)) {
      const old = this.model.learningRate;
      const lr = Math.max(old * (this.args.factor ?? 0.1), this.args.minLr ?? 0);
      if (lr < old) {
        this.model.learningRate = lr;
        if (this.args.verbose) console.log(`Epoch ${epoch + 1}: reduceLROnPlateau setting learning rate to ${lr}`);
      }
      this.cooldownLeft = this.args.cooldown ?? 0;
      this.wait = 0;
    }
  }
}

export interface ModelCheckpointArgs {
  monitor?: string;
  saveBestOnly?: boolean;
  mode?: Mode;
  verbose?: number;
}

/** Saves the model (atomically) after each epoch; `{epoch}` in the path is replaced by the epoch number. */
export class ModelCheckpoint extends Callback {
  private readonly mon: Monitor;
  constructor(readonly path: string, readonly args: ModelCheckpointArgs = {}) {
    super();
    if (typeof path !== 'string' || !path) throw new TypeError('modelCheckpoint: path must be a non-empty string');
    this.mon = new Monitor(args.monitor ?? 'val_loss', args.mode ?? 'auto', 0, 'modelCheckpoint');
  }
  async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (rank() !== 0) return; // data-parallel: rank 0 writes, the others hold the same weights
    if (this.args.saveBestOnly) {
      const v = this.mon.value(logs, 'modelCheckpoint');
      if (v === undefined || !this.mon.improved(v)) return;
      this.mon.best = v;
    }
    const p = this.path.replace(/\{epoch\}/g, String(epoch + 1));
    await this.model.save(p);
    if (this.args.verbose) console.log(`Epoch ${epoch + 1}: saved model to ${p}`);
  }
}

/** Stops training when the loss becomes NaN or infinite. */
export class TerminateOnNaN extends Callback {
  onBatchEnd(batch: number, logs?: Logs): void {
    const l = logs?.loss;
    if (l !== undefined && !Number.isFinite(l)) {
      console.log(`Batch ${batch}: invalid loss ${l}, terminating training`);
      this.model.stopTraining = true;
    }
  }
}

/** Sets the learning rate at the start of each epoch from schedule(epoch, currentLr). */
export class LearningRateScheduler extends Callback {
  constructor(readonly schedule: (epoch: number, lr: number) => number, readonly verbose = 0) {
    super();
    if (typeof schedule !== 'function') throw new TypeError('learningRateScheduler: schedule must be a function (epoch, lr) => lr');
  }
  onEpochBegin(epoch: number): void {
    const lr = this.schedule(epoch, this.model.learningRate);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new RangeError(`learningRateScheduler: the schedule returned ${describe(lr)} for epoch ${epoch}; expected a non-negative number`);
    }
    this.model.learningRate = lr;
    if (this.verbose) console.log(`Epoch ${epoch + 1}: learning rate ${lr}`);
  }
}

export const callbacks = {
  earlyStopping: (args?: EarlyStoppingArgs) => new EarlyStopping(args),
  reduceLROnPlateau: (args?: ReduceLROnPlateauArgs) => new ReduceLROnPlateau(args),
  modelCheckpoint: (path: string, args?: ModelCheckpointArgs) => new ModelCheckpoint(path, args),
  terminateOnNaN: () => new TerminateOnNaN(),
  learningRateScheduler: (schedule: (epoch: number, lr: number) => number, verbose?: number) =>
    new LearningRateScheduler(schedule, verbose),
  csvLogger: (filename: string, args?: CsvLoggerArgs): CsvLogger =>
    new (require('./callbacks_csv') as typeof import('./callbacks_csv')).CsvLogger(filename, args),
  backupAndRestore: (args: BackupAndRestoreArgs): BackupAndRestore =>
    new (require('./callbacks_backup') as typeof import('./callbacks_backup')).BackupAndRestore(args),
};
