// Tensor-op kernels (see tensor_ops.h). Each optimised path splits [0, n) into chunks on the
// thread pool and runs an AVX2 loop with a scalar tail; the math per element is the naive one's,
// except exp and sigmoid, whose AVX2 path uses a polynomial exp (1 and 3 ulp; see exp8).
#include "tensor_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu_features.h"
#include "threadpool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CNN_TOPS_X86 1
#endif

namespace cnn {

namespace {

constexpr int64_t kChunk = 1 << 16;  // elements per parallel chunk, at least

template <class Fn>
void for_range(int64_t n, Fn fn) {
  if (n < 2 * kChunk) {
    fn(0, n);
    return;
  }
  parallel_for(n, kChunk, [&](int64_t i0, int64_t i1, int) { fn(i0, i1); });
}

bool use_avx2() {
#if CNN_TOPS_X86
  static const bool ok = cpu_has_avx2_fma();
  return ok;
#else
  return false;
#endif
}

inline float apply(BinaryOp op, float x, float y) {
  switch (op) {
    case BinaryOp::Add: return x + y;
    case BinaryOp::Sub: return x - y;
    case BinaryOp::Mul: return x * y;
    case BinaryOp::Div: return x / y;
    case BinaryOp::Min: return (x < y || std::isnan(x)) ? x : y;
    default: return (x > y || std::isnan(x)) ? x : y;
  }
}

inline float apply(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Neg: return -x;
    case UnaryOp::Square: return x * x;
    case UnaryOp::Relu: return x > 0 ? x : 0.0f;
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Exp: return (float)std::exp((double)x);
    case UnaryOp::Log: return (float)std::log((double)x);
    case UnaryOp::Sigmoid: return (float)(1.0 / (1.0 + std::exp(-(double)x)));
    default: return (float)std::tanh((double)x);
  }
}

// Index of a's / b's element for output i.
inline int64_t ia(Bcast m, int64_t i, int64_t inner) {
  return m == Bcast::ScalarA ? 0 : m == Bcast::RowA ? i % inner : i;
}
inline int64_t ib(Bcast m, int64_t i, int64_t inner) {
  return m == Bcast::ScalarB ? 0 : m == Bcast::RowB ? i % inner : i;
}

// out[i0, i1) = a op b for a and b both contiguous (steps 1) or one of them a scalar (step 0).
void binary_span_scalar(float* out, const float* a, int64_t sa, const float* b, int64_t sb, BinaryOp op,
                        int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) out[i] = apply(op, a[i * sa], b[i * sb]);
}

#if CNN_TOPS_X86
__attribute__((target("avx2"))) inline __m256 apply8(BinaryOp op, __m256 x, __m256 y) {
  switch (op) {
    case BinaryOp::Add: return _mm256_add_ps(x, y);
    case BinaryOp::Sub: return _mm256_sub_ps(x, y);
    case BinaryOp::Mul: return _mm256_mul_ps(x, y);
    case BinaryOp::Div: return _mm256_div_ps(x, y);
    case BinaryOp::Min: {  // minps returns y when either is NaN: put x back where x is NaN
      __m256 r = _mm256_min_ps(x, y);
      return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    }
    default: {
      __m256 r = _mm256_max_ps(x, y);
      return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    }
  }
}

// sa / sb: 1 = contiguous, 0 = broadcast scalar (a[0] / b[0]).
template <BinaryOp OP>
__attribute__((target("avx2"))) void binary_span_avx2_t(float* out, const float* a, int64_t sa, const float* b,
                                                       int64_t sb, int64_t i0, int64_t i1) {
  const __m256 va0 = _mm256_set1_ps(a[0]), vb0 = _mm256_set1_ps(b[0]);
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 x = sa ? _mm256_loadu_ps(a + i) : va0;
    const __m256 y = sb ? _mm256_loadu_ps(b + i) : vb0;
    _mm256_storeu_ps(out + i, apply8(OP, x, y));
  }
  for (; i < i1; ++i) out[i] = apply(OP, a[i * sa], b[i * sb]);
}

void binary_span_avx2(float* out, const float* a, int64_t sa, const float* b, int64_t sb, BinaryOp op,
                      int64_t i0, int64_t i1) {
  switch (op) {
    case BinaryOp::Add: return binary_span_avx2_t<BinaryOp::Add>(out, a, sa, b, sb, i0, i1);
    case BinaryOp::Sub: return binary_span_avx2_t<BinaryOp::Sub>(out, a, sa, b, sb, i0, i1);
    case BinaryOp::Mul: return binary_span_avx2_t<BinaryOp::Mul>(out, a, sa, b, sb, i0, i1);
    case BinaryOp::Div: return binary_span_avx2_t<BinaryOp::Div>(out, a, sa, b, sb, i0, i1);
    case BinaryOp::Min: return binary_span_avx2_t<BinaryOp::Min>(out, a, sa, b, sb, i0, i1);
    default: return binary_span_avx2_t<BinaryOp::Max>(out, a, sa, b, sb, i0, i1);
  }
}

template <UnaryOp OP>
__attribute__((target("avx2"))) void unary_span_avx2_t(float* out, const float* x, int64_t i0, int64_t i1) {
  const __m256 sign = _mm256_set1_ps(-0.0f), zero = _mm256_setzero_ps();
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    __m256 r;
    if (OP == UnaryOp::Abs) r = _mm256_andnot_ps(sign, v);
    else if (OP == UnaryOp::Neg) r = _mm256_xor_ps(sign, v);
    else if (OP == UnaryOp::Square) r = _mm256_mul_ps(v, v);
    else if (OP == UnaryOp::Relu) r = _mm256_max_ps(v, zero);  // v > 0 ? v : 0 (NaN -> 0)
    else r = _mm256_sqrt_ps(v);
    _mm256_storeu_ps(out + i, r);
  }
  for (; i < i1; ++i) out[i] = apply(OP, x[i]);
}

// e^x for 8 lanes (Cephes' expf scheme: x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial for
// e^r, then 2^n into the exponent), within 1 ulp of the double-precision exp rounded to float.
// Valid for x in [-87, 88]; the callers send other lanes (and NaN) to the scalar std::exp.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 c1 = _mm256_set1_ps(0.693359375f), c2 = _mm256_set1_ps(-2.12194440e-4f);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, c1, x);
  r = _mm256_fnmadd_ps(n, c2, r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// out = exp(x) (or sigmoid(x) = 1 / (1 + exp(-x))) over [i0, i1); blocks with a lane outside
// [-87, 88] (or NaN) take the scalar path.
template <bool SIGMOID>
__attribute__((target("avx2,fma"))) void exp_span_avx2(float* out, const float* x, int64_t i0, int64_t i1) {
  const __m256 lo = _mm256_set1_ps(-87.0f), hi = _mm256_set1_ps(88.0f), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    if (SIGMOID) v = _mm256_xor_ps(v, sign);
    const __m256 in = _mm256_and_ps(_mm256_cmp_ps(v, lo, _CMP_GE_OQ), _mm256_cmp_ps(v, hi, _CMP_LE_OQ));
    if (_mm256_movemask_ps(in) != 0xff) {
      for (int j = 0; j < 8; ++j) out[i + j] = apply(SIGMOID ? UnaryOp::Sigmoid : UnaryOp::Exp, x[i + j]);
      continue;
    }
    const __m256 e = exp8(v);
    _mm256_storeu_ps(out + i, SIGMOID ? _mm256_div_ps(one, _mm256_add_ps(one, e)) : e);
  }
  for (; i < i1; ++i) out[i] = apply(SIGMOID ? UnaryOp::Sigmoid : UnaryOp::Exp, x[i]);
}

// Sum of x[i0, i1) in double, 16 floats per step into four double accumulators.
__attribute__((target("avx2"))) double sum_avx2(const float* x, int64_t i0, int64_t i1) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = i0;
  for (; i + 16 <= i1; i += 16) {
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
    s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 8)));
    s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 12)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
  double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < i1; ++i) s += x[i];
  return s;
}

// Max (or min) of x[i0, i1), NaN if any element is NaN; i1 > i0.
template <bool MAX>
__attribute__((target("avx2"))) float extreme_avx2(const float* x, int64_t i0, int64_t i1) {
  int64_t i = i0;
  float m = x[i0];
  bool nan = std::isnan(m);
  if (i1 - i0 >= 16) {
    __m256 m0 = _mm256_set1_ps(m), m1 = m0, bad = _mm256_setzero_ps();
    for (; i + 16 <= i1; i += 16) {
      const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
      bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
      m0 = MAX ? _mm256_max_ps(m0, a) : _mm256_min_ps(m0, a);
      m1 = MAX ? _mm256_max_ps(m1, b) : _mm256_min_ps(m1, b);
    }
    nan = nan || _mm256_movemask_ps(bad) != 0;
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, MAX ? _mm256_max_ps(m0, m1) : _mm256_min_ps(m0, m1));
    for (float v : lanes) m = MAX ? std::max(m, v) : std::min(m, v);
  }
  for (; i < i1; ++i) {
    const float v = x[i];
    if (std::isnan(v)) nan = true;
    else if (MAX ? v > m : v < m) m = v;
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}
#endif

double sum_span(const float* x, int64_t i0, int64_t i1) {
#if CNN_TOPS_X86
  if (use_avx2()) return sum_avx2(x, i0, i1);
#endif
  double s = 0;
  for (int64_t i = i0; i < i1; ++i) s += x[i];
  return s;
}

float extreme_span(bool max, const float* x, int64_t i0, int64_t i1) {
#if CNN_TOPS_X86
  if (use_avx2()) return max ? extreme_avx2<true>(x, i0, i1) : extreme_avx2<false>(x, i0, i1);
#endif
  float m = x[i0];
  bool nan = std::isnan(m);
  for (int64_t i = i0 + 1; i < i1; ++i) {
    if (std::isnan(x[i])) nan = true;
    else if (max ? x[i] > m : x[i] < m) m = x[i];
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

float reduce_one(ReduceOp op, const float* x, int64_t inner) {
  switch (op) {
    case ReduceOp::Sum: return (float)sum_span(x, 0, inner);
    case ReduceOp::Mean: return inner ? (float)(sum_span(x, 0, inner) / (double)inner) : 0.0f;
    default:
      if (inner == 0) return std::numeric_limits<float>::quiet_NaN();
      return extreme_span(op == ReduceOp::Max, x, 0, inner);
  }
}

}  // namespace

// ------------------------------------------------------------------ binary

void binary_naive(float* out, const float* a, const float* b, BinaryOp op, Bcast mode, int64_t n,
                  int64_t inner) {
  for (int64_t i = 0; i < n; ++i) out[i] = apply(op, a[ia(mode, i, inner)], b[ib(mode, i, inner)]);
}

void binary_forward(float* out, const float* a, const float* b, BinaryOp op, Bcast mode, int64_t n,
                    int64_t inner) {
  if (n <= 0) return;
  auto span = [&](const float* pa, int64_t sa, const float* pb, int64_t sb, float* po, int64_t i0, int64_t i1) {
#if CNN_TOPS_X86
    if (use_avx2()) return binary_span_avx2(po, pa, sa, pb, sb, op, i0, i1);
#endif
    binary_span_scalar(po, pa, sa, pb, sb, op, i0, i1);
  };
  if (mode == Bcast::RowA || mode == Bcast::RowB) {
    // rows of `inner` elements: within a row both sides are contiguous
    const int64_t rows = n / inner;
    const int64_t rows_per = std::max<int64_t>(1, kChunk / std::max<int64_t>(inner, 1));
    auto rows_fn = [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float* o = out + r * inner;
        const float* pa = mode == Bcast::RowA ? a : a + r * inner;
        const float* pb = mode == Bcast::RowB ? b : b + r * inner;
        span(pa, 1, pb, 1, o, 0, inner);
      }
    };
    if (rows < 2 * rows_per) rows_fn(0, rows);
    else parallel_for(rows, rows_per, [&](int64_t r0, int64_t r1, int) { rows_fn(r0, r1); });
    return;
  }
  const int64_t sa = mode == Bcast::ScalarA ? 0 : 1, sb = mode == Bcast::ScalarB ? 0 : 1;
  for_range(n, [&](int64_t i0, int64_t i1) { span(a, sa, b, sb, out, i0, i1); });
}

// ------------------------------------------------------------------ unary

void unary_naive(float* out, const float* x, UnaryOp op, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = apply(op, x[i]);
}

void unary_forward(float* out, const float* x, UnaryOp op, int64_t n) {
  if (n <= 0) return;
  for_range(n, [&](int64_t i0, int64_t i1) {
#if CNN_TOPS_X86
    if (use_avx2()) {
      switch (op) {
        case UnaryOp::Abs: return unary_span_avx2_t<UnaryOp::Abs>(out, x, i0, i1);
        case UnaryOp::Neg: return unary_span_avx2_t<UnaryOp::Neg>(out, x, i0, i1);
        case UnaryOp::Square: return unary_span_avx2_t<UnaryOp::Square>(out, x, i0, i1);
        case UnaryOp::Relu: return unary_span_avx2_t<UnaryOp::Relu>(out, x, i0, i1);
        case UnaryOp::Sqrt: return unary_span_avx2_t<UnaryOp::Sqrt>(out, x, i0, i1);
        case UnaryOp::Exp: return exp_span_avx2<false>(out, x, i0, i1);
        case UnaryOp::Sigmoid: return exp_span_avx2<true>(out, x, i0, i1);
        default: break;  // log, tanh: the scalar loop below (libm, in double)
      }
    }
#endif
    for (int64_t i = i0; i < i1; ++i) out[i] = apply(op, x[i]);
  });
}

// ------------------------------------------------------------------ reductions

void reduce_rows_naive(float* out, const float* x, ReduceOp op, int64_t outer, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* r = x + o * inner;
    if (op == ReduceOp::Sum || op == ReduceOp::Mean) {
      double s = 0;
      for (int64_t i = 0; i < inner; ++i) s += r[i];
      out[o] = op == ReduceOp::Sum ? (float)s : inner ? (float)(s / (double)inner) : 0.0f;
    } else {
      float m = inner ? r[0] : std::numeric_limits<float>::quiet_NaN();
      bool nan = inner && std::isnan(m);
      for (int64_t i = 1; i < inner; ++i) {
        if (std::isnan(r[i])) nan = true;
        else if (op == ReduceOp::Max ? r[i] > m : r[i] < m) m = r[i];
      }
      out[o] = nan ? std::numeric_limits<float>::quiet_NaN() : m;
    }
  }
}

void reduce_rows(float* out, const float* x, ReduceOp op, int64_t outer, int64_t inner) {
  if (outer <= 0) return;
  const int threads = get_num_threads();
  if (outer >= 2 * threads || inner < 2 * kChunk) {
    // many rows (or short ones): rows in parallel, each row by one thread
    const int64_t rows_per = std::max<int64_t>(1, kChunk / std::max<int64_t>(inner, 1));
    if (outer < 2 * rows_per) {
      for (int64_t o = 0; o < outer; ++o) out[o] = reduce_one(op, x + o * inner, inner);
    } else {
      parallel_for(outer, rows_per, [&](int64_t o0, int64_t o1, int) {
        for (int64_t o = o0; o < o1; ++o) out[o] = reduce_one(op, x + o * inner, inner);
      });
    }
    return;
  }
  // few long rows: each row split over the pool, per-chunk partials combined in chunk order
  const bool sum = op == ReduceOp::Sum || op == ReduceOp::Mean;
  for (int64_t o = 0; o < outer; ++o) {
    const float* r = x + o * inner;
    const int64_t nchunks = std::min<int64_t>(64, (inner + kChunk - 1) / kChunk);
    const int64_t step = (inner + nchunks - 1) / nchunks;
    std::vector<double> part(nchunks);
    parallel_for(nchunks, 1, [&](int64_t c0, int64_t c1, int) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t i0 = c * step, i1 = std::min(inner, i0 + step);
        part[c] = sum ? sum_span(r, i0, i1) : (double)extreme_span(op == ReduceOp::Max, r, i0, i1);
      }
    });
    double acc = part[0];
    bool nan = std::isnan(acc);
    for (int64_t c = 1; c < nchunks; ++c) {
      if (sum) acc += part[c];
      else if (std::isnan(part[c])) nan = true;
      else if (op == ReduceOp::Max ? part[c] > acc : part[c] < acc) acc = part[c];
    }
    if (!sum && nan) acc = std::numeric_limits<double>::quiet_NaN();
    out[o] = op == ReduceOp::Mean ? (float)(acc / (double)inner) : (float)acc;
  }
}

// ------------------------------------------------------------------ bandwidth yardstick

void parallel_copy(float* dst, const float* src, int64_t n) {
  for_range(n, [&](int64_t i0, int64_t i1) { std::memcpy(dst + i0, src + i0, (size_t)(i1 - i0) * sizeof(float)); });
}

}  // namespace cnn
