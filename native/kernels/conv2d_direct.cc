// Direct convolution for few input channels (see conv2d_direct.h).
//
// A window's taps sit at fixed offsets from its top-left input float: off[k] = (kh*DH*W + kw*DW)*C + c
// for k = (kh, kw, c), the row order of the HWIO weight matrix. So, without any im2col:
//   forward: a block of PB pixels x G groups of 8 channels lives in PB*G ymm accumulators; each tap
//            broadcasts one input float per pixel and FMAs it with G weight vectors;
//   dweight: a block of KB taps x G channel groups lives in KB*G accumulators; each pixel loads its
//            G gradient vectors once and FMAs them with KB broadcast input floats.
// Block sizes keep accumulators + operands within the 16 ymm registers. Compiled for AVX2+FMA by
// function attributes only (the file builds without -mavx2; conv2d_direct_applies checks the CPU).
#include "conv2d_direct.h"

#include <algorithm>
#include <cstring>

#include "cpu_features.h"
#include "gemm/sgemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CNN_DIRECT 1
#define CNN_AVX2 __attribute__((target("avx2,fma")))
#define CNN_INLINE __attribute__((always_inline)) inline
#else
#define CNN_DIRECT 0
#endif

namespace cnn {

namespace {

constexpr int kMaxTaps = 256;

bool shape_fits(const Conv2DDims& d) {
  const int64_t K = (int64_t)d.KH * d.KW * d.C;
  return d.OC % 8 == 0 && (int64_t)d.C * d.KW <= 16 && K <= kMaxTaps;
}

// off (K): each tap's offset in floats from its window's top-left input float.
int tap_offsets(int* off, const Conv2DDims& d) {
  int k = 0;
  for (int kh = 0; kh < d.KH; ++kh)
    for (int kw = 0; kw < d.KW; ++kw)
      for (int c = 0; c < d.C; ++c) off[k++] = (kh * d.DH * d.W + kw * d.DW) * d.C + c;
  return k;
}

#if CNN_DIRECT

// PB pixels (input stride xs floats apart, outputs OC apart) x G channel groups: o = x·w + b.
template <int G, int PB>
CNN_AVX2 CNN_INLINE void fwd_block(float* o, int OC, const float* x, int xs, const int* off, int K, const float* w,
                                   const float* b, bool relu) {
  __m256 acc[PB][G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    const __m256 bv = b ? _mm256_loadu_ps(b + 8 * g) : _mm256_setzero_ps();
#pragma GCC unroll 12
    for (int p = 0; p < PB; ++p) acc[p][g] = bv;
  }
  for (int k = 0; k < K; ++k) {
    const float* wk = w + (size_t)k * OC;
    __m256 wv[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) wv[g] = _mm256_loadu_ps(wk + 8 * g);
    const int ok = off[k];
#pragma GCC unroll 12
    for (int p = 0; p < PB; ++p) {
      const __m256 xb = _mm256_broadcast_ss(x + p * xs + ok);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) acc[p][g] = _mm256_fmadd_ps(xb, wv[g], acc[p][g]);
    }
  }
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 12
  for (int p = 0; p < PB; ++p)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) _mm256_storeu_ps(o + p * OC + 8 * g, relu ? _mm256_max_ps(acc[p][g], zero) : acc[p][g]);
}

// Channels [oc0, oc0 + 8G) of every output pixel.
template <int G, int PB>
CNN_AVX2 void fwd_groups(float* out, const float* inp, const float* weight, const float* bias, const Conv2DDims& d,
                         const int* off, int K, int oc0, bool relu) {
  const int OC = d.OC, xs = d.SW * d.C;
  const float* w = weight + oc0;
  const float* b = bias ? bias + oc0 : nullptr;
  for (int n = 0; n < d.N; ++n)
    for (int oh = 0; oh < d.OH; ++oh) {
      const float* xrow = inp + ((size_t)n * d.H + (size_t)oh * d.SH) * d.W * d.C;
      float* orow = out + ((size_t)n * d.OH + oh) * d.OW * OC + oc0;
      int ow = 0;
      for (; ow + PB <= d.OW; ow += PB) fwd_block<G, PB>(orow + (size_t)ow * OC, OC, xrow + (size_t)ow * xs, xs, off, K, w, b, relu);
      for (; ow < d.OW; ++ow) fwd_block<G, 1>(orow + (size_t)ow * OC, OC, xrow + (size_t)ow * xs, xs, off, K, w, b, relu);
    }
}

// KB taps x G channel groups of dweight, summed over every output pixel.
template <int G, int KB>
CNN_AVX2 CNN_INLINE void dw_block(float* dw, const float* inp, const float* dout, const Conv2DDims& d, const int* off,
                                  bool accumulate) {
  const int OC = d.OC, xs = d.SW * d.C;
  __m256 acc[KB][G];
#pragma GCC unroll 12
  for (int k = 0; k < KB; ++k)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) acc[k][g] = accumulate ? _mm256_loadu_ps(dw + (size_t)k * OC + 8 * g) : _mm256_setzero_ps();
  const float* dy = dout;
  for (int n = 0; n < d.N; ++n)
    for (int oh = 0; oh < d.OH; ++oh) {
      const float* x = inp + ((size_t)n * d.H + (size_t)oh * d.SH) * d.W * d.C;
      for (int ow = 0; ow < d.OW; ++ow, x += xs, dy += OC) {
        __m256 dv[G];
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) dv[g] = _mm256_loadu_ps(dy + 8 * g);
#pragma GCC unroll 12
        for (int k = 0; k < KB; ++k) {
          const __m256 xb = _mm256_broadcast_ss(x + off[k]);
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) acc[k][g] = _mm256_fmadd_ps(xb, dv[g], acc[k][g]);
        }
      }
    }
#pragma GCC unroll 12
  for (int k = 0; k < KB; ++k)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) _mm256_storeu_ps(dw + (size_t)k * OC + 8 * g, acc[k][g]);
}

// Channels [oc0, oc0 + 8G): taps in blocks of KB, the last block shorter.
template <int G, int KB>
CNN_AVX2 void dw_groups(float* dweight, const float* inp, const float* dout, const Conv2DDims& d, const int* off, int K,
                        int oc0, bool accumulate) {
  int k0 = 0;
  for (; k0 + KB <= K; k0 += KB) dw_block<G, KB>(dweight + (size_t)k0 * d.OC + oc0, inp, dout + oc0, d, off + k0, accumulate);
  for (; k0 < K; ++k0) dw_block<G, 1>(dweight + (size_t)k0 * d.OC + oc0, inp, dout + oc0, d, off + k0, accumulate);
}

#endif  // CNN_DIRECT

}  // namespace

bool conv2d_direct_applies(const Conv2DDims& d) {
#if CNN_DIRECT
  return shape_fits(d) && cpu_has_avx2_fma() && sgemm_active_kernel() == GemmKernel::Avx2Fma;
#else
  (void)d;
  return false;
#endif
}

Conv2DDims conv2d_padded_dims(const Conv2DDims& d) {
  Conv2DDims p = d;
  const int eh = (d.OH - 1) * d.SH + (d.KH - 1) * d.DH + 1;  // input rows the windows span
  const int ew = (d.OW - 1) * d.SW + (d.KW - 1) * d.DW + 1;
  p.H = std::max(d.PT + d.H, eh);
  p.W = std::max(d.PL + d.W, ew);
  p.PT = p.PL = 0;
  return p;
}

bool conv2d_needs_padding(const Conv2DDims& d) {
  const Conv2DDims p = conv2d_padded_dims(d);
  return d.PT != 0 || d.PL != 0 || p.H != d.H || p.W != d.W;
}

// xpad (N,HP,WP,C); inp (N,H,W,C).
void conv2d_pad_input(float* xpad, const float* inp, const Conv2DDims& d) {
  const Conv2DDims p = conv2d_padded_dims(d);
  const size_t row = (size_t)d.W * d.C, prow = (size_t)p.W * d.C;
  std::memset(xpad, 0, sizeof(float) * (size_t)d.N * p.H * prow);
  for (int n = 0; n < d.N; ++n)
    for (int h = 0; h < d.H; ++h)
      std::memcpy(xpad + (((size_t)n * p.H + d.PT + h) * p.W + d.PL) * d.C, inp + ((size_t)n * d.H + h) * row,
                  sizeof(float) * row);
}

// out (N,OH,OW,OC); inp (N,H,W,C) with every window inside; weight (K, OC); bias (OC) or nullptr.
void conv2d_direct_forward(float* out, const float* inp, const float* weight, const float* bias,
                           const Conv2DDims& d, bool relu) {
#if CNN_DIRECT
  int off[kMaxTaps];
  const int K = tap_offsets(off, d);
  for (int oc0 = 0; oc0 < d.OC; oc0 += 32) {
    switch (std::min(4, (d.OC - oc0) / 8)) {
      case 4: fwd_groups<4, 2>(out, inp, weight, bias, d, off, K, oc0, relu); break;
      case 3: fwd_groups<3, 3>(out, inp, weight, bias, d, off, K, oc0, relu); break;
      case 2: fwd_groups<2, 6>(out, inp, weight, bias, d, off, K, oc0, relu); break;
      default: fwd_groups<1, 12>(out, inp, weight, bias, d, off, K, oc0, relu); break;
    }
  }
#else
  (void)out, (void)inp, (void)weight, (void)bias, (void)d, (void)relu;
#endif
}

// dweight (K, OC); inp as for forward; dout (N,OH,OW,OC).
void conv2d_direct_dweight(float* dweight, const float* inp, const float* dout, const Conv2DDims& d,
                           bool accumulate) {
#if CNN_DIRECT
  int off[kMaxTaps];
  const int K = tap_offsets(off, d);
  for (int oc0 = 0; oc0 < d.OC; oc0 += 32) {
    switch (std::min(4, (d.OC - oc0) / 8)) {
      case 4: dw_groups<4, 2>(dweight, inp, dout, d, off, K, oc0, accumulate); break;
      case 3: dw_groups<3, 3>(dweight, inp, dout, d, off, K, oc0, accumulate); break;
      case 2: dw_groups<2, 6>(dweight, inp, dout, d, off, K, oc0, accumulate); break;
      default: dw_groups<1, 12>(dweight, inp, dout, d, off, K, oc0, accumulate); break;
    }
  }
#else
  (void)dweight, (void)inp, (void)dout, (void)d, (void)accumulate;
#endif
}

}  // namespace cnn
