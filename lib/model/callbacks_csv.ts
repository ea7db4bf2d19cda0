/**
 * callbacks.csvLogger(filename, {separator, append}): one CSV row per epoch, as Keras' CSVLogger
 * writes it: a header "epoch" + the first epoch's log keys sorted, then epoch index and values
 * ("NA" for a key an epoch lacks). Each row is appended as it is made, so an interrupted fit keeps
 * what it logged; append: true continues an existing file without repeating the header.
 */
import * as fs from 'fs';
import { describe } from '../util';
import { Callback, Logs } from './callbacks';
import { rank } from '../distributed';

export interface CsvLoggerArgs {
  /** Field separator (default ','). */
  separator?: string;
  /** Append to an existing file instead of overwriting it (default false). */
  append?: boolean;
}

export class CsvLogger extends Callback {
  readonly separator: string;
  readonly append: boolean;
  private keys: string[] | null = null;
  private needHeader = true;

  constructor(readonly filename: string, args: CsvLoggerArgs = {}) {
    super();
    const fn = 'csvLogger';
    if (typeof filename !== 'string' || !filename) throw new TypeError(`${fn}: filename must be a non-empty string, received ${describe(filename)}`);
    if (args === null || typeof args !== 'object') throw new TypeError(`${fn}: args must be an object like {separator: ',', append: false}`);
    const sep = args.separator ?? ',';
    if (typeof sep !== 'string' || sep.length === 0 || /["\r\n]/.test(sep)) {
      throw new TypeError(`${fn}: separator must be a non-empty string without quotes or newlines, received ${describe(sep)}`);
    }
    if (args.append !== undefined && typeof args.append !== 'boolean') throw new TypeError(`${fn}: append must be a boolean, received ${describe(args.append)}`);
    this.separator = sep;
    this.append = args.append ?? false;
  }

  onTrainBegin(): void {
    this.keys = null;
    if (rank() !== 0) return; // data-parallel: rank 0 writes the (global) logs
    if (this.append) {
      let size = 0;
      try { size = fs.statSync(this.filename).size; } catch { /* a new file */ }
      this.needHeader = size === 0;
    } else {
      fs.writeFileSync(this.filename, '');
      this.needHeader = true;
    }
  }

  onEpochEnd(epoch: number, logs?: Logs): void {
    if (rank() !== 0) return;
    const l = logs ?? {};
    this.keys ??= Object.keys(l).sort();
    let text = '';
    if (this.needHeader) {
      text += this.row(['epoch', ...this.keys]);
      this.needHeader = false;
    }
    text += this.row([String(epoch), ...this.keys.map((k) => (typeof l[k] === 'number' ? String(l[k]) : 'NA'))]);
    fs.appendFileSync(this.filename, text);
  }

  private row(fields: string[]): string {
    const q = (f: string) => (f.includes(this.separator) || /["\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f);
    return fields.map(q).join(this.separator) + '\n';
  }
}
