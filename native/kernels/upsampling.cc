#include "upsampling.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace cnn {

namespace {

struct Tap {
  int i0, i1;
  float f;  // weight of i1
};

Tap tap(int o, int in, int s) {
  const double src = (double)o * ((double)in / ((double)in * s));
  const int i0 = std::min((int)std::floor(src), in - 1);
  return Tap{i0, std::min(i0 + 1, in - 1), (float)(src - i0)};
}

}  // namespace

void upsample2d_forward(float* out, const float* x, int N, int H, int W, int C, int sh, int sw, Interp mode) {
  const int OH = H * sh, OW = W * sw;
  for (int n = 0; n < N; ++n) {
    const float* xi = x + (size_t)n * H * W * C;
    float* o = out + (size_t)n * OH * OW * C;
    for (int y = 0; y < OH; ++y) {
      for (int xx = 0; xx < OW; ++xx) {
        float* op = o + ((size_t)y * OW + xx) * C;
        if (mode == Interp::Nearest) {
          std::memcpy(op, xi + ((size_t)(y / sh) * W + xx / sw) * C, sizeof(float) * C);
          continue;
        }
        const Tap ty = tap(y, H, sh), tx = tap(xx, W, sw);
        const float* tl = xi + ((size_t)ty.i0 * W + tx.i0) * C;
        const float* tr = xi + ((size_t)ty.i0 * W + tx.i1) * C;
        const float* bl = xi + ((size_t)ty.i1 * W + tx.i0) * C;
        const float* br = xi + ((size_t)ty.i1 * W + tx.i1) * C;
        for (int c = 0; c < C; ++c) {
          const float top = tl[c] + (tr[c] - tl[c]) * tx.f;
          const float bottom = bl[c] + (br[c] - bl[c]) * tx.f;
          op[c] = top + (bottom - top) * ty.f;
        }
      }
    }
  }
}

void upsample2d_backward(float* dx, const float* dy, int N, int H, int W, int C, int sh, int sw, Interp mode) {
  const int OH = H * sh, OW = W * sw;
  std::memset(dx, 0, sizeof(float) * (size_t)N * H * W * C);
  for (int n = 0; n < N; ++n) {
    float* d = dx + (size_t)n * H * W * C;
    const float* g = dy + (size_t)n * OH * OW * C;
    for (int y = 0; y < OH; ++y) {
      for (int xx = 0; xx < OW; ++xx) {
        const float* gp = g + ((size_t)y * OW + xx) * C;
        if (mode == Interp::Nearest) {
          float* dp = d + ((size_t)(y / sh) * W + xx / sw) * C;
          for (int c = 0; c < C; ++c) dp[c] += gp[c];
          continue;
        }
        const Tap ty = tap(y, H, sh), tx = tap(xx, W, sw);
        float* tl = d + ((size_t)ty.i0 * W + tx.i0) * C;
        float* tr = d + ((size_t)ty.i0 * W + tx.i1) * C;
        float* bl = d + ((size_t)ty.i1 * W + tx.i0) * C;
        float* br = d + ((size_t)ty.i1 * W + tx.i1) * C;
        const float wy1 = ty.f, wy0 = 1.f - ty.f, wx1 = tx.f, wx0 = 1.f - tx.f;
        for (int c = 0; c < C; ++c) {
          const float v = gp[c];
          tl[c] += v * wy0 * wx0;
          tr[c] += v * wy0 * wx1;
          bl[c] += v * wy1 * wx0;
          br[c] += v * wy1 * wx1;
        }
      }
    }
  }
}

}  // namespace cnn
