// Batch normalisation over the last axis (channels): inp viewed as (rows, C), rows = N*H*W.
// Statistics are the biased batch mean/variance (as TF.js); moving averages follow Keras:
// moving = moving * momentum + batch * (1 - momentum).
#pragma once
#include <cstdint>

namespace cnn {

// Training mode. Writes out, and keeps xhat (rows,C) and invstd (C) for backward; mean (C) scratch.
void batchnorm_forward_train(float* out, float* xhat, float* mean, float* invstd, float* moving_mean,
                             float* moving_var, const float* inp, const float* gamma, const float* beta,
                             int64_t rows, int C, float momentum, float eps);
// Inference mode, with the moving statistics.
void batchnorm_forward_infer(float* out, const float* inp, const float* gamma, const float* beta,
                             const float* moving_mean, const float* moving_var, int64_t rows, int C,
                             float eps);
// Overwrites dinp (rows,C) (if non-null), dgamma (C), dbeta (C).
void batchnorm_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* xhat,
                        const float* invstd, const float* gamma, int64_t rows, int C);

}  // namespace cnn
