// sgemm_ukernel_8x32_avx512: an 8 x 32 tile of C held in 16 zmm accumulators. Each k step loads
// one 32-float row of packed B (two zmm loads) and multiplies it by the 8 floats of packed A, each
// broadcast from memory: 16 zmm FMAs per 10 loads (the AVX2 6 x 16 kernel: 12 ymm FMAs per 8
// loads, i.e. 2.1x the loads per flop). 19 of the 32 zmm registers are live in the loop, so GCC
// keeps the tile in registers.
// Why 8 x 32 (measured against 12 x 32, 14 x 32 and 8 x 48 on Zen 4, bench/RESULTS.md "GEMM"):
// 10 loads per 16 FMAs is within the load ports of Zen 4 (one zmm FMA per cycle) and of Intel's
// two-FMA-unit cores, 16 accumulators cover the FMA latency on both, and 8 x 32 divides the
// convnet's shapes exactly (M = 64, 3136, 12544; N = 64, 800, 1024), where 12 x 32 pads M = 64 to
// 72 (11% wasted FMAs on the weight gradient) and 8 x 48 pads N = 64 to 96.
// Edge tiles use opmask loads and stores, so they touch exactly the m x n part of C, and beta == 0
// never reads it.
// Everything here is compiled for AVX-512 through function attributes only (no -m flags), so the
// file builds for the baseline x86-64 and the addon still loads on any CPU: sgemm.cc only calls
// these functions after cpu_has_avx512().
// Zen 4 splits each zmm FMA over its two 256-bit FMA pipes, so its peak equals AVX2's; the gain
// there is fewer loads and instructions per flop (measured in bench/RESULTS.md, "GEMM").
#include "ukernel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "pack.h"

#define CNN_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define CNN_AVX512_INLINE CNN_AVX512 inline __attribute__((always_inline))

// The micro-tile: MR rows by 16 * NV columns (bench/gemm/run.sh can build other tiles with
// -DCNN_AVX512_MR / -DCNN_AVX512_NV to compare them; the library uses the defaults).
#ifndef CNN_AVX512_MR
#define CNN_AVX512_MR 8
#endif
#ifndef CNN_AVX512_NV
#define CNN_AVX512_NV 2
#endif
#ifndef CNN_AVX512_NAME
#define CNN_AVX512_NAME "avx512_8x32"
#endif

namespace cnn::gemm {
namespace {

constexpr int MR = CNN_AVX512_MR, NV = CNN_AVX512_NV, NR = 16 * NV;
static_assert(MR >= 1 && MR <= 16 && MR * NV + NV + 1 <= 32, "the tile must fit the 32 zmm registers");

// The opmask of the columns [16 v, 16 v + 16) that lie inside the first n.
CNN_AVX512_INLINE __mmask16 column_mask(int v, int n) {
  const int k = n - 16 * v;
  return k >= 16 ? (__mmask16)0xFFFF : k <= 0 ? (__mmask16)0 : (__mmask16)((1u << k) - 1);
}

// One row of the tile: c[0..NR) = alpha * x + beta * c (mode 0: beta == 0, c not read; mode 1:
// beta == 1; mode 2: any other beta). mask: the columns to touch (all of them for a full tile).
CNN_AVX512_INLINE void store_row(float* c, const __m512 (&x)[NV], __m512 va, __m512 vb, int mode, int n) {
  for (int v = 0; v < NV; ++v) {
    const __m512 y = _mm512_mul_ps(x[v], va);
    if (n >= NR) {
      if (mode == 0)
        _mm512_storeu_ps(c + 16 * v, y);
      else if (mode == 1)
        _mm512_storeu_ps(c + 16 * v, _mm512_add_ps(y, _mm512_loadu_ps(c + 16 * v)));
      else
        _mm512_storeu_ps(c + 16 * v, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + 16 * v), y));
    } else {
      const __mmask16 k = column_mask(v, n);
      if (mode == 0)
        _mm512_mask_storeu_ps(c + 16 * v, k, y);
      else if (mode == 1)
        _mm512_mask_storeu_ps(c + 16 * v, k, _mm512_add_ps(y, _mm512_maskz_loadu_ps(k, c + 16 * v)));
      else
        _mm512_mask_storeu_ps(c + 16 * v, k, _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k, c + 16 * v), y));
    }
  }
}

}  // namespace

CNN_AVX512 void sgemm_ukernel_avx512(int kc, const float* a, const float* b, float* c, int ldc, float alpha,
                                     float beta, int m, int n) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();

  // Start fetching the C tile now, so the stores (and loads, beta != 0) at the end do not wait.
  for (int i = 0; i < m; ++i) {
    _mm_prefetch((const char*)(c + (size_t)i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char*)(c + (size_t)i * ldc + n - 1), _MM_HINT_T0);
  }

  for (int p = 0; p < kc; ++p, a += MR, b += NR) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }

  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const int mode = beta == 0.f ? 0 : beta == 1.f ? 1 : 2;
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    if (i < m) store_row(c + (size_t)i * ldc, acc[i], va, vb, mode, n);
}

namespace {

// In-register 8 x 8 transpose: afterwards r[k] holds element k of each input row, in row order.
CNN_AVX512_INLINE void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Rows r0 .. r0 + h - 1 (h <= 8) of an 8-step slab, transposed: v[k] holds step k of those rows
// (lanes past h zero). rows[r] points at row r's step p.
CNN_AVX512_INLINE void load_transposed(__m256 v[8], const float* const* rows, int r0, int h, int p) {
  for (int r = 0; r < 8; ++r) v[r] = r < h ? _mm256_loadu_ps(rows[r0 + r] + p) : _mm256_setzero_ps();
  transpose8x8(v);
}

// A full A micro-panel from MR rows of A (op(A) not transposed): 8 steps at a time, the rows
// transposed in registers 8 at a time, so each step's MR floats are written together.
CNN_AVX512 void pack_a_rows(int kc, const float* A, int lda, float* dst) {
  const float* rows[MR];
  for (int r = 0; r < MR; ++r) rows[r] = A + (size_t)r * lda;
  int p = 0;
  for (; p + 8 <= kc; p += 8, dst += 8 * MR) {
#pragma GCC unroll 2
    for (int r0 = 0; r0 < MR; r0 += 8) {
      const int h = MR - r0 < 8 ? MR - r0 : 8;
      __m256 v[8];
      load_transposed(v, rows, r0, h, p);
      const __mmask8 k = (__mmask8)((1u << h) - 1);
#pragma GCC unroll 8
      for (int s = 0; s < 8; ++s) _mm256_mask_storeu_ps(dst + MR * s + r0, k, v[s]);
    }
  }
  for (; p < kc; ++p, dst += MR)
    for (int r = 0; r < MR; ++r) dst[r] = rows[r][p];
}

// A full B micro-panel from NR rows of B (op(B) transposed): NR / 8 transposes per 8 steps.
CNN_AVX512 void pack_b_rows(int kc, const float* B, int ldb, float* dst) {
  const float* rows[NR];
  for (int j = 0; j < NR; ++j) rows[j] = B + (size_t)j * ldb;
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int j0 = 0; j0 < NR; j0 += 8) {
      __m256 v[8];
      load_transposed(v, rows, j0, 8, p);
      for (int s = 0; s < 8; ++s) _mm256_storeu_ps(dst + (size_t)(p + s) * NR + j0, v[s]);
    }
  }
  for (; p < kc; ++p)
    for (int j = 0; j < NR; ++j) dst[(size_t)p * NR + j] = rows[j][p];
}

}  // namespace

CNN_AVX512 void sgemm_pack_a_avx512(bool trans, int mc, int kc, const float* A, int lda, float* dst) {
  for (int i = 0; i < mc; i += MR, dst += (size_t)kc * MR) {
    if (!trans && mc - i >= MR)
      pack_a_rows(kc, A + (size_t)i * lda, lda, dst);
    else
      pack_a_panel<MR>(trans, std::min(MR, mc - i), kc, trans ? A + i : A + (size_t)i * lda, lda, dst);
  }
}

CNN_AVX512 void sgemm_pack_b_avx512(bool trans, int kc, int nc, const float* B, int ldb, float* dst) {
  if (!trans) return pack_bn_block<NR>(kc, nc, B, ldb, dst);
  for (int j = 0; j < nc; j += NR, dst += (size_t)kc * NR) {
    if (nc - j >= NR)
      pack_b_rows(kc, B + (size_t)j * ldb, ldb, dst);
    else
      pack_bt_panel<NR>(kc, nc - j, B + (size_t)j * ldb, ldb, dst);
  }
}

// Block sizes tuned on Zen 4 with bench/gemm/run.sh --tune (see bench/RESULTS.md, "GEMM").
KernelImpl kAvx512Kernel = {CNN_AVX512_NAME, sgemm_ukernel_avx512, sgemm_pack_a_avx512, sgemm_pack_b_avx512,
                            {MR, NR, 192, 384, 4096}};

}  // namespace cnn::gemm

#else  // not x86: never selected (cpu_has_avx512() is false)

namespace cnn::gemm {
KernelImpl kAvx512Kernel = {"avx512_8x32", nullptr, nullptr, nullptr, {8, 32, 192, 384, 4096}};
}  // namespace cnn::gemm

#endif
