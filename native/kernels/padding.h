// Spatial zero padding of NHWC tensors (ZeroPadding2D) and its gradient (a crop). Pure kernels.
#pragma once
#include <cstdint>

namespace cnn {

// out (N, H + t + b, W + l + r, C): x in the middle, zeros around.
void pad2d_forward(float* out, const float* x, int N, int H, int W, int C, int t, int b, int l, int r);
// dx (N, H, W, C) = the middle of dy (N, H + t + b, W + l + r, C).
void pad2d_backward(float* dx, const float* dy, int N, int H, int W, int C, int t, int b, int l, int r);

}  // namespace cnn
