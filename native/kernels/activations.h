// Element-wise activations (softmax: per row of `cols`) and their derivatives.
#pragma once
#include <cstdint>
#include "common.h"

namespace cnn {

// y = act(x), x and y (rows, cols); y may alias x. alpha: leakyRelu slope / elu alpha.
void activation_forward(float* y, const float* x, int64_t rows, int64_t cols, Act act, float alpha);
// dx = dy * act'(x). y is the forward output; x the forward input, needed only when
// activation_needs_input(act) (gelu, swish), otherwise it may be nullptr. dx may alias dy.
void activation_backward(float* dx, const float* dy, const float* x, const float* y, int64_t rows,
                         int64_t cols, Act act, float alpha);
bool activation_needs_input(Act act);
// Applies act in place to one row of `cols` values: the building block the fused output loops use.
void activation_row_inplace(float* row, int64_t cols, Act act, float alpha);

}  // namespace cnn
