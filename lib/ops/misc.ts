/** topk, cumsum (exclusive / reverse), print. */
import type { Tensor } from '../tensor';
import { TensorOrLike, View, convert, make, newData } from './convert';
import { parseAxis, transposeData } from './layout';

/** The k largest values along the last axis and their int32 indices (ties: lower index first). */
export function topk(x: TensorOrLike, k = 1, sorted = true): { values: Tensor; indices: Tensor } {
  const v = convert(x, 'x', 'topk');
  const r = v.shape.length;
  if (r === 0) throw new Error('topk() expects the input to be of rank 1 or higher');
  const n = v.shape[r - 1];
  if (!Number.isInteger(k) || k < 0) throw new Error(`'k' passed to topk() must be >= 0 but got ${k}`);
  if (k > n) throw new Error(`'k' passed to topk() must be <= the last dimension (${n}) but got ${k}`);
  const rows = n ? v.size / n : 0;
  const vals = newData(v.dtype, rows * k), idx = new Int32Array(rows * k);
  const order = new Array<number>(n);
  for (let row = 0; row < rows; row++) {
    const off = row * n;
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => v.values[off + b] - v.values[off + a] || a - b);
    const top = order.slice(0, k);
    if (!sorted) top.sort((a, b) => a - b);
    for (let j = 0; j < k; j++) { idx[row * k + j] = top[j]; vals[row * k + j] = v.values[off + top[j]]; }
  }
  const shape = [...v.shape.slice(0, -1), k];
  return { values: make(vals, shape, v.dtype), indices: make(idx, shape, 'int32') };
}

/** Running sums along `axis`; exclusive leaves out the element itself, reverse runs from the end. */
export function cumsum(x: TensorOrLike, axis = 0, exclusive = false, reverse = false): Tensor {
  return scan(x, axis, exclusive, reverse, 'cumsum', 0, (s, e) => s + e);
}

/** Running products along `axis` (exclusive / reverse as cumsum). */
export function cumprod(x: TensorOrLike, axis = 0, exclusive = false, reverse = false): Tensor {
  return scan(x, axis, exclusive, reverse, 'cumprod', 1, (s, e) => s * e);
}

function scan(x: TensorOrLike, axis: number, exclusive: boolean, reverse: boolean, fn: string, init: number, f: (s: number, e: number) => number): Tensor {
  const v = convert(x, 'x', fn);
  const r = v.shape.length;
  if (r === 0) throw new Error(`${fn}: x must have at least rank 1, but got a scalar`);
  const a = parseAxis(axis, r, fn);
  const dt = v.dtype === 'float32' ? 'float32' : 'int32';
  // move axis last, scan rows, move back
  const perm = [...Array(r).keys()].filter((i) => i !== a).concat(a);
  const t = transposeData(v.values, v.shape, perm, v.dtype);
  const n = v.shape[a];
  const out = newData(dt, v.size);
  for (let off = 0; off < v.size; off += n) {
    let s = init;
    for (let j = 0; j < n; j++) {
      const i = off + (reverse ? n - 1 - j : j);
      if (exclusive) { out[i] = s; s = f(s, t.data[i]); } else { s = f(s, t.data[i]); out[i] = s; }
    }
  }
  const inv = perm.map((_, i) => perm.indexOf(i));
  const back = transposeData(out, t.shape, inv, dt);
  return make(back.data, v.shape.slice(), dt);
}

function fmt(x: number, dtype: string): string {
  if (dtype === 'bool') return x ? 'true' : 'false';
  return String(dtype === 'float32' && Number.isFinite(x) ? parseFloat(x.toFixed(7)) : x);
}

/** TF.js-like text of a tensor's values (nested brackets, columns padded to a common width). */
export function formatValues(v: View): string {
  const strs = Array.from(v.values, (e) => fmt(e, v.dtype));
  const r = v.shape.length;
  if (r === 0) return strs[0] ?? '';
  const w = strs.reduce((m, s) => Math.max(m, s.length), 0);
  const pad = (s: string) => s + ' '.repeat(w - s.length);
  const build = (dim: number, off: number, indent: string): string => {
    const n = v.shape[dim];
    if (dim === r - 1) {
      const row: string[] = [];
      for (let i = 0; i < n; i++) row.push(i === n - 1 ? strs[off + i] : pad(strs[off + i]));
      return `[${row.join(', ')}]`;
    }
    const step = v.shape.slice(dim + 1).reduce((p, d) => p * d, 1);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(build(dim + 1, off + i * step, indent + ' '));
    return `[${parts.join(`,${'\n'.repeat(r - dim - 1)}${indent} `)}]`;
  };
  return build(0, 0, '    ');
}

/** Prints the tensor as TF.js does (verbose adds dtype, rank and shape). */
export function print(x: TensorOrLike, verbose = false): void {
  const v = convert(x, 'x', 'print');
  const lines = ['Tensor'];
  if (verbose) lines.push(`  dtype: ${v.dtype}`, `  rank: ${v.shape.length}`, `  shape: [${v.shape.join(',')}]`, '  values:');
  lines.push(`    ${formatValues(v)}`);
  console.log(lines.join('\n'));
}
