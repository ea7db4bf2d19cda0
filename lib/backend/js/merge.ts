// Merge kernels of graph nodes (the twin of native/kernels/merge.h): elementwise merges of k
// same-shaped inputs, concatenation on one per-sample axis, the dot product of two vectors.
// Pure functions over caller-owned buffers; gradients are overwritten, never accumulated.
//
// Elementwise (len floats each):
//   add        y = sum_i x_i               dx_i = dy
//   subtract   y = x_0 - x_1 (two inputs)  dx_0 = dy, dx_1 = -dy
//   multiply   y = prod_i x_i              dx_i = dy * prod_{j != i} x_j
//   average    y = sum_i x_i / k           dx_i = dy / k
//   maximum    y = max_i x_i               dx_i = dy where input i is the FIRST maximal one, else 0
//   minimum    y = min_i x_i               likewise with the first minimal input
// Concatenate: each of `outer` rows of the output is the inputs' rows (inner_i floats) side by side.
// Dot: y[r] = a[r]·b[r] over F features; with normalize, of a / |a| and b / |b| where
//   |v| = sqrt(max(sum v², 1e-12)) (Keras' l2_normalize).
import { LayerKind } from '../types';

/** Elementwise merge kinds. */
export type ElementwiseKind = LayerKind.Add | LayerKind.Subtract | LayerKind.Multiply | LayerKind.Average |
  LayerKind.Maximum | LayerKind.Minimum;

export function isElementwiseMerge(k: LayerKind): k is ElementwiseKind {
  return k >= LayerKind.Add && k <= LayerKind.Minimum;
}

export function mergeForward(kind: ElementwiseKind, out: Float32Array, ins: Float32Array[], len: number): void {
  const k = ins.length, x0 = ins[0];
  switch (kind) {
    case LayerKind.Subtract: {
      const x1 = ins[1];
      for (let e = 0; e < len; e++) out[e] = x0[e] - x1[e];
      return;
    }
    case LayerKind.Maximum:
    case LayerKind.Minimum: {
      const max = kind === LayerKind.Maximum;
      for (let e = 0; e < len; e++) {
        let v = x0[e];
        for (let i = 1; i < k; i++) {
          const w = ins[i][e];
          if (max ? w > v : w < v) v = w;
        }
        out[e] = v;
      }
      return;
    }
    case LayerKind.Multiply:
      for (let e = 0; e < len; e++) {
        let v = x0[e];
        for (let i = 1; i < k; i++) v = Math.fround(v * ins[i][e]);
        out[e] = v;
      }
      return;
    default: { // Add, Average: summed in input order, in float32
      for (let e = 0; e < len; e++) {
        let v = x0[e];
        for (let i = 1; i < k; i++) v = Math.fround(v + ins[i][e]);
        out[e] = kind === LayerKind.Average ? v / k : v;
      }
    }
  }
}

/** dins[i] (null = not needed) from dout; ins are the forward inputs (read by multiply / max / min). */
export function mergeBackward(kind: ElementwiseKind, dins: (Float32Array | null)[], dout: Float32Array,
                              ins: Float32Array[], len: number): void {
  const k = ins.length;
  switch (kind) {
    case LayerKind.Add:
    case LayerKind.Average: {
      const s = kind === LayerKind.Average ? 1 / k : 1;
      for (const d of dins) {
        if (d === null) continue;
        if (s === 1) d.set(dout.subarray(0, len));
        else for (let e = 0; e < len; e++) d[e] = dout[e] * Math.fround(s);
      }
      return;
    }
    case LayerKind.Subtract:
      if (dins[0] !== null) dins[0].set(dout.subarray(0, len));
      if (dins[1] !== null) { const d = dins[1]; for (let e = 0; e < len; e++) d[e] = -dout[e]; }
      return;
    case LayerKind.Multiply:
      for (let i = 0; i < k; i++) {
        const d = dins[i];
        if (d === null) continue;
        for (let e = 0; e < len; e++) {
          let v = dout[e];
          for (let j = 0; j < k; j++) if (j !== i) v = Math.fround(v * ins[j][e]);
          d[e] = v;
        }
      }
      return;
    default: { // Maximum, Minimum: to the first extreme input
      const max = kind === LayerKind.Maximum;
      for (const d of dins) if (d !== null) d.fill(0, 0, len);
      for (let e = 0; e < len; e++) {
        let v = ins[0][e], w = 0;
        for (let i = 1; i < k; i++) {
          const u = ins[i][e];
          if (max ? u > v : u < v) { v = u; w = i; }
        }
        const d = dins[w];
        if (d !== null) d[e] = dout[e];
      }
    }
  }
}

/** out (outer, sum inner) = the inputs (outer, inner[i]) side by side. */
export function concatForward(out: Float32Array, ins: Float32Array[], outer: number, inner: number[]): void {
  let total = 0;
  for (const s of inner) total += s;
  let off = 0;
  for (let i = 0; i < ins.length; i++) {
    const x = ins[i], s = inner[i];
    for (let r = 0; r < outer; r++) out.set(x.subarray(r * s, (r + 1) * s), r * total + off);
    off += s;
  }
}

/** dins[i] (outer, inner[i]) = its columns of dout; null entries are skipped. */
export function concatBackward(dins: (Float32Array | null)[], dout: Float32Array, outer: number, inner: number[]): void {
  let total = 0;
  for (const s of inner) total += s;
  let off = 0;
  for (let i = 0; i < dins.length; i++) {
    const d = dins[i], s = inner[i];
    if (d !== null) for (let r = 0; r < outer; r++) d.set(dout.subarray(r * total + off, r * total + off + s), r * s);
    off += s;
  }
}

const L2_EPS = 1e-12;

function norm(v: Float32Array, o: number, F: number): [number, boolean] {
  let ss = 0;
  for (let f = 0; f < F; f++) ss += v[o + f] * v[o + f];
  return ss < L2_EPS ? [Math.sqrt(L2_EPS), false] : [Math.sqrt(ss), true];
}

/** out (rows) = a[r]·b[r] over F features (accumulated in double), optionally of the normalised vectors. */
export function dotForward(out: Float32Array, a: Float32Array, b: Float32Array, rows: number, F: number,
                           normalize: boolean): void {
  for (let r = 0; r < rows; r++) {
    const o = r * F;
    let s = 0;
    for (let f = 0; f < F; f++) s += a[o + f] * b[o + f];
    if (normalize) s /= norm(a, o, F)[0] * norm(b, o, F)[0];
    out[r] = s;
  }
}

/** da, db (rows, F) from dout (rows); either may be null. */
export function dotBackward(da: Float32Array | null, db: Float32Array | null, dout: Float32Array, a: Float32Array,
                            b: Float32Array, rows: number, F: number, normalize: boolean): void {
  for (let r = 0; r < rows; r++) {
    const o = r * F, g = dout[r];
    if (!normalize) {
      if (da !== null) for (let f = 0; f < F; f++) da[o + f] = g * b[o + f];
      if (db !== null) for (let f = 0; f < F; f++) db[o + f] = g * a[o + f];
      continue;
    }
    // y = â·b̂ with â = a / |a|: dy/da = (b̂ - y â) / |a| (the y â term only while |a|² >= eps)
    const [na, va] = norm(a, o, F), [nb, vb] = norm(b, o, F);
    let y = 0;
    for (let f = 0; f < F; f++) y += a[o + f] * b[o + f];
    y /= na * nb;
    for (let f = 0; f < F; f++) {
      const ah = a[o + f] / na, bh = b[o + f] / nb;
      if (da !== null) da[o + f] = g * (bh - (va ? y * ah : 0)) / na;
      if (db !== null) db[o + f] = g * (ah - (vb ? y * bh : 0)) / nb;
    }
  }
}
