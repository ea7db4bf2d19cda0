// sgemm_ukernel_4x8_portable: the same contract as the AVX2 kernel in plain C++. A 4 x 8 tile is
// 8 SSE registers of accumulators (+2 for B, +1 for A), so with constant bounds the compiler
// unrolls and vectorises it with baseline SSE2 and keeps the tile in registers (a 6 x 8 tile made
// GCC spill and ran slower). Used on CPUs without AVX2/FMA and on other architectures.
#include <cstddef>

#include "pack.h"
#include "ukernel.h"

namespace cnn::gemm {
namespace {
constexpr int MR = 4, NR = 8;
}

void sgemm_ukernel_4x8_portable(int kc, const float* __restrict a, const float* __restrict b, float* c,
                                int ldc, float alpha, float beta, int m, int n) {
  float acc[MR][NR] = {};
  for (int p = 0; p < kc; ++p, a += MR, b += NR)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];

  for (int i = 0; i < m; ++i) {
    float* ci = c + (size_t)i * ldc;
    if (m == MR && n == NR) {  // full tile: constant trip counts, vectorised
      if (beta == 0.f)
        for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j];
      else
        for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    } else if (beta == 0.f) {
      for (int j = 0; j < n; ++j) ci[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < n; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

void sgemm_pack_a_4_portable(bool trans, int mc, int kc, const float* A, int lda, float* dst) {
  pack_a_block<MR>(trans, mc, kc, A, lda, dst);
}

void sgemm_pack_b_8_portable(bool trans, int kc, int nc, const float* B, int ldb, float* dst) {
  pack_b_block<NR>(trans, kc, nc, B, ldb, dst);
}

KernelImpl kPortableKernel = {"portable_4x8", sgemm_ukernel_4x8_portable, sgemm_pack_a_4_portable,
                              sgemm_pack_b_8_portable, {MR, NR, 120, 256, 4080}};

}  // namespace cnn::gemm
