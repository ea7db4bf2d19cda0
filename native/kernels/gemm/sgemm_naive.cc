// Triple-loop SGEMM: the reference every optimised path is tested against.
#include "sgemm.h"

namespace cnn {

void sgemm_naive(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      double acc = 0.0;
      for (int p = 0; p < K; ++p) {
        float a = transA ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
        float b = transB ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
        acc += (double)a * b;
      }
      float* c = &C[(size_t)i * ldc + j];
      *c = beta == 0.f ? alpha * (float)acc : alpha * (float)acc + beta * *c;
    }
  }
}

}  // namespace cnn
