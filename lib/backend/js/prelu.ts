/** PReLU kernels; twin of native/kernels/prelu.cc (alpha (aH, aW, aC), 1 on shared axes). */

const aidx = (y: number, x: number, c: number, aH: number, aW: number, aC: number): number =>
  ((aH === 1 ? 0 : y) * aW + (aW === 1 ? 0 : x)) * aC + (aC === 1 ? 0 : c);

export function preluForward(out: Float32Array, x: Float32Array, alpha: Float32Array, N: number, H: number, W: number,
  C: number, aH: number, aW: number, aC: number): void {
  let e = 0;
  for (let n = 0; n < N; n++) for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) for (let c = 0; c < C; c++, e++) {
    const v = x[e];
    out[e] = v > 0 ? v : Math.fround(alpha[aidx(y, xx, c, aH, aW, aC)] * v);
  }
}

export function preluBackward(dx: Float32Array | null, dalpha: Float32Array | null, dy: Float32Array, x: Float32Array,
  alpha: Float32Array, N: number, H: number, W: number, C: number, aH: number, aW: number, aC: number): void {
  if (dalpha) dalpha.fill(0, 0, aH * aW * aC);
  let e = 0;
  for (let n = 0; n < N; n++) for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) for (let c = 0; c < C; c++, e++) {
    const v = x[e], a = aidx(y, xx, c, aH, aW, aC);
    if (dx) dx[e] = v > 0 ? dy[e] : Math.fround(alpha[a] * dy[e]);
    if (dalpha && !(v > 0)) dalpha[a] = Math.fround(dalpha[a] + Math.fround(dy[e] * v));
  }
}
