// Optimizer updates over flat parameter buffers, TF.js formulas and defaults.
#pragma once
#include <cstdint>

namespace cnn {

// Keras' clipvalue / clipnorm, applied to one variable's gradient before its update.
void clip_by_value(float* g, int64_t n, float clip);
void clip_by_norm(float* g, int64_t n, float max_norm);

// w -= lr * g
void sgd_update(float* w, const float* g, int64_t n, float lr);
// TF.js momentum: v = momentum * v + g; w -= lr * v; nesterov: w -= lr * (g + momentum * v)
void momentum_update(float* w, float* v, const float* g, int64_t n, float lr, float momentum,
                     bool nesterov);
// TF.js Adam (eps 1e-7 default), t = step number starting at 1:
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
void adam_update(float* w, float* m, float* v, const float* g, int64_t n, float lr, float beta1,
                 float beta2, float eps, int64_t t);
// Decoupled weight decay (Keras AdamW): w -= lr * wd * w, then the Adam step.
void adamw_update(float* w, float* m, float* v, const float* g, int64_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int64_t t);
// TF.js RMSprop: ms = rho ms + (1-rho) g²; centered: mg = rho mg + (1-rho) g, denom = ms - mg²;
// mom = momentum mom + lr g / sqrt(denom + eps); w -= mom. mg may be nullptr when not centered.
void rmsprop_update(float* w, float* ms, float* mom, float* mg, const float* g, int64_t n, float lr,
                    float rho, float momentum, float eps, bool centered);
// TF.js Adagrad: acc += g²; w -= lr g / sqrt(acc + eps)   (acc starts at initialAccumulatorValue)
void adagrad_update(float* w, float* acc, const float* g, int64_t n, float lr, float eps);

}  // namespace cnn
