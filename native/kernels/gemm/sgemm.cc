// TEMPORARY: forwards to the naive kernel until the packed driver lands.
#include "sgemm.h"
namespace cnn {
static GemmKernel g_kernel = GemmKernel::Naive;
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  sgemm_naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
bool sgemm_set_kernel(GemmKernel k) { g_kernel = k; return true; }
GemmKernel sgemm_active_kernel() { return g_kernel; }
const char* sgemm_kernel_name(GemmKernel k) { (void)k; return "naive"; }
}  // namespace cnn
