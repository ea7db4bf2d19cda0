// xoshiro128** seeded by splitmix32; lib/backend/js/rng.ts is its bit-exact twin.
#include "common.h"

namespace cnn {

static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

void rng_seed(Rng& r, uint32_t seed) {
  uint32_t z = seed;
  for (int i = 0; i < 4; ++i) {
    z += 0x9e3779b9u;
    uint32_t t = z;
    t = (t ^ (t >> 16)) * 0x85ebca6bu;
    t = (t ^ (t >> 13)) * 0xc2b2ae35u;
    r.s[i] = t ^ (t >> 16);
  }
  if ((r.s[0] | r.s[1] | r.s[2] | r.s[3]) == 0) r.s[0] = 1;
}

uint32_t rng_next(Rng& r) {
  uint32_t* s = r.s;
  const uint32_t result = rotl(s[1] * 5u, 7) * 9u;
  const uint32_t t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}

}  // namespace cnn
