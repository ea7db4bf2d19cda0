#include "prelu.h"

#include <cstring>

namespace cnn {

namespace {
inline int aidx(int y, int x, int c, int aH, int aW, int aC) {
  return ((aH == 1 ? 0 : y) * aW + (aW == 1 ? 0 : x)) * aC + (aC == 1 ? 0 : c);
}
}  // namespace

void prelu_forward(float* out, const float* x, const float* alpha, int N, int H, int W, int C, int aH, int aW, int aC) {
  size_t e = 0;
  for (int n = 0; n < N; ++n)
    for (int y = 0; y < H; ++y)
      for (int xx = 0; xx < W; ++xx)
        for (int c = 0; c < C; ++c, ++e) {
          const float v = x[e];
          out[e] = v > 0.f ? v : alpha[aidx(y, xx, c, aH, aW, aC)] * v;
        }
}

void prelu_backward(float* dx, float* dalpha, const float* dy, const float* x, const float* alpha, int N, int H, int W,
                    int C, int aH, int aW, int aC) {
  if (dalpha) std::memset(dalpha, 0, sizeof(float) * (size_t)aH * aW * aC);
  size_t e = 0;
  for (int n = 0; n < N; ++n)
    for (int y = 0; y < H; ++y)
      for (int xx = 0; xx < W; ++xx)
        for (int c = 0; c < C; ++c, ++e) {
          const float v = x[e];
          const int a = aidx(y, xx, c, aH, aW, aC);
          if (dx) dx[e] = v > 0.f ? dy[e] : alpha[a] * dy[e];
          if (dalpha && !(v > 0.f)) dalpha[a] += dy[e] * v;
        }
}

}  // namespace cnn
