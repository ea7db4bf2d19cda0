// UpSampling2D of NHWC tensors by integer factors (sh, sw), forward and backward. Pure kernels.
// Nearest: out[y, x] = in[y / sh, x / sw]. Bilinear as TF.js computes it (tf.image.resizeBilinear
// with alignCorners = false, halfPixelCenters = false): source row fy = y / sh (no half-pixel
// offset), y0 = floor(fy), y1 = min(y0 + 1, H - 1), weights fy - y0; the same on columns.
#pragma once

namespace cnn {

enum class Interp : int { Nearest = 0, Bilinear = 1 };

// out (N, H * sh, W * sw, C).
void upsample2d_forward(float* out, const float* x, int N, int H, int W, int C, int sh, int sw, Interp mode);
// dx (N, H, W, C), overwritten, from dy (N, H * sh, W * sw, C).
void upsample2d_backward(float* dx, const float* dy, int N, int H, int W, int C, int sh, int sw, Interp mode);

}  // namespace cnn
