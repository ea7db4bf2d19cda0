// Element-wise activations and their derivatives (see activations.h).
// Every loop has its switch hoisted outside and calls only the branch-free inline helpers below,
// so g++ -O3 vectorises it (libm's expf / tanhf / log1pf would not vectorise). Derivatives are
// taken from the output y, except gelu and swish which need x.
//
// Before any include, so that the whole file (std:: helpers too) shares the option and inlines:
// it lets g++ if-convert the selects in the loops below and vectorise them. Values are unchanged;
// nothing here reads the floating-point exception flags. Clang behaves so by default.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "activations.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "threadpool.h"

namespace cnn {

namespace {

constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2Hi = 0.693359375f;              // 355/512: n * kLn2Hi is exact for |n| <= 2^15
constexpr float kLn2Lo = -2.12194440054690583e-4f;  // ln 2 - kLn2Hi
constexpr float kRound = 12582912.f;                // 1.5 * 2^23: adding it rounds to an integer
constexpr float kExpHi = 89.f;   // clamp: n <= 128, where 2^n is +inf
constexpr float kExpLo = -88.f;  // clamp: n >= -127, where 2^n is 0
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr int64_t kChunk = 1 << 15;  // elements per parallel chunk, at least

// x = n ln2 + r with |r| <= ln2 / 2; returns r and sets s = 2^n. x is first clamped to
// [kExpLo, kExpHi], where n = -127 gives s = 0 and n = 128 gives s = +inf, so e^x flushes to 0
// below about -87.7 (no denormals) and overflows to +inf above about 88.4. NaN passes to r.
// Only the two clamps select: any other select here makes g++ duplicate the polynomial.
inline float reduce_exp(float x, float& s) {
  x = x > kExpHi ? kExpHi : x;
  x = x < kExpLo ? kExpLo : x;
  const float t = x * kLog2e + kRound;  // the low bits of t hold n = round(x / ln2)
  const float n = t - kRound;
  uint32_t bits;
  std::memcpy(&bits, &t, 4);
  const uint32_t e = (bits - 0x4B400000u + 127u) << 23;
  std::memcpy(&s, &e, 4);
  return (x - n * kLn2Hi) - n * kLn2Lo;
}

// expm1(r) for |r| <= ln2 / 2: Taylor series to r^7 (remainder < 6e-9 relative), in Estrin's
// scheme (short dependency chains).
inline float expm1_reduced(float r) {
  const float r2 = r * r;
  const float a = 1.f / 2 + r * (1.f / 6), b = 1.f / 24 + r * (1.f / 120),
              c = 1.f / 720 + r * (1.f / 5040);
  return r + r2 * (a + r2 * (b + r2 * c));
}

// e^x within about 1 ulp (see reduce_exp for the ends).
inline float vexp(float x) {
  float s;
  const float r = reduce_exp(x, s);
  return s * (1.f + expm1_reduced(r));  // s is a power of two: one rounding; inf stays inf
}

// e^x - 1 for x <= 0 (callers never need more), accurate near 0: n = 0 there, no cancellation.
inline float vexpm1(float x) {
  float s;
  const float r = reduce_exp(x, s);
  return s * expm1_reduced(r) + (s - 1.f);
}

// log(1 + u) for u in [0, 1]: 2 atanh(z), z = u / (2 + u) <= 1/3, odd series to z^15 (Estrin).
inline float log1p_unit(float u) {
  const float z = u / (2.f + u);
  const float w = z * z, w2 = w * w;
  const float q = (1.f / 3 + w * (1.f / 5)) + w2 * ((1.f / 7 + w * (1.f / 9)) +
                  w2 * ((1.f / 11 + w * (1.f / 13)) + w2 * (1.f / 15)));
  return 2.f * (z + z * w * q);
}

inline float sigmoid(float x) { return 1.f / (1.f + vexp(-x)); }

inline float tanh_f(float x) {
  const float a = std::fabs(x);
  const float m = vexpm1(-2.f * a);  // in (-1, 0]
  return std::copysign(-m / (2.f + m), x);
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows, exact tail for x << 0.
inline float softplus(float x) {
  const float a = x < 0.f ? -x : x;
  return (x > 0.f ? x : 0.f) + log1p_unit(vexp(-a));
}

// Phi(x) = (1 + erf(x / sqrt 2)) / 2, as erfc so that the tail x << 0 keeps its precision.
inline float phi_cdf(float x) { return 0.5f * std::erfc(-x * kInvSqrt2); }
inline float gelu(float x) { return x * phi_cdf(x); }

// Element-wise forward over n values (every act but softmax).
void forward_elems(float* y, const float* x, int64_t n, Act act, float alpha) {
  switch (act) {
    case Act::Linear:
      if (y != x) std::memmove(y, x, (size_t)n * sizeof(float));
      break;
    case Act::Relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
      break;
    case Act::LeakyRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : alpha * x[i];
      break;
    case Act::Elu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : alpha * vexpm1(x[i]);
      break;
    case Act::Selu:
      for (int64_t i = 0; i < n; ++i)
        y[i] = kSeluScale * (x[i] > 0.f ? x[i] : kSeluAlpha * vexpm1(x[i]));
      break;
    case Act::Sigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
      break;
    case Act::Tanh:
      for (int64_t i = 0; i < n; ++i) y[i] = tanh_f(x[i]);
      break;
    case Act::Softplus:
      for (int64_t i = 0; i < n; ++i) y[i] = softplus(x[i]);
      break;
    case Act::Gelu:
      for (int64_t i = 0; i < n; ++i) y[i] = gelu(x[i]);
      break;
    case Act::Swish:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] * sigmoid(x[i]);
      break;
    case Act::Relu6:
      for (int64_t i = 0; i < n; ++i) {
        const float v = x[i] > 0.f ? x[i] : 0.f;
        y[i] = v < 6.f ? v : 6.f;
      }
      break;
    case Act::Softmax:
      break;  // handled per row by the callers
  }
}

// Element-wise backward over n values: dx = dy * act'(x), from y (or x for gelu / swish).
void backward_elems(float* dx, const float* dy, const float* x, const float* y, int64_t n, Act act,
                    float alpha) {
  switch (act) {
    case Act::Linear:
      if (dx != dy) std::memmove(dx, dy, (size_t)n * sizeof(float));
      break;
    case Act::Relu:
      for (int64_t i = 0; i < n; ++i) {
        const float g = dy[i];  // loaded unconditionally: the select vectorises
        dx[i] = y[i] > 0.f ? g : 0.f;
      }
      break;
    case Act::LeakyRelu:
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : alpha * dy[i];
      break;
    case Act::Elu:  // y < 0: d/dx alpha (e^x - 1) = y + alpha
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] < 0.f ? dy[i] * (y[i] + alpha) : dy[i];
      break;
    case Act::Selu:
      for (int64_t i = 0; i < n; ++i)
        dx[i] = y[i] < 0.f ? dy[i] * (y[i] + kSeluScale * kSeluAlpha) : dy[i] * kSeluScale;
      break;
    case Act::Sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.f - y[i]);
      break;
    case Act::Tanh:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.f - y[i] * y[i]);
      break;
    case Act::Softplus:  // sigmoid(x) = 1 - e^-y
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * -vexpm1(-y[i]);
      break;
    case Act::Gelu:  // Phi(x) + x phi(x)
      for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        const float cdf = phi_cdf(v);
        dx[i] = dy[i] * (cdf + v * kInvSqrt2Pi * vexp(-0.5f * v * v));
      }
      break;
    case Act::Swish:  // s + x s (1 - s)
      for (int64_t i = 0; i < n; ++i) {
        const float s = sigmoid(x[i]);
        dx[i] = dy[i] * (s * (1.f + x[i] * (1.f - s)));
      }
      break;
    case Act::Relu6:
      for (int64_t i = 0; i < n; ++i) {
        const float g = dy[i], v = y[i];
        dx[i] = (v > 0.f) & (v < 6.f) ? g : 0.f;
      }
      break;
    case Act::Softmax:
      break;  // handled per row by the callers
  }
}

// Max and sum of a row through 8 independent partials, so that the loops vectorise without
// reassociating float math (the order is fixed: results do not depend on anything but the row).
float row_max(const float* x, int64_t n) {
  float m[8];
  for (int k = 0; k < 8; ++k) m[k] = x[0];
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
  for (; j < n; ++j) m[0] = x[j] > m[0] ? x[j] : m[0];
  for (int k = 1; k < 8; ++k) m[0] = m[k] > m[0] ? m[k] : m[0];
  return m[0];
}
float row_dot(const float* a, const float* b, int64_t n) {  // b == nullptr: sum of a
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[j + k] * (b ? b[j + k] : 1.f);
  for (; j < n; ++j) acc[0] += a[j] * (b ? b[j] : 1.f);
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// y (cols) = softmax(x (cols)), max-subtracted. y may alias x.
void softmax_row(float* y, const float* x, int64_t cols) {
  const float m = row_max(x, cols);
  for (int64_t j = 0; j < cols; ++j) y[j] = vexp(x[j] - m);
  const float inv = 1.f / row_dot(y, nullptr, cols);
  for (int64_t j = 0; j < cols; ++j) y[j] *= inv;
}

// dx = y * (dy - sum(dy * y)), one row of cols. dx may alias dy.
void softmax_backward_row(float* dx, const float* dy, const float* y, int64_t cols) {
  const float d = row_dot(dy, y, cols);
  for (int64_t j = 0; j < cols; ++j) dx[j] = y[j] * (dy[j] - d);
}

}  // namespace

bool activation_needs_input(Act act) { return act == Act::Gelu || act == Act::Swish; }

void activation_row_inplace(float* row, int64_t cols, Act act, float alpha) {
  if (cols <= 0) return;
  if (act == Act::Softmax)
    softmax_row(row, row, cols);
  else
    forward_elems(row, row, cols, act, alpha);
}

void activation_forward(float* y, const float* x, int64_t rows, int64_t cols, Act act, float alpha) {
  if (rows <= 0 || cols <= 0) return;
  if (act == Act::Softmax) {
    parallel_for(rows, std::max<int64_t>(1, kChunk / cols), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) softmax_row(y + r * cols, x + r * cols, cols);
    });
    return;
  }
  parallel_for(rows * cols, kChunk, [&](int64_t i0, int64_t i1, int) {
    forward_elems(y + i0, x + i0, i1 - i0, act, alpha);
  });
}

void activation_backward(float* dx, const float* dy, const float* x, const float* y, int64_t rows,
                         int64_t cols, Act act, float alpha) {
  if (rows <= 0 || cols <= 0) return;
  if (act == Act::Softmax) {
    parallel_for(rows, std::max<int64_t>(1, kChunk / cols), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r)
        softmax_backward_row(dx + r * cols, dy + r * cols, y + r * cols, cols);
    });
    return;
  }
  parallel_for(rows * cols, kChunk, [&](int64_t i0, int64_t i1, int) {
    backward_elems(dx + i0, dy + i0, x ? x + i0 : nullptr, y ? y + i0 : nullptr, i1 - i0, act, alpha);
  });
}

}  // namespace cnn
