// Losses and their gradients (Keras / TF.js semantics, see loss.h). Every loss is
// sum_i(w_i * l_i) / N; the per-sample sums run in double so the value does not depend on N.
#include "loss.h"

#include <algorithm>
#include <cmath>

namespace cnn {

static inline float weight_of(const float* sw, int i) { return sw ? sw[i] : 1.f; }
static inline float mean_over_batch(double total, int N) { return N > 0 ? (float)(total / N) : 0.f; }
static inline float clip_prob(float p) { return std::min(std::max(p, kLossEpsilon), 1.f - kLossEpsilon); }

// probs (N,D), logits (N,D); max-subtracted so large logits do not overflow.
void softmax_rows(float* probs, const float* logits, int N, int D) {
  for (int i = 0; i < N; ++i) {
    const float* x = logits + (int64_t)i * D;
    float* p = probs + (int64_t)i * D;
    float mx = x[0];
    for (int j = 1; j < D; ++j) mx = std::max(mx, x[j]);
    float sum = 0.f;
    for (int j = 0; j < D; ++j) {
      p[j] = std::exp(x[j] - mx);
      sum += p[j];
    }
    const float inv = 1.f / sum;
    for (int j = 0; j < D; ++j) p[j] *= inv;
  }
}

// ---- fused softmax + cross-entropy ----------------------------------------------------------
// The loss value is Keras' (probabilities clipped to [eps, 1-eps]); the gradient is the exact
// gradient w.r.t. the logits of the unclipped loss, w_i (p - y_smooth) / N.

// dlogits (N,D) or nullptr; probs (N,D); labels (N,D); sw (N) or nullptr.
float softmax_crossentropy(float* dlogits, const float* probs, const float* labels, const float* sw,
                           int N, int D, float smoothing) {
  const float keep = 1.f - smoothing, spread = smoothing / (float)D;
  double total = 0;
  for (int i = 0; i < N; ++i) {
    const float* p = probs + (int64_t)i * D;
    const float* y = labels + (int64_t)i * D;
    const float w = weight_of(sw, i);
    double li = 0;
    for (int j = 0; j < D; ++j) {
      const float ys = y[j] * keep + spread;
      if (ys != 0.f) li -= (double)ys * std::log(clip_prob(p[j]));
    }
    total += w * li;
    if (dlogits) {
      float* g = dlogits + (int64_t)i * D;
      const float scale = w / (float)N;
      for (int j = 0; j < D; ++j) g[j] = scale * (p[j] - (y[j] * keep + spread));
    }
  }
  return mean_over_batch(total, N);
}

// labels (N) class indices in [0, D) (the binding checks the range).
float sparse_softmax_crossentropy(float* dlogits, const float* probs, const int32_t* labels,
                                  const float* sw, int N, int D, float smoothing) {
  const float keep = 1.f - smoothing, spread = smoothing / (float)D;
  double total = 0;
  for (int i = 0; i < N; ++i) {
    const float* p = probs + (int64_t)i * D;
    const int label = labels[i];
    const float w = weight_of(sw, i);
    double li = -(double)keep * std::log(clip_prob(p[label]));
    if (spread != 0.f)
      for (int j = 0; j < D; ++j) li -= (double)spread * std::log(clip_prob(p[j]));
    total += w * li;
    if (dlogits) {
      float* g = dlogits + (int64_t)i * D;
      const float scale = w / (float)N;
      for (int j = 0; j < D; ++j) g[j] = scale * (p[j] - spread);
      g[label] -= scale * keep;
    }
  }
  return mean_over_batch(total, N);
}

// ---- cross-entropy on probabilities ---------------------------------------------------------
// q = p / sum(p), c = clip(q, eps, 1-eps), l = -sum_j y_j log c_j.
// dl/dp_k = (g_k - sum_j g_j q_j) / sum(p), with g_j = -y_j / c_j where eps <= q_j <= 1-eps, else 0
// (TF's clip passes the gradient at the bounds).

// One row: returns l, writes scale * dl/dp into g (if non-null). ys(j) gives the smoothed label.
template <class Label>
static double cce_row(float* g, const float* p, Label ys, int D, float scale) {
  float s = 0.f;
  for (int j = 0; j < D; ++j) s += p[j];
  const float inv = 1.f / s;
  double l = 0;
  double gq = 0;  // sum_j g_j q_j
  for (int j = 0; j < D; ++j) {
    const float q = p[j] * inv;
    const float c = clip_prob(q);
    const float y = ys(j);
    if (y != 0.f) l -= (double)y * std::log(c);
    if (g) {
      const bool pass = q >= kLossEpsilon && q <= 1.f - kLossEpsilon;
      const float gj = pass ? -y / c : 0.f;
      g[j] = gj;
      gq += (double)gj * q;
    }
  }
  if (g) {
    const float sub = (float)gq;
    for (int j = 0; j < D; ++j) g[j] = (g[j] - sub) * inv * scale;
  }
  return l;
}

// dpred (N,D) or nullptr; pred (N,D) probabilities; labels (N,D).
float categorical_crossentropy(float* dpred, const float* pred, const float* labels, const float* sw,
                               int N, int D, float smoothing) {
  const float keep = 1.f - smoothing, spread = smoothing / (float)D;
  double total = 0;
  for (int i = 0; i < N; ++i) {
    const float* y = labels + (int64_t)i * D;
    const float w = weight_of(sw, i);
    auto ys = [&](int j) { return y[j] * keep + spread; };
    total += w * cce_row(dpred ? dpred + (int64_t)i * D : nullptr, pred + (int64_t)i * D, ys, D,
                         w / (float)N);
  }
  return mean_over_batch(total, N);
}

// labels (N) class indices in [0, D).
float sparse_categorical_crossentropy(float* dpred, const float* pred, const int32_t* labels,
                                      const float* sw, int N, int D, float smoothing) {
  const float keep = 1.f - smoothing, spread = smoothing / (float)D;
  double total = 0;
  for (int i = 0; i < N; ++i) {
    const int label = labels[i];
    const float w = weight_of(sw, i);
    auto ys = [&](int j) { return j == label ? keep + spread : spread; };
    total += w * cce_row(dpred ? dpred + (int64_t)i * D : nullptr, pred + (int64_t)i * D, ys, D,
                         w / (float)N);
  }
  return mean_over_batch(total, N);
}

// ---- binary cross-entropy, mean over D --------------------------------------------------------
// fromLogits: l = max(x,0) - x y + log(1 + exp(-|x|)), dl/dx = sigmoid(x) - y.
// probabilities: c = clip(p), l = -y log c - (1-y) log(1-c), dl/dp = (c - y) / (c (1-c)) inside the clip.
float binary_crossentropy(float* dpred, const float* pred, const float* labels, const float* sw, int N,
                          int D, bool fromLogits, float smoothing) {
  const float keep = 1.f - smoothing, spread = 0.5f * smoothing;
  double total = 0;
  for (int i = 0; i < N; ++i) {
    const float* x = pred + (int64_t)i * D;
    const float* y = labels + (int64_t)i * D;
    float* g = dpred ? dpred + (int64_t)i * D : nullptr;
    const float w = weight_of(sw, i);
    const float scale = w / ((float)N * (float)D);
    double li = 0;
    for (int j = 0; j < D; ++j) {
      const float ys = y[j] * keep + spread;
      if (fromLogits) {
        const float v = x[j];
        li += (double)std::max(v, 0.f) - (double)v * ys + std::log1p(std::exp(-std::fabs(v)));
        if (g) g[j] = scale * (1.f / (1.f + std::exp(-v)) - ys);
      } else {
        const float c = clip_prob(x[j]);
        li -= (double)ys * std::log(c) + (1.0 - ys) * std::log(1.0 - c);
        if (g) {
          const bool pass = x[j] >= kLossEpsilon && x[j] <= 1.f - kLossEpsilon;
          g[j] = pass ? scale * (c - ys) / (c * (1.f - c)) : 0.f;
        }
      }
    }
    total += w * li / D;
  }
  return mean_over_batch(total, N);
}

// ---- regression losses, mean over D -----------------------------------------------------------

float mean_squared_error(float* dpred, const float* pred, const float* labels, const float* sw, int N,
                         int D) {
  double total = 0;
  for (int i = 0; i < N; ++i) {
    const float* p = pred + (int64_t)i * D;
    const float* y = labels + (int64_t)i * D;
    const float w = weight_of(sw, i);
    double li = 0;
    for (int j = 0; j < D; ++j) {
      const float d = p[j] - y[j];
      li += (double)d * d;
    }
    total += w * li / D;
    if (dpred) {
      float* g = dpred + (int64_t)i * D;
      const float scale = 2.f * w / ((float)N * (float)D);
      for (int j = 0; j < D; ++j) g[j] = scale * (p[j] - y[j]);
    }
  }
  return mean_over_batch(total, N);
}

// dl/dp = sign(p - y) (0 where equal, as TF's abs gradient).
float mean_absolute_error(float* dpred, const float* pred, const float* labels, const float* sw, int N,
                          int D) {
  double total = 0;
  for (int i = 0; i < N; ++i) {
    const float* p = pred + (int64_t)i * D;
    const float* y = labels + (int64_t)i * D;
    const float w = weight_of(sw, i);
    double li = 0;
    for (int j = 0; j < D; ++j) li += std::fabs((double)p[j] - y[j]);
    total += w * li / D;
    if (dpred) {
      float* g = dpred + (int64_t)i * D;
      const float scale = w / ((float)N * (float)D);
      for (int j = 0; j < D; ++j) {
        const float d = p[j] - y[j];
        g[j] = d > 0.f ? scale : (d < 0.f ? -scale : 0.f);
      }
    }
  }
  return mean_over_batch(total, N);
}

}  // namespace cnn
