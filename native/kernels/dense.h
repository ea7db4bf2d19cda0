// Fully connected layer: out[N,UNITS] = act(inp[N,IN] · W[IN,UNITS] + b[UNITS]).
#pragma once
#include "common.h"

namespace cnn {

void dense_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int IN,
                   int UNITS, Act act, float alpha);
// dout: gradient w.r.t. the pre-activation output. Overwrites dweight (IN,UNITS) = inpᵀ·dout,
// dbias (UNITS) = column sums (if non-null), dinp (N,IN) = dout·Wᵀ (if non-null).
void dense_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                    const float* weight, int N, int IN, int UNITS);

}  // namespace cnn
