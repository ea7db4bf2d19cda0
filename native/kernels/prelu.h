// PReLU of a per-sample (H, W, C) tensor: y = x > 0 ? x : alpha * x, alpha of shape (aH, aW, aC)
// with each of aH, aW, aC equal to the input's size or 1 (a shared axis). Pure kernels.
#pragma once

namespace cnn {

void prelu_forward(float* out, const float* x, const float* alpha, int N, int H, int W, int C, int aH, int aW, int aC);
// dx (nullptr: not wanted) overwritten; dalpha (nullptr: not wanted) overwritten with the sum over the batch.
void prelu_backward(float* dx, float* dalpha, const float* dy, const float* x, const float* alpha, int N, int H, int W,
                    int C, int aH, int aW, int aC);

}  // namespace cnn
