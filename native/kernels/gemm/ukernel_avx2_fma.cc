// sgemm_ukernel_6x16_avx2_fma: a 6 x 16 tile of C held in 12 ymm accumulators. Each k step loads
// one 16-float row of packed B (two aligned ymm loads), broadcasts the 6 floats of packed A and
// issues 12 FMAs: enough independent FMAs to keep both FMA pipes of Haswell / Zen busy.
// Everything here is compiled for AVX2+FMA through function attributes only, so this file builds
// without -mavx2 and the addon still loads on older CPUs (sgemm.cc only calls it after
// cpu_has_avx2_fma()).
#include "ukernel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "pack.h"

#define CNN_AVX2 __attribute__((target("avx2,fma")))

namespace cnn::gemm {
namespace {

constexpr int MR = 6, NR = 16;

// One row of the tile: c[0..16] = alpha * (x0, x1) + beta * c (beta == 0: c not read).
CNN_AVX2 inline __attribute__((always_inline)) void store_row(float* c, __m256 x0, __m256 x1,
                                                               __m256 va, __m256 vb, int mode) {
  x0 = _mm256_mul_ps(x0, va);
  x1 = _mm256_mul_ps(x1, va);
  if (mode == 1) {
    x0 = _mm256_add_ps(x0, _mm256_loadu_ps(c));
    x1 = _mm256_add_ps(x1, _mm256_loadu_ps(c + 8));
  } else if (mode == 2) {
    x0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), x0);
    x1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), x1);
  }
  _mm256_storeu_ps(c, x0);
  _mm256_storeu_ps(c + 8, x1);
}

}  // namespace

CNN_AVX2 void sgemm_ukernel_6x16_avx2_fma(int kc, const float* a, const float* b, float* c, int ldc,
                                          float alpha, float beta, int m, int n) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

  // Start fetching the C tile now, so the stores (and loads, beta != 0) at the end do not wait:
  // worth +20% when K is short (3136x64x800).
  for (int i = 0; i < m; ++i) {
    _mm_prefetch((const char*)(c + (size_t)i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char*)(c + (size_t)i * ldc + n - 1), _MM_HINT_T0);
  }

  // Not unrolled by hand: GCC then keeps all 12 accumulators in registers (unrolled bodies made
  // it spill one), and the loop overhead hides behind the FMAs.
  for (int p = 0; p < kc; ++p, a += MR, b += NR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  const int mode = beta == 0.f ? 0 : beta == 1.f ? 1 : 2;
  if (m == MR && n == NR) {
    const size_t ld = (size_t)ldc;
    store_row(c + 0 * ld, c00, c01, va, vb, mode);
    store_row(c + 1 * ld, c10, c11, va, vb, mode);
    store_row(c + 2 * ld, c20, c21, va, vb, mode);
    store_row(c + 3 * ld, c30, c31, va, vb, mode);
    store_row(c + 4 * ld, c40, c41, va, vb, mode);
    store_row(c + 5 * ld, c50, c51, va, vb, mode);
    return;
  }
  // Edge tile: spill alpha * acc, then touch only the m x n part of C.
  alignas(32) float t[MR * NR];
  const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(t + i * NR, _mm256_mul_ps(acc[i][0], va));
    _mm256_store_ps(t + i * NR + 8, _mm256_mul_ps(acc[i][1], va));
  }
  for (int i = 0; i < m; ++i) {
    float* ci = c + (size_t)i * ldc;
    const float* ti = t + i * NR;
    if (mode == 0)
      for (int j = 0; j < n; ++j) ci[j] = ti[j];
    else
      for (int j = 0; j < n; ++j) ci[j] = ti[j] + beta * ci[j];
  }
}

// In-register 8 x 8 transpose: afterwards r[k] holds element k of each input row, in row order.
CNN_AVX2 inline __attribute__((always_inline)) void transpose8x8(__m256 r[8]) {
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

// A full A micro-panel from 6 rows of A (op(A) not transposed): 8 steps at a time, 6 x 8 loads
// transposed in registers, so each step's 6 floats are written together.
CNN_AVX2 void pack_a_rows6(int kc, const float* A, int lda, float* dst) {
  const float* r0 = A;
  const float* r1 = A + (size_t)lda;
  const float* r2 = A + 2 * (size_t)lda;
  const float* r3 = A + 3 * (size_t)lda;
  const float* r4 = A + 4 * (size_t)lda;
  const float* r5 = A + 5 * (size_t)lda;
  int p = 0;
  for (; p + 8 <= kc; p += 8, dst += 8 * MR) {
    __m256 v[8] = {_mm256_loadu_ps(r0 + p), _mm256_loadu_ps(r1 + p), _mm256_loadu_ps(r2 + p),
                   _mm256_loadu_ps(r3 + p), _mm256_loadu_ps(r4 + p), _mm256_loadu_ps(r5 + p),
                   _mm256_setzero_ps(),     _mm256_setzero_ps()};
    transpose8x8(v);
    // Step k goes to dst + 6k; each 8-float store spills 2 floats that step k + 1 overwrites.
    for (int k = 0; k < 7; ++k) _mm256_storeu_ps(dst + MR * k, v[k]);
    _mm_storeu_ps(dst + MR * 7, _mm256_castps256_ps128(v[7]));
    _mm_storel_pi((__m64*)(dst + MR * 7 + 4), _mm256_extractf128_ps(v[7], 1));
  }
  for (; p < kc; ++p, dst += MR) {
    dst[0] = r0[p], dst[1] = r1[p], dst[2] = r2[p];
    dst[3] = r3[p], dst[4] = r4[p], dst[5] = r5[p];
  }
}

// A full B micro-panel from 16 rows of B (op(B) transposed): two 8 x 8 transposes per 8 steps.
CNN_AVX2 void pack_b_rows16(int kc, const float* B, int ldb, float* dst) {
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int half = 0; half < 2; ++half) {
      const float* b = B + (size_t)(8 * half) * ldb + p;
      __m256 v[8];
      for (int j = 0; j < 8; ++j) v[j] = _mm256_loadu_ps(b + (size_t)j * ldb);
      transpose8x8(v);
      for (int k = 0; k < 8; ++k) _mm256_store_ps(dst + (size_t)(p + k) * NR + 8 * half, v[k]);
    }
  }
  for (; p < kc; ++p)
    for (int j = 0; j < NR; ++j) dst[(size_t)p * NR + j] = B[(size_t)j * ldb + p];
}

CNN_AVX2 void sgemm_pack_a_6_avx2(bool trans, int mc, int kc, const float* A, int lda, float* dst) {
  for (int i = 0; i < mc; i += MR, dst += (size_t)kc * MR) {
    if (!trans && mc - i >= MR)
      pack_a_rows6(kc, A + (size_t)i * lda, lda, dst);
    else
      pack_a_panel<MR>(trans, std::min(MR, mc - i), kc, trans ? A + i : A + (size_t)i * lda, lda, dst);
  }
}

CNN_AVX2 void sgemm_pack_b_16_avx2(bool trans, int kc, int nc, const float* B, int ldb, float* dst) {
  if (!trans) return pack_bn_block<NR>(kc, nc, B, ldb, dst);
  for (int j = 0; j < nc; j += NR, dst += (size_t)kc * NR) {
    if (nc - j >= NR)
      pack_b_rows16(kc, B + (size_t)j * ldb, ldb, dst);
    else
      pack_bt_panel<NR>(kc, nc - j, B + (size_t)j * ldb, ldb, dst);
  }
}

// Block sizes tuned on Zen3 with bench/gemm/run.sh --tune (see bench/RESULTS.md).
KernelImpl kAvx2FmaKernel = {"avx2_fma_6x16", sgemm_ukernel_6x16_avx2_fma, sgemm_pack_a_6_avx2,
                             sgemm_pack_b_16_avx2, {MR, NR, 192, 512, 4080}};

}  // namespace cnn::gemm

#else  // not x86: never selected (cpu_has_avx2_fma() is false)

namespace cnn::gemm {
KernelImpl kAvx2FmaKernel = {"avx2_fma_6x16", nullptr, nullptr, nullptr, {6, 16, 192, 512, 4080}};
}  // namespace cnn::gemm

#endif
