// bfloat16 for mixed-precision training: conversions, the CPU check for AVX512-BF16, and sbgemm,
// a GEMM with bf16 operands and fp32 accumulation.
//
// bf16 is the top half of an fp32 (sign, 8 exponent bits, 7 mantissa bits). fp32 -> bf16 rounds to
// nearest, ties to even; NaN stays NaN (made quiet, sign and top payload kept); Inf stays Inf;
// finite values above the largest bf16 round to Inf; fp32 denormals round like any other value.
// A product of two bf16 values is exact in fp32 (8 x 8 significant bits), so a bf16 GEMM differs
// from the fp32 GEMM of the rounded operands only in the order of the fp32 additions.
#pragma once
#include <cstdint>

namespace cnn {

// The bf16 bits of f (round to nearest even).
uint16_t bf16_from_f32(float f);
// The fp32 with bf16 bits b (exact).
float f32_from_bf16(uint16_t b);
// f rounded to the nearest bf16 value, as an fp32.
inline float bf16_round(float f) { return f32_from_bf16(bf16_from_f32(f)); }
// dst[i] = bf16_round(src[i]) for i < n; dst may be src.
void bf16_round_array(float* dst, const float* src, int64_t n);

// True when the CPU has AVX512-F/BW/VL and AVX512-BF16 (vdpbf16ps) and the OS saves the zmm and
// mask state. (AMX is not used: there is no AMX machine to test it on.)
bool cpu_has_avx512_bf16();

// C[M,N] = alpha * bf16(op(A))[M,K] · bf16(op(B))[K,N] + beta * C, with fp32 accumulation.
// Operands are fp32 and rounded to bf16 as they are read (already-rounded values stay as they are).
// Same layout conventions as sgemm (gemm/sgemm.h): row-major, op(X) = X or Xᵀ by the flags, beta == 0
// never reads C. Work is split over the shared thread pool.
void sbgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
            const float* B, int ldb, float beta, float* C, int ldc);
// Triple loop reference: products of the rounded operands summed in fp32 in k order.
void sbgemm_naive(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc);

// The paths sbgemm can take. Auto = Avx512Bf16 when the CPU has it, else RoundedSgemm.
//   Avx512Bf16    operands packed as bf16 pairs, vdpbf16ps micro-kernel (8 x 32)
//   RoundedSgemm  operands rounded into fp32 copies, then the fp32 sgemm (AVX2/FMA or portable):
//                 the same products, only the summation order differs
//   Naive         sbgemm_naive
enum class Bf16Kernel : int32_t { Auto = 0, Avx512Bf16 = 1, RoundedSgemm = 2, Naive = 3 };
// Returns false (and changes nothing) when the kernel cannot run on this CPU.
bool sbgemm_set_kernel(Bf16Kernel k);
Bf16Kernel sbgemm_active_kernel();  // never Auto
const char* sbgemm_kernel_name(Bf16Kernel k);

namespace bf16 {
// The AVX512-BF16 driver (sbgemm_avx512bf16.cc); call only when cpu_has_avx512_bf16().
void sbgemm_avx512(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                   const float* B, int ldb, float beta, float* C, int ldc);
}  // namespace bf16

}  // namespace cnn
