// The AVX512-BF16 path of sbgemm (bf16.h): BLIS-style blocking around an 8 x 32 micro-kernel built
// on vdpbf16ps, which adds the two products of a pair of bf16 values to each fp32 lane:
//   c[j] += a[2p] * b[2p][j] + a[2p+1] * b[2p+1][j]
// Packing turns fp32 operands into that layout, rounding to nearest even as bf16_from_f32 does:
//   A block  (MC x KC): micro-panels of MR rows; per k pair p, MR dwords (bf16 of k = 2p low, 2p+1 high),
//            or for an untransposed A each row's pairs in a run (no transpose while packing)
//   B panel  (KC x NC): micro-panels of NR columns; per k pair p, NR dwords in the same pairing
// so the micro-kernel broadcasts one A dword per row and loads two zmm of B per k pair. Odd K and
// edge tiles are zero-padded in the packed buffers; C edges are written with masks.
// Target attributes only: the file builds for the baseline CPU; sbgemm calls in only when
// cpu_has_avx512_bf16(). Threads split the (row block, column panel) grid; each packs its own.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "../threadpool.h"
#include "bf16.h"

#if defined(__x86_64__) && !defined(_MSC_VER)
#include <immintrin.h>
#define CNN_SB 1
#define CNN_SB_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma")))
#else
#define CNN_SB 0
#endif

namespace cnn::bf16 {

#if CNN_SB
namespace {

constexpr int MR = 8, NR = 32;
constexpr int KC = 512;  // k values per block (even): 256 pairs; a B micro-panel is 32 KB
constexpr int MC = 144;  // rows per A block (a multiple of MR): 144 KB packed
constexpr int NC = 512;  // columns per B panel (a multiple of NR): 512 KB packed
constexpr int64_t kMinWorkPerThread = 1 << 18;  // multiply-adds below which another thread does not pay

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// The bf16 of each lane in its top 16 bits (low bits are garbage): bf16_from_f32 on 16 lanes.
CNN_SB_TARGET inline __m512i round_bits(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb));
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x00400000)));
}

// Transposes 8 rows of 8 dwords in place.
CNN_SB_TARGET inline void transpose8x8(__m256i r[8]) {
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

inline __mmask16 low_mask(int n) { return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1); }

// A micro-panel of width W (8 or 32) from a source whose columns are contiguous: element (k, c) at
// src[k * ld + c], k < kc, c < cols <= W. dst[p * W + c] = pair (k = 2p, 2p + 1); zeros outside.
CNN_SB_TARGET void pack_from_rows(uint32_t* dst, int W, const float* src, int ld, int kc, int cols) {
  const int kp = (kc + 1) / 2;
  const __m512i hi = _mm512_set1_epi32((int)0xffff0000u);
  for (int c0 = 0; c0 < W; c0 += 16) {
    const __mmask16 lm = low_mask(cols - c0), sm = low_mask(W - c0);
    for (int p = 0; p < kp; ++p) {
      const int k = 2 * p;
      const __m512 r0 = _mm512_maskz_loadu_ps(lm, src + (int64_t)k * ld + c0);
      const __m512 r1 = k + 1 < kc ? _mm512_maskz_loadu_ps(lm, src + (int64_t)(k + 1) * ld + c0) : _mm512_setzero_ps();
      const __m512i pair = _mm512_or_si512(_mm512_srli_epi32(round_bits(r0), 16), _mm512_and_si512(round_bits(r1), hi));
      _mm512_mask_storeu_epi32(dst + (int64_t)p * W + c0, sm, pair);
    }
  }
}

// The same micro-panel from a source whose k is contiguous: element (c, k) at src[c * ld + k].
CNN_SB_TARGET void pack_from_cols(uint32_t* dst, int W, const float* src, int ld, int kc, int cols) {
  const int kp = (kc + 1) / 2;
  for (int c0 = 0; c0 < W; c0 += 8) {
    for (int p0 = 0; p0 < kp; p0 += 8) {
      const int k0 = 2 * p0;
      const __mmask16 lm = low_mask(kc - k0);
      __m256i r[8];
      for (int c = 0; c < 8; ++c) {
        if (c0 + c < cols) {
          const __m512 v = _mm512_maskz_loadu_ps(lm, src + (int64_t)(c0 + c) * ld + k0);
          r[c] = _mm512_cvtepi32_epi16(_mm512_srli_epi32(round_bits(v), 16));  // 8 pairs, in k order
        } else {
          r[c] = _mm256_setzero_si256();
        }
      }
      transpose8x8(r);  // r[q]: pair p0 + q of the 8 columns
      const int np = std::min(8, kp - p0);
      for (int q = 0; q < np; ++q)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (int64_t)(p0 + q) * W + c0), r[q]);
    }
  }
}

// An A micro-panel in row layout: dst[i * kp + p] = pair p of row i (kp = ceil(kc / 2)), from a
// source whose k is contiguous (element (i, k) at src[i * ld + k]); rows >= rows are zeros. Each
// row is a straight conversion, no transpose: the layout for an untransposed A, whose packing
// (every element once per column panel) is the costly one when N is small (a conv's OC).
CNN_SB_TARGET void pack_rows_layout(uint32_t* dst, const float* src, int ld, int kc, int rows) {
  const int kp = (kc + 1) / 2;
  for (int i = 0; i < MR; ++i) {
    uint32_t* d = dst + (int64_t)i * kp;
    if (i >= rows) {
      std::fill(d, d + kp, 0u);
      continue;
    }
    const float* x = src + (int64_t)i * ld;
    for (int p0 = 0; p0 < kp; p0 += 16) {
      const int k0 = 2 * p0;
      const __m512 lo = _mm512_maskz_loadu_ps(low_mask(kc - k0), x + k0);
      const __m512 hi = _mm512_maskz_loadu_ps(low_mask(kc - k0 - 16), x + k0 + 16);
      const __m256i plo = _mm512_cvtepi32_epi16(_mm512_srli_epi32(round_bits(lo), 16));  // pairs p0 .. p0 + 7
      const __m256i phi = _mm512_cvtepi32_epi16(_mm512_srli_epi32(round_bits(hi), 16));  // p0 + 8 .. p0 + 15
      const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(plo), phi, 1);
      _mm512_mask_storeu_epi32(d + p0, low_mask(kp - p0), v);
    }
  }
}

// C (m x n, m <= MR, n <= NR) = alpha * Ap · Bp + beta * C over kp k pairs; beta == 0 never reads C.
// kRowsA: Ap in row layout (pack_rows_layout), else pair-major (pack_from_rows / pack_from_cols).
template <bool kRowsA>
CNN_SB_TARGET void ukernel_8x32(int kp, const uint32_t* a, const uint32_t* b, float* C, int ldc, int m, int n,
                                float alpha, float beta) {
  __m512 c[MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
  for (int p = 0; p < kp; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const uint32_t ap = kRowsA ? a[(int64_t)i * kp + p] : a[(int64_t)p * MR + i];
      const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)ap);
      c[i][0] = _mm512_dpbf16_ps(c[i][0], ai, b0);
      c[i][1] = _mm512_dpbf16_ps(c[i][1], ai, b1);
    }
    b += NR;
  }
  // every index constant (unrolled, i < m tested per row): the accumulators stay in registers
  const __mmask16 m0 = low_mask(n), m1 = low_mask(n - 16);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    float* row = C + (int64_t)i * ldc;
    __m512 v0 = _mm512_mul_ps(va, c[i][0]), v1 = _mm512_mul_ps(va, c[i][1]);
    if (beta != 0.f) {
      v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), v0);
      v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), v1);
    }
    _mm512_mask_storeu_ps(row, m0, v0);
    _mm512_mask_storeu_ps(row + 16, m1, v1);
  }
}

struct Args {
  bool ta, tb;
  int M, N, K;
  float alpha;
  const float* A;
  int lda;
  const float* B;
  int ldb;
  float beta;
  float* C;
  int ldc;
};

// C rows [i0, i0 + mc), columns [j0, j0 + nc), over all of K.
CNN_SB_TARGET void run_block(const Args& g, int i0, int mc, int j0, int nc, std::vector<uint32_t>& ap,
                             std::vector<uint32_t>& bp) {
  for (int k0 = 0; k0 < g.K; k0 += KC) {
    const int kc = std::min(KC, g.K - k0), kp = (kc + 1) / 2;
    const int mpanels = ceil_div(mc, MR), npanels = ceil_div(nc, NR);
    if (ap.size() < (size_t)mpanels * kp * MR) ap.resize((size_t)mpanels * kp * MR);
    if (bp.size() < (size_t)npanels * kp * NR) bp.resize((size_t)npanels * kp * NR);
    for (int q = 0; q < npanels; ++q) {
      const int j = j0 + q * NR, cols = std::min(NR, nc - q * NR);
      uint32_t* dst = bp.data() + (size_t)q * kp * NR;
      if (g.tb)
        pack_from_cols(dst, NR, g.B + (int64_t)j * g.ldb + k0, g.ldb, kc, cols);
      else
        pack_from_rows(dst, NR, g.B + (int64_t)k0 * g.ldb + j, g.ldb, kc, cols);
    }
    for (int q = 0; q < mpanels; ++q) {
      const int i = i0 + q * MR, rows = std::min(MR, mc - q * MR);
      uint32_t* dst = ap.data() + (size_t)q * kp * MR;
      if (g.ta)
        pack_from_rows(dst, MR, g.A + (int64_t)k0 * g.lda + i, g.lda, kc, rows);
      else
        pack_rows_layout(dst, g.A + (int64_t)i * g.lda + k0, g.lda, kc, rows);
    }
    const float beta = k0 == 0 ? g.beta : 1.f;
    auto* kernel = g.ta ? ukernel_8x32<false> : ukernel_8x32<true>;
    for (int qn = 0; qn < npanels; ++qn)
      for (int qm = 0; qm < mpanels; ++qm)
        kernel(kp, ap.data() + (size_t)qm * kp * MR, bp.data() + (size_t)qn * kp * NR,
               g.C + (int64_t)(i0 + qm * MR) * g.ldc + j0 + qn * NR, g.ldc, std::min(MR, mc - qm * MR),
               std::min(NR, nc - qn * NR), g.alpha, beta);
  }
}

}  // namespace

void sbgemm_avx512(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                   int ldb, float beta, float* C, int ldc) {
  const Args g{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  const int mb = ceil_div(M, MC), nb = ceil_div(N, NC), jobs = mb * nb;
  const int64_t per_job = std::max<int64_t>(1, (int64_t)M * N * K / jobs);
  const int64_t min_chunk = std::max<int64_t>(1, (kMinWorkPerThread + per_job - 1) / per_job);
  parallel_for(jobs, min_chunk, [&](int64_t b, int64_t e, int) {
    thread_local std::vector<uint32_t> ap, bp;  // packed A block, B panel; grown, never shrunk
    for (int64_t job = b; job < e; ++job) {
      const int ib = (int)(job / nb), jb = (int)(job % nb);
      const int i0 = ib * MC, j0 = jb * NC;
      run_block(g, i0, std::min(MC, M - i0), j0, std::min(NC, N - j0), ap, bp);
    }
  });
}

#else

void sbgemm_avx512(bool, bool, int, int, int, float, const float*, int, const float*, int, float, float*, int) {}

#endif

}  // namespace cnn::bf16
