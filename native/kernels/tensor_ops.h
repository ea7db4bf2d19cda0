// Elementwise and reduction kernels behind the TF.js-style tensor ops (lib/ops/): float32 only,
// split over the thread pool for large arrays, AVX2 where the CPU has it (picked at run time).
// The *_naive functions are the one-element-at-a-time references the tests compare with; the
// optimised paths give the same results (bit for bit for add/sub/mul/div/min/max, abs, neg,
// square, relu, sqrt and max/min reductions; sums accumulate in double in both; exp is within
// 1 ulp and sigmoid within 3 ulp of the naive double-precision libm ones).
#pragma once
#include <cstdint>

namespace cnn {

enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2, Div = 3, Min = 4, Max = 5 };
enum class UnaryOp : int { Abs = 0, Neg = 1, Square = 2, Relu = 3, Sqrt = 4, Exp = 5, Log = 6, Sigmoid = 7, Tanh = 8 };
enum class ReduceOp : int { Sum = 0, Mean = 1, Max = 2, Min = 3 };

// How b (or a) is read against the n output elements:
//   Same:    a (n), b (n)
//   ScalarA: a (1), b (n);       ScalarB: a (n), b (1)
//   RowA:    a (inner), b (n);   RowB:    a (n), b (inner)   (a row repeated n / inner times)
enum class Bcast : int { Same = 0, ScalarA = 1, ScalarB = 2, RowA = 3, RowB = 4 };

// out (n) = a op b. min / max propagate NaN from either side (as the TypeScript ops).
void binary_forward(float* out, const float* a, const float* b, BinaryOp op, Bcast mode, int64_t n,
                    int64_t inner);
void binary_naive(float* out, const float* a, const float* b, BinaryOp op, Bcast mode, int64_t n,
                  int64_t inner);

// out (n) = op(x). out may be x.
void unary_forward(float* out, const float* x, UnaryOp op, int64_t n);
void unary_naive(float* out, const float* x, UnaryOp op, int64_t n);

// x (outer, inner) -> out (outer): each row reduced. Sum / Mean accumulate in double; Mean of an
// empty row is 0, Max / Min of one is NaN, and a NaN in a row makes its Max / Min NaN.
void reduce_rows(float* out, const float* x, ReduceOp op, int64_t outer, int64_t inner);
void reduce_rows_naive(float* out, const float* x, ReduceOp op, int64_t outer, int64_t inner);

// dst (n) = src (n) with memcpy over the thread pool: the memory-bandwidth yardstick of the bench.
void parallel_copy(float* dst, const float* src, int64_t n);

}  // namespace cnn
