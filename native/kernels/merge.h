// Merge kernels of graph nodes (the TypeScript twin is lib/backend/js/merge.ts): elementwise merges
// of k same-shaped inputs, concatenation on one per-sample axis, the dot product of two vectors.
// Pure functions over caller-owned buffers; gradients are overwritten, never accumulated.
//
// Elementwise (len floats each):
//   add        y = sum_i x_i               dx_i = dy
//   subtract   y = x_0 - x_1 (two inputs)  dx_0 = dy, dx_1 = -dy
//   multiply   y = prod_i x_i              dx_i = dy * prod_{j != i} x_j
//   average    y = sum_i x_i / k           dx_i = dy / k
//   maximum    y = max_i x_i               dx_i = dy where input i is the FIRST maximal one, else 0
//   minimum    y = min_i x_i               likewise with the first minimal input
// Sums and products run in input order in float32 (as the twin).
// Concatenate: each of `outer` rows of the output is the inputs' rows (inner[i] floats) side by side.
// Dot: y[r] = a[r]·b[r] over F features (double sums); with normalize, of a / |a| and b / |b| where
//   |v| = sqrt(max(sum v², 1e-12)) (Keras' l2_normalize).
#pragma once
#include <cstdint>

namespace cnn {

enum class MergeOp : int32_t { Add = 0, Subtract = 1, Multiply = 2, Average = 3, Maximum = 4, Minimum = 5 };

// out (len) from k inputs ins[0..k).
void merge_forward(MergeOp op, float* out, const float* const* ins, int k, int64_t len);
// dx (len): the gradient of input i (of k) from dout; ins are the forward inputs (read by
// multiply / maximum / minimum).
void merge_backward_input(MergeOp op, float* dx, int i, const float* dout, const float* const* ins, int k,
                          int64_t len);

// out (outer, sum inner) = ins[i] (outer, inner[i]) side by side.
void concat_forward(float* out, const float* const* ins, const int64_t* inner, int k, int64_t outer);
// dx (outer, inner[i]) = input i's columns of dout.
void concat_backward_input(float* dx, int i, const float* dout, const int64_t* inner, int k, int64_t outer);

// out (rows) = a[r]·b[r] over F features, optionally of the L2-normalised vectors.
void dot_forward(float* out, const float* a, const float* b, int64_t rows, int F, bool normalize);
// da, db (rows, F) from dout (rows); either may be nullptr.
void dot_backward(float* da, float* db, const float* dout, const float* a, const float* b, int64_t rows, int F,
                  bool normalize);

}  // namespace cnn
