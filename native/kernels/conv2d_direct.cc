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
// The two kernels behind a fused conv + 2x2 max pool (its forward and its weight gradient) have
// AVX-512 twins, taken when cpu_has_avx512(): 16 channels per zmm, the same operations per
// channel in the same order, so the same bits (measured on Zen 4, one 28x28x1 -> 32 tile, 1
// thread: forward 53-74 -> 77-81 GF/s, weight gradient 55-58 -> 75-83 GF/s).
#include "conv2d_direct.h"

#include <algorithm>
#include <cstring>

#include "cpu_features.h"
#include "gemm/sgemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CNN_DIRECT 1
#define CNN_AVX2 __attribute__((target("avx2,fma")))
#define CNN_AVX512 __attribute__((target("avx512f,avx2,fma")))
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

// True for 2x2 pools with stride 2, no padding, every window inside the conv output.
bool pool_is_2x2(const Pool2DDims& pd) {
  return pd.PH == 2 && pd.PW == 2 && pd.SH == 2 && pd.SW == 2 && pd.PT == 0 && pd.PL == 0 && 2 * pd.OH <= pd.H &&
         2 * pd.OW <= pd.W;
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

// NP window pixels (input windows at xp[p], argmax bases base[p]) x G channel groups: computed
// together (NP*G independent FMA chains), activated, then folded into the running max / argmax
// in order. The first pixel of a window seeds; later ones replace only when strictly greater
// (maxpool2d_forward's rule, ties to the first pixel in row-major order).
template <int G, int NP>
CNN_AVX2 CNN_INLINE void pool_chunk(__m256* best, __m256i* bidx, bool seed, const float* const* xp, const int32_t* base,
                                    const int* off, int K, const float* w, int OC, const float* b, bool relu) {
  const __m256 zero = _mm256_setzero_ps();
  __m256 acc[NP][G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    const __m256 bv = b ? _mm256_loadu_ps(b + 8 * g) : zero;
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) acc[p][g] = bv;
  }
  for (int k = 0; k < K; ++k) {
    const float* wk = w + (size_t)k * OC;
    __m256 wv[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) wv[g] = _mm256_loadu_ps(wk + 8 * g);
    const int ok = off[k];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      const __m256 xb = _mm256_broadcast_ss(xp[p] + ok);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) acc[p][g] = _mm256_fmadd_ps(xb, wv[g], acc[p][g]);
    }
  }
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
#pragma GCC unroll 4
  for (int p = 0; p < NP; ++p)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const __m256 v = relu ? _mm256_max_ps(acc[p][g], zero) : acc[p][g];
      const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(base[p] + 8 * g), lanes);
      if (seed && p == 0) {
        best[g] = v;
        bidx[g] = idx;
      } else {
        const __m256 gt = _mm256_cmp_ps(v, best[g], _CMP_GT_OQ);
        best[g] = _mm256_blendv_ps(best[g], v, gt);
        bidx[g] = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bidx[g]), _mm256_castsi256_ps(idx), gt));
      }
    }
}

// The common case in registers: 2x2 windows with stride 2 inside the conv output. The window's 4
// pixels x G groups are accumulated together, then folded in row-major order.
template <int G>
CNN_AVX2 void fwd_pool2x2_groups(float* out, int32_t* argmax, const float* inp, const float* weight,
                                 const float* bias, const Conv2DDims& d, const Pool2DDims& pd, const int* off, int K,
                                 int oc0, bool relu) {
  const int OC = d.OC;
  const size_t xs = (size_t)d.SW * d.C, ys = (size_t)d.SH * d.W * d.C;  // next pixel right / down
  const float* w = weight + oc0;
  const __m256 zero = _mm256_setzero_ps();
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256 bv[G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) bv[g] = bias ? _mm256_loadu_ps(bias + oc0 + 8 * g) : zero;
  for (int n = 0; n < pd.N; ++n) {
    const float* xs0 = inp + (size_t)n * d.H * d.W * d.C;
    for (int ph = 0; ph < pd.OH; ++ph)
      for (int pw = 0; pw < pd.OW; ++pw) {
        const int h = 2 * ph, ow = 2 * pw;
        const float* x0 = xs0 + (size_t)h * ys + (size_t)ow * xs;
        const float* x1 = x0 + xs;
        const float* x2 = x0 + ys;
        const float* x3 = x2 + xs;
        __m256 a0[G], a1[G], a2[G], a3[G];
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) a0[g] = a1[g] = a2[g] = a3[g] = bv[g];
        for (int k = 0; k < K; ++k) {
          const int ok = off[k];
          const float* wk = w + (size_t)k * OC;
          const __m256 b0 = _mm256_broadcast_ss(x0 + ok), b1 = _mm256_broadcast_ss(x1 + ok);
          const __m256 b2 = _mm256_broadcast_ss(x2 + ok), b3 = _mm256_broadcast_ss(x3 + ok);
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) {
            const __m256 wv = _mm256_loadu_ps(wk + 8 * g);
            a0[g] = _mm256_fmadd_ps(b0, wv, a0[g]);
            a1[g] = _mm256_fmadd_ps(b1, wv, a1[g]);
            a2[g] = _mm256_fmadd_ps(b2, wv, a2[g]);
            a3[g] = _mm256_fmadd_ps(b3, wv, a3[g]);
          }
        }
        const int32_t i0 = (int32_t)(((int64_t)h * pd.W + ow) * OC + oc0);
        const int32_t di = OC, dj = pd.W * OC;  // index steps right / down
        const size_t o = (((size_t)n * pd.OH + ph) * pd.OW + pw) * OC + oc0;
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
          __m256 v0 = a0[g], v1 = a1[g], v2 = a2[g], v3 = a3[g];
          if (relu) {
            v0 = _mm256_max_ps(v0, zero), v1 = _mm256_max_ps(v1, zero);
            v2 = _mm256_max_ps(v2, zero), v3 = _mm256_max_ps(v3, zero);
          }
          const __m256i base = _mm256_add_epi32(_mm256_set1_epi32(i0 + 8 * g), lanes);
          __m256 best = v0;
          __m256 bi = _mm256_castsi256_ps(base);
          auto fold = [&](__m256 v, int32_t step) CNN_AVX2 {
            const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
            best = _mm256_blendv_ps(best, v, gt);
            bi = _mm256_blendv_ps(bi, _mm256_castsi256_ps(_mm256_add_epi32(base, _mm256_set1_epi32(step))), gt);
          };
          fold(v1, di);
          fold(v2, dj);
          fold(v3, di + dj);
          _mm256_storeu_ps(out + o + 8 * g, best);
          _mm256_storeu_si256((__m256i*)(argmax + o + 8 * g), _mm256_castps_si256(bi));
        }
      }
  }
}

// fwd_pool2x2_groups with G zmm groups of 16 channels (AVX-512 F): the same sums in the same
// order, so the same bits; per pooled output half the folds, broadcasts and stores per channel.
template <int G>
CNN_AVX512 void fwd_pool2x2_groups_avx512(float* out, int32_t* argmax, const float* inp, const float* weight,
                                          const float* bias, const Conv2DDims& d, const Pool2DDims& pd, const int* off,
                                          int K, int oc0, bool relu) {
  const int OC = d.OC;
  const size_t xs = (size_t)d.SW * d.C, ys = (size_t)d.SH * d.W * d.C;  // next pixel right / down
  const float* w = weight + oc0;
  const __m512 zero = _mm512_setzero_ps();
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512 bv[G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) bv[g] = bias ? _mm512_loadu_ps(bias + oc0 + 16 * g) : zero;
  for (int n = 0; n < pd.N; ++n) {
    const float* xs0 = inp + (size_t)n * d.H * d.W * d.C;
    for (int ph = 0; ph < pd.OH; ++ph)
      for (int pw = 0; pw < pd.OW; ++pw) {
        const int h = 2 * ph, ow = 2 * pw;
        const float* x0 = xs0 + (size_t)h * ys + (size_t)ow * xs;
        const float* x1 = x0 + xs;
        const float* x2 = x0 + ys;
        const float* x3 = x2 + xs;
        __m512 a0[G], a1[G], a2[G], a3[G];
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) a0[g] = a1[g] = a2[g] = a3[g] = bv[g];
        for (int k = 0; k < K; ++k) {
          const int ok = off[k];
          const float* wk = w + (size_t)k * OC;
          const __m512 b0 = _mm512_set1_ps(x0[ok]), b1 = _mm512_set1_ps(x1[ok]);
          const __m512 b2 = _mm512_set1_ps(x2[ok]), b3 = _mm512_set1_ps(x3[ok]);
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) {
            const __m512 wv = _mm512_loadu_ps(wk + 16 * g);
            a0[g] = _mm512_fmadd_ps(b0, wv, a0[g]);
            a1[g] = _mm512_fmadd_ps(b1, wv, a1[g]);
            a2[g] = _mm512_fmadd_ps(b2, wv, a2[g]);
            a3[g] = _mm512_fmadd_ps(b3, wv, a3[g]);
          }
        }
        const int32_t i0 = (int32_t)(((int64_t)h * pd.W + ow) * OC + oc0);
        const int32_t di = OC, dj = pd.W * OC;  // index steps right / down
        const size_t o = (((size_t)n * pd.OH + ph) * pd.OW + pw) * OC + oc0;
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
          __m512 v0 = a0[g], v1 = a1[g], v2 = a2[g], v3 = a3[g];
          if (relu) {
            v0 = _mm512_max_ps(v0, zero), v1 = _mm512_max_ps(v1, zero);
            v2 = _mm512_max_ps(v2, zero), v3 = _mm512_max_ps(v3, zero);
          }
          const __m512i base = _mm512_add_epi32(_mm512_set1_epi32(i0 + 16 * g), lanes);
          __m512 best = v0;
          __m512i bi = base;
          auto fold = [&](__m512 v, int32_t step) CNN_AVX512 {
            const __mmask16 gt = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
            best = _mm512_mask_blend_ps(gt, best, v);
            bi = _mm512_mask_blend_epi32(gt, bi, _mm512_add_epi32(base, _mm512_set1_epi32(step)));
          };
          fold(v1, di);
          fold(v2, dj);
          fold(v3, di + dj);
          _mm512_storeu_ps(out + o + 16 * g, best);
          _mm512_storeu_si512((void*)(argmax + o + 16 * g), bi);
        }
      }
  }
}

// Pooled outputs with channels [oc0, oc0 + 8G): each window's pixels in chunks of up to 4.
template <int G>
CNN_AVX2 void fwd_pool_groups(float* out, int32_t* argmax, const float* inp, const float* weight, const float* bias,
                              const Conv2DDims& d, const Pool2DDims& pd, const int* off, int K, int oc0, bool relu) {
  const int OC = d.OC;
  const float* w = weight + oc0;
  const float* b = bias ? bias + oc0 : nullptr;
  for (int n = 0; n < pd.N; ++n) {
    const float* xs = inp + (size_t)n * d.H * d.W * d.C;
    for (int ph = 0; ph < pd.OH; ++ph)
      for (int pw = 0; pw < pd.OW; ++pw) {
        const int hs = ph * pd.SH - pd.PT, ws = pw * pd.SW - pd.PL;
        const int h0 = std::max(hs, 0), h1 = std::min(hs + pd.PH, pd.H);
        const int w0 = std::max(ws, 0), w1 = std::min(ws + pd.PW, pd.W);
        __m256 best[G];
        __m256i bidx[G];
        const float* xp[4];
        int32_t base[4];
        int np = 0;
        bool seed = true;
        auto flush = [&]() CNN_AVX2 {
          switch (np) {
            case 4: pool_chunk<G, 4>(best, bidx, seed, xp, base, off, K, w, OC, b, relu); break;
            case 3: pool_chunk<G, 3>(best, bidx, seed, xp, base, off, K, w, OC, b, relu); break;
            case 2: pool_chunk<G, 2>(best, bidx, seed, xp, base, off, K, w, OC, b, relu); break;
            default: pool_chunk<G, 1>(best, bidx, seed, xp, base, off, K, w, OC, b, relu); break;
          }
          seed = false;
          np = 0;
        };
        for (int h = h0; h < h1; ++h)
          for (int ow = w0; ow < w1; ++ow) {
            xp[np] = xs + ((size_t)h * d.SH * d.W + (size_t)ow * d.SW) * d.C;
            base[np] = (int32_t)(((int64_t)h * pd.W + ow) * OC + oc0);
            if (++np == 4) flush();
          }
        if (np) flush();
        const size_t o = (((size_t)n * pd.OH + ph) * pd.OW + pw) * OC + oc0;
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
          _mm256_storeu_ps(out + o + 8 * g, best[g]);
          _mm256_storeu_si256((__m256i*)(argmax + o + 8 * g), bidx[g]);
        }
      }
  }
}

// dout (N,H,W,C) from dpool / argmax (N,OH,OW,C) of a pool whose windows tile the input: every
// input pixel lies in at most one window, so each is written once (the gradient where it won,
// else 0) and the rows / columns no window covers are zeroed.
CNN_AVX2 void unpool_avx2(float* dout, const float* dpool, const int32_t* argmax, const Pool2DDims& pd) {
  const int C = pd.C;
  const size_t sample = (size_t)pd.H * pd.W * C;
  const int cov_h = std::min(pd.OH * pd.PH, pd.H), cov_w = std::min(pd.OW * pd.PW, pd.W);  // covered extent
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int n = 0; n < pd.N; ++n) {
    float* dx = dout + n * sample;
    for (int ph = 0; ph < pd.OH; ++ph)
      for (int pw = 0; pw < pd.OW; ++pw) {
        const size_t q = (((size_t)n * pd.OH + ph) * pd.OW + pw) * C;
        const int h1 = std::min((ph + 1) * pd.PH, pd.H), w1 = std::min((pw + 1) * pd.PW, pd.W);  // "same" clips
        for (int h = ph * pd.PH; h < h1; ++h)
          for (int w = pw * pd.PW; w < w1; ++w) {
            const int32_t base = (int32_t)(((int64_t)h * pd.W + w) * C);
            float* o = dx + base;
            int c = 0;
            for (; c + 8 <= C; c += 8) {
              const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(base + c), lanes);
              const __m256i a = _mm256_loadu_si256((const __m256i*)(argmax + q + c));
              const __m256 hit = _mm256_castsi256_ps(_mm256_cmpeq_epi32(a, idx));
              _mm256_storeu_ps(o + c, _mm256_and_ps(hit, _mm256_loadu_ps(dpool + q + c)));
            }
            for (; c < C; ++c) o[c] = argmax[q + c] == base + c ? dpool[q + c] : 0.f;
          }
      }
    for (int h = 0; h < pd.H; ++h) {  // the uncovered right columns and bottom rows
      if (h >= cov_h) {
        std::memset(dx + (size_t)h * pd.W * C, 0, sizeof(float) * (size_t)pd.W * C);
      } else if (cov_w < pd.W) {
        std::memset(dx + ((size_t)h * pd.W + cov_w) * C, 0, sizeof(float) * (size_t)(pd.W - cov_w) * C);
      }
    }
  }
}

// KB taps x one channel group of dweight straight from the pooled gradient of a 2x2 pool: each
// window pixel's gradient is dpool where the argmax names it, else 0, so the conv-size gradient is
// never written. Per pooled output the argmax is turned into an offset from the window's first
// pixel once; each of the 4 pixels then costs a compare and an and.
template <int KB>
CNN_AVX2 void dw_pool2x2_taps(float* dw, const float* inp, const float* dpool, const int32_t* argmax,
                              const Conv2DDims& d, const Pool2DDims& pd, const int* off, int g, bool accumulate) {
  const int OC = d.OC;
  const size_t xs = (size_t)d.SW * d.C, ys = (size_t)d.SH * d.W * d.C;
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i s1 = _mm256_set1_epi32(OC), s2 = _mm256_set1_epi32(pd.W * OC), s3 = _mm256_set1_epi32(pd.W * OC + OC);
  __m256 acc[KB];
#pragma GCC unroll 12
  for (int k = 0; k < KB; ++k) acc[k] = accumulate ? _mm256_loadu_ps(dw + (size_t)k * OC + 8 * g) : _mm256_setzero_ps();
  for (int n = 0; n < pd.N; ++n) {
    const float* xn = inp + (size_t)n * d.H * d.W * d.C;
    for (int ph = 0; ph < pd.OH; ++ph)
      for (int pw = 0; pw < pd.OW; ++pw) {
        const size_t q = (((size_t)n * pd.OH + ph) * pd.OW + pw) * OC + 8 * g;
        const __m256 gv = _mm256_loadu_ps(dpool + q);
        const int32_t base = (int32_t)(((int64_t)2 * ph * pd.W + 2 * pw) * OC + 8 * g);
        const __m256i delta = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i*)(argmax + q)),
                                               _mm256_add_epi32(_mm256_set1_epi32(base), lanes));
        const float* x0 = xn + (size_t)2 * ph * ys + (size_t)2 * pw * xs;
        const float* xp[4] = {x0, x0 + xs, x0 + ys, x0 + ys + xs};
        const __m256 dy[4] = {
            _mm256_and_ps(gv, _mm256_castsi256_ps(_mm256_cmpeq_epi32(delta, _mm256_setzero_si256()))),
            _mm256_and_ps(gv, _mm256_castsi256_ps(_mm256_cmpeq_epi32(delta, s1))),
            _mm256_and_ps(gv, _mm256_castsi256_ps(_mm256_cmpeq_epi32(delta, s2))),
            _mm256_and_ps(gv, _mm256_castsi256_ps(_mm256_cmpeq_epi32(delta, s3)))};
#pragma GCC unroll 4
        for (int p = 0; p < 4; ++p)
#pragma GCC unroll 12
          for (int k = 0; k < KB; ++k) acc[k] = _mm256_fmadd_ps(_mm256_broadcast_ss(xp[p] + off[k]), dy[p], acc[k]);
      }
  }
#pragma GCC unroll 12
  for (int k = 0; k < KB; ++k) _mm256_storeu_ps(dw + (size_t)k * OC + 8 * g, acc[k]);
}

// dw_pool2x2_taps for the 16 channels [c0, c0 + 16) in zmm (AVX-512 F): the same operations per
// channel in the same order, so the same bits; half the broadcasts and argmax tests per channel.
template <int KB>
CNN_AVX512 void dw_pool2x2_taps_avx512(float* dw, const float* inp, const float* dpool, const int32_t* argmax,
                                       const Conv2DDims& d, const Pool2DDims& pd, const int* off, int c0,
                                       bool accumulate) {
  const int OC = d.OC;
  const size_t xs = (size_t)d.SW * d.C, ys = (size_t)d.SH * d.W * d.C;
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i s1 = _mm512_set1_epi32(OC), s2 = _mm512_set1_epi32(pd.W * OC), s3 = _mm512_set1_epi32(pd.W * OC + OC);
  __m512 acc[KB];
#pragma GCC unroll 12
  for (int k = 0; k < KB; ++k) acc[k] = accumulate ? _mm512_loadu_ps(dw + (size_t)k * OC + c0) : _mm512_setzero_ps();
  for (int n = 0; n < pd.N; ++n) {
    const float* xn = inp + (size_t)n * d.H * d.W * d.C;
    for (int ph = 0; ph < pd.OH; ++ph)
      for (int pw = 0; pw < pd.OW; ++pw) {
        const size_t q = (((size_t)n * pd.OH + ph) * pd.OW + pw) * OC + c0;
        const __m512 gv = _mm512_loadu_ps(dpool + q);
        const int32_t base = (int32_t)(((int64_t)2 * ph * pd.W + 2 * pw) * OC + c0);
        const __m512i delta = _mm512_sub_epi32(_mm512_loadu_si512((const void*)(argmax + q)),
                                               _mm512_add_epi32(_mm512_set1_epi32(base), lanes));
        const float* x0 = xn + (size_t)2 * ph * ys + (size_t)2 * pw * xs;
        const float* xp[4] = {x0, x0 + xs, x0 + ys, x0 + ys + xs};
        const __m512 dy[4] = {_mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(delta, _mm512_setzero_si512()), gv),
                              _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(delta, s1), gv),
                              _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(delta, s2), gv),
                              _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(delta, s3), gv)};
#pragma GCC unroll 4
        for (int p = 0; p < 4; ++p)
#pragma GCC unroll 12
          for (int k = 0; k < KB; ++k) acc[k] = _mm512_fmadd_ps(_mm512_set1_ps(xp[p][off[k]]), dy[p], acc[k]);
      }
  }
#pragma GCC unroll 12
  for (int k = 0; k < KB; ++k) _mm512_storeu_ps(dw + (size_t)k * OC + c0, acc[k]);
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
  if (!shape_fits(d) || !cpu_has_avx2_fma()) return false;
  const GemmKernel g = sgemm_active_kernel();
  return g == GemmKernel::Avx2Fma || g == GemmKernel::Avx512;
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

// out, argmax (N,POH,POW,OC); inp as for forward.
void conv2d_direct_forward_maxpool(float* out, int32_t* argmax, const float* inp, const float* weight,
                                   const float* bias, const Conv2DDims& d, bool relu, const Pool2DDims& pd) {
#if CNN_DIRECT
  int off[kMaxTaps];
  const int K = tap_offsets(off, d);
  const bool two = pool_is_2x2(pd);
  const bool avx512 = cpu_has_avx512();
  int oc0 = 0;
  while (two && avx512 && d.OC - oc0 >= 16) {  // 4 pixels x 2 zmm groups (32 channels): 8 FMA chains
    if (d.OC - oc0 >= 32) {
      fwd_pool2x2_groups_avx512<2>(out, argmax, inp, weight, bias, d, pd, off, K, oc0, relu);
      oc0 += 32;
    } else {
      fwd_pool2x2_groups_avx512<1>(out, argmax, inp, weight, bias, d, pd, off, K, oc0, relu);
      oc0 += 16;
    }
  }
  for (; oc0 < d.OC; oc0 += 16) {  // 4 pixels x 2 groups: 8 FMA chains
    if (two && d.OC - oc0 >= 16)
      fwd_pool2x2_groups<2>(out, argmax, inp, weight, bias, d, pd, off, K, oc0, relu);
    else if (two)
      fwd_pool2x2_groups<1>(out, argmax, inp, weight, bias, d, pd, off, K, oc0, relu);
    else if (d.OC - oc0 >= 16)
      fwd_pool_groups<2>(out, argmax, inp, weight, bias, d, pd, off, K, oc0, relu);
    else
      fwd_pool_groups<1>(out, argmax, inp, weight, bias, d, pd, off, K, oc0, relu);
  }
#else
  (void)out, (void)argmax, (void)inp, (void)weight, (void)bias, (void)d, (void)relu, (void)pd;
#endif
}

bool conv2d_direct_dweight_pooled_applies(const Conv2DDims& d, const Pool2DDims& pd) {
  return conv2d_direct_applies(d) && pool_is_2x2(pd);
}

// dweight (K, OC); inp as for forward; dpool, argmax (N,POH,POW,OC).
void conv2d_direct_dweight_pooled(float* dweight, const float* inp, const float* dpool, const int32_t* argmax,
                                  const Conv2DDims& d, const Pool2DDims& pd, bool accumulate) {
#if CNN_DIRECT
  int off[kMaxTaps];
  const int K = tap_offsets(off, d);
  int g = 0;
  if (cpu_has_avx512())  // 16 channels per pass in zmm, the last 8 (if any) in ymm below
    for (; 8 * g + 16 <= d.OC; g += 2)
      for (int k0 = 0; k0 < K; k0 += 9) {
        float* dw = dweight + (size_t)k0 * d.OC;
        const int c0 = 8 * g;
        switch (std::min(9, K - k0)) {
          case 9: dw_pool2x2_taps_avx512<9>(dw, inp, dpool, argmax, d, pd, off + k0, c0, accumulate); break;
          case 8: dw_pool2x2_taps_avx512<8>(dw, inp, dpool, argmax, d, pd, off + k0, c0, accumulate); break;
          case 7: dw_pool2x2_taps_avx512<7>(dw, inp, dpool, argmax, d, pd, off + k0, c0, accumulate); break;
          case 6: dw_pool2x2_taps_avx512<6>(dw, inp, dpool, argmax, d, pd, off + k0, c0, accumulate); break;
          case 5: dw_pool2x2_taps_avx512<5>(dw, inp, dpool, argmax, d, pd, off + k0, c0, accumulate); break;
          case 4: dw_pool2x2_taps_avx512<4>(dw, inp, dpool, argmax, d, pd, off + k0, c0, accumulate); break;
          case 3: dw_pool2x2_taps_avx512<3>(dw, inp, dpool, argmax, d, pd, off + k0, c0, accumulate); break;
          case 2: dw_pool2x2_taps_avx512<2>(dw, inp, dpool, argmax, d, pd, off + k0, c0, accumulate); break;
          default: dw_pool2x2_taps_avx512<1>(dw, inp, dpool, argmax, d, pd, off + k0, c0, accumulate); break;
        }
      }
  for (; g < d.OC / 8; ++g)
    for (int k0 = 0; k0 < K; k0 += 9) {  // 9 taps per pass: 9 FMA chains, 4 pixels x 9 broadcasts
      float* dw = dweight + (size_t)k0 * d.OC;
      switch (std::min(9, K - k0)) {
        case 9: dw_pool2x2_taps<9>(dw, inp, dpool, argmax, d, pd, off + k0, g, accumulate); break;
        case 8: dw_pool2x2_taps<8>(dw, inp, dpool, argmax, d, pd, off + k0, g, accumulate); break;
        case 7: dw_pool2x2_taps<7>(dw, inp, dpool, argmax, d, pd, off + k0, g, accumulate); break;
        case 6: dw_pool2x2_taps<6>(dw, inp, dpool, argmax, d, pd, off + k0, g, accumulate); break;
        case 5: dw_pool2x2_taps<5>(dw, inp, dpool, argmax, d, pd, off + k0, g, accumulate); break;
        case 4: dw_pool2x2_taps<4>(dw, inp, dpool, argmax, d, pd, off + k0, g, accumulate); break;
        case 3: dw_pool2x2_taps<3>(dw, inp, dpool, argmax, d, pd, off + k0, g, accumulate); break;
        case 2: dw_pool2x2_taps<2>(dw, inp, dpool, argmax, d, pd, off + k0, g, accumulate); break;
        default: dw_pool2x2_taps<1>(dw, inp, dpool, argmax, d, pd, off + k0, g, accumulate); break;
      }
    }
#else
  (void)dweight, (void)inp, (void)dpool, (void)argmax, (void)d, (void)pd, (void)accumulate;
#endif
}

bool conv2d_unpool_applies(const Pool2DDims& pd) {
  return CNN_DIRECT && cpu_has_avx2_fma() && pd.SH == pd.PH && pd.SW == pd.PW && pd.PT == 0 && pd.PL == 0;
}

// dout (N,H,W,C); dpool, argmax (N,OH,OW,C).
void conv2d_unpool(float* dout, const float* dpool, const int32_t* argmax, const Pool2DDims& pd) {
#if CNN_DIRECT
  unpool_avx2(dout, dpool, argmax, pd);
#else
  (void)dout, (void)dpool, (void)argmax, (void)pd;
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
