/** Spatial zero padding of NHWC tensors (ZeroPadding2D) and its gradient; twin of native/kernels/padding.cc. */

/** out (N, H + t + b, W + l + r, C): x in the middle, zeros around. */
export function pad2dForward(out: Float32Array, x: Float32Array, N: number, H: number, W: number, C: number,
  t: number, b: number, l: number, r: number): void {
  const OH = H + t + b, OW = W + l + r, row = W * C, orow = OW * C;
  out.fill(0, 0, N * OH * orow);
  for (let i = 0; i < N; i++) {
    for (let y = 0; y < H; y++) {
      const src = (i * H + y) * row;
      out.set(x.subarray(src, src + row), (i * OH + y + t) * orow + l * C);
    }
  }
}

/** dx (N, H, W, C) = the middle of dy (N, H + t + b, W + l + r, C). */
export function pad2dBackward(dx: Float32Array, dy: Float32Array, N: number, H: number, W: number, C: number,
  t: number, b: number, l: number, r: number): void {
  const OH = H + t + b, OW = W + l + r, row = W * C, orow = OW * C;
  for (let i = 0; i < N; i++) {
    for (let y = 0; y < H; y++) {
      const src = (i * OH + y + t) * orow + l * C;
      dx.set(dy.subarray(src, src + row), (i * H + y) * row);
    }
  }
}
