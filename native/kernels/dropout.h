// Inverted dropout: out = inp * mask, mask = (u >= rate) / (1 - rate), drawn from rng.
#pragma once
#include <cstdint>
#include "common.h"

namespace cnn {

// mask (n) receives 0 or 1/(1-rate); rate in [0,1). Draws exactly n numbers from rng, in order.
void dropout_forward(float* out, float* mask, const float* inp, int64_t n, float rate, Rng& rng);
void dropout_backward(float* dinp, const float* dout, const float* mask, int64_t n);

}  // namespace cnn
