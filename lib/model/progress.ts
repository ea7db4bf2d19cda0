/**
 * Keras-style progress display for verbose = 1: one bar per epoch (steps, elapsed, ETA, loss and
 * metrics), redrawn in place on a TTY and printed as one line per epoch otherwise.
 */
import type { Logs } from './callbacks';

export interface ProgressStream {
  isTTY?: boolean;
  write(s: string): unknown;
}

export class ProgressBar {
  private start = 0;
  private lastDraw = 0;
  constructor(private readonly steps: number, private readonly epochs: number, private readonly out: ProgressStream = process.stdout) {}

  epochBegin(epoch: number): void {
    this.start = Date.now();
    this.lastDraw = 0;
    if (this.out.isTTY) this.out.write(`Epoch ${epoch + 1}/${this.epochs}\n`);
  }

  /** Redraws at most every 100 ms on a TTY. */
  batchEnd(step: number, logs: Logs): void {
    if (!this.out.isTTY) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && step + 1 < this.steps) return;
    this.lastDraw = now;
    const el = (now - this.start) / 1000;
    const eta = step + 1 < this.steps ? (el / (step + 1)) * (this.steps - step - 1) : 0;
    this.out.write(`\r${this.bar(step + 1)} - ${fmtTime(el)} - ETA ${fmtTime(eta)}${fmtLogs(logs)}\x1b[K`);
  }

  epochEnd(epoch: number, logs: Logs): void {
    const el = (Date.now() - this.start) / 1000;
    const perStep = this.steps ? (el * 1000) / this.steps : 0;
    const line = `${this.bar(this.steps)} - ${fmtTime(el)} ${perStep.toFixed(0)}ms/step${fmtLogs(logs)}`;
    if (this.out.isTTY) this.out.write(`\r${line}\x1b[K\n`);
    else this.out.write(`Epoch ${epoch + 1}/${this.epochs} ${line}\n`);
  }

  private bar(done: number): string {
    const width = 30;
    const filled = this.steps ? Math.round((done / this.steps) * width) : width;
    const arrow = done < this.steps ? '>' : '=';
    const body = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? arrow : '') + '.'.repeat(width - filled);
    const w = String(this.steps).length;
    return `${String(done).padStart(w)}/${this.steps} [${body}]`;
  }
}

function fmtTime(s: number): string {
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${s.toFixed(1)}s`;
}

function fmtLogs(logs: Logs): string {
  return Object.entries(logs)
    .filter(([k]) => k !== 'batch' && k !== 'size')
    .map(([k, v]) => ` - ${k}: ${Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(3) : v.toFixed(4)}`)
    .join('');
}
