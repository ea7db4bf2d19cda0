// Dense layer with bf16 GEMMs (mixed precision): the contracts of dense.h, with every GEMM an
// sbgemm (operands rounded to bf16, fp32 accumulation). Bias, activation and the bias gradient
// stay fp32. The engine rounds dout to bf16 first (see native/engine/network.cc), so that the
// bias gradient sums the same values the GEMMs read.
#pragma once
#include "../common.h"

namespace cnn {

// out (N,UNITS) = act(bf16(inp) · bf16(weight) + bias); inp (N,IN); weight (IN,UNITS); bias (UNITS) or nullptr.
void dense_forward_bf16(float* out, const float* inp, const float* weight, const float* bias, int N, int IN,
                        int UNITS, Act act, float alpha);
// dweight (IN,UNITS) = bf16(inp)ᵀ · bf16(dout); dbias (UNITS) = column sums of dout, or nullptr;
// dinp (N,IN) = bf16(dout) · bf16(weight)ᵀ, or nullptr. dout (N,UNITS) before the activation.
void dense_backward_bf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                         const float* weight, int N, int IN, int UNITS);

}  // namespace cnn
