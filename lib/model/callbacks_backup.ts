/**
 * callbacks.backupAndRestore({backupDir, saveFreq, deleteCheckpoint}), as Keras' BackupAndRestore:
 * after every completed epoch it saves the model (weights and optimizer state, through io.toBuffer
 * with includeOptimizer) and the epoch reached into backupDir; a fit that starts with a backup
 * present loads it and continues at the next epoch (History then holds only the epochs run). When
 * fit ends normally the backup is deleted (unless deleteCheckpoint is false); a fit that throws or
 * is aborted mid-epoch keeps it. Not saved: the engine's dropout RNG state and learning rates set by
 * other callbacks, so a resumed fit of a model with dropout differs from an uninterrupted one.
 *
 * backupDir holds model-<epoch>.bin and state.json ({"epoch": <last completed epoch>, "model": file}),
 * each written to a temp file, synced and renamed; state.json is renamed last, so a crash at any
 * point leaves the previous complete backup.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { describe } from '../util';
import { Callback, Logs } from './callbacks';
import type { Sequential } from './sequential';
import { loadLayersModel, toBuffer } from './serialization';
import { rank } from '../distributed';

export interface BackupAndRestoreArgs {
  /** Folder for the backup (created if missing). Keras spelling backup_dir is accepted. */
  backupDir: string;
  /** When to save: only 'epoch' (after every epoch) is supported. */
  saveFreq?: 'epoch';
  /** Delete the backup when fit finishes normally (default true). */
  deleteCheckpoint?: boolean;
}

export const BACKUP_STATE = 'state.json';
const FORMAT = 'cnn-node backup 1';

interface BackupState { format: string; epoch: number; model: string }

function writeAtomicSync(target: string, data: Uint8Array | string): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, target);
}

export class BackupAndRestore extends Callback {
  readonly backupDir: string;
  readonly deleteCheckpoint: boolean;
  /** The epoch a fit resumed at (-1 when it started fresh), for logs and tests. */
  resumedAt = -1;
  private stepsThisEpoch = 0;
  private epochComplete = true;

  constructor(args: BackupAndRestoreArgs) {
    super();
    const fn = 'backupAndRestore';
    if (args === null || typeof args !== 'object') throw new TypeError(`${fn}: expected {backupDir: 'folder'}, received ${describe(args)}`);
    const a = args as BackupAndRestoreArgs & { backup_dir?: string; save_freq?: unknown; delete_checkpoint?: unknown };
    const dir = a.backupDir ?? a.backup_dir;
    if (typeof dir !== 'string' || !dir) throw new TypeError(`${fn}: backupDir must be a non-empty string, received ${describe(dir)}`);
    const freq = a.saveFreq ?? a.save_freq ?? 'epoch';
    if (freq !== 'epoch') throw new Error(`${fn}: saveFreq must be 'epoch' (saving every N batches is not supported), received ${describe(freq)}`);
    const del = a.deleteCheckpoint ?? a.delete_checkpoint ?? true;
    if (typeof del !== 'boolean') throw new TypeError(`${fn}: deleteCheckpoint must be a boolean, received ${describe(del)}`);
    this.backupDir = dir;
    this.deleteCheckpoint = del;
  }

  private get seq(): Sequential {
    return this.model as unknown as Sequential;
  }

  async onTrainBegin(): Promise<void> {
    this.resumedAt = -1;
    this.epochComplete = true;
    const state = this.readState();
    if (!state) return;
    const where = `backupAndRestore: ${path.join(this.backupDir, state.model)}`;
    const saved = await loadLayersModel(fs.readFileSync(path.join(this.backupDir, state.model)));
    try {
      const m = this.seq;
      const mine = m.getOptimizerState();
      const theirs = saved.getOptimizerState();
      if (!mine || !theirs) throw new Error(`${where}: the backup holds no optimizer state`);
      if (mine.className !== theirs.className) throw new Error(`${where}: the backup was made with ${theirs.className}, this model is compiled with ${mine.className}`);
      try {
        m.setWeights(saved.getWeights());
        m.setOptimizerState(theirs.iterations, theirs.slots);
      } catch (e) {
        throw new Error(`${where} does not fit this model: ${(e as Error).message}`);
      }
    } finally {
      saved.dispose();
    }
    this.resumedAt = state.epoch + 1;
    this.seq.resumeEpoch = this.resumedAt;
  }

  onEpochBegin(): void {
    this.stepsThisEpoch = 0;
    this.epochComplete = false;
  }

  onBatchEnd(): void {
    this.stepsThisEpoch++;
  }

  async onEpochEnd(epoch: number, _logs?: Logs): Promise<void> {
    // fit reports a partial epoch when aborted mid-epoch (signal); that epoch is not backed up.
    // (fitDataset's step count is only a hint, so there every reported epoch counts.)
    const steps = this.params && this.params.samples > 0 ? this.params.steps : 0;
    if (steps > 0 && this.stepsThisEpoch < steps) return;
    this.epochComplete = true;
    // data-parallel: rank 0 writes the backup; every rank restores from it (a shared backupDir)
    if (rank() !== 0) return;
    const bytes = await toBuffer(this.seq, { includeOptimizer: true });
    fs.mkdirSync(this.backupDir, { recursive: true });
    const file = `model-${epoch}.bin`;
    writeAtomicSync(path.join(this.backupDir, file), bytes);
    const state: BackupState = { format: FORMAT, epoch, model: file };
    writeAtomicSync(path.join(this.backupDir, BACKUP_STATE), JSON.stringify(state));
    for (const f of fs.readdirSync(this.backupDir)) {
      if (/^model-\d+\.bin$/.test(f) && f !== file) fs.rmSync(path.join(this.backupDir, f), { force: true });
    }
  }

  onTrainEnd(): void {
    if (!this.deleteCheckpoint || !this.epochComplete || rank() !== 0) return;
    fs.rmSync(path.join(this.backupDir, BACKUP_STATE), { force: true });
    for (const f of fs.existsSync(this.backupDir) ? fs.readdirSync(this.backupDir) : []) {
      if (/^model-\d+\.bin$/.test(f)) fs.rmSync(path.join(this.backupDir, f), { force: true });
    }
    try { fs.rmdirSync(this.backupDir); } catch { /* not empty (the user's files) or already gone */ }
  }

  /** The saved state, null when there is no backup; a damaged state file is an error naming it. */
  private readState(): BackupState | null {
    const p = path.join(this.backupDir, BACKUP_STATE);
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new Error(`backupAndRestore: cannot read ${p}: ${(e as Error).message}`);
    }
    let s: Partial<BackupState>;
    try {
      s = JSON.parse(text);
    } catch (e) {
      throw new Error(`backupAndRestore: ${p} is not valid JSON: ${(e as Error).message}`);
    }
    if (!s || s.format !== FORMAT || !Number.isInteger(s.epoch) || s.epoch! < 0 || typeof s.model !== 'string' || !/^model-\d+\.bin$/.test(s.model)) {
      throw new Error(`backupAndRestore: ${p} is not a backup state written by this library`);
    }
    return s as BackupState;
  }
}
