// Single-precision GEMM, row-major:  C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C
// op(A) = A (A stored M x K, row stride lda) or Aᵀ (A stored K x M, row stride lda);
// op(B) likewise (B stored K x N, or N x K when transposed). ldc is C's row stride.
// beta == 0 never reads C (it may hold NaN). Work is split over the shared thread pool.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cnn {

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

// Triple loop reference; the oracle for tests and the fallback for degenerate shapes.
void sgemm_naive(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc);

// Which micro-kernel sgemm uses. Auto = the fastest one the CPU can run: AVX-512 (8 x 32) when
// the CPU and OS support it (measured faster than AVX2 on every benchmarked shape, also on Zen 4,
// whose zmm FMAs are double-pumped: bench/RESULTS.md "GEMM"), else AVX2/FMA, else the portable one.
enum class GemmKernel : int32_t { Auto = 0, Avx2Fma = 1, Portable = 2, Naive = 3, Avx512 = 4 };
constexpr int32_t kGemmKernelCount = 5;
// Returns false (and changes nothing) when the requested kernel cannot run on this CPU.
bool sgemm_set_kernel(GemmKernel k);
GemmKernel sgemm_active_kernel();  // never Auto: the kernel actually in use
// The kernel's name with its tile, e.g. "avx512_8x32" (Auto: the one Auto resolves to).
const char* sgemm_kernel_name(GemmKernel k);
// nullptr when the kernel can run on this CPU, else why not (e.g. "CPU lacks avx512f").
const char* sgemm_kernel_unavailable(GemmKernel k);

}  // namespace cnn
