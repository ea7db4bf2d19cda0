// sbgemm (bf16.h): path selection, the naive reference and the RoundedSgemm path.
#include <algorithm>
#include <atomic>
#include <vector>

#include "../gemm/sgemm.h"
#include "bf16.h"

namespace cnn {

namespace {

std::atomic<int> g_kernel{(int)Bf16Kernel::Auto};

Bf16Kernel resolve(Bf16Kernel k) {
  if (k != Bf16Kernel::Auto) return k;
  return cpu_has_avx512_bf16() ? Bf16Kernel::Avx512Bf16 : Bf16Kernel::RoundedSgemm;
}

// dst (rows, cols) compact = bf16_round of src (rows, cols) with row stride ld.
void round_copy(float* dst, const float* src, int rows, int cols, int ld) {
  for (int r = 0; r < rows; ++r) bf16_round_array(dst + (int64_t)r * cols, src + (int64_t)r * ld, cols);
}

// Rounded copies of both operands (as stored: transposes kept), then the fp32 sgemm.
void sbgemm_rounded(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                    int ldb, float beta, float* C, int ldc) {
  thread_local std::vector<float> ra, rb;  // grown, never shrunk
  const int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  if (ra.size() < (size_t)ar * ac) ra.resize((size_t)ar * ac);
  if (rb.size() < (size_t)br * bc) rb.resize((size_t)br * bc);
  round_copy(ra.data(), A, ar, ac, lda);
  round_copy(rb.data(), B, br, bc, ldb);
  sgemm(ta, tb, M, N, K, alpha, ra.data(), ac, rb.data(), bc, beta, C, ldc);
}

}  // namespace

void sbgemm_naive(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                  int ldb, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      float acc = 0.f;
      for (int k = 0; k < K; ++k) {
        const float a = ta ? A[(int64_t)k * lda + i] : A[(int64_t)i * lda + k];
        const float b = tb ? B[(int64_t)j * ldb + k] : B[(int64_t)k * ldb + j];
        acc += bf16_round(a) * bf16_round(b);
      }
      float& c = C[(int64_t)i * ldc + j];
      c = beta == 0.f ? alpha * acc : alpha * acc + beta * c;
    }
}

void sbgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
            float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) {  // C = beta * C
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) {
        float& c = C[(int64_t)i * ldc + j];
        c = beta == 0.f ? 0.f : beta * c;
      }
    return;
  }
  switch (sbgemm_active_kernel()) {
    case Bf16Kernel::Avx512Bf16:
      bf16::sbgemm_avx512(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return;
    case Bf16Kernel::Naive:
      sbgemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return;
    default:
      sbgemm_rounded(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return;
  }
}

bool sbgemm_set_kernel(Bf16Kernel k) {
  if (k == Bf16Kernel::Avx512Bf16 && !cpu_has_avx512_bf16()) return false;
  if ((int)k < 0 || (int)k > (int)Bf16Kernel::Naive) return false;
  g_kernel.store((int)k);
  return true;
}

Bf16Kernel sbgemm_active_kernel() { return resolve((Bf16Kernel)g_kernel.load()); }

const char* sbgemm_kernel_name(Bf16Kernel k) {
  switch (k) {
    case Bf16Kernel::Auto: return "auto";
    case Bf16Kernel::Avx512Bf16: return "avx512_bf16";
    case Bf16Kernel::RoundedSgemm: return "rounded_sgemm";
    case Bf16Kernel::Naive: return "naive";
  }
  return "unknown";
}

}  // namespace cnn
