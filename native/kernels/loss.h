// Losses: each returns the batch loss, mean over samples of the per-sample loss (Keras'
// SUM_OVER_BATCH_SIZE: sum(w_i * l_i) / N), and writes its gradient w.r.t. `pred` into `dpred`
// (dpred may be nullptr to compute the loss only). sw: per-sample weights (N) or nullptr (all 1).
// pred and labels are (N, D) row-major; sparse labels are (N) class indices.
#pragma once
#include <cstdint>

namespace cnn {

enum class Loss : int32_t {
  CategoricalCrossentropy = 0,
  SparseCategoricalCrossentropy = 1,
  BinaryCrossentropy = 2,
  MeanSquaredError = 3,
  MeanAbsoluteError = 4,
};

constexpr float kLossEpsilon = 1e-7f;  // Keras' backend epsilon, used to clip probabilities

// Fused softmax + cross-entropy, the stable path. probs (N,D) is the softmax output the forward pass
// produced. dlogits = w_i * (probs - y_smooth) / N is the gradient w.r.t. the *logits*.
// label smoothing: y_smooth = y * (1 - s) + s / D.
float softmax_crossentropy(float* dlogits, const float* probs, const float* labels, const float* sw,
                           int N, int D, float smoothing);
float sparse_softmax_crossentropy(float* dlogits, const float* probs, const int32_t* labels,
                                  const float* sw, int N, int D, float smoothing);
// Softmax of logits (N,D) into probs, row by row, max-subtracted.
void softmax_rows(float* probs, const float* logits, int N, int D);

// Cross-entropy on probabilities not produced by a fused softmax (e.g. a sigmoid output used with
// categorical CE): Keras normalises rows to sum 1, clips to [eps, 1-eps], loss = -sum y log p.
float categorical_crossentropy(float* dpred, const float* pred, const float* labels, const float* sw,
                               int N, int D, float smoothing);
float sparse_categorical_crossentropy(float* dpred, const float* pred, const int32_t* labels,
                                      const float* sw, int N, int D, float smoothing);
// Binary CE, mean over D per sample. fromLogits: pred are logits (stable log-sum-exp form);
// smoothing: y * (1 - s) + 0.5 * s.
float binary_crossentropy(float* dpred, const float* pred, const float* labels, const float* sw, int N,
                          int D, bool fromLogits, float smoothing);
float mean_squared_error(float* dpred, const float* pred, const float* labels, const float* sw, int N,
                         int D);
float mean_absolute_error(float* dpred, const float* pred, const float* labels, const float* sw, int N,
                          int D);

}  // namespace cnn
