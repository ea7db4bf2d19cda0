// fp32 <-> bf16 conversions (bf16.h), scalar and portable.
#include <cstring>

#include "bf16.h"

namespace cnn {

uint16_t bf16_from_f32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u | 0x00400000u) >> 16);  // NaN: quiet, payload top
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);  // ties to even; overflow carries into Inf
}

float f32_from_bf16(uint16_t b) {
  const uint32_t u = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// The same arithmetic on the bits, in a loop the compiler vectorises.
void bf16_round_array(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, src + i, sizeof u);
    const uint32_t r = (u & 0x7fffffffu) > 0x7f800000u ? (u | 0x00400000u) : u + 0x7fffu + ((u >> 16) & 1u);
    const uint32_t v = r & 0xffff0000u;
    std::memcpy(dst + i, &v, sizeof v);
  }
}

}  // namespace cnn
