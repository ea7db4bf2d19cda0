// Private to native/kernels/gemm/: plain C++ packing into the formats described in ukernel.h.
// Templated on the micro-tile so each kernel file instantiates its own (the AVX2 file inlines them
// into target("avx2,fma") functions, so the compiler vectorises them with AVX2 there).
#pragma once
#include <algorithm>
#include <cstddef>

#if defined(__GNUC__)
#define CNN_GEMM_INLINE inline __attribute__((always_inline))
#else
#define CNN_GEMM_INLINE __forceinline
#endif

namespace cnn::gemm {

// One A micro-panel: op(A)[0..mr, 0..kc] -> dst (kc x MR), rows mr..MR-1 zero.
template <int MR>
CNN_GEMM_INLINE void pack_a_panel(bool trans, int mr, int kc, const float* A,
                                  int lda, float* dst) {
  if (trans) {  // op(A)[i,p] = A[p*lda + i]: each step is mr contiguous floats
    if (mr == MR) {
      for (int p = 0; p < kc; ++p)
        for (int r = 0; r < MR; ++r) dst[p * MR + r] = A[(size_t)p * lda + r];
    } else {
      for (int p = 0; p < kc; ++p)
        for (int r = 0; r < MR; ++r) dst[p * MR + r] = r < mr ? A[(size_t)p * lda + r] : 0.f;
    }
  } else {  // op(A)[i,p] = A[i*lda + p]: mr row streams interleaved
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
}

// One B micro-panel: op(B)[0..kc, 0..nr] -> dst (kc x NR), columns nr..NR-1 zero.
template <int NR>
CNN_GEMM_INLINE void pack_b_panel(bool trans, int kc, int nr, const float* B,
                                  int ldb, float* dst) {
  if (!trans) {  // op(B)[p,j] = B[p*ldb + j]: each step is nr contiguous floats
    if (nr == NR) {
      for (int p = 0; p < kc; ++p)
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = B[(size_t)p * ldb + j];
    } else {
      for (int p = 0; p < kc; ++p)
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < nr ? B[(size_t)p * ldb + j] : 0.f;
    }
  } else {  // op(B)[p,j] = B[j*ldb + p]: nr row streams interleaved
    const float* cols[NR];
    for (int j = 0; j < NR; ++j) cols[j] = B + (size_t)std::min(j, nr - 1) * ldb;
    if (nr == NR) {
      for (int p = 0; p < kc; ++p)
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = cols[j][p];
    } else {
      for (int p = 0; p < kc; ++p)
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < nr ? cols[j][p] : 0.f;
    }
  }
}

template <int MR>
CNN_GEMM_INLINE void pack_a_block(bool trans, int mc, int kc, const float* A,
                                  int lda, float* dst) {
  for (int i = 0; i < mc; i += MR, dst += (size_t)kc * MR) {
    const float* a = trans ? A + i : A + (size_t)i * lda;
    pack_a_panel<MR>(trans, std::min(MR, mc - i), kc, a, lda, dst);
  }
}

template <int NR>
CNN_GEMM_INLINE void pack_b_block(bool trans, int kc, int nc, const float* B, int ldb, float* dst) {
  if (trans) {
    for (int j = 0; j < nc; j += NR, dst += (size_t)kc * NR)
      pack_b_panel<NR>(true, kc, std::min(NR, nc - j), B + (size_t)j * ldb, ldb, dst);
    return;
  }
  // Row by row across all the micro-panels, so each row of B is read as one contiguous run: far
  // kinder to DRAM and the prefetchers than 64-byte pieces of kc different rows (ldb apart).
  const int full = nc / NR * NR;
  const size_t panel = (size_t)kc * NR;
  for (int p = 0; p < kc; ++p) {
    const float* b = B + (size_t)p * ldb;
    float* d = dst + (size_t)p * NR;
    for (int j = 0; j < full; j += NR, d += panel)
      for (int x = 0; x < NR; ++x) d[x] = b[j + x];
    if (full < nc)
      for (int x = 0; x < NR; ++x) d[x] = full + x < nc ? b[full + x] : 0.f;
  }
}

}  // namespace cnn::gemm
