// Shared enums and small helpers for the pure C++ kernels. Nothing here knows about Node.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cnn {

// Activation functions, fused into the output loop of conv2d / dense and usable on their own.
// Numbering is part of the binding ABI (lib/backend/types.ts mirrors it).
enum class Act : int32_t {
  Linear = 0,
  Relu = 1,
  LeakyRelu = 2,  // alpha = negative slope
  Elu = 3,        // alpha
  Selu = 4,
  Sigmoid = 5,
  Tanh = 6,
  Softplus = 7,
  Gelu = 8,       // exact (erf) form, as Keras' default
  Swish = 9,      // x * sigmoid(x)
  Softmax = 10,   // over the last axis (cols)
  Relu6 = 11,
};

// TF padding rule: "same" puts the extra pixel at the end (bottom / right).
enum class Padding : int32_t { Valid = 0, Same = 1 };

// Small deterministic RNG (xoshiro128**), identical in lib/backend/js/rng.ts so that
// both backends draw the same dropout masks from the same seed.
struct Rng {
  uint32_t s[4];
};
void rng_seed(Rng& r, uint32_t seed);   // splitmix32 expansion of the seed
uint32_t rng_next(Rng& r);
inline float rng_uniform(Rng& r) { return (float)(rng_next(r) >> 8) * (1.0f / 16777216.0f); }  // [0,1)

}  // namespace cnn
