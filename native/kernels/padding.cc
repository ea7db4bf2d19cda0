#include "padding.h"

#include <cstring>

namespace cnn {

void pad2d_forward(float* out, const float* x, int N, int H, int W, int C, int t, int b, int l, int r) {
  const int OH = H + t + b, OW = W + l + r;
  const size_t row = (size_t)W * C, orow = (size_t)OW * C;
  for (int i = 0; i < N; ++i) {
    float* o = out + (size_t)i * OH * orow;
    const float* xi = x + (size_t)i * H * row;
    std::memset(o, 0, sizeof(float) * (size_t)t * orow);
    for (int y = 0; y < H; ++y) {
      float* oy = o + (size_t)(y + t) * orow;
      std::memset(oy, 0, sizeof(float) * (size_t)l * C);
      std::memcpy(oy + (size_t)l * C, xi + (size_t)y * row, sizeof(float) * row);
      std::memset(oy + (size_t)(l + W) * C, 0, sizeof(float) * (size_t)r * C);
    }
    std::memset(o + (size_t)(t + H) * orow, 0, sizeof(float) * (size_t)b * orow);
  }
}

void pad2d_backward(float* dx, const float* dy, int N, int H, int W, int C, int t, int b, int l, int r) {
  const int OH = H + t + b, OW = W + l + r;
  const size_t row = (size_t)W * C, orow = (size_t)OW * C;
  for (int i = 0; i < N; ++i)
    for (int y = 0; y < H; ++y)
      std::memcpy(dx + ((size_t)i * H + y) * row, dy + ((size_t)i * OH + y + t) * orow + (size_t)l * C,
                  sizeof(float) * row);
}

}  // namespace cnn
