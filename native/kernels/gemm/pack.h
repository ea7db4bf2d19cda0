// Private to native/kernels/gemm/: plain C++ packing into the formats described in ukernel.h.
// Templated on the micro-tile so each kernel file instantiates its own (the AVX2 file inlines them
// into target("avx2,fma") functions, so the compiler vectorises them with AVX2 there, and replaces
// the two transposing cases with in-register transposes).
#pragma once
#include <algorithm>
#include <cstddef>

#if defined(__GNUC__)
#define CNN_GEMM_INLINE inline __attribute__((always_inline))
#define CNN_GEMM_PREFETCH(p) __builtin_prefetch(p, 0, 3)
#else
#define CNN_GEMM_INLINE __forceinline
#define CNN_GEMM_PREFETCH(p) ((void)(p))
#endif

namespace cnn::gemm {

// One A micro-panel: op(A)[0..mr, 0..kc] -> dst (kc x MR), rows mr..MR-1 zero.
template <int MR>
CNN_GEMM_INLINE void pack_a_panel(bool trans, int mr, int kc, const float* A, int lda, float* dst) {
  if (trans) {  // op(A)[i,p] = A[p*lda + i]: each step is mr contiguous floats
    if (mr == MR) {
      for (int p = 0; p < kc; ++p)
        for (int r = 0; r < MR; ++r) dst[p * MR + r] = A[(size_t)p * lda + r];
    } else {
      for (int p = 0; p < kc; ++p)
        for (int r = 0; r < MR; ++r) dst[p * MR + r] = r < mr ? A[(size_t)p * lda + r] : 0.f;
    }
    return;
  }
  // op(A)[i,p] = A[i*lda + p]: mr row streams interleaved
  const float* rows[MR];
  for (int r = 0; r < MR; ++r) rows[r] = A + (size_t)std::min(r, mr - 1) * lda;
  if (mr == MR) {
    for (int p = 0; p < kc; ++p)
      for (int r = 0; r < MR; ++r) dst[p * MR + r] = rows[r][p];
  } else {
    for (int p = 0; p < kc; ++p)
      for (int r = 0; r < MR; ++r) dst[p * MR + r] = r < mr ? rows[r][p] : 0.f;
  }
}

template <int MR>
CNN_GEMM_INLINE void pack_a_block(bool trans, int mc, int kc, const float* A, int lda, float* dst) {
  for (int i = 0; i < mc; i += MR, dst += (size_t)kc * MR)
    pack_a_panel<MR>(trans, std::min(MR, mc - i), kc, trans ? A + i : A + (size_t)i * lda, lda, dst);
}

// One B micro-panel of a transposed B (op(B)[p,j] = B[j*ldb + p]): nr row streams of B
// interleaved into dst (kc x NR), columns nr..NR-1 zero.
template <int NR>
CNN_GEMM_INLINE void pack_bt_panel(int kc, int nr, const float* B, int ldb, float* dst) {
  const float* rows[NR];
  for (int j = 0; j < NR; ++j) rows[j] = B + (size_t)std::min(j, nr - 1) * ldb;
  for (int p = 0; p < kc; ++p)
    for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < nr ? rows[j][p] : 0.f;
}

// All the micro-panels of op(B)[0..kc, 0..nc] when B is not transposed (op(B)[p,j] = B[p*ldb + j]).
// Row by row across the micro-panels, so each row of B is read as one contiguous run, while the
// same columns one row ahead are prefetched: rows are ldb apart, usually on another page, where
// the hardware prefetcher stops. (Panel by panel instead reads 64-byte pieces of kc rows, each
// on its own page: about 2x slower when B comes from DRAM, measured on 64x3136x1024.)
template <int NR>
CNN_GEMM_INLINE void pack_bn_block(int kc, int nc, const float* B, int ldb, float* dst) {
  const int full = nc / NR * NR;
  const size_t panel = (size_t)kc * NR;
  for (int p = 0; p < kc; ++p) {
    const float* b = B + (size_t)p * ldb;
    const float* next = p + 1 < kc ? b + ldb : b;
    float* d = dst + (size_t)p * NR;
    for (int j = 0; j < full; j += NR, d += panel) {
      CNN_GEMM_PREFETCH(next + j);
      for (int x = 0; x < NR; ++x) d[x] = b[j + x];
    }
    if (full < nc)
      for (int x = 0; x < NR; ++x) d[x] = full + x < nc ? b[full + x] : 0.f;
  }
}

template <int NR>
CNN_GEMM_INLINE void pack_b_block(bool trans, int kc, int nc, const float* B, int ldb, float* dst) {
  if (!trans) return pack_bn_block<NR>(kc, nc, B, ldb, dst);
  for (int j = 0; j < nc; j += NR, dst += (size_t)kc * NR)
    pack_bt_panel<NR>(kc, std::min(NR, nc - j), B + (size_t)j * ldb, ldb, dst);
}

}  // namespace cnn::gemm
