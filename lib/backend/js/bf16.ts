/**
 * bfloat16 rounding for the TypeScript engine's mixed-precision layers, bit for bit the native
 * bf16_from_f32 (native/kernels/bf16/bf16.h): round to nearest, ties to even; NaN stays NaN (made
 * quiet); Inf stays Inf; finite values past the largest bf16 round to Inf; denormals round like
 * any other value. The result is an fp32 whose low 16 bits are zero.
 */

/** dst[i] = src[i] rounded to bf16, for i < n (default: src.length); dst may be src. */
export function bf16RoundInto(dst: Float32Array, src: Float32Array, n = src.length): void {
  const su = new Uint32Array(src.buffer, src.byteOffset, n);
  const du = new Uint32Array(dst.buffer, dst.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const u = su[i];
    // (u & 0x7fffffff) > 0x7f800000: a NaN. Numbers, not int32: u + 0x8000 never wraps here.
    du[i] = (u & 0x7fffffff) > 0x7f800000 ? (u | 0x00400000) & 0xffff0000 : (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
  }
}

/** A new array of src rounded to bf16. */
export function bf16Rounded(src: Float32Array): Float32Array {
  const out = new Float32Array(src.length);
  bf16RoundInto(out, src);
  return out;
}

/** The bf16 bits (uint16) of one number (first rounded to fp32). */
export function bf16Bits(x: number): number {
  const f = new Float32Array([x]);
  bf16RoundInto(f, f);
  return new Uint32Array(f.buffer)[0] >>> 16;
}
