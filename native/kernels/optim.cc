// Optimizer updates (TF.js formulas, see optim.h). Each is one element-wise pass over the
// variable; big variables are split across the thread pool (the math per element is unchanged, so
// results do not depend on the thread count).
#include "optim.h"

#include <algorithm>
#include <cmath>

#include "cpu_features.h"
#include "threadpool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CNN_OPTIM_X86 1
#endif

namespace cnn {

constexpr int64_t kParallelMin = 1 << 15;  // elements per parallel chunk, at least

// fn(i0, i1) over [0, n), in parallel when n is big.
template <class Fn>
static void for_range(int64_t n, Fn fn) {
  if (n < 2 * kParallelMin) {
    fn(0, n);
    return;
  }
  parallel_for(n, kParallelMin, [&](int64_t i0, int64_t i1, int) { fn(i0, i1); });
}

// The AVX paths need AVX2-era CPUs (the check is the one the GEMM kernel uses; no FMA is used here).
static bool use_avx2() {
#if CNN_OPTIM_X86
  return cpu_has_avx2_fma();
#else
  return false;
#endif
}

// g (n): each element clamped to [-clip, clip].
void clip_by_value(float* g, int64_t n, float clip) {
  for_range(n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) g[i] = std::min(std::max(g[i], -clip), clip);
  });
}

// g (n) scaled by max_norm / ||g|| when ||g|| > max_norm (Keras' clipnorm, per variable).
void clip_by_norm(float* g, int64_t n, float max_norm) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += (double)g[i] * g[i];
  const double norm = std::sqrt(ss);
  if (norm <= max_norm) return;
  const float scale = (float)(max_norm / norm);
  for_range(n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) g[i] *= scale;
  });
}

// w, g (n)
void sgd_update(float* w, const float* g, int64_t n, float lr) {
  for_range(n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) w[i] -= lr * g[i];
  });
}

// w, v, g (n)
void momentum_update(float* w, float* v, const float* g, int64_t n, float lr, float momentum,
                     bool nesterov) {
  for_range(n, [&](int64_t i0, int64_t i1) {
    if (nesterov) {
      for (int64_t i = i0; i < i1; ++i) {
        v[i] = momentum * v[i] + g[i];
        w[i] -= lr * (g[i] + momentum * v[i]);
      }
    } else {
      for (int64_t i = i0; i < i1; ++i) {
        v[i] = momentum * v[i] + g[i];
        w[i] -= lr * v[i];
      }
    }
  });
}

// Adam on [i0, i1), one element at a time: the reference every other path matches bit for bit.
static void adam_range(float* w, float* m, float* v, const float* g, int64_t i0, int64_t i1, float lr,
                       float beta1, float beta2, float b1c, float b2c, float c1, float c2, float eps) {
  for (int64_t i = i0; i < i1; ++i) {
    m[i] = beta1 * m[i] + b1c * g[i];
    v[i] = beta2 * v[i] + b2c * g[i] * g[i];
    w[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
  }
}

#if CNN_OPTIM_X86
// The same operations in the same order, 8 lanes at a time. Plain AVX multiplies, adds, divides and
// square roots are correctly rounded like their scalar forms and no FMA is allowed to contract them,
// so every element gets exactly the scalar result: the update does not depend on where the thread
// chunks (and with them the vector tails) fall. The scalar loop is a sqrt call per element under
// math-errno rules, which the compiler will not vectorise on its own.
__attribute__((target("avx2"))) static void adam_range_avx2(float* w, float* m, float* v, const float* g,
                                                           int64_t i0, int64_t i1, float lr, float beta1,
                                                           float beta2, float b1c, float b2c, float c1,
                                                           float c2, float eps) {
  const __m256 vb1 = _mm256_set1_ps(beta1), vb2 = _mm256_set1_ps(beta2);
  const __m256 vb1c = _mm256_set1_ps(b1c), vb2c = _mm256_set1_ps(b2c);
  const __m256 vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2);
  const __m256 vlr = _mm256_set1_ps(lr), veps = _mm256_set1_ps(eps);
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 gi = _mm256_loadu_ps(g + i);
    const __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vb1c, gi));
    const __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(vb2c, gi), gi));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    const __m256 num = _mm256_mul_ps(vlr, _mm256_div_ps(mi, vc1));
    const __m256 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vi, vc2)), veps);
    _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), _mm256_div_ps(num, den)));
  }
  adam_range(w, m, v, g, i, i1, lr, beta1, beta2, b1c, b2c, c1, c2, eps);
}
#endif

// w, m, v, g (n); bias corrections 1 - beta^t in double, then float.
void adam_update(float* w, float* m, float* v, const float* g, int64_t n, float lr, float beta1,
                 float beta2, float eps, int64_t t) {
  const float c1 = (float)(1.0 - std::pow((double)beta1, (double)t));
  const float c2 = (float)(1.0 - std::pow((double)beta2, (double)t));
  const float b1c = 1.f - beta1, b2c = 1.f - beta2;
  const bool avx2 = use_avx2();
  for_range(n, [&](int64_t i0, int64_t i1) {
#if CNN_OPTIM_X86
    if (avx2) return adam_range_avx2(w, m, v, g, i0, i1, lr, beta1, beta2, b1c, b2c, c1, c2, eps);
#endif
    (void)avx2;
    adam_range(w, m, v, g, i0, i1, lr, beta1, beta2, b1c, b2c, c1, c2, eps);
  });
}

// Decoupled decay first (w -= lr * wd * w), then the Adam step.
void adamw_update(float* w, float* m, float* v, const float* g, int64_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int64_t t) {
  const float decay = lr * weight_decay;
  for_range(n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) w[i] -= decay * w[i];
  });
  adam_update(w, m, v, g, n, lr, beta1, beta2, eps, t);
}

// RMSprop on [i0, i1), the scalar reference (mg is nullptr unless centered).
static void rmsprop_range(float* w, float* ms, float* mom, float* mg, const float* g, int64_t i0, int64_t i1,
                          float lr, float rho, float rc, float momentum, float eps) {
  if (mg) {
    for (int64_t i = i0; i < i1; ++i) {
      ms[i] = rho * ms[i] + rc * g[i] * g[i];
      mg[i] = rho * mg[i] + rc * g[i];
      mom[i] = momentum * mom[i] + lr * g[i] / std::sqrt(ms[i] - mg[i] * mg[i] + eps);
      w[i] -= mom[i];
    }
  } else {
    for (int64_t i = i0; i < i1; ++i) {
      ms[i] = rho * ms[i] + rc * g[i] * g[i];
      mom[i] = momentum * mom[i] + lr * g[i] / std::sqrt(ms[i] + eps);
      w[i] -= mom[i];
    }
  }
}

// Adagrad on [i0, i1), the scalar reference.
static void adagrad_range(float* w, float* acc, const float* g, int64_t i0, int64_t i1, float lr, float eps) {
  for (int64_t i = i0; i < i1; ++i) {
    acc[i] += g[i] * g[i];
    w[i] -= lr * g[i] / std::sqrt(acc[i] + eps);
  }
}

#if CNN_OPTIM_X86
// The scalar loops in AVX, operation for operation (see adam_range_avx2).
__attribute__((target("avx2"))) static void rmsprop_range_avx2(float* w, float* ms, float* mom, float* mg,
                                                              const float* g, int64_t i0, int64_t i1, float lr,
                                                              float rho, float rc, float momentum, float eps) {
  const __m256 vrho = _mm256_set1_ps(rho), vrc = _mm256_set1_ps(rc), vmom = _mm256_set1_ps(momentum);
  const __m256 vlr = _mm256_set1_ps(lr), veps = _mm256_set1_ps(eps);
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 gi = _mm256_loadu_ps(g + i);
    const __m256 msi = _mm256_add_ps(_mm256_mul_ps(vrho, _mm256_loadu_ps(ms + i)), _mm256_mul_ps(_mm256_mul_ps(vrc, gi), gi));
    _mm256_storeu_ps(ms + i, msi);
    __m256 den;
    if (mg) {
      const __m256 mgi = _mm256_add_ps(_mm256_mul_ps(vrho, _mm256_loadu_ps(mg + i)), _mm256_mul_ps(vrc, gi));
      _mm256_storeu_ps(mg + i, mgi);
      den = _mm256_sqrt_ps(_mm256_add_ps(_mm256_sub_ps(msi, _mm256_mul_ps(mgi, mgi)), veps));
    } else {
      den = _mm256_sqrt_ps(_mm256_add_ps(msi, veps));
    }
    const __m256 mi = _mm256_add_ps(_mm256_mul_ps(vmom, _mm256_loadu_ps(mom + i)), _mm256_div_ps(_mm256_mul_ps(vlr, gi), den));
    _mm256_storeu_ps(mom + i, mi);
    _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), mi));
  }
  rmsprop_range(w, ms, mom, mg, g, i, i1, lr, rho, rc, momentum, eps);
}

__attribute__((target("avx2"))) static void adagrad_range_avx2(float* w, float* acc, const float* g, int64_t i0,
                                                              int64_t i1, float lr, float eps) {
  const __m256 vlr = _mm256_set1_ps(lr), veps = _mm256_set1_ps(eps);
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 gi = _mm256_loadu_ps(g + i);
    const __m256 ai = _mm256_add_ps(_mm256_loadu_ps(acc + i), _mm256_mul_ps(gi, gi));
    _mm256_storeu_ps(acc + i, ai);
    const __m256 step = _mm256_div_ps(_mm256_mul_ps(vlr, gi), _mm256_sqrt_ps(_mm256_add_ps(ai, veps)));
    _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), step));
  }
  adagrad_range(w, acc, g, i, i1, lr, eps);
}
#endif

// w, ms, mom, g (n); mg (n) when centered, else may be nullptr.
void rmsprop_update(float* w, float* ms, float* mom, float* mg, const float* g, int64_t n, float lr,
                    float rho, float momentum, float eps, bool centered) {
  const float rc = 1.f - rho;
  float* mgc = centered ? mg : nullptr;
  const bool avx2 = use_avx2();
  for_range(n, [&](int64_t i0, int64_t i1) {
#if CNN_OPTIM_X86
    if (avx2) return rmsprop_range_avx2(w, ms, mom, mgc, g, i0, i1, lr, rho, rc, momentum, eps);
#endif
    (void)avx2;
    rmsprop_range(w, ms, mom, mgc, g, i0, i1, lr, rho, rc, momentum, eps);
  });
}

// w, acc, g (n)
void adagrad_update(float* w, float* acc, const float* g, int64_t n, float lr, float eps) {
  const bool avx2 = use_avx2();
  for_range(n, [&](int64_t i0, int64_t i1) {
#if CNN_OPTIM_X86
    if (avx2) return adagrad_range_avx2(w, acc, g, i0, i1, lr, eps);
#endif
    (void)avx2;
    adagrad_range(w, acc, g, i0, i1, lr, eps);
  });
}

}  // namespace cnn
