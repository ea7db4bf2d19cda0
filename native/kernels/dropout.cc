// Inverted dropout (see dropout.h). The mask draw is serial: the RNG stream order is part of the
// contract (the TypeScript twin draws the same numbers), so only the multiply could be parallel,
// and it is too cheap to be worth it.
#include "dropout.h"

namespace cnn {

// out (n), mask (n), inp (n). Exactly n draws from rng, in index order.
void dropout_forward(float* out, float* mask, const float* inp, int64_t n, float rate, Rng& rng) {
  const float scale = 1.f / (1.f - rate);
  for (int64_t i = 0; i < n; ++i) mask[i] = rng_uniform(rng) >= rate ? scale : 0.f;
  for (int64_t i = 0; i < n; ++i) out[i] = inp[i] * mask[i];
}

// dinp (n) = dout (n) * mask (n); dinp may alias dout.
void dropout_backward(float* dinp, const float* dout, const float* mask, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dinp[i] = dout[i] * mask[i];
}

}  // namespace cnn
