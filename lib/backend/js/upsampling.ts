/**
 * UpSampling2D of NHWC tensors by integer factors; twin of native/kernels/upsampling.cc (nearest,
 * and bilinear as TF.js computes it: source row y / sh with no half-pixel offset, clamped).
 */
export const enum Interp { Nearest = 0, Bilinear = 1 }

function tap(o: number, inSize: number, s: number): [number, number, number] {
  const src = o * (inSize / (inSize * s));
  const i0 = Math.min(Math.floor(src), inSize - 1);
  return [i0, Math.min(i0 + 1, inSize - 1), Math.fround(src - i0)];
}

export function upsample2dForward(out: Float32Array, x: Float32Array, N: number, H: number, W: number, C: number,
  sh: number, sw: number, mode: Interp): void {
  const OH = H * sh, OW = W * sw, f = Math.fround;
  for (let n = 0; n < N; n++) {
    const xi = n * H * W * C, o = n * OH * OW * C;
    for (let y = 0; y < OH; y++) {
      for (let xx = 0; xx < OW; xx++) {
        const op = o + (y * OW + xx) * C;
        if (mode === Interp.Nearest) {
          const src = xi + (Math.floor(y / sh) * W + Math.floor(xx / sw)) * C;
          out.set(x.subarray(src, src + C), op);
          continue;
        }
        const [y0, y1, fy] = tap(y, H, sh), [x0, x1, fx] = tap(xx, W, sw);
        const tl = xi + (y0 * W + x0) * C, tr = xi + (y0 * W + x1) * C, bl = xi + (y1 * W + x0) * C, br = xi + (y1 * W + x1) * C;
        for (let c = 0; c < C; c++) {
          const top = f(x[tl + c] + f(f(x[tr + c] - x[tl + c]) * fx));
          const bottom = f(x[bl + c] + f(f(x[br + c] - x[bl + c]) * fx));
          out[op + c] = f(top + f(f(bottom - top) * fy));
        }
      }
    }
  }
}

export function upsample2dBackward(dx: Float32Array, dy: Float32Array, N: number, H: number, W: number, C: number,
  sh: number, sw: number, mode: Interp): void {
  const OH = H * sh, OW = W * sw, f = Math.fround;
  dx.fill(0, 0, N * H * W * C);
  for (let n = 0; n < N; n++) {
    const d = n * H * W * C, g = n * OH * OW * C;
    for (let y = 0; y < OH; y++) {
      for (let xx = 0; xx < OW; xx++) {
        const gp = g + (y * OW + xx) * C;
        if (mode === Interp.Nearest) {
          const dp = d + (Math.floor(y / sh) * W + Math.floor(xx / sw)) * C;
          for (let c = 0; c < C; c++) dx[dp + c] += dy[gp + c];
          continue;
        }
        const [y0, y1, fy] = tap(y, H, sh), [x0, x1, fx] = tap(xx, W, sw);
        const tl = d + (y0 * W + x0) * C, tr = d + (y0 * W + x1) * C, bl = d + (y1 * W + x0) * C, br = d + (y1 * W + x1) * C;
        const wy1 = fy, wy0 = f(1 - fy), wx1 = fx, wx0 = f(1 - fx);
        for (let c = 0; c < C; c++) {
          const v = dy[gp + c];
          dx[tl + c] += f(f(v * wy0) * wx0);
          dx[tr + c] += f(f(v * wy0) * wx1);
          dx[bl + c] += f(f(v * wy1) * wx0);
          dx[br + c] += f(f(v * wy1) * wx1);
        }
      }
    }
  }
}
