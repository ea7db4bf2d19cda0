/** Output-size rules shared by convolution and pooling (TF's, so shapes match TF.js and Keras). */
import { describe } from '../../util';

export type PaddingMode = 'valid' | 'same';

export function resolvePadding(p: unknown, fn: string): PaddingMode {
  if (p === undefined) return 'valid';
  if (p === 'valid' || p === 'same') return p;
  throw new Error(`${fn}: padding must be 'valid' or 'same', received ${describe(p)}`);
}

/** valid: floor((in - effectiveK) / s) + 1; same: ceil(in / s). */
export function convOutSize(inSize: number, k: number, s: number, d: number, padding: PaddingMode): number {
  if (padding === 'same') return Math.ceil(inSize / s);
  const eff = (k - 1) * d + 1;
  return inSize < eff ? 0 : Math.floor((inSize - eff) / s) + 1;
}
